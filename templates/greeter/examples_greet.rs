//! A client that calls every RPC of the greeter over the network:
//!
//! ```sh
//! cargo run --example greet -- http://127.0.0.1:50051 Ada
//! ```
//!
//! Your code: svcgen created this file once and never touches it again.

use {{ p.crate_ident }}::proto::greeter::v1::HelloRequest;
use {{ p.crate_ident }}::proto::greeter::v1::greeter_client::GreeterClient;

fn hello(name: &str) -> HelloRequest {
    HelloRequest {
        name: name.to_owned(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let name = args.next().unwrap_or_else(|| "world".to_owned());
    let mut client = GreeterClient::connect(addr).await?;

    let reply = client.say_hello(hello(&name)).await?.into_inner();
    println!("SayHello: {}", reply.message);

    let mut replies = client.say_hello_stream(hello(&name)).await?.into_inner();
    while let Some(reply) = replies.message().await? {
        println!("SayHelloStream: {}", reply.message);
    }

    let names = tokio_stream::iter([hello(&name), hello("Grace")]);
    let reply = client.collect_hellos(names).await?.into_inner();
    println!("CollectHellos: {}", reply.message);

    let names = tokio_stream::iter([hello(&name), hello("Grace")]);
    let mut replies = client.chat(names).await?.into_inner();
    while let Some(reply) = replies.message().await? {
        println!("Chat: {}", reply.message);
    }
    Ok(())
}
