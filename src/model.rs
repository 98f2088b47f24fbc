//! The plain-data model of a project: the only thing templates see. Built once from the
//! spec and the compiled protos; every name in it is already a valid Rust name.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::FileDescriptorProto;

use crate::error::Error;
use crate::proto::{Compiled, ProtoSource, TypeIndex, source_path};
use crate::spec::Spec;
use crate::{ident, layout};

/// Which handler bodies to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Every handler is a stub answering `UNIMPLEMENTED`.
    Stubs,
    /// The embedded greeter is served: its four handlers are implemented (and a client
    /// example and tests for them written), so a new service works out of the box.
    Greeter,
}

/// The embedded greeter's service.
pub const GREETER_SERVICE: &str = "greeter.v1.Greeter";

/// The embedded greeter's RPCs: name, client streaming, server streaming.
const GREETER_METHODS: [(&str, bool, bool); 4] = [
    ("SayHello", false, false),
    ("SayHelloStream", false, true),
    ("CollectHellos", true, false),
    ("Chat", true, true),
];

/// A generated project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The crate name (`order-service`).
    pub name: String,
    /// The crate as an identifier (`order_service`).
    pub crate_ident: String,
    /// The spec as written into the project.
    pub spec: Spec,
    /// Default gRPC port.
    pub grpc_port: u16,
    /// Default HTTP port.
    pub http_port: u16,
    /// The project's proto files, written under `proto/`.
    pub protos: Vec<ProtoSource>,
    /// The import names of the root protos, compiled by `build.rs`.
    pub proto_roots: Vec<String>,
    /// The module tree of the generated proto code, flattened for templates.
    pub proto_modules: Vec<ModuleLine>,
    /// Every service of the served protos, in proto order.
    pub services: Vec<Service>,
    /// The services this one calls.
    pub clients: Vec<Client>,
    /// Which handler bodies to write.
    pub flavor: Flavor,
    /// The `svcgen-runtime` dependency's entry in `Cargo.toml` (its value, an inline table
    /// or a version string).
    pub runtime_dependency: String,
    /// Whether the runtime is vendored into `vendor/svcgen-runtime/` (no `[runtime]`).
    pub vendored_runtime: bool,
    /// The REST routes: the protos' `google.api.http` rules, then `[[http.routes]]`.
    pub http_routes: Vec<crate::http::Route>,
}

/// svcgen's version, which is also svcgen-runtime's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the vendored runtime lives in a project.
pub const VENDORED_RUNTIME: &str = "vendor/svcgen-runtime";

/// The value of `svcgen-runtime`'s entry in the project's `Cargo.toml`, from `[runtime]`.
fn runtime_dependency(runtime: &crate::spec::RuntimeSpec) -> String {
    let quoted = |value: &str| toml::Value::String(value.to_owned()).to_string();
    let pinned = quoted(&format!("={VERSION}"));
    if let Some(version) = &runtime.version {
        return quoted(version);
    }
    if let Some(git) = &runtime.git {
        let rev = runtime
            .rev
            .as_deref()
            .map_or_else(String::new, |rev| format!(", rev = {}", quoted(rev)));
        return format!("{{ version = {pinned}, git = {}{rev} }}", quoted(git));
    }
    let path = runtime.path.as_deref().unwrap_or(VENDORED_RUNTIME);
    format!("{{ version = {pinned}, path = {} }}", quoted(path))
}

/// A `[[http.routes]]` entry as a rule: its rpc qualified when it names a served service
/// by its simple name.
fn spec_rule(route: &crate::spec::HttpRouteSpec, services: &[Service]) -> crate::http::Rule {
    let rpc = match route.rpc.rsplit_once('.') {
        Some((service, method)) if !service.contains('.') => {
            let mut named = services.iter().filter(|s| s.proto_name == service);
            match (named.next(), named.next()) {
                (Some(service), None) => format!("{}.{method}", service.full_name),
                _ => route.rpc.clone(),
            }
        }
        _ => route.rpc.clone(),
    };
    let (name, text, span) = route.origin.clone().unwrap_or_default();
    crate::http::Rule {
        rpc,
        method: route.method.to_ascii_uppercase(),
        path: route.path.clone(),
        body: route.body.clone(),
        response_body: route.response_body.clone(),
        origin: crate::http::Origin {
            name,
            text,
            span: Some((span.start, span.end)),
        },
    }
}

/// A typed client of another service (`[[clients]]`).
#[derive(Debug, Clone)]
pub struct Client {
    /// Its field in `Clients` and its config section (`backend`).
    pub name: String,
    /// The service it calls (`backend.v1.Backend`).
    pub service: String,
    /// tonic's client module, from the crate root
    /// (`crate::proto::backend::v1::backend_client`).
    pub client_module: String,
    /// tonic's client type in it (`BackendClient`).
    pub client_type: String,
    /// The default endpoint.
    pub endpoint: String,
    /// The gRPC paths (`/backend.v1.Backend/Get`) of the service's idempotent methods:
    /// `option idempotency_level = IDEMPOTENT` or `NO_SIDE_EFFECTS`, which the client
    /// retries on UNAVAILABLE even once they reached a server.
    pub idempotent: Vec<String>,
}

/// One line of the nested `pub mod` tree that includes prost's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleLine {
    /// `pub mod <name> {`
    Open(String),
    /// `tonic::include_proto!("<file>");` and `svcgen_runtime::include_serde!("<package>");`:
    /// the name of the file prost-build writes for a package, without `.rs`
    /// (`google.r#type` for `google.type`), and the package's (`_` for none), which the
    /// build script names the serde impls' file after.
    Include(String, String),
    /// `}`
    Close,
}

/// A gRPC service.
#[derive(Debug, Clone)]
pub struct Service {
    /// As declared: `Greeter`.
    pub proto_name: String,
    /// Fully qualified: `greeter.v1.Greeter`.
    pub full_name: String,
    /// The module of its handlers and glue (`greeter`), keyword-escaped.
    pub module: String,
    /// That module's directory name (`greeter`).
    pub dir: String,
    /// tonic's trait and client base name (`Greeter`).
    pub trait_name: String,
    /// Path of the package module from the crate root (`proto::greeter::v1`).
    pub package_path: String,
    /// tonic's server module (`greeter_server`).
    pub server_module: String,
    /// tonic's client module (`greeter_client`).
    pub client_module: String,
    /// The proto file that declares it.
    pub file: String,
    /// Its doc comment lines.
    pub docs: Vec<String>,
    /// Its RPCs, in proto order.
    pub methods: Vec<Method>,
}

/// An RPC.
#[derive(Debug, Clone)]
pub struct Method {
    /// As declared: `SayHello`.
    pub proto_name: String,
    /// tonic's method name (`say_hello`, `r#type`).
    pub ident: String,
    /// Its handler's file stem (`say_hello`, `type`).
    pub file: String,
    /// A name for things about this RPC in the crate's tests (`greeter_say_hello`).
    pub test_name: String,
    /// The gRPC path: `/greeter.v1.Greeter/SayHello`.
    pub route: String,
    /// The rpc in proto syntax, types fully qualified:
    /// `rpc Chat(stream greeter.v1.HelloRequest) returns (stream greeter.v1.HelloReply)`.
    /// svcgen.lock records it for the handler, which is written for this shape.
    pub signature: String,
    /// The request message.
    pub request: RustType,
    /// The response message.
    pub response: RustType,
    /// `stream` request.
    pub client_streaming: bool,
    /// `stream` response.
    pub server_streaming: bool,
    /// tonic's associated stream type (`SayHelloStreamStream`).
    pub stream_type: String,
    /// Its doc comment lines.
    pub docs: Vec<String>,
    /// What the handler file imports from the crate and the proto types, sorted.
    pub handler_imports: Vec<String>,
    /// The handler's signature, laid out, up to its `{`.
    pub handler_signature: String,
    /// The stub handler's body.
    pub handler_body: String,
}

/// A Rust type generated for (or mapped from) a proto message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustType {
    /// The path inside the generated crate (`crate::proto::a::v1::Thing`, `()`,
    /// `::prost_types::Timestamp`).
    pub path: String,
    /// The path from outside the crate, for its tests (`demo::proto::a::v1::Thing`).
    pub extern_path: String,
    /// The last segment (`Thing`).
    pub name: String,
    /// What a `use` needs to name it, when it is not in the prelude.
    pub import: Option<String>,
    /// Its default value from outside the crate, for its tests (`()` for
    /// `google.protobuf.Empty`, `<demo::proto::a::v1::Thing>::default()`).
    pub default: String,
}

/// Short names the handler files already import; message types with these names are
/// spelled out in full.
const HANDLER_NAMES: &[&str] = &[
    "Request",
    "Response",
    "Status",
    "Streaming",
    "AppState",
    "BoxStream",
    "Arc",
    "Result",
    "Option",
    "String",
    "Vec",
    "Box",
];

impl Project {
    /// Builds the model.
    ///
    /// # Errors
    /// No service in the root protos, or names that would collide in the generated code.
    pub fn build(spec: Spec, compiled: &Compiled, served: &[String]) -> Result<Self, Error> {
        let name = spec.service.name.clone().unwrap_or_default();
        let crate_ident = ident::crate_ident(&name);
        let types = RustTypes::new(&compiled.descriptors.file, &crate_ident);
        let mut services = Vec::new();
        for file in &compiled.descriptors.file {
            if !served.iter().any(|root| root == file.name()) {
                continue;
            }
            for (index, service) in file.service.iter().enumerate() {
                services.push(build_service(file, index, service, &types)?);
            }
        }
        if services.is_empty() {
            return Err(Error::NoService {
                files: served.join(", "),
            });
        }
        let clients = spec
            .clients
            .iter()
            .map(|client| build_client(client, &compiled.descriptors.file))
            .collect::<Result<Vec<_>, _>>()?;
        check_unique_modules(&services)?;
        let flavor = flavor(&services);
        let served: Vec<String> = services.iter().map(|s| s.full_name.clone()).collect();
        let mut rules = compiled.http_rules.clone();
        rules.extend(
            spec.http
                .routes
                .iter()
                .map(|route| spec_rule(route, &services)),
        );
        let http_routes = crate::http::check(&compiled.pool, &rules, &served)?;
        Ok(Self {
            http_routes,
            runtime_dependency: runtime_dependency(&spec.runtime),
            vendored_runtime: spec.runtime.is_vendored(),
            crate_ident,
            grpc_port: spec.service.grpc_port,
            http_port: spec.service.http_port,
            protos: compiled.sources.clone(),
            proto_roots: compiled.roots.clone(),
            proto_modules: module_lines(&compiled.descriptors.file),
            services,
            clients,
            flavor,
            name,
            spec,
        })
    }

    /// Whether any RPC streams responses (then `BoxStream` is used).
    #[must_use]
    pub fn any_server_streaming(&self) -> bool {
        self.services
            .iter()
            .flat_map(|service| &service.methods)
            .any(|method| method.server_streaming)
    }

    /// The module tree of the generated proto code, laid out.
    #[must_use]
    pub fn proto_module_text(&self) -> String {
        layout::proto_modules(&self.proto_modules)
    }

    /// The services' handler modules, in the order rustfmt sorts `mod` declarations.
    #[must_use]
    pub fn handler_modules(&self) -> Vec<&str> {
        let mut modules: Vec<&str> = self.services.iter().map(|s| s.module.as_str()).collect();
        layout::sort_modules(&mut modules, |module| module);
        modules
    }
}

/// The RPCs of a service of one kind, as `svcgen_runtime::service!` lists them.
#[derive(Debug)]
pub struct Kind<'a> {
    /// `unary`, `client_streaming`, `server_streaming` or `bidi_streaming`.
    pub keyword: &'static str,
    /// The RPCs, in proto order.
    pub methods: Vec<&'a Method>,
}

impl Service {
    /// Its RPCs by kind, in the order `svcgen_runtime::service!` takes them.
    #[must_use]
    pub fn kinds(&self) -> Vec<Kind<'_>> {
        [
            ("unary", false, false),
            ("client_streaming", true, false),
            ("server_streaming", false, true),
            ("bidi_streaming", true, true),
        ]
        .into_iter()
        .map(|(keyword, client, server)| Kind {
            keyword,
            methods: self
                .methods
                .iter()
                .filter(|m| m.client_streaming == client && m.server_streaming == server)
                .collect(),
        })
        .filter(|kind| !kind.methods.is_empty())
        .collect()
    }

    /// Its handler modules, in the order rustfmt sorts `mod` declarations.
    #[must_use]
    pub fn handler_modules(&self) -> Vec<&str> {
        let mut modules: Vec<&str> = self.methods.iter().map(|m| m.ident.as_str()).collect();
        layout::sort_modules(&mut modules, |module| module);
        modules
    }
}

fn build_client(
    client: &crate::spec::ClientSpec,
    files: &[FileDescriptorProto],
) -> Result<Client, Error> {
    let file = files
        .iter()
        .find(|file| file.name() == client.proto)
        .ok_or_else(|| Error::Unsupported {
            message: format!(
                "client `{}`: proto `{}` was not compiled",
                client.name, client.proto
            ),
            help: "name the proto by its import path, relative to an include directory".to_owned(),
        })?;
    let services: Vec<String> = file
        .service
        .iter()
        .map(|service| ident::qualify(file.package(), service.name()))
        .collect();
    let index = match &client.service {
        Some(wanted) => services
            .iter()
            .position(|name| name == wanted.trim_start_matches('.')),
        None if services.len() == 1 => Some(0),
        None => None,
    }
    .ok_or_else(|| Error::Unsupported {
        message: format!(
            "client `{}`: {} declares {}",
            client.name,
            client.proto,
            if services.is_empty() {
                "no service".to_owned()
            } else {
                format!("the services {}", services.join(", "))
            }
        ),
        help: "set `service` in the [[clients]] entry to one of the proto's services".to_owned(),
    })?;
    let service = &services[index];
    let simple = service.rsplit('.').next().unwrap_or(service);
    let idempotent = idempotent_methods(service, &file.service[index]);
    let trait_name = ident::to_upper_camel(simple);
    let module = std::iter::once("crate::proto".to_owned())
        .chain(ident::package_modules(file.package()))
        .collect::<Vec<_>>()
        .join("::");
    Ok(Client {
        name: client.name.clone(),
        service: service.clone(),
        client_module: format!("{module}::{}_client", ident::naive_snake_case(&trait_name)),
        client_type: format!("{trait_name}Client"),
        endpoint: client.endpoint.clone(),
        idempotent,
    })
}

/// The gRPC paths of the methods of `declared`, the service `service` (fully qualified),
/// with `option idempotency_level = IDEMPOTENT` or `NO_SIDE_EFFECTS`, in proto order.
fn idempotent_methods(
    service: &str,
    declared: &prost_types::ServiceDescriptorProto,
) -> Vec<String> {
    use prost_types::method_options::IdempotencyLevel;

    declared
        .method
        .iter()
        .filter(|method| {
            method.options.as_ref().is_some_and(|options| {
                matches!(
                    options.idempotency_level(),
                    IdempotencyLevel::Idempotent | IdempotencyLevel::NoSideEffects
                )
            })
        })
        .map(|method| format!("/{service}/{}", method.name()))
        .collect()
}

/// [`Flavor::Greeter`] when the embedded greeter's service is served with its four RPCs
/// as shipped (other RPCs may have been added since).
fn flavor(services: &[Service]) -> Flavor {
    let greeter = services
        .iter()
        .find(|service| service.full_name == GREETER_SERVICE);
    let shipped = greeter.is_some_and(|service| {
        GREETER_METHODS.iter().all(|(name, client, server)| {
            service.methods.iter().any(|method| {
                method.proto_name == *name
                    && method.client_streaming == *client
                    && method.server_streaming == *server
                    && method.request.path == "crate::proto::greeter::v1::HelloRequest"
                    && method.response.path == "crate::proto::greeter::v1::HelloReply"
            })
        })
    });
    if shipped {
        Flavor::Greeter
    } else {
        Flavor::Stubs
    }
}

fn build_service(
    file: &FileDescriptorProto,
    index: usize,
    service: &prost_types::ServiceDescriptorProto,
    types: &RustTypes<'_>,
) -> Result<Service, Error> {
    let proto_name = service.name().to_owned();
    let package = file.package();
    let full_name = ident::qualify(package, &proto_name);
    let trait_name = ident::to_upper_camel(&proto_name);
    let module = ident::to_snake(&proto_name);
    let service_path = [
        source_path::SERVICE,
        i32::try_from(index).unwrap_or(i32::MAX),
    ];
    let mut methods = Vec::new();
    for (method_index, method) in service.method.iter().enumerate() {
        let method_ident = ident::to_snake(method.name());
        let file_stem = ident::module_file(&method_ident).to_owned();
        if file_stem == "mod" {
            return Err(Error::Unsupported {
                message: format!(
                    "rpc `{full_name}.{}` would need a handler file `mod.rs`",
                    method.name()
                ),
                help: "rename the rpc".to_owned(),
            });
        }
        let request = types.resolve(method.input_type());
        let response = types.resolve(method.output_type());
        let (handler_imports, handler_request, handler_response) =
            handler_spelling(&request, &response, method.server_streaming());
        let route = format!("/{full_name}/{}", method.name());
        let handler_response = if method.server_streaming() {
            format!("BoxStream<{handler_response}>")
        } else {
            handler_response
        };
        let handler_request = if method.client_streaming() {
            format!("Streaming<{handler_request}>")
        } else {
            handler_request
        };
        let handler_signature =
            layout::handler_signature(&method_ident, &handler_request, &handler_response);
        let path = [
            service_path[0],
            service_path[1],
            source_path::METHOD,
            i32::try_from(method_index).unwrap_or(i32::MAX),
        ];
        methods.push(Method {
            signature: proto_signature(method),
            proto_name: method.name().to_owned(),
            ident: method_ident,
            test_name: ident::join_snake(&[ident::module_file(&module), &file_stem]),
            handler_signature,
            handler_body: layout::unimplemented_body(&format!("{route} is not implemented yet")),
            route,
            file: file_stem,
            request,
            response,
            client_streaming: method.client_streaming(),
            server_streaming: method.server_streaming(),
            stream_type: format!("{}Stream", method.name()),
            docs: comments(file, &path),
            handler_imports,
        });
    }
    Ok(Service {
        full_name,
        dir: ident::module_file(&module).to_owned(),
        module,
        package_path: std::iter::once("proto".to_owned())
            .chain(ident::package_modules(package))
            .collect::<Vec<_>>()
            .join("::"),
        server_module: format!("{}_server", ident::naive_snake_case(&trait_name)),
        client_module: format!("{}_client", ident::naive_snake_case(&trait_name)),
        trait_name,
        file: file.name().to_owned(),
        docs: comments(file, &service_path),
        methods,
        proto_name,
    })
}

/// `rpc Name(stream a.v1.Request) returns (stream a.v1.Response)`.
fn proto_signature(method: &prost_types::MethodDescriptorProto) -> String {
    let stream = |streaming: bool| if streaming { "stream " } else { "" };
    format!(
        "rpc {}({}{}) returns ({}{})",
        method.name(),
        stream(method.client_streaming()),
        method.input_type().trim_start_matches('.'),
        stream(method.server_streaming()),
        method.output_type().trim_start_matches('.'),
    )
}

/// How a handler file names its request and response types, and what it imports: the
/// state, the types by their short names (aliased where a short name would clash with
/// another, or with a name the file already uses), and `BoxStream` for a stream of
/// responses, in the order rustfmt sorts them.
fn handler_spelling(
    request: &RustType,
    response: &RustType,
    server_streaming: bool,
) -> (Vec<String>, String, String) {
    let clash = request.name == response.name && request.path != response.path;
    let mut imports = vec!["crate::app::AppState".to_owned()];
    if server_streaming {
        imports.push("crate::svcgen::BoxStream".to_owned());
    }
    let mut spell = |ty: &RustType, role: &str| {
        let Some(import) = &ty.import else {
            return ty.path.clone();
        };
        let alias = if clash {
            Some(format!("{role}{}", ty.name))
        } else if HANDLER_NAMES.contains(&ty.name.as_str()) {
            Some(format!("{}Message", ty.name))
        } else {
            None
        };
        let line = match &alias {
            Some(alias) => format!("{import} as {alias}"),
            None => import.clone(),
        };
        if !imports.contains(&line) {
            imports.push(line);
        }
        alias.unwrap_or_else(|| ty.name.clone())
    };
    let request_spelling = spell(request, "Request");
    let response_spelling = spell(response, "Response");
    crate::layout::sort_use_paths(&mut imports);
    (imports, request_spelling, response_spelling)
}

fn check_unique_modules(services: &[Service]) -> Result<(), Error> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for service in services {
        if let Some(other) = seen.insert(&service.module, &service.full_name) {
            return Err(Error::Unsupported {
                message: format!(
                    "services `{other}` and `{}` would share the handler module `{}`",
                    service.full_name, service.module
                ),
                help:
                    "give the services distinct names, or split them into separate svcgen projects"
                        .to_owned(),
            });
        }
    }
    Ok(())
}

/// The leading comment at a source location, as doc lines.
fn comments(file: &FileDescriptorProto, path: &[i32]) -> Vec<String> {
    file.source_code_info
        .as_ref()
        .and_then(|info| info.location.iter().find(|location| location.path == path))
        .and_then(|location| location.leading_comments.as_deref())
        .map(|text| {
            text.trim_end()
                .lines()
                .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Maps fully qualified message names (`.a.v1.Outer.Inner`) to Rust paths.
struct RustTypes<'a> {
    index: TypeIndex<'a>,
    crate_ident: String,
}

impl<'a> RustTypes<'a> {
    fn new(files: &'a [FileDescriptorProto], crate_ident: &str) -> Self {
        Self {
            index: TypeIndex::new(files),
            crate_ident: crate_ident.to_owned(),
        }
    }

    fn resolve(&self, full_name: &str) -> RustType {
        if let Some(primitive) = well_known_primitive(full_name) {
            return RustType {
                path: primitive.to_owned(),
                extern_path: primitive.to_owned(),
                name: primitive.to_owned(),
                import: None,
                default: if primitive == "()" {
                    "()".to_owned()
                } else {
                    format!("<{primitive}>::default()")
                },
            };
        }
        if let Some(rest) = full_name.strip_prefix(".google.protobuf.") {
            let segments: Vec<&str> = rest.split('.').collect();
            let (last, parents) = segments.split_last().unwrap_or((&rest, &[]));
            let mut path = vec!["prost_types".to_owned()];
            path.extend(parents.iter().map(|parent| ident::to_snake(parent)));
            path.push(ident::to_upper_camel(last));
            let joined = path.join("::");
            return RustType {
                path: format!("::{joined}"),
                extern_path: format!("::{joined}"),
                name: ident::to_upper_camel(last),
                default: format!("<::{joined}>::default()"),
                import: Some(joined),
            };
        }
        // protox has checked every reference, so a type is always found.
        let found = self.index.get(full_name);
        let mut path = vec!["proto".to_owned()];
        path.extend(ident::package_modules(
            found.map_or("", |found| found.package),
        ));
        path.extend(
            found
                .into_iter()
                .flat_map(|found| &found.parents)
                .map(|p| ident::to_snake(p)),
        );
        let rust_name = ident::to_upper_camel(
            found.map_or_else(|| full_name.trim_start_matches('.'), |found| found.name),
        );
        path.push(rust_name.clone());
        let joined = path.join("::");
        let extern_path = format!("{}::{joined}", self.crate_ident);
        RustType {
            path: format!("crate::{joined}"),
            default: format!("<{extern_path}>::default()"),
            extern_path,
            name: rust_name,
            import: Some(format!("crate::{joined}")),
        }
    }
}

/// prost's built-in mapping of some well-known types to Rust primitives.
fn well_known_primitive(full_name: &str) -> Option<&'static str> {
    Some(match full_name {
        ".google.protobuf.Empty" => "()",
        ".google.protobuf.BoolValue" => "bool",
        ".google.protobuf.BytesValue" => "Vec<u8>",
        ".google.protobuf.DoubleValue" => "f64",
        ".google.protobuf.FloatValue" => "f32",
        ".google.protobuf.Int32Value" => "i32",
        ".google.protobuf.Int64Value" => "i64",
        ".google.protobuf.StringValue" => "String",
        ".google.protobuf.UInt32Value" => "u32",
        ".google.protobuf.UInt64Value" => "u64",
        _ => return None,
    })
}

/// The nested `pub mod` tree for every package prost generates code for, except
/// `google.protobuf` (which is `prost_types`).
fn module_lines(files: &[FileDescriptorProto]) -> Vec<ModuleLine> {
    #[derive(Default)]
    struct Node {
        include: Option<(String, String)>,
        children: BTreeMap<String, Node>,
    }
    fn flatten(node: &Node, lines: &mut Vec<ModuleLine>) {
        if let Some(package) = &node.include {
            lines.push(ModuleLine::Include(package.0.clone(), package.1.clone()));
        }
        for (name, child) in &node.children {
            lines.push(ModuleLine::Open(name.clone()));
            flatten(child, lines);
            lines.push(ModuleLine::Close);
        }
    }
    let mut root = Node::default();
    let packages: BTreeSet<&str> = files.iter().map(FileDescriptorProto::package).collect();
    for package in packages {
        if package == "google.protobuf" {
            continue;
        }
        let modules = ident::package_modules(package);
        let mut node = &mut root;
        for module in &modules {
            node = node.children.entry(module.clone()).or_default();
        }
        // prost-build names a package's file after its modules, keywords escaped
        // (`google.type` → `google.r#type.rs`), and the package without a name `_.rs`.
        node.include = Some(if package.is_empty() {
            ("_".to_owned(), "_".to_owned())
        } else {
            (modules.join("."), package.to_owned())
        });
    }
    let mut lines = Vec::new();
    flatten(&root, &mut lines);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(package: &str) -> FileDescriptorProto {
        FileDescriptorProto {
            package: Some(package.to_owned()),
            ..FileDescriptorProto::default()
        }
    }

    #[test]
    fn packages_are_included_by_the_file_names_prost_build_writes() {
        let lines = module_lines(&[
            file("google.type"),
            file("google.protobuf"),
            file("kw.self"),
            file("Acme.Match"),
            file(""),
        ]);
        let includes: Vec<&str> = lines
            .iter()
            .filter_map(|line| match line {
                ModuleLine::Include(file, _) => Some(file.as_str()),
                _ => None,
            })
            .collect();
        // prost-build's `Module::to_file_name_or`: the package's modules, keyword-escaped.
        assert_eq!(includes, ["_", "acme.r#match", "google.r#type", "kw.self_"]);
        // The serde impls' files are named after the packages themselves.
        let packages: Vec<&str> = lines
            .iter()
            .filter_map(|line| match line {
                ModuleLine::Include(_, package) => Some(package.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(packages, ["_", "Acme.Match", "google.type", "kw.self"]);
        assert!(lines.contains(&ModuleLine::Open("r#type".to_owned())));
    }

    #[test]
    fn a_clients_idempotent_methods_are_those_its_proto_declares_so() {
        use prost_types::method_options::IdempotencyLevel;
        use prost_types::{MethodDescriptorProto, MethodOptions, ServiceDescriptorProto};

        let method = |name: &str, level: Option<IdempotencyLevel>| MethodDescriptorProto {
            name: Some(name.to_owned()),
            options: level.map(|level| MethodOptions {
                idempotency_level: Some(level as i32),
                ..MethodOptions::default()
            }),
            ..MethodDescriptorProto::default()
        };
        let service = |name: &str, methods| ServiceDescriptorProto {
            name: Some(name.to_owned()),
            method: methods,
            ..ServiceDescriptorProto::default()
        };
        let mut backend = file("backend.v1");
        backend.name = Some("backend/v1/backend.proto".to_owned());
        backend.service = vec![
            service(
                "Names",
                vec![
                    method("Greet", Some(IdempotencyLevel::NoSideEffects)),
                    method("Rename", None),
                    method("Put", Some(IdempotencyLevel::Idempotent)),
                    method("Count", Some(IdempotencyLevel::IdempotencyUnknown)),
                ],
            ),
            service(
                "Other",
                vec![method("Get", Some(IdempotencyLevel::Idempotent))],
            ),
        ];
        let spec = crate::spec::ClientSpec {
            name: "backend".to_owned(),
            proto: "backend/v1/backend.proto".to_owned(),
            service: Some("backend.v1.Names".to_owned()),
            endpoint: "http://127.0.0.1:50052".to_owned(),
        };
        let client = build_client(&spec, &[backend]).expect("a client");
        assert_eq!(
            client.idempotent,
            ["/backend.v1.Names/Greet", "/backend.v1.Names/Put"]
        );
    }
}
