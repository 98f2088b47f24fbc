//! `greeter.v1.Greeter/SayHello`: replies with a greeting for the given name.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::greeter::v1::{HelloReply, HelloRequest};
use crate::svcgen::trace;

/// Handles `SayHello`.
pub async fn say_hello(
    state: Arc<AppState>,
    request: Request<HelloRequest>,
) -> Result<Response<HelloReply>, Status> {
    let name = request.into_inner().name;
    // A child span of the call's SERVER span (exported only when the call is sampled).
    let message = trace::in_span("compose greeting", async {
        tracing::info!(name, "composing a greeting");
        format!("{}, {name}!", state.config.greeting)
    })
    .await;
    Ok(Response::new(HelloReply { message }))
}
