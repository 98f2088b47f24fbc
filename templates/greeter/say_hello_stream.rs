//! `greeter.v1.Greeter/SayHelloStream`: replies with a few greetings for the given name.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::greeter::v1::{HelloReply, HelloRequest};
use crate::svcgen::BoxStream;

/// Handles `SayHelloStream`.
pub async fn say_hello_stream(
    state: Arc<AppState>,
    request: Request<HelloRequest>,
) -> Result<Response<BoxStream<HelloReply>>, Status> {
    let name = request.into_inner().name;
    let greeting = state.config.greeting.clone();
    let replies = (1..=3).map(move |n| {
        Ok(HelloReply {
            message: format!("{greeting}, {name}! ({n} of 3)"),
        })
    });
    Ok(Response::new(Box::pin(tokio_stream::iter(replies))))
}
