//! `/bookstore.v1.Bookstore/GetBook`
//!
//! Gets a book by its resource name.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::bookstore::v1::{Book, GetBookRequest};

/// Handles `GetBook`.
pub async fn get_book(
    state: Arc<AppState>,
    request: Request<GetBookRequest>,
) -> Result<Response<Book>, Status> {
    let name = request.into_inner().name;
    let book = state.books().get(&name).cloned();
    book.map(Response::new)
        .ok_or_else(|| Status::not_found(format!("no book {name}")))
}
