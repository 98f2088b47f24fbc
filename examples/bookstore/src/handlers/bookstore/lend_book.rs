//! `/bookstore.v1.Bookstore/LendBook`
//!
//! Lends a book to a borrower: a custom method.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::bookstore::v1::{Book, LendBookRequest};

/// Handles `LendBook`: a book is lent to one borrower at a time.
pub async fn lend_book(
    state: Arc<AppState>,
    request: Request<LendBookRequest>,
) -> Result<Response<Book>, Status> {
    let request = request.into_inner();
    if request.borrower.is_empty() {
        return Err(Status::invalid_argument("who borrows it?"));
    }
    let mut books = state.books();
    let book = books
        .get_mut(&request.name)
        .ok_or_else(|| Status::not_found(format!("no book {}", request.name)))?;
    if !book.borrower.is_empty() {
        return Err(Status::failed_precondition(format!(
            "{} is lent to {}",
            book.name, book.borrower
        )));
    }
    book.borrower = request.borrower;
    Ok(Response::new(book.clone()))
}
