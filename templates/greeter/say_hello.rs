//! `greeter.v1.Greeter/SayHello`: replies with a greeting for the given name.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::greeter::v1::{HelloReply, HelloRequest};

/// Handles `SayHello`.
pub async fn say_hello(
    state: Arc<AppState>,
    request: Request<HelloRequest>,
) -> Result<Response<HelloReply>, Status> {
    let name = request.into_inner().name;
    Ok(Response::new(HelloReply {
        message: format!("{}, {name}!", state.config.greeting),
    }))
}
