//! `greeter.v1.Greeter/CollectHellos`: greets every name the caller sends, in one reply.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use crate::app::AppState;
use crate::proto::greeter::v1::{HelloReply, HelloRequest};

/// Handles `CollectHellos`.
pub async fn collect_hellos(
    state: Arc<AppState>,
    request: Request<Streaming<HelloRequest>>,
) -> Result<Response<HelloReply>, Status> {
    let mut requests = request.into_inner();
    let mut names = Vec::new();
    while let Some(request) = requests.message().await? {
        names.push(request.name);
    }
    Ok(Response::new(HelloReply {
        message: format!("{}, {}!", state.config.greeting, names.join(", ")),
    }))
}
