//! The test service: `echo.v1.Echo` (one RPC of each kind) and HTTP routes that answer
//! each way a handler can, and that call another service through the runtime's clients,
//! as a generated service's handlers do.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use svcgen_runtime::client::{ClientConfig, HttpClient, TracedChannel};
use svcgen_runtime::{BoxStream, Config, Method, Service, trace};
use tokio_stream::StreamExt as _;
use tonic::{Code, Request, Response, Status, Streaming};

use super::descriptors::FILE_DESCRIPTOR_SET;
use super::pb::echo_client::EchoClient;
use super::pb::echo_server::EchoServer;
use super::pb::{EchoReply, EchoRequest};

/// The state of the test service: the clients its routes call another service with.
pub struct Echo {
    downstream: TracedChannel,
    http: HttpClient,
    downstream_url: String,
}

/// `[app]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {
    /// The URL `GET /call/http` calls.
    pub downstream_url: String,
}

/// `[clients]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Clients {
    /// The `echo.v1.Echo` that `GET /call/grpc` calls.
    pub downstream: ClientConfig,
}

impl Default for Clients {
    fn default() -> Self {
        Self {
            // Nothing listens there: a call fails at once.
            downstream: ClientConfig::new("http://127.0.0.1:1"),
        }
    }
}

/// The fully qualified name of the service.
pub const ECHO: &str = "echo.v1.Echo";
/// Its unary RPC.
pub const UNARY: &str = "echo.v1.Echo/Unary";

impl Service for Echo {
    const NAME: &'static str = "echo";
    const GRPC_PORT: u16 = 50051;
    const HTTP_PORT: u16 = 8080;
    const SERVICES: &'static [&'static str] = &[ECHO];
    const METHODS: &'static [Method] = &[
        Method {
            route: UNARY,
            server_streaming: false,
        },
        Method {
            route: "echo.v1.Echo/ServerStream",
            server_streaming: true,
        },
        Method {
            route: "echo.v1.Echo/ClientStream",
            server_streaming: false,
        },
        Method {
            route: "echo.v1.Echo/Bidi",
            server_streaming: true,
        },
    ];
    const FILE_DESCRIPTOR_SET: &'static [u8] = FILE_DESCRIPTOR_SET;
    type AppConfig = AppConfig;
    type ClientsConfig = Clients;

    async fn init(config: &Config<Self>) -> anyhow::Result<Self> {
        Ok(Self {
            downstream: config
                .clients
                .downstream
                .channel("downstream", &config.tracing)?,
            http: HttpClient::new(&config.tracing)?,
            downstream_url: config.app.downstream_url.clone(),
        })
    }

    fn grpc(state: &Arc<Self>) -> tonic::service::Routes {
        tonic::service::Routes::new(EchoServer::from_arc(Arc::clone(state)))
    }

    fn http() -> axum::Router<Arc<Self>> {
        axum::Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route("/head", get(|| async { "ok" }))
            .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
            .route(
                "/unavailable",
                get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
            )
            .route("/stream", get(stream))
            .route("/headers", get(headers))
            .route("/call/grpc", get(call_grpc))
            .route("/call/http", get(call_http))
    }
}

/// A reply to `message`, telling the metadata the call arrived with.
fn reply(message: String, metadata: BTreeMap<String, String>) -> EchoReply {
    EchoReply {
        message,
        metadata: metadata.into_iter().collect(),
    }
}

/// The ASCII headers of a request, by name.
fn ascii_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}

#[tonic::async_trait]
impl super::pb::echo_server::Echo for Echo {
    async fn unary(&self, request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        let metadata = ascii_headers(&request.metadata().clone().into_headers());
        let request = request.into_inner();
        // A span of the handler's own, and a line logged inside it.
        let reply = trace::in_span("compose reply", async {
            tracing::info!(text = request.message.as_str(), "composing a reply");
            reply(request.message.clone(), metadata)
        })
        .await;
        if request.code == 0 {
            Ok(Response::new(reply))
        } else {
            Err(Status::new(Code::from(request.code), "on purpose"))
        }
    }

    type ServerStreamStream = BoxStream<EchoReply>;

    async fn server_stream(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<Self::ServerStreamStream>, Status> {
        let request = request.into_inner();
        // The stream's code runs as the replies are sent, after the handler returned.
        let replies = tokio_stream::iter(0..request.repeat).map(move |index| {
            tracing::info!(index, "streaming a reply");
            Ok(reply(
                format!("{} {index}", request.message),
                BTreeMap::new(),
            ))
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn client_stream(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<EchoReply>, Status> {
        let mut requests = request.into_inner();
        let mut messages = Vec::new();
        while let Some(request) = requests.message().await? {
            messages.push(request.message);
        }
        Ok(Response::new(reply(messages.join(" "), BTreeMap::new())))
    }

    type BidiStream = BoxStream<EchoReply>;

    async fn bidi(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Self::BidiStream>, Status> {
        let replies = request
            .into_inner()
            .map(|request| request.map(|request| reply(request.message, BTreeMap::new())));
        Ok(Response::new(Box::pin(replies)))
    }
}

/// `GET /stream`: a body whose code runs (and logs) as it is sent.
async fn stream() -> axum::body::Body {
    let chunks = tokio_stream::iter(["a", "b"]).map(|chunk| {
        tracing::info!(chunk, "inside the stream");
        Ok::<_, Infallible>(chunk)
    });
    axum::body::Body::from_stream(chunks)
}

/// `GET /headers`: the request's headers, as a JSON object.
async fn headers(headers: HeaderMap) -> axum::Json<BTreeMap<String, String>> {
    axum::Json(ascii_headers(&headers))
}

/// `GET /call/grpc`: calls `echo.v1.Echo/Unary` of `[clients.downstream]` with its
/// traced channel; answers the metadata the call arrived with, as a JSON object.
async fn call_grpc(
    State(state): State<Arc<Echo>>,
) -> Result<axum::Json<BTreeMap<String, String>>, (StatusCode, String)> {
    let reply = EchoClient::new(state.downstream.clone())
        .unary(EchoRequest {
            message: "downstream".to_owned(),
            ..EchoRequest::default()
        })
        .await
        .map_err(|status| (StatusCode::BAD_GATEWAY, status.to_string()))?;
    Ok(axum::Json(
        reply.into_inner().metadata.into_iter().collect(),
    ))
}

/// `GET /call/http`: calls `app.downstream_url` with the HTTP client, adding a header of
/// its own; answers the downstream's body.
async fn call_http(State(state): State<Arc<Echo>>) -> Result<String, (StatusCode, String)> {
    let bad_gateway = |error: reqwest::Error| (StatusCode::BAD_GATEWAY, error.to_string());
    state
        .http
        .get(&state.downstream_url)
        .header("x-request-kind", "test")
        .send()
        .await
        .map_err(bad_gateway)?
        .text()
        .await
        .map_err(bad_gateway)
}
