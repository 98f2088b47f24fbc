//! `/bookstore.v1.Bookstore/UpdateBook`
//!
//! Changes the fields of a book that the update mask names.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::bookstore::v1::Book;
use crate::proto::bookstore::v1::UpdateBookRequest;

/// Handles `UpdateBook`: only the masked fields change (all of them without a mask).
pub async fn update_book(
    state: Arc<AppState>,
    request: Request<UpdateBookRequest>,
) -> Result<Response<Book>, Status> {
    let request = request.into_inner();
    let update = request.book.unwrap_or_default();
    let paths = request
        .update_mask
        .map(|mask| mask.paths)
        .unwrap_or_default();
    let mut books = state.books();
    let book = books
        .get_mut(&update.name)
        .ok_or_else(|| Status::not_found(format!("no book {}", update.name)))?;
    let all = paths.is_empty();
    let masked = |field: &str| all || paths.iter().any(|path| path == field);
    for path in &paths {
        if !["title", "author", "genre", "pages", "published", "tags"].contains(&path.as_str()) {
            return Err(Status::invalid_argument(format!(
                "`{path}` cannot be updated"
            )));
        }
    }
    if masked("title") {
        book.title = update.title;
    }
    if masked("author") {
        book.author = update.author;
    }
    if masked("genre") {
        book.genre = update.genre;
    }
    if masked("pages") {
        book.pages = update.pages;
    }
    if masked("published") {
        book.published = update.published;
    }
    if masked("tags") {
        book.tags = update.tags;
    }
    Ok(Response::new(book.clone()))
}
