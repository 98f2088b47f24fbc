//! The service spec, `svcgen.toml`: what to generate. It is read from `--spec` by
//! `svcgen new` and written into the generated project, where later commands read it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ident;

/// The file name of the spec in a generated project.
pub const FILE_NAME: &str = "svcgen.toml";

/// The whole spec. Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// `[service]`: the service itself.
    pub service: ServiceSpec,
    /// `[proto]`: the protos it serves.
    #[serde(default)]
    pub proto: ProtoSpec,
    /// `[[clients]]`: the services it calls, each with a generated, traced client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientSpec>,
    /// `[runtime]`: where the project gets svcgen-runtime from, when not from the copy
    /// svcgen vendors into it.
    #[serde(default, skip_serializing_if = "RuntimeSpec::is_vendored")]
    pub runtime: RuntimeSpec,
    /// `[http]`: REST routes to rpcs of protos that cannot carry `google.api.http`
    /// annotations.
    #[serde(default, skip_serializing_if = "HttpSpec::is_empty")]
    pub http: HttpSpec,
}

/// `[http]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// `[[http.routes]]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<HttpRouteSpec>,
}

impl HttpSpec {
    /// Whether there are no routes.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// `[[http.routes]]`: what a `google.api.http` rule says, for one rpc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRouteSpec {
    /// `Service.Method` or `package.Service.Method`.
    pub rpc: String,
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, or another method.
    pub method: String,
    /// The path template, e.g. `/v1/{name=shelves/*}`.
    pub path: String,
    /// `*`, a field of the request, or none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// A field of the response to answer with, or none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub response_body: String,
    /// Where the route is written, for errors: the spec's shown name, text, and bytes.
    #[serde(skip)]
    pub origin: Option<(String, String, std::ops::Range<usize>)>,
}

/// `[runtime]`: the source of the `svcgen-runtime` dependency. At most one of `path`,
/// `git` and `version`; none (the default) means the copy svcgen writes into
/// `vendor/svcgen-runtime/`, at svcgen's own version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSpec {
    /// A directory holding the crate, relative to the project (e.g. a checkout of svcgen's
    /// `runtime/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A git repository holding the crate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<String>,
    /// With `git`: the branch, tag or commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// A version from a registry (e.g. `"0.1"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl RuntimeSpec {
    /// Whether the project uses the copy svcgen vendors into it.
    #[must_use]
    pub const fn is_vendored(&self) -> bool {
        self.path.is_none() && self.git.is_none() && self.version.is_none()
    }
}

/// `[[clients]]`: a gRPC service this one calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// The client's name: its field in `Clients` and its section `[clients.<name>]`.
    pub name: String,
    /// The .proto declaring the service, by import name.
    pub proto: String,
    /// The fully qualified service; optional when the proto declares one service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The default endpoint written into `config/default.toml`.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
}

/// `[service]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The crate, binary and directory name. Optional in a spec given to `svcgen new`,
    /// which takes it from the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Default gRPC port (`server.grpc_addr` in `config/default.toml`).
    #[serde(default = "default_grpc_port")]
    pub grpc_port: u16,
    /// Default HTTP port (`server.http_addr`).
    #[serde(default = "default_http_port")]
    pub http_port: u16,
}

/// `[proto]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtoSpec {
    /// The .proto files whose services this service serves, by the names imports use:
    /// paths relative to an include directory (`greeter/v1/greeter.proto`).
    #[serde(default)]
    pub files: Vec<String>,
    /// Directories imports are resolved against, relative to the spec's directory.
    #[serde(default = "default_includes")]
    pub includes: Vec<String>,
}

impl Default for ProtoSpec {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            includes: default_includes(),
        }
    }
}

const fn default_grpc_port() -> u16 {
    50051
}

const fn default_http_port() -> u16 {
    8080
}

fn default_endpoint() -> String {
    "http://127.0.0.1:50051".to_owned()
}

fn default_includes() -> Vec<String> {
    vec!["proto".to_owned()]
}

impl Spec {
    /// A spec for a new service with default settings.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            service: ServiceSpec {
                name: Some(name.to_owned()),
                grpc_port: default_grpc_port(),
                http_port: default_http_port(),
            },
            proto: ProtoSpec::default(),
            clients: Vec::new(),
            runtime: RuntimeSpec::default(),
            http: HttpSpec::default(),
        }
    }

    /// Reads and checks the spec at `path`.
    ///
    /// # Errors
    /// The file cannot be read, is not valid TOML, has unknown keys or invalid values.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::SpecUnreadable {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks spec `text`, reporting errors against `path`.
    ///
    /// # Errors
    /// Invalid TOML, unknown keys or invalid values.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Error> {
        let mut spec: Self = toml::from_str(text)
            .map_err(|error| Error::spec(path, text, error.message(), error.span()))?;
        spec.validate(path)?;
        spec.locate_routes(path, text);
        Ok(spec)
    }

    fn validate(&self, path: &Path) -> Result<(), Error> {
        if let Some(name) = &self.service.name
            && let Some(reason) = ident::crate_name_problem(name)
        {
            return Err(Error::InvalidName {
                name: name.clone(),
                reason,
            });
        }
        let invalid = |message: &str, help: &str| Error::SpecValue {
            path: path.to_owned(),
            message: message.to_owned(),
            help: help.to_owned(),
        };
        if self.service.grpc_port == 0 || self.service.http_port == 0 {
            return Err(invalid(
                "ports must not be 0",
                "pick fixed default ports; tests override them with 127.0.0.1:0",
            ));
        }
        if self.service.grpc_port == self.service.http_port {
            return Err(invalid(
                "`grpc_port` and `http_port` are the same",
                "gRPC and HTTP are served on separate ports",
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for client in &self.clients {
            let valid = client.name.starts_with(|c: char| c.is_ascii_lowercase())
                && client
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && ident::sanitize(&client.name) == client.name;
            if !valid {
                return Err(invalid(
                    &format!(
                        "client name `{}` is not a snake_case identifier",
                        client.name
                    ),
                    "client names become Rust fields and config sections: use e.g. `backend` or `billing_api`",
                ));
            }
            if !names.insert(client.name.as_str()) {
                return Err(invalid(
                    &format!("two clients are named `{}`", client.name),
                    "give every [[clients]] entry its own name",
                ));
            }
            if !(client.endpoint.starts_with("http://") || client.endpoint.starts_with("https://"))
            {
                return Err(invalid(
                    &format!(
                        "client `{}`: endpoint `{}` is not an http(s) URL",
                        client.name, client.endpoint
                    ),
                    "e.g. endpoint = \"http://backend:50051\"",
                ));
            }
        }
        let runtime = &self.runtime;
        let sources = [&runtime.path, &runtime.git, &runtime.version];
        if sources.iter().filter(|source| source.is_some()).count() > 1 {
            return Err(invalid(
                "`[runtime]` names more than one source",
                "give one of `path`, `git` (with an optional `rev`) and `version`",
            ));
        }
        if runtime.rev.is_some() && runtime.git.is_none() {
            return Err(invalid(
                "`runtime.rev` without `runtime.git`",
                "`rev` picks a branch, tag or commit of the `git` repository",
            ));
        }
        if self.proto.includes.is_empty() {
            return Err(invalid(
                "`proto.includes` is empty",
                "list at least the directory the protos live in, e.g. `includes = [\"proto\"]`",
            ));
        }
        Ok(())
    }

    /// Records where each `[[http.routes]]` entry is in `text`, for its errors.
    fn locate_routes(&mut self, path: &Path, text: &str) {
        let Ok(document) = toml_edit::Document::parse(text) else {
            return;
        };
        let entries = document
            .get("http")
            .and_then(|http| http.get("routes"))
            .and_then(toml_edit::Item::as_array_of_tables);
        for (route, table) in self
            .routes_mut()
            .zip(entries.into_iter().flat_map(|a| a.iter()))
        {
            let span = table
                .get("rpc")
                .and_then(toml_edit::Item::span)
                .or_else(|| table.span())
                .unwrap_or(0..0);
            route.origin = Some((path.display().to_string(), text.to_owned(), span));
        }
    }

    fn routes_mut(&mut self) -> impl Iterator<Item = &mut HttpRouteSpec> {
        self.http.routes.iter_mut()
    }

    /// The service name, which a spec read from a project must have.
    ///
    /// # Errors
    /// The spec has no `service.name`.
    pub fn name(&self, path: &Path) -> Result<&str, Error> {
        self.service
            .name
            .as_deref()
            .ok_or_else(|| Error::SpecValue {
                path: path.to_owned(),
                message: "`service.name` is missing".to_owned(),
                help: "add `name = \"<crate name>\"` under `[service]`".to_owned(),
            })
    }

    /// The include directories resolved against `base`.
    #[must_use]
    pub fn include_dirs(&self, base: &Path) -> Vec<PathBuf> {
        self.proto
            .includes
            .iter()
            .map(|dir| base.join(dir))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_missing_keys() {
        let spec = Spec::parse(Path::new("svcgen.toml"), "[service]\nname = \"demo\"\n").unwrap();
        assert_eq!(spec, Spec::new("demo"));
    }

    #[test]
    fn round_trips_through_toml() {
        let mut spec = Spec::new("demo");
        spec.proto.files = vec!["greeter/v1/greeter.proto".to_owned()];
        let text = toml::to_string(&spec).unwrap();
        assert_eq!(Spec::parse(Path::new("svcgen.toml"), &text).unwrap(), spec);
    }

    #[test]
    fn unknown_keys_are_errors_with_a_span() {
        let text = "[service]\nname = \"demo\"\ngrcp_port = 1\n";
        let Err(Error::Spec { message, span, .. }) = Spec::parse(Path::new("s.toml"), text) else {
            panic!("expected a spec error");
        };
        assert!(message.contains("unknown field `grcp_port`"), "{message}");
        let span = span.expect("a span");
        assert_eq!(
            &text[span.offset()..span.offset() + span.len()],
            "grcp_port"
        );
    }

    #[test]
    fn bad_values_are_rejected() {
        for text in [
            "[service]\ngrpc_port = 8080\nhttp_port = 8080\n",
            "[service]\ngrpc_port = 0\n",
            "[service]\n[proto]\nincludes = []\n",
            "[service]\nname = \"Bad Name\"\n",
            "[service]\n[[clients]]\nname = \"Backend\"\nproto = \"b.proto\"\n",
            "[service]\n[[clients]]\nname = \"b\"\nproto = \"b.proto\"\n[[clients]]\nname = \"b\"\nproto = \"c.proto\"\n",
            "[service]\n[[clients]]\nname = \"b\"\nproto = \"b.proto\"\nendpoint = \"b:1\"\n",
            "[service]\n[[clients]]\nname = \"type\"\nproto = \"b.proto\"\n",
            "[service]\n[runtime]\npath = \"r\"\nversion = \"0.1\"\n",
            "[service]\n[runtime]\nrev = \"main\"\n",
            "[service]\n[runtime]\nbranch = \"main\"\n",
        ] {
            assert!(Spec::parse(Path::new("s.toml"), text).is_err(), "{text}");
        }
    }
}
