//! `/bookstore.v1.Bookstore/CreateBook`
//!
//! Adds a book to a shelf.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::bookstore::v1::{Book, CreateBookRequest};

/// Handles `CreateBook`: the book is named `{parent}/books/{book_id}`.
pub async fn create_book(
    state: Arc<AppState>,
    request: Request<CreateBookRequest>,
) -> Result<Response<Book>, Status> {
    let request = request.into_inner();
    let id = request.book_id;
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Status::invalid_argument(
            "book_id is letters, digits and dashes",
        ));
    }
    let mut book = request.book.unwrap_or_default();
    if book.title.is_empty() {
        return Err(Status::invalid_argument("a book has a title"));
    }
    book.name = format!("{}/books/{id}", request.parent);
    let mut books = state.books();
    if books.contains_key(&book.name) {
        return Err(Status::already_exists(format!("{} exists", book.name)));
    }
    books.insert(book.name.clone(), book.clone());
    Ok(Response::new(book))
}
