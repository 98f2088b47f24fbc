//! `/bookstore.v1.Bookstore/ListBooks`
//!
//! Lists the books of a shelf, a page at a time, optionally of one genre.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::bookstore::v1::{Genre, ListBooksRequest, ListBooksResponse};

/// Handles `ListBooks`: books in name order, after the page token's (the last name of
/// the page before).
pub async fn list_books(
    state: Arc<AppState>,
    request: Request<ListBooksRequest>,
) -> Result<Response<ListBooksResponse>, Status> {
    let request = request.into_inner();
    let size = match request.page_size {
        0 => 10,
        size @ 1..=100 => usize::try_from(size).unwrap_or(10),
        _ => return Err(Status::invalid_argument("page_size is 1 to 100")),
    };
    let prefix = format!("{}/books/", request.parent);
    let books = state.books();
    let mut page: Vec<_> = books
        .range(request.page_token.clone()..)
        .filter(|(name, _)| name.starts_with(&prefix) && **name != request.page_token)
        .map(|(_, book)| book)
        .filter(|book| request.genre() == Genre::Unspecified || book.genre() == request.genre())
        .take(size + 1)
        .cloned()
        .collect();
    let next_page_token = if page.len() > size {
        page.truncate(size);
        page.last()
            .map(|book| book.name.clone())
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(Response::new(ListBooksResponse {
        books: page,
        next_page_token,
    }))
}
