//! The test service: `echo.v1.Echo` (one RPC of each kind) and HTTP routes that answer
//! each way a handler can, and that call another service through the runtime's clients,
//! as a generated service's handlers do; and `echo.v1.Rest`, whose rpcs mirror their
//! requests, served over gRPC and over the REST routes of [`Echo::HTTP_RULES`] (a route
//! of each kind `google.api.http` has).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use svcgen_runtime::auth::Principal;
use svcgen_runtime::client::{ClientConfig, HttpClient, TracedChannel};
use svcgen_runtime::rest::{HttpRule, Invoker};
use svcgen_runtime::{BoxStream, Config, Method, Service, trace};
use tokio_stream::StreamExt as _;
use tonic::{Code, Request, Response, Status, Streaming};

use super::descriptors::FILE_DESCRIPTOR_SET;
use super::pb::echo_client::EchoClient;
use super::pb::echo_server::EchoServer;
use super::pb::rest_server::RestServer;
use super::pb::{EchoReply, EchoRequest, Failure, Item, Plain};

/// The state of the test service: the clients its routes call another service with.
pub struct Echo {
    downstream: TracedChannel,
    http: HttpClient,
    downstream_url: String,
    delay: Duration,
}

/// `[app]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {
    /// The URL `GET /call/http` calls.
    pub downstream_url: String,
    /// How long every `Unary` call takes at least: a slow replica.
    pub delay_ms: u64,
    /// Whether `[clients.downstream]` takes `echo.v1.Echo/Unary` for idempotent.
    pub downstream_idempotent: bool,
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
/// The idempotent methods of `echo.v1.Echo` as `clients!` lists them, for the tests
/// that take `Unary` for one.
pub const IDEMPOTENT: &[&str] = &["/echo.v1.Echo/Unary"];
/// The metadata key of an `EchoReply` that names the address of the replica that
/// answered (its gRPC server's).
pub const SERVED_BY: &str = "x-served-by";

/// The service of the REST tests.
pub const REST: &str = "echo.v1.Rest";
/// Its rpcs.
pub const MIRROR: &str = "echo.v1.Rest/Mirror";
pub const REPEAT: &str = "echo.v1.Rest/Repeat";
pub const MIRROR_PLAIN: &str = "echo.v1.Rest/MirrorPlain";
pub const REPEAT_PLAIN: &str = "echo.v1.Rest/RepeatPlain";
pub const FAIL: &str = "echo.v1.Rest/Fail";
pub const METADATA: &str = "echo.v1.Rest/Metadata";

/// The REST route `method path` to `rpc`, taking `body` (`*`, a field, or `""`).
const fn rule(
    method: &'static str,
    path: &'static str,
    body: &'static str,
    rpc: &'static str,
) -> HttpRule {
    HttpRule {
        method,
        path,
        body,
        response_body: "",
        rpc,
    }
}

impl Service for Echo {
    const NAME: &'static str = "echo";
    const GRPC_PORT: u16 = 50051;
    const HTTP_PORT: u16 = 8080;
    const SERVICES: &'static [&'static str] = &[ECHO, REST];
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
        Method::new(MIRROR, false),
        Method::new(REPEAT, true),
        Method::new(FAIL, false),
        Method::new(METADATA, false),
        Method::new(MIRROR_PLAIN, false),
        Method::new(REPEAT_PLAIN, true),
    ];
    const FILE_DESCRIPTOR_SET: &'static [u8] = FILE_DESCRIPTOR_SET;
    /// In this order on purpose: a rule with a `:verb` after one that matches the same
    /// path with the verb as part of its last segment.
    const HTTP_RULES: &'static [HttpRule] = &[
        rule("GET", "/v1/items/{name}", "", MIRROR),
        rule("GET", "/v1/items/{name}:repeat", "", REPEAT),
        rule("GET", "/v1/nested/{nested.id}/{nested.label}", "", MIRROR),
        rule("GET", "/v1/{name=shelves/*}", "", MIRROR),
        rule("GET", "/v1/{name=shelves/*/books/*}", "", MIRROR),
        rule("GET", "/v1/{name=files/**}", "", MIRROR),
        rule("POST", "/v1/{name=items/*}:mirror", "*", MIRROR),
        rule("REPORT", "/v1/items/{name}", "", MIRROR),
        rule("POST", "/v1/items", "*", MIRROR),
        rule("PUT", "/v1/items/{name}", "*", MIRROR),
        rule("PATCH", "/v1/items/{name}", "nested", MIRROR),
        rule("DELETE", "/v1/items/{name}", "", MIRROR),
        HttpRule {
            response_body: "tags",
            ..rule("GET", "/v1/items/{name}/tags", "", MIRROR)
        },
        // Two rules to one rpc: a binding and an additional binding.
        rule("GET", "/v1/fail/{code}", "", FAIL),
        rule("POST", "/v1/fail", "*", FAIL),
        rule("GET", "/v1/metadata", "", METADATA),
        rule("GET", "/v1/plain/{name}:repeat", "", REPEAT_PLAIN),
        rule("GET", "/v1/plain/{name}", "", MIRROR_PLAIN),
        rule("POST", "/v1/plain", "*", MIRROR_PLAIN),
    ];
    type AppConfig = AppConfig;
    type ClientsConfig = Clients;

    async fn init(config: &Config<Self>) -> anyhow::Result<Self> {
        Ok(Self {
            downstream: config.clients.downstream.channel(
                "downstream",
                &config.tracing,
                if config.app.downstream_idempotent {
                    IDEMPOTENT
                } else {
                    &[]
                },
            )?,
            http: HttpClient::new(&config.tracing)?,
            downstream_url: config.app.downstream_url.clone(),
            delay: Duration::from_millis(config.app.delay_ms),
        })
    }

    fn grpc(state: &Arc<Self>, max_message_bytes: usize) -> tonic::service::Routes {
        tonic::service::Routes::new(
            EchoServer::from_arc(Arc::clone(state))
                .max_decoding_message_size(max_message_bytes)
                .max_encoding_message_size(max_message_bytes),
        )
        .add_service(RestServer::new(RestGrpc(Arc::clone(state))))
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
            .route(
                "/slow/{what}",
                get(
                    |axum::extract::Path(what): axum::extract::Path<String>| async move {
                        slow_or_panicking(&what).await;
                        "done"
                    },
                ),
            )
            .route("/headers", get(headers))
            .route("/whoami/{name}", get(whoami))
            .route("/call/grpc", get(call_grpc))
            .route("/call/http", get(call_http))
    }

    /// Each response written as JSON as `service!` has it written: by its serde impls
    /// when it has them (`Plain`), else with the descriptors.
    #[allow(clippy::needless_borrow)] // `&&` is what chooses (see `rest::json`)
    fn invoker(route: &str) -> Option<Invoker<Self>> {
        use svcgen_runtime::rest::json::{Probe, Reflect as _, Serde as _};
        Some(match route {
            MIRROR => Invoker::unary(mirror, (&&Probe::<Item>::new()).to_json()),
            REPEAT => Invoker::server_streaming(repeat, (&&Probe::<Item>::new()).to_json()),
            FAIL => Invoker::unary(fail, (&&Probe::<()>::new()).to_json()),
            METADATA => Invoker::unary(metadata, (&&Probe::<prost_types::Struct>::new()).to_json()),
            MIRROR_PLAIN => Invoker::unary(mirror_plain, (&&Probe::<Plain>::new()).to_json()),
            REPEAT_PLAIN => {
                Invoker::server_streaming(repeat_plain, (&&Probe::<Plain>::new()).to_json())
            }
            _ => return None,
        })
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
        let served_by = request.local_addr();
        let mut metadata = ascii_headers(&request.metadata().clone().into_headers());
        if let Some(address) = served_by {
            metadata.insert(SERVED_BY.to_owned(), address.to_string());
        }
        let request = request.into_inner();
        count(&ARRIVED, request.message.clone());
        if let Some(address) = served_by {
            count(&ARRIVED_AT, address);
        }
        // What the tests of the clients ask for: a call to the downstream service, a
        // slow replica.
        if let Some(message) = request.message.strip_prefix("call ") {
            return self.call_downstream(message, request.code).await;
        }
        tokio::time::sleep(self.delay).await;
        // What the tests of the limits ask for: a slow handler, one that panics.
        slow_or_panicking(&request.message).await;
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
        if let Some(address) = request.local_addr() {
            count(&ARRIVED_AT, address);
        }
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

impl Echo {
    /// `Unary` of `call <message>`: `Unary` of `message` (with the same `code`) on the
    /// downstream service, through `[clients.downstream]`; its answer.
    async fn call_downstream(
        &self,
        message: &str,
        code: i32,
    ) -> Result<Response<EchoReply>, Status> {
        EchoClient::new(self.downstream.clone())
            .unary(EchoRequest {
                message: message.to_owned(),
                code,
                repeat: 0,
            })
            .await
    }
}

/// `Unary` calls that arrived (attempts, then), by message: each test its own messages.
pub static ARRIVED: std::sync::Mutex<BTreeMap<String, usize>> =
    std::sync::Mutex::new(BTreeMap::new());

/// `Unary` and `ServerStream` calls that arrived, by the address of the replica (its
/// gRPC server's).
pub static ARRIVED_AT: std::sync::Mutex<BTreeMap<SocketAddr, usize>> =
    std::sync::Mutex::new(BTreeMap::new());

/// How many `Unary` calls of `message` arrived.
pub fn arrived(message: &str) -> usize {
    lock(&ARRIVED).get(message).copied().unwrap_or(0)
}

/// How many `Unary` and `ServerStream` calls arrived at the replica `address`.
pub fn arrived_at(address: SocketAddr) -> usize {
    lock(&ARRIVED_AT).get(&address).copied().unwrap_or(0)
}

fn lock<T>(counts: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    counts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn count<K: Ord>(counts: &std::sync::Mutex<BTreeMap<K, usize>>, key: K) {
    *lock(counts).entry(key).or_default() += 1;
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

/// `echo.v1.Rest/Mirror`: the item, as it came.
async fn mirror(_state: Arc<Echo>, request: Request<Item>) -> Result<Response<Item>, Status> {
    Ok(Response::new(request.into_inner()))
}

/// `echo.v1.Rest/Repeat`: an item named `<name> <tag>` per tag, then the item's failure.
async fn repeat(
    _state: Arc<Echo>,
    request: Request<Item>,
) -> Result<Response<BoxStream<Item>>, Status> {
    let item = request.into_inner();
    let failure = item
        .failure
        .filter(|failure| failure.code != 0)
        .map(|failure| Err(Status::new(Code::from(failure.code), failure.message)));
    let items: Vec<Result<Item, Status>> = item
        .tags
        .iter()
        .map(|tag| {
            Ok(Item {
                name: format!("{} {tag}", item.name),
                ..Item::default()
            })
        })
        .chain(failure)
        .collect();
    Ok(Response::new(Box::pin(tokio_stream::iter(items))))
}

/// `echo.v1.Rest/MirrorPlain`: the plain item, as it came.
async fn mirror_plain(
    _state: Arc<Echo>,
    request: Request<Plain>,
) -> Result<Response<Plain>, Status> {
    Ok(Response::new(request.into_inner()))
}

/// `echo.v1.Rest/RepeatPlain`: a plain item named `<name> <tag>` per tag.
async fn repeat_plain(
    _state: Arc<Echo>,
    request: Request<Plain>,
) -> Result<Response<BoxStream<Plain>>, Status> {
    let item = request.into_inner();
    let items: Vec<Result<Plain, Status>> = item
        .tags
        .iter()
        .map(|tag| {
            Ok(Plain {
                name: format!("{} {tag}", item.name),
                ..Plain::default()
            })
        })
        .collect();
    Ok(Response::new(Box::pin(tokio_stream::iter(items))))
}

/// `echo.v1.Rest/Fail`: fails with the request's status, unless its code is OK.
async fn fail(_state: Arc<Echo>, request: Request<Failure>) -> Result<Response<()>, Status> {
    let Failure { code, message } = request.into_inner();
    match Code::from(code) {
        Code::Ok => Ok(Response::new(())),
        code => Err(Status::new(code, message)),
    }
}

/// `echo.v1.Rest/Metadata`: the metadata the call arrived with, by key.
async fn metadata(
    _state: Arc<Echo>,
    request: Request<()>,
) -> Result<Response<prost_types::Struct>, Status> {
    let mut metadata = ascii_headers(&request.metadata().clone().into_headers());
    // With `[auth]`: the caller, as the handler sees it.
    metadata.extend(principal_fields(Principal::of(&request)));
    let fields = metadata
        .into_iter()
        .map(|(key, value)| {
            let value = prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(value)),
            };
            (key, value)
        })
        .collect();
    Ok(Response::new(prost_types::Struct { fields }))
}

/// What a handler knows of its caller (`[auth]`), by key: `principal.subject`,
/// `principal.claims` (JSON) and `principal.token_sha256`, each when there is one.
fn principal_fields(principal: Option<&Principal>) -> BTreeMap<String, String> {
    let Some(principal) = principal else {
        return BTreeMap::new();
    };
    let mut fields = BTreeMap::new();
    if let Some(subject) = &principal.subject {
        fields.insert("principal.subject".to_owned(), subject.clone());
    }
    if !principal.claims.is_null() {
        fields.insert("principal.claims".to_owned(), principal.claims.to_string());
    }
    if let Some(digest) = &principal.token_sha256 {
        fields.insert("principal.token_sha256".to_owned(), digest.clone());
    }
    fields
}

/// `GET /whoami/{name}`: [`principal_fields`] of the caller, as a JSON object.
async fn whoami(
    principal: Option<axum::Extension<Principal>>,
) -> axum::Json<BTreeMap<String, String>> {
    axum::Json(principal_fields(
        principal.as_ref().map(|principal| &principal.0),
    ))
}

/// `echo.v1.Rest` over gRPC: the handlers the REST routes call.
struct RestGrpc(Arc<Echo>);

#[tonic::async_trait]
impl super::pb::rest_server::Rest for RestGrpc {
    async fn mirror(&self, request: Request<Item>) -> Result<Response<Item>, Status> {
        mirror(Arc::clone(&self.0), request).await
    }

    type RepeatStream = BoxStream<Item>;

    async fn repeat(&self, request: Request<Item>) -> Result<Response<Self::RepeatStream>, Status> {
        repeat(Arc::clone(&self.0), request).await
    }

    async fn fail(&self, request: Request<Failure>) -> Result<Response<()>, Status> {
        fail(Arc::clone(&self.0), request).await
    }

    async fn metadata(
        &self,
        request: Request<()>,
    ) -> Result<Response<prost_types::Struct>, Status> {
        metadata(Arc::clone(&self.0), request).await
    }

    async fn mirror_plain(&self, request: Request<Plain>) -> Result<Response<Plain>, Status> {
        mirror_plain(Arc::clone(&self.0), request).await
    }

    type RepeatPlainStream = BoxStream<Plain>;

    async fn repeat_plain(
        &self,
        request: Request<Plain>,
    ) -> Result<Response<Self::RepeatPlainStream>, Status> {
        repeat_plain(Arc::clone(&self.0), request).await
    }
}

/// Handlers sleeping now, by how long they sleep (each test its own length): for the
/// tests that fill the bound on requests at once.
pub static SLEEPING: std::sync::Mutex<BTreeMap<u64, usize>> =
    std::sync::Mutex::new(BTreeMap::new());

/// How many handlers sleep `ms` now.
pub fn sleeping(ms: u64) -> usize {
    let sleeping = SLEEPING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    sleeping.get(&ms).copied().unwrap_or(0)
}

/// Handlers that slept to the end, by how long they slept.
pub static SLEPT: std::sync::Mutex<BTreeMap<u64, usize>> = std::sync::Mutex::new(BTreeMap::new());

/// How many handlers slept `ms` to the end.
pub fn slept(ms: u64) -> usize {
    let slept = SLEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    slept.get(&ms).copied().unwrap_or(0)
}

/// `sleep <ms>` (and maybe more words): sleeps that long (counted in [`SLEEPING`]
/// meanwhile and in [`SLEPT`] once done); `panic`: panics.
async fn slow_or_panicking(what: &str) {
    if what == "panic" {
        panic!("asked to panic");
    }
    // `sleep <ms> <anything>`: the words after the length tell calls apart.
    if let Some(ms) = what
        .strip_prefix("sleep ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse::<u64>().ok())
    {
        let count = |counts: &std::sync::Mutex<BTreeMap<u64, usize>>, change: fn(&mut usize)| {
            let mut counts = counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            change(counts.entry(ms).or_default());
        };
        count(&SLEEPING, |n| *n += 1);
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        count(&SLEEPING, |n| *n -= 1);
        count(&SLEPT, |n| *n += 1);
    }
}
