//! `bare-rest ADDR`: the greeter's `GET /v1/hello/{name}` on plain axum, answering the
//! same JSON as the transcoded route of a generated service, with none of its middleware.

use axum::Json;
use axum::extract::Path;
use axum::routing::get;
use serde::Serialize;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Serialize)]
struct HelloReply {
    message: String,
}

async fn say_hello(Path(name): Path<String>) -> Json<HelloReply> {
    Json(HelloReply {
        message: format!("Hello, {name}!"),
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8099".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    let app = axum::Router::new().route("/v1/hello/{name}", get(say_hello));
    axum::serve(listener, app).await.expect("serve");
}
