//! `/backend.v1.Names/Greet`
//!
//! Greets one person.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::backend::v1::{GreetReply, GreetRequest};
use crate::svcgen::trace;

/// Handles `Greet`.
pub async fn greet(
    _state: Arc<AppState>,
    request: Request<GreetRequest>,
) -> Result<Response<GreetReply>, Status> {
    let name = request.into_inner().name;
    if name.is_empty() {
        return Err(Status::invalid_argument("name must not be empty"));
    }
    let message = trace::in_span("choose words", async {
        tracing::info!(visitor = %name, "greeting");
        format!("Hello, {name}!")
    })
    .await;
    Ok(Response::new(GreetReply {
        message,
        trace_id: trace::current_trace_id().unwrap_or_default(),
    }))
}
