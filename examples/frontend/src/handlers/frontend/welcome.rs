//! `/frontend.v1.Frontend/Welcome`
//!
//! Welcomes one visitor.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::backend::v1::GreetRequest;
use crate::proto::frontend::v1::{WelcomeReply, WelcomeRequest};

/// Handles `Welcome`: asks the backend for the words.
pub async fn welcome(
    state: Arc<AppState>,
    request: Request<WelcomeRequest>,
) -> Result<Response<WelcomeReply>, Status> {
    let name = request.into_inner().name;
    let greeting = state
        .clients
        .backend
        .clone()
        .greet(GreetRequest { name })
        .await?
        .into_inner();
    Ok(Response::new(WelcomeReply {
        message: format!("Welcome! {}", greeting.message),
    }))
}
