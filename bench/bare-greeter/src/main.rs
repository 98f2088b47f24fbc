//! `bare-greeter ADDR`: SayHello on plain tonic (the other RPCs answer UNIMPLEMENTED).

use tonic::{Request, Response, Status};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod pb {
    tonic::include_proto!("greeter.v1");
}

use pb::greeter_server::{Greeter, GreeterServer};
use pb::{HelloReply, HelloRequest};

struct Bare;

type Replies = std::pin::Pin<Box<dyn tonic::codegen::tokio_stream::Stream<Item = Result<HelloReply, Status>> + Send>>;

#[tonic::async_trait]
impl Greeter for Bare {
    async fn say_hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let name = request.into_inner().name;
        Ok(Response::new(HelloReply { message: format!("Hello, {name}!") }))
    }

    type SayHelloStreamStream = Replies;

    async fn say_hello_stream(&self, _: Request<HelloRequest>) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented(""))
    }

    async fn collect_hellos(&self, _: Request<tonic::Streaming<HelloRequest>>) -> Result<Response<HelloReply>, Status> {
        Err(Status::unimplemented(""))
    }

    type ChatStream = Replies;

    async fn chat(&self, _: Request<tonic::Streaming<HelloRequest>>) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented(""))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:50099".to_owned()).parse()?;
    tonic::transport::Server::builder()
        .add_service(GreeterServer::new(Bare))
        .serve(addr)
        .await?;
    Ok(())
}
