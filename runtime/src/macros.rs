//! The macros svcgen's generated glue is written with: [`service!`](crate::service) and
//! [`clients!`](crate::clients). They take a declarative description of what the protos
//! and `svcgen.toml` say, so the glue of a service is a table, not pages of boilerplate.

/// Implements [`Service`](crate::Service) for a service's state type, and a tonic
/// service per proto service whose RPCs each call their handler.
///
/// Each `grpc` block becomes a module (`grpc greeter ...` → `greeter::Service`) holding
/// the tonic implementation; its RPCs are listed by kind. A handler is an `async fn`
/// taking the state (`Arc<State>`) and the tonic request, returning the tonic response:
/// a unary or client-streaming handler the response message, a server-streaming or
/// bidirectional one a [`BoxStream`](crate::BoxStream) of them.
///
/// ```
/// # mod proto {
/// #     pub const FILE_DESCRIPTOR_SET: &[u8] = &[];
/// # }
/// use std::sync::Arc;
///
/// use svcgen_runtime::{Config, Empty};
///
/// #[derive(Debug)]
/// pub struct AppState;
///
/// impl AppState {
///     async fn new(_config: &Config<Self>) -> anyhow::Result<Self> {
///         Ok(Self)
///     }
/// }
///
/// fn http_routes() -> axum::Router<Arc<AppState>> {
///     axum::Router::new()
/// }
///
/// svcgen_runtime::service! {
///     impl Service for AppState {
///         name: "hello",
///         ports: { grpc: 50051, http: 8080 },
///         file_descriptor_set: proto::FILE_DESCRIPTOR_SET,
///         app_config: Empty,
///         clients_config: Empty,
///         init: AppState::new,
///         http: http_routes,
///     }
/// }
/// ```
#[macro_export]
macro_rules! service {
    (
        impl Service for $state:ty {
            name: $name:literal,
            ports: { grpc: $grpc_port:literal, http: $http_port:literal },
            file_descriptor_set: $fds:expr,
            app_config: $app:ty,
            clients_config: $clients:ty,
            init: $init:path,
            http: $http:path,
        }
        $(
            $(#[$grpc_attr:meta])*
            grpc $module:ident $full_name:literal
                in $($server:ident)::+ ($trait_:ident, $Server:ident) {
                $(unary $u:ident $u_name:literal ($u_req:ty) -> $u_res:ty = $u_handler:path;)*
                $(client_streaming $c:ident $c_name:literal ($c_req:ty) -> $c_res:ty
                    = $c_handler:path;)*
                $(server_streaming $s:ident $s_name:literal ($s_req:ty) -> $s_res:ty
                    as $s_stream:ident = $s_handler:path;)*
                $(bidi_streaming $b:ident $b_name:literal ($b_req:ty) -> $b_res:ty
                    as $b_stream:ident = $b_handler:path;)*
            }
        )*
        $(
            http {
                $($method:literal $path:literal $(body $body:literal)?
                    $(response_body $response_body:literal)? => $rpc:literal;)*
            }
        )?
    ) => {
        impl $crate::Service for $state {
            const NAME: &'static str = $name;
            const VERSION: &'static str = env!("CARGO_PKG_VERSION");
            const GRPC_PORT: u16 = $grpc_port;
            const HTTP_PORT: u16 = $http_port;
            const SERVICES: &'static [&'static str] = &[$($full_name),*];
            const METHODS: &'static [$crate::Method] = &[$(
                $($crate::Method::new(concat!($full_name, "/", $u_name), false),)*
                $($crate::Method::new(concat!($full_name, "/", $c_name), false),)*
                $($crate::Method::new(concat!($full_name, "/", $s_name), true),)*
                $($crate::Method::new(concat!($full_name, "/", $b_name), true),)*
            )*];
            const FILE_DESCRIPTOR_SET: &'static [u8] = $fds;
            type AppConfig = $app;
            type ClientsConfig = $clients;

            async fn init(config: &$crate::Config<Self>) -> $crate::__private::anyhow::Result<Self> {
                $init(config).await
            }

            #[allow(unused_variables)]
            fn grpc(
                state: &::std::sync::Arc<Self>,
                max_message_bytes: usize,
            ) -> $crate::__private::tonic::service::Routes {
                let routes = $crate::__private::tonic::service::Routes::default();
                $(let routes = routes.add_service(
                    $module::Service::server(state)
                        .max_decoding_message_size(max_message_bytes)
                        .max_encoding_message_size(max_message_bytes),
                );)*
                routes
            }

            fn http() -> $crate::__private::axum::Router<::std::sync::Arc<Self>> {
                $http()
            }

            const HTTP_RULES: &'static [$crate::rest::HttpRule] = &[$($(
                $crate::rest::HttpRule {
                    method: $method,
                    path: $path,
                    body: $crate::__or_empty!($($body)?),
                    response_body: $crate::__or_empty!($($response_body)?),
                    rpc: $rpc,
                },
            )*)?];

            fn invoker(route: &str) -> ::std::option::Option<$crate::rest::Invoker<Self>> {
                #[allow(unused_imports)]
                use $crate::rest::json::{Reflect as _, Serde as _};
                $(
                    $(if route == concat!($full_name, "/", $u_name) {
                        let json = (&&$crate::rest::json::Probe::<$u_res>::new()).to_json();
                        return Some($crate::rest::Invoker::unary($u_handler, json));
                    })*
                    $(if route == concat!($full_name, "/", $s_name) {
                        let json = (&&$crate::rest::json::Probe::<$s_res>::new()).to_json();
                        return Some($crate::rest::Invoker::server_streaming($s_handler, json));
                    })*
                )*
                let _ = route;
                None
            }
        }

        $(
            $(#[$grpc_attr])*
            pub mod $module {
                #[allow(unused_imports)]
                use super::*;

                /// The tonic implementation: each RPC calls its handler.
                #[derive(Debug, Clone)]
                pub struct Service {
                    state: ::std::sync::Arc<$state>,
                }

                impl Service {
                    /// The service, ready to be added to a tonic server.
                    #[must_use]
                    pub fn server(state: &::std::sync::Arc<$state>) -> $($server)::+::$Server<Self> {
                        $($server)::+::$Server::new(Self {
                            state: ::std::sync::Arc::clone(state),
                        })
                    }
                }

                #[$crate::__private::tonic::async_trait]
                impl $($server)::+::$trait_ for Service {
                    $(
                        async fn $u(
                            &self,
                            request: $crate::__private::tonic::Request<$u_req>,
                        ) -> ::std::result::Result<
                            $crate::__private::tonic::Response<$u_res>,
                            $crate::__private::tonic::Status,
                        > {
                            $u_handler(::std::sync::Arc::clone(&self.state), request).await
                        }
                    )*
                    $(
                        async fn $c(
                            &self,
                            request: $crate::__private::tonic::Request<
                                $crate::__private::tonic::Streaming<$c_req>,
                            >,
                        ) -> ::std::result::Result<
                            $crate::__private::tonic::Response<$c_res>,
                            $crate::__private::tonic::Status,
                        > {
                            $c_handler(::std::sync::Arc::clone(&self.state), request).await
                        }
                    )*
                    $(
                        type $s_stream = $crate::BoxStream<$s_res>;

                        async fn $s(
                            &self,
                            request: $crate::__private::tonic::Request<$s_req>,
                        ) -> ::std::result::Result<
                            $crate::__private::tonic::Response<Self::$s_stream>,
                            $crate::__private::tonic::Status,
                        > {
                            $s_handler(::std::sync::Arc::clone(&self.state), request).await
                        }
                    )*
                    $(
                        type $b_stream = $crate::BoxStream<$b_res>;

                        async fn $b(
                            &self,
                            request: $crate::__private::tonic::Request<
                                $crate::__private::tonic::Streaming<$b_req>,
                            >,
                        ) -> ::std::result::Result<
                            $crate::__private::tonic::Response<Self::$b_stream>,
                            $crate::__private::tonic::Status,
                        > {
                            $b_handler(::std::sync::Arc::clone(&self.state), request).await
                        }
                    )*
                }
            }
        )*
    };
}

/// `$x`, or `""` when absent: an optional literal of [`service!`](crate::service).
#[doc(hidden)]
#[macro_export]
macro_rules! __or_empty {
    () => {
        ""
    };
    ($x:literal) => {
        $x
    };
}

/// The `[clients]` configuration section and the `Clients` of a service: a typed tonic
/// client over a [`TracedChannel`](crate::client::TracedChannel) per service it calls,
/// configured by `[clients.<name>]`, and an [`HttpClient`](crate::client::HttpClient)
/// for calls over plain HTTP.
///
/// ```
/// # mod proto {
/// #     pub mod names_client {
/// #         #[derive(Debug, Clone)]
/// #         pub struct NamesClient<T>(T);
/// #         impl<T> NamesClient<T> {
/// #             pub fn new(inner: T) -> Self { Self(inner) }
/// #         }
/// #     }
/// # }
/// svcgen_runtime::clients! {
///     /// `[clients.names]`: calls `names.v1.Names`.
///     names: NamesClient in proto::names_client = "http://127.0.0.1:50052",
///         idempotent = ["/names.v1.Names/Get"],
/// }
/// ```
///
/// Each client names its default endpoint and the gRPC paths of the callee's idempotent
/// methods (`idempotency_level` `IDEMPOTENT` or `NO_SIDE_EFFECTS` in its proto): a call
/// of one of those that reached a server is retried on UNAVAILABLE; others only when
/// they never reached one.
#[macro_export]
macro_rules! clients {
    ($(
        $(#[$attr:meta])*
        $name:ident: $client:ident in $($module:ident)::+ = $endpoint:literal,
            idempotent = [$($idempotent:literal),* $(,)?],
    )*) => {
        /// `[clients]`: one `[clients.<name>]` section per service this one calls.
        #[derive(Debug, Clone, $crate::__private::serde::Serialize, $crate::__private::serde::Deserialize)]
        #[serde(crate = "svcgen_runtime::__private::serde", default, deny_unknown_fields)]
        pub struct ClientsConfig {
            $(
                $(#[$attr])*
                pub $name: $crate::client::ClientConfig,
            )*
        }

        impl ::std::default::Default for ClientsConfig {
            fn default() -> Self {
                Self {
                    $($name: $crate::client::ClientConfig::new($endpoint),)*
                }
            }
        }

        /// The clients, built once at start-up; none connects before its first call, and
        /// cloning one is cheap.
        #[derive(Debug, Clone)]
        pub struct Clients {
            $(
                $(#[$attr])*
                pub $name: $($module)::+::$client<$crate::client::TracedChannel>,
            )*
            /// For calls to services over plain HTTP.
            pub http: $crate::client::HttpClient,
        }

        impl Clients {
            /// Builds every client from `config`.
            ///
            /// # Errors
            /// A `[clients.<name>]` value is invalid, or the HTTP client cannot be built.
            pub fn new<S: $crate::Service<ClientsConfig = ClientsConfig>>(
                config: &$crate::Config<S>,
            ) -> $crate::__private::anyhow::Result<Self> {
                Ok(Self {
                    $($name: $($module)::+::$client::new(
                        config.clients.$name.channel(
                            stringify!($name),
                            &config.tracing,
                            &[$($idempotent),*],
                        )?,
                    ),)*
                    http: $crate::client::HttpClient::new(&config.tracing)?,
                })
            }
        }
    };
}

/// Includes the serde impls the service's build script had pbjson write for the proto
/// package `package` (`<package>.serde.rs` in `OUT_DIR`), beside its messages
/// (`tonic::include_proto!`): the REST routes write those messages' JSON with them.
#[macro_export]
macro_rules! include_serde {
    ($package:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $package, ".serde.rs"));
    };
}
