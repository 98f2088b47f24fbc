//! `/bookstore.v1.Bookstore/DeleteBook`
//!
//! Removes a book.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::bookstore::v1::DeleteBookRequest;

/// Handles `DeleteBook`.
pub async fn delete_book(
    state: Arc<AppState>,
    request: Request<DeleteBookRequest>,
) -> Result<Response<()>, Status> {
    let name = request.into_inner().name;
    match state.books().remove(&name) {
        Some(_) => Ok(Response::new(())),
        None => Err(Status::not_found(format!("no book {name}"))),
    }
}
