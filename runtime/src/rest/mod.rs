//! REST for external callers: HTTP/JSON routes transcoded to the service's RPCs, so one
//! handler serves gRPC and JSON alike, as grpc-gateway and Envoy's transcoder do.
//!
//! Routes are the `google.api.http` rules of the protos (and `[[http.routes]]` of
//! svcgen.toml), which svcgen checked and lists in the glue ([`HttpRule`]). A request
//! that matches one is turned into the rpc's request message — path variables, the
//! query string for the fields neither the path nor the body binds, the JSON body
//! (`body: "*"` or one field) — following the proto3 JSON mapping (prost-reflect, with
//! the service's descriptors; the path and query straight into the message's encoding),
//! handed to the handler with the configured headers as gRPC metadata, and its response
//! written back as JSON (or one field of it: `response_body`): by the serde impls of its
//! type when the service's build generated them ([`json`]), else by prost-reflect. A
//! server-streaming rpc answers newline-delimited JSON, or
//! Server-Sent Events when asked for `text/event-stream`. A gRPC status becomes the HTTP
//! status grpc-gateway gives it, with a `google.rpc.Status`-shaped body.

mod openapi;
mod status;
pub(crate) mod template;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use prost::Message as _;
use prost::encoding::{self, WireType};
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor,
    SerializeOptions,
};
use serde_json::{Map, Value};
use tokio_stream::StreamExt as _;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

use crate::BoxStream;
use crate::config::RestConfig;
use template::Template;

pub(crate) use openapi::document;
use status::Problem;

/// A `google.api.http` rule: an HTTP route to an rpc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpRule {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, or a custom method.
    pub method: &'static str,
    /// The path template (`/v1/{name=shelves/*}`).
    pub path: &'static str,
    /// `*` (the whole request is the body), a field of the request, or empty (no body).
    pub body: &'static str,
    /// A field of the response to answer with instead of the whole response, or empty.
    pub response_body: &'static str,
    /// The rpc: `package.Service/Method`.
    pub rpc: &'static str,
}

type Handled<T> = Pin<Box<dyn Future<Output = Result<tonic::Response<T>, tonic::Status>> + Send>>;

/// A call of a handler with an encoded request, and whether its reply is wanted as JSON.
type Call<S, T> = Box<dyn Fn(Arc<S>, tonic::Request<Bytes>, bool) -> Handled<T> + Send + Sync>;

/// Writes a message as proto3 JSON without reflection: `serde_json` over the serde impls
/// pbjson generates in the service's build (see [`json`]).
pub type ToJson<T> = fn(&T) -> Result<Vec<u8>, serde_json::Error>;

/// A handler's reply: its message encoded (written as JSON with the service's
/// descriptors), or already written as JSON by its [`ToJson`].
#[derive(Debug)]
pub enum Reply {
    /// The message, encoded.
    Encoded(Bytes),
    /// The message, as proto3 JSON.
    Json(Vec<u8>),
}

impl Reply {
    /// `message`'s reply: its JSON by `json` when given (and when it writes it: pbjson's
    /// impl refuses an enum field holding a number its enum does not name, which the
    /// proto3 mapping writes as the number), else its encoding.
    fn of<T: prost::Message>(message: &T, json: Option<ToJson<T>>) -> Self {
        json.and_then(|json| json(message).ok()).map_or_else(
            || Self::Encoded(Bytes::from(message.encode_to_vec())),
            Self::Json,
        )
    }
}

/// How the REST routes call an rpc's handler: with the request message encoded, and the
/// response (or each response of a stream) as a [`Reply`]. Built by
/// [`service!`](crate::service) for every unary and server-streaming rpc.
pub enum Invoker<S> {
    /// A unary rpc.
    Unary(Call<S, Reply>),
    /// A server-streaming rpc.
    ServerStreaming(Call<S, BoxStream<Reply>>),
}

impl<S> std::fmt::Debug for Invoker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unary(_) => "Invoker::Unary",
            Self::ServerStreaming(_) => "Invoker::ServerStreaming",
        })
    }
}

/// The request of `request`, decoded as `T`.
fn decode<T: prost::Message + Default>(
    request: tonic::Request<Bytes>,
) -> Result<tonic::Request<T>, tonic::Status> {
    let (metadata, extensions, bytes) = request.into_parts();
    let message = T::decode(bytes)
        .map_err(|error| tonic::Status::invalid_argument(format!("invalid request: {error}")))?;
    Ok(tonic::Request::from_parts(metadata, extensions, message))
}

impl<S: Send + Sync + 'static> Invoker<S> {
    /// The invoker of a unary rpc's `handler`, whose response is written as JSON by
    /// `json` when given (see [`json::Probe`]).
    pub fn unary<Req, Res, F, Fut>(handler: F, json: Option<ToJson<Res>>) -> Self
    where
        Req: prost::Message + Default + 'static,
        Res: prost::Message + 'static,
        F: Fn(Arc<S>, tonic::Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<Res>, tonic::Status>> + Send + 'static,
    {
        Self::Unary(Box::new(move |state, request, as_json| {
            let call = decode::<Req>(request).map(|request| handler(state, request));
            let json = json.filter(|_| as_json);
            Box::pin(async move {
                let response = call?.await?;
                Ok(response.map(|message| Reply::of(&message, json)))
            })
        }))
    }

    /// The invoker of a server-streaming rpc's `handler`, whose responses are written as
    /// JSON by `json` when given (see [`json::Probe`]).
    pub fn server_streaming<Req, Res, F, Fut>(handler: F, json: Option<ToJson<Res>>) -> Self
    where
        Req: prost::Message + Default + 'static,
        Res: prost::Message + 'static,
        F: Fn(Arc<S>, tonic::Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<BoxStream<Res>>, tonic::Status>>
            + Send
            + 'static,
    {
        Self::ServerStreaming(Box::new(move |state, request, as_json| {
            let call = decode::<Req>(request).map(|request| handler(state, request));
            let json = json.filter(|_| as_json);
            Box::pin(async move {
                let response = call?.await?;
                Ok(response.map(|stream| -> BoxStream<Reply> {
                    Box::pin(stream.map(move |item| item.map(|message| Reply::of(&message, json))))
                }))
            })
        }))
    }
}

/// Whether a response type writes its own JSON, told where its type is known (in
/// [`service!`](crate::service)'s expansion) by autoref specialization:
///
/// ```ignore
/// use svcgen_runtime::rest::json::{Reflect as _, Serde as _};
/// let json = (&&Probe::<HelloReply>::new()).to_json();
/// ```
///
/// is `Some` when `HelloReply` implements `serde::Serialize` and `prost::Name` — which
/// the service's build generates, with pbjson for the messages whose JSON pbjson writes
/// exactly as the proto3 mapping does — and `None` (written with the service's
/// descriptors) otherwise.
pub mod json {
    use std::marker::PhantomData;

    use super::ToJson;

    /// The probe of `T`.
    #[derive(Debug)]
    pub struct Probe<T>(PhantomData<fn() -> T>);

    impl<T> Probe<T> {
        /// The probe of `T`.
        #[must_use]
        pub const fn new() -> Self {
            Self(PhantomData)
        }
    }

    impl<T> Default for Probe<T> {
        fn default() -> Self {
            Self::new()
        }
    }

    /// Chosen first, when `T` implements `serde::Serialize`.
    pub trait Serde<T> {
        /// `serde_json`'s writer of `T`.
        fn to_json(&self) -> Option<ToJson<T>>;
    }

    /// By its `prost::Name` (which the service's build has prost write for its
    /// messages), not one of `google.protobuf`: the types prost maps some well-known types
    /// to (`()` for `Empty`, `i64` for `Int64Value`, ...) implement `Serialize` with
    /// another JSON form than theirs.
    impl<T: serde::Serialize + prost::Name> Serde<T> for &Probe<T> {
        fn to_json(&self) -> Option<ToJson<T>> {
            (T::PACKAGE != "google.protobuf").then_some(|message| serde_json::to_vec(message))
        }
    }

    /// Chosen otherwise.
    pub trait Reflect<T> {
        /// None: `T` is written with the service's descriptors.
        fn to_json(&self) -> Option<ToJson<T>>;
    }

    impl<T> Reflect<T> for Probe<T> {
        fn to_json(&self) -> Option<ToJson<T>> {
            None
        }
    }
}

/// The route template a transcoded request was matched by, set on its response: the
/// request layer names the request's access line and SERVER span after it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteTemplate(pub &'static str);

/// One served rule.
struct Route<S> {
    rule: HttpRule,
    method: Method,
    template: Template,
    /// The fields the template's variables bind, in order (see [`field_at`]).
    bound: Vec<Vec<FieldDescriptor>>,
    input: MessageDescriptor,
    output: MessageDescriptor,
    invoker: Arc<Invoker<S>>,
}

/// The REST routes of a service.
pub(crate) struct Routes<S> {
    routes: Vec<Route<S>>,
    forward: Vec<(http::HeaderName, MetadataKey<tonic::metadata::Ascii>)>,
    max_body_bytes: usize,
}

impl<S: Send + Sync + 'static> Routes<S> {
    /// The routes of `rules`, each calling the invoker `invoker` gives its rpc, with the
    /// messages of `pool`.
    ///
    /// # Errors
    /// A rule svcgen would have refused: an unknown rpc or method, a bad template, an rpc
    /// without an invoker (client or bidirectional streaming).
    pub(crate) fn new(
        rules: &[HttpRule],
        pool: &DescriptorPool,
        invoker: impl Fn(&str) -> Option<Invoker<S>>,
        config: &RestConfig,
    ) -> anyhow::Result<Self> {
        let mut invokers: BTreeMap<&str, Arc<Invoker<S>>> = BTreeMap::new();
        let mut routes = Vec::with_capacity(rules.len());
        for rule in rules {
            let (service, method) = rule.rpc.split_once('/').unwrap_or((rule.rpc, ""));
            let descriptor = pool
                .get_service_by_name(service)
                .and_then(|service| service.methods().find(|m| m.name() == method))
                .ok_or_else(|| anyhow::anyhow!("HTTP rule for an unknown rpc {}", rule.rpc))?;
            let invoker = match invokers.get(rule.rpc) {
                Some(invoker) => Arc::clone(invoker),
                None => {
                    let invoker = Arc::new(invoker(rule.rpc).ok_or_else(|| {
                        anyhow::anyhow!("{} cannot be served over HTTP", rule.rpc)
                    })?);
                    invokers.insert(rule.rpc, Arc::clone(&invoker));
                    invoker
                }
            };
            let template = Template::parse(rule.path)?;
            let bound = template
                .variables()
                .iter()
                .map(|variable| field_at(&descriptor.input(), &variable.field))
                .collect::<Result<_, _>>()
                .map_err(|error| {
                    anyhow::anyhow!("HTTP rule {} {}: {error}", rule.method, rule.path)
                })?;
            routes.push(Route {
                rule: *rule,
                method: Method::from_bytes(rule.method.as_bytes())?,
                template,
                bound,
                input: descriptor.input(),
                output: descriptor.output(),
                invoker,
            });
        }
        // The rules with a `:verb` first: the `*` or `**` ending a rule without one matches
        // a last segment with the verb too (`/v1/{name}` matches `/v1/x:publish`).
        routes.sort_by_key(|route| route.template.verb().is_none());
        let forward = config
            .forward_headers
            .iter()
            .map(|name| {
                let name = name.to_ascii_lowercase();
                Ok((
                    http::HeaderName::from_bytes(name.as_bytes())?,
                    MetadataKey::from_bytes(name.as_bytes())?,
                ))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            routes,
            forward,
            max_body_bytes: config.max_body_bytes,
        })
    }

    /// Whether there is any route.
    pub(crate) fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The route `method path` matches, and the values its variables bind.
    fn find(&self, method: &Method, path: &str) -> Option<(&Route<S>, Vec<String>)> {
        self.routes.iter().find_map(|route| {
            (route.method == method)
                .then(|| route.template.matches(path))
                .flatten()
                .map(|bound| (route, bound))
        })
    }

    /// The rule `method path` is served by, if any: what `[auth]` opens by its rpc or
    /// its template.
    pub(crate) fn rule(&self, method: &Method, path: &str) -> Option<HttpRule> {
        self.find(method, path).map(|(route, _)| route.rule)
    }

    /// Answers `request` with the route it matches (404 when none does).
    pub(crate) async fn serve(&self, state: Arc<S>, request: http::Request<Body>) -> Response {
        let Some((route, bound)) = self.find(request.method(), request.uri().path()) else {
            let path = request.uri().path();
            let other_method = self
                .routes
                .iter()
                .any(|route| route.template.matches(path).is_some());
            let status = if other_method {
                StatusCode::METHOD_NOT_ALLOWED
            } else {
                StatusCode::NOT_FOUND
            };
            return Problem::http(status, "no route").into_response();
        };
        let mut response = match self.call(route, state, request, bound).await {
            Ok(response) => response,
            Err(problem) => problem.into_response(),
        };
        response
            .extensions_mut()
            .insert(RouteTemplate(route.rule.path));
        response
    }

    async fn call(
        &self,
        route: &Route<S>,
        state: Arc<S>,
        request: http::Request<Body>,
        bound: Vec<String>,
    ) -> Result<Response, Problem> {
        let (mut parts, body) = request.into_parts();
        // A rule without a body reads none (grpc-gateway ignores one, too).
        let body = if route.rule.body.is_empty() {
            Bytes::new()
        } else {
            axum::body::to_bytes(body, self.max_body_bytes)
                .await
                .map_err(|_| {
                    Problem::http(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("the body is larger than {} bytes", self.max_body_bytes),
                    )
                })?
        };
        let message = request_message(route, &parts, &body, &bound)?;
        let mut metadata = MetadataMap::new();
        for (header, key) in &self.forward {
            for value in parts.headers.get_all(header) {
                if let Ok(value) = MetadataValue::try_from(value.as_bytes()) {
                    metadata.append(key.clone(), value);
                }
            }
        }
        // The HTTP request's extensions, as tonic hands a gRPC request's on: what the
        // layers put there (the caller's `auth::Principal`) reaches the handler.
        let request = tonic::Request::from_parts(
            metadata,
            std::mem::take(&mut parts.extensions),
            Bytes::from(message),
        );
        // A reply written as JSON by the handler's side answers the whole message.
        let as_json = route.rule.response_body.is_empty();
        match &*route.invoker {
            Invoker::Unary(invoke) => {
                let response = invoke(state, request, as_json)
                    .await
                    .map_err(Problem::grpc)?;
                let json = match response.into_inner() {
                    Reply::Json(json) => json,
                    Reply::Encoded(encoded) => response_json(route, encoded)?,
                };
                Ok(json_bytes_response(StatusCode::OK, json))
            }
            Invoker::ServerStreaming(invoke) => {
                let stream = invoke(state, request, as_json)
                    .await
                    .map_err(Problem::grpc)?;
                let sse = parts
                    .headers
                    .get(header::ACCEPT)
                    .and_then(|accept| accept.to_str().ok())
                    .is_some_and(|accept| accept.contains("text/event-stream"));
                Ok(streamed(route, stream.into_inner(), sse))
            }
        }
    }
}

/// The request message, encoded: the body (decoded by the proto3 JSON mapping), then the
/// path's variables, then (for the fields neither binds) the query string. Each variable
/// and parameter is appended as its field, so protobuf's merge gives the later the last
/// word on a field, and fills nested messages field by field (`{a.b}`, `?a.c=`).
fn request_message<S>(
    route: &Route<S>,
    parts: &http::request::Parts,
    body: &[u8],
    bound: &[String],
) -> Result<Vec<u8>, Problem> {
    let mut encoded = Vec::new();
    let body_field = route.rule.body;
    if !body_field.is_empty() && !body.is_empty() {
        let value: Value = serde_json::from_slice(body)
            .map_err(|error| Problem::invalid(&format!("the body is not valid JSON: {error}")))?;
        let fields = if body_field == "*" {
            match value {
                Value::Object(object) => object,
                _ => return Err(Problem::invalid("the body must be a JSON object")),
            }
        } else {
            Map::from_iter([(body_field.to_owned(), value)])
        };
        let mut options = DeserializeOptions::new();
        options = options.deny_unknown_fields(true);
        let mut track = serde_path_to_error::Track::new();
        let deserializer =
            serde_path_to_error::Deserializer::new(Value::Object(fields), &mut track);
        let message =
            DynamicMessage::deserialize_with_options(route.input.clone(), deserializer, &options)
                .map_err(|error| {
                let path = track.path().to_string();
                if path.is_empty() || path == "." {
                    Problem::invalid(&error.to_string())
                } else {
                    Problem::invalid(&format!("`{path}`: {error}"))
                }
            })?;
        message
            .encode(&mut encoded)
            .map_err(|error| Problem::internal(&error.to_string()))?;
    }
    for ((variable, chain), text) in route
        .template
        .variables()
        .iter()
        .zip(&route.bound)
        .zip(bound)
    {
        encode_text(chain, text, &mut encoded).map_err(|problem| {
            let path = variable.field.join(".");
            Problem::invalid(&format!("path parameter `{path}`: {problem}"))
        })?;
    }
    if body_field != "*"
        && let Some(query) = parts.uri.query()
    {
        // The fields set once (by their numbers from the request message down): a second
        // value for one that is not repeated is refused, not silently the last one.
        let mut set: Vec<Vec<u32>> = Vec::new();
        for (key, text) in form_urlencoded::parse(query.as_bytes()) {
            let invalid =
                |problem: &str| Problem::invalid(&format!("query parameter `{key}`: {problem}"));
            let path: Vec<&str> = key.split('.').collect();
            let chain = field_at(&route.input, &path).map_err(|problem| invalid(&problem))?;
            if chain[0].name() == body_field || route.bound.contains(&chain) {
                continue; // bound by the body or the path
            }
            if !chain[chain.len() - 1].is_list() {
                let numbers: Vec<u32> = chain.iter().map(FieldDescriptor::number).collect();
                if set.contains(&numbers) {
                    return Err(invalid(
                        "more than one value for a field that is not repeated",
                    ));
                }
                set.push(numbers);
            }
            encode_text(&chain, &text, &mut encoded).map_err(|problem| invalid(&problem))?;
        }
    }
    Ok(encoded)
}

/// Appends `text` to `encoded` as the field at the end of `chain` (an element of it, for
/// a repeated field), held by the message fields before it: `?a.b=1` is field `a`
/// holding field `b`.
fn encode_text(chain: &[FieldDescriptor], text: &str, encoded: &mut Vec<u8>) -> Result<(), String> {
    let Some((field, parents)) = chain.split_last() else {
        return Err("an empty field path".to_owned());
    };
    if parents.is_empty() {
        return encode_scalar(field, text, encoded);
    }
    let mut inner = Vec::new();
    encode_scalar(field, text, &mut inner)?;
    for parent in parents.iter().rev() {
        let mut outer = Vec::with_capacity(inner.len() + 8);
        length_delimited(parent.number(), &inner, &mut outer);
        inner = outer;
    }
    encoded.extend_from_slice(&inner);
    Ok(())
}

/// Appends field `number`, length-delimited, holding `bytes`.
fn length_delimited(number: u32, bytes: &[u8], encoded: &mut Vec<u8>) {
    encoding::encode_key(number, WireType::LengthDelimited, encoded);
    encoding::encode_varint(bytes.len() as u64, encoded);
    encoded.extend_from_slice(bytes);
}

/// Appends `text` as the scalar `field`: a bool, number or enum (by name, or by number)
/// as the URL writes it; bytes (base64) and the well-known types written as strings by
/// the proto3 JSON mapping (prost-reflect's).
fn encode_scalar(field: &FieldDescriptor, text: &str, encoded: &mut Vec<u8>) -> Result<(), String> {
    fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
        text.parse().map_err(|_| format!("`{text}` is not {what}"))
    }
    if field.is_map() {
        return Err("a map field cannot be set from the URL".to_owned());
    }
    let number = field.number();
    match field.kind() {
        Kind::Bool => {
            let value = match text {
                "true" => true,
                "false" => false,
                _ => return Err(format!("`{text}` is not a bool (true or false)")),
            };
            encoding::bool::encode(number, &value, encoded);
        }
        Kind::Double => encoding::double::encode(number, &parse(text, "a number")?, encoded),
        Kind::Float => encoding::float::encode(number, &parse(text, "a number")?, encoded),
        Kind::Int32 => encoding::int32::encode(number, &parse(text, INT32)?, encoded),
        Kind::Sint32 => encoding::sint32::encode(number, &parse(text, INT32)?, encoded),
        Kind::Sfixed32 => encoding::sfixed32::encode(number, &parse(text, INT32)?, encoded),
        Kind::Int64 => encoding::int64::encode(number, &parse(text, INT64)?, encoded),
        Kind::Sint64 => encoding::sint64::encode(number, &parse(text, INT64)?, encoded),
        Kind::Sfixed64 => encoding::sfixed64::encode(number, &parse(text, INT64)?, encoded),
        Kind::Uint32 => encoding::uint32::encode(number, &parse(text, UINT32)?, encoded),
        Kind::Fixed32 => encoding::fixed32::encode(number, &parse(text, UINT32)?, encoded),
        Kind::Uint64 => encoding::uint64::encode(number, &parse(text, UINT64)?, encoded),
        Kind::Fixed64 => encoding::fixed64::encode(number, &parse(text, UINT64)?, encoded),
        Kind::String => length_delimited(number, text.as_bytes(), encoded),
        Kind::Enum(values) => {
            let value = values
                .get_value_by_name(text)
                .or_else(|| text.parse().ok().and_then(|n| values.get_value(n)))
                .ok_or_else(|| {
                    let names: Vec<String> = values
                        .values()
                        .map(|value| value.name().to_owned())
                        .collect();
                    format!("`{text}` is not one of {}", names.join(", "))
                })?;
            encoding::int32::encode(number, &value.number(), encoded);
        }
        Kind::Message(message) if !is_scalar_wkt(message.full_name()) => {
            return Err("a message field cannot be set from the URL (set its fields)".to_owned());
        }
        // Bytes and the well-known types written as strings: decoded as the proto3 JSON
        // mapping reads their string, in a message of the field's own.
        Kind::Bytes | Kind::Message(_) => {
            let value = Value::String(text.to_owned());
            let value = if field.is_list() {
                Value::Array(vec![value])
            } else {
                value
            };
            let json = Map::from_iter([(field.json_name().to_owned(), value)]);
            let message =
                DynamicMessage::deserialize(field.parent_message().clone(), Value::Object(json))
                    .map_err(|error| error.to_string())?;
            message.encode(encoded).map_err(|error| error.to_string())?;
        }
    }
    Ok(())
}

const INT32: &str = "a 32-bit integer";
const INT64: &str = "an integer";
const UINT32: &str = "an unsigned 32-bit integer";
const UINT64: &str = "an unsigned integer";

/// The well-known message types whose JSON form is a string or a number.
pub(crate) fn is_scalar_wkt(name: &str) -> bool {
    matches!(
        name,
        "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
            | "google.protobuf.BoolValue"
            | "google.protobuf.Int32Value"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.FloatValue"
            | "google.protobuf.DoubleValue"
    )
}

/// The well-known message types whose JSON form is not an object of their fields (a
/// string, a number, any JSON value, an object with `@type`): never set field by field.
pub(crate) fn is_wkt(name: &str) -> bool {
    is_scalar_wkt(name)
        || matches!(
            name,
            "google.protobuf.Struct"
                | "google.protobuf.Value"
                | "google.protobuf.ListValue"
                | "google.protobuf.Any"
                | "google.protobuf.Empty"
        )
}

/// The fields down to the one at `path` (`["a", "b"]`: field `a`, then its field `b`).
fn field_at<T: AsRef<str>>(
    message: &MessageDescriptor,
    path: &[T],
) -> Result<Vec<FieldDescriptor>, String> {
    let mut message = message.clone();
    let mut chain = Vec::with_capacity(path.len());
    for (index, name) in path.iter().enumerate() {
        let name = name.as_ref();
        let field = message
            .get_field_by_name(name)
            .or_else(|| message.get_field_by_json_name(name))
            .ok_or_else(|| format!("`{}` has no field `{name}`", message.full_name()))?;
        if index + 1 < path.len() {
            match field.kind() {
                Kind::Message(inner) if is_wkt(inner.full_name()) => {
                    return Err(format!(
                        "`{name}` is a {}, whose JSON form has no fields",
                        inner.full_name()
                    ));
                }
                Kind::Message(inner) if !field.is_list() => message = inner,
                _ => return Err(format!("`{name}` is not a message field")),
            }
        }
        chain.push(field);
    }
    if chain.is_empty() {
        return Err("an empty field path".to_owned());
    }
    Ok(chain)
}

/// The JSON answer of a response, written: the whole message (serialized straight from
/// the decoded message, without a `Value` between), or its `response_body` field.
fn response_json<S>(route: &Route<S>, encoded: Bytes) -> Result<Vec<u8>, Problem> {
    let response_body = route.rule.response_body;
    let json = if response_body.is_empty() {
        DynamicMessage::decode(route.output.clone(), encoded)
            .map_err(|error| error.to_string())
            .and_then(|message| serde_json::to_vec(&message).map_err(|error| error.to_string()))
    } else {
        answer_json(&route.output, response_body, encoded)
            .and_then(|json| serde_json::to_vec(&json).map_err(|error| error.to_string()))
    };
    json.map_err(|error| Problem::internal(&format!("the handler's response: {error}")))
}

/// The JSON of an encoded `output`: the whole message, or its field `response_body`
/// (its default when unset, as the proto3 JSON mapping writes it: `[]`, `""`, `0`).
fn answer_json(
    output: &MessageDescriptor,
    response_body: &str,
    encoded: Bytes,
) -> Result<Value, String> {
    let message =
        DynamicMessage::decode(output.clone(), encoded).map_err(|error| error.to_string())?;
    if response_body.is_empty() {
        return serde_json::to_value(&message).map_err(|error| error.to_string());
    }
    let options = SerializeOptions::new().skip_default_fields(false);
    let json = message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|error| error.to_string())?;
    let field = output
        .get_field_by_name(response_body)
        .map(|field| field.json_name().to_owned())
        .unwrap_or_default();
    Ok(match json {
        Value::Object(mut object) => object.remove(&field).unwrap_or(Value::Null),
        other => other,
    })
}

fn json_bytes_response(status: StatusCode, json: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A server stream as newline-delimited JSON, or Server-Sent Events (`sse`): each
/// message in turn, and an error ending the stream as `{"error": {…}}` (an `error`
/// event).
fn streamed<S>(route: &Route<S>, stream: BoxStream<Reply>, sse: bool) -> Response {
    let output = route.output.clone();
    let response_body = route.rule.response_body;
    let lines = stream.map(move |item| {
        let (event, json) = match item {
            Ok(Reply::Json(json)) => ("message", json),
            Ok(Reply::Encoded(bytes)) => (
                "message",
                answer_json(&output, response_body, bytes)
                    .unwrap_or(Value::Null)
                    .to_string()
                    .into_bytes(),
            ),
            Err(status) => (
                "error",
                serde_json::json!({ "error": Problem::grpc(status).body() })
                    .to_string()
                    .into_bytes(),
            ),
        };
        let mut line = Vec::with_capacity(json.len() + 24);
        if sse {
            line.extend_from_slice(b"event: ");
            line.extend_from_slice(event.as_bytes());
            line.extend_from_slice(b"\ndata: ");
        }
        line.extend_from_slice(&json);
        line.extend_from_slice(if sse { b"\n\n" } else { b"\n" });
        Ok::<_, std::convert::Infallible>(Bytes::from(line))
    });
    let mut response = Response::new(Body::from_stream(lines));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if sse {
            "text/event-stream"
        } else {
            "application/x-ndjson"
        }),
    );
    response
}
