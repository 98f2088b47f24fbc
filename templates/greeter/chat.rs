//! `greeter.v1.Greeter/Chat`: replies to each request as it arrives.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tokio_stream::StreamExt as _;
use tonic::{Request, Response, Status, Streaming};

use crate::app::AppState;
use crate::proto::greeter::v1::{HelloReply, HelloRequest};
use crate::svcgen::BoxStream;

/// Handles `Chat`.
pub async fn chat(
    state: Arc<AppState>,
    request: Request<Streaming<HelloRequest>>,
) -> Result<Response<BoxStream<HelloReply>>, Status> {
    let greeting = state.config.greeting.clone();
    let replies = request.into_inner().map(move |request| {
        request.map(|request| HelloReply {
            message: format!("{greeting}, {}!", request.name),
        })
    });
    Ok(Response::new(Box::pin(replies)))
}
