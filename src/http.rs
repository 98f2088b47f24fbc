//! The REST routes of a service: the `google.api.http` rules of its protos' methods and
//! the `[[http.routes]]` of its spec, checked here, at generation time, so that a rule
//! that cannot be served is an error naming its file, line and column rather than a
//! failure of the running service. svcgen-runtime serves what passes (`rest`).

use std::collections::BTreeMap;

use miette::{NamedSource, SourceSpan};
use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, Value};

use crate::error::Error;

/// The path template grammar, shared with svcgen-runtime (one source file, compiled in
/// both crates).
#[allow(dead_code)]
#[path = "../runtime/src/rest/template.rs"]
mod template;

use template::Template;

/// Where a rule is written, for its errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file's name to show (its path on disk, or its import name).
    pub name: String,
    /// Its text.
    pub text: String,
    /// The rule's bytes in it.
    pub span: Option<(usize, usize)>,
}

/// A rule as written: in a proto's `option (google.api.http)` or in `[[http.routes]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rpc: `package.Service.Method`.
    pub rpc: String,
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, or a custom one.
    pub method: String,
    /// The path template.
    pub path: String,
    /// `*`, a request field, or empty.
    pub body: String,
    /// A response field, or empty.
    pub response_body: String,
    /// Where it is written.
    pub origin: Origin,
}

/// A route the service serves, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The HTTP method.
    pub method: String,
    /// The path template.
    pub path: String,
    /// `*`, a request field, or empty.
    pub body: String,
    /// A response field, or empty.
    pub response_body: String,
    /// The rpc, `package.Service/Method`.
    pub rpc: String,
    /// Whether the rpc streams its responses.
    pub server_streaming: bool,
}

/// The `google.api.http` rules of every method of `pool`, their additional bindings
/// after them, each located in its file's text (`texts`: import name → shown name and
/// text).
#[must_use]
pub fn from_protos(pool: &DescriptorPool, texts: &BTreeMap<String, (String, String)>) -> Vec<Rule> {
    let Some(extension) = pool.get_extension_by_name("google.api.http") else {
        return Vec::new();
    };
    let mut rules = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&extension) {
                continue;
            }
            let Value::Message(rule) = options.get_extension(&extension).into_owned() else {
                continue;
            };
            let file = method.parent_file();
            let origin = texts.get(file.name()).map(|(name, text)| Origin {
                name: name.clone(),
                text: text.clone(),
                span: option_span(&file, method.path(), text),
            });
            let origin = origin.unwrap_or_else(|| Origin {
                name: file.name().to_owned(),
                text: String::new(),
                span: None,
            });
            let rpc = method.full_name().to_owned();
            push_rule(&mut rules, &rpc, &rule, &origin);
            if let Some(Value::List(bindings)) = rule
                .get_field_by_name("additional_bindings")
                .map(|value| value.into_owned())
            {
                for binding in bindings {
                    if let Value::Message(binding) = binding {
                        push_rule(&mut rules, &rpc, &binding, &origin);
                    }
                }
            }
        }
    }
    rules
}

fn push_rule(
    rules: &mut Vec<Rule>,
    rpc: &str,
    rule: &prost_reflect::DynamicMessage,
    origin: &Origin,
) {
    let text = |name: &str| {
        rule.get_field_by_name(name)
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let (method, path) = ["get", "put", "post", "delete", "patch"]
        .into_iter()
        .find_map(|method| {
            rule.has_field_by_name(method)
                .then(|| (method.to_ascii_uppercase(), text(method)))
        })
        .or_else(|| {
            let custom = rule.get_field_by_name("custom")?;
            let custom = custom.as_message()?;
            let field = |name| {
                custom
                    .get_field_by_name(name)
                    .and_then(|value| value.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            Some((field("kind"), field("path")))
        })
        .unwrap_or_default();
    rules.push(Rule {
        rpc: rpc.to_owned(),
        method,
        path,
        body: text("body"),
        response_body: text("response_body"),
        origin: origin.clone(),
    });
}

/// The bytes of the `option (google.api.http)` of the method at `path` in its file's
/// `text` (of the method, when the option has no location).
fn option_span(
    file: &prost_reflect::FileDescriptor,
    path: &[i32],
    text: &str,
) -> Option<(usize, usize)> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let mut options = path.to_vec();
    options.push(4); // MethodDescriptorProto.options
    let location = info
        .location
        .iter()
        .filter(|location| {
            location.path.starts_with(&options) && location.path.len() > options.len()
        })
        .min_by_key(|location| location.path.len())
        .or_else(|| info.location.iter().find(|location| location.path == path))?;
    let number = |index: usize| usize::try_from(*location.span.get(index)?).ok();
    let (start_line, start_column) = (number(0)?, number(1)?);
    let (end_line, end_column) = match location.span.len() {
        3 => (start_line, number(2)?),
        _ => (number(2)?, number(3)?),
    };
    let offset = |line: usize, column: usize| {
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let line_text = text[start..].split('\n').next().unwrap_or("");
        start
            + line_text
                .char_indices()
                .nth(column)
                .map_or(line_text.len(), |(at, _)| at)
    };
    let start = offset(start_line, start_column);
    Some((start, offset(end_line, end_column).max(start)))
}

/// Checks `rules` against the methods and messages of `pool` and returns the routes, in
/// order. `served`: the fully qualified services whose rules count.
///
/// # Errors
/// The first rule that cannot be served, at its origin: an unknown rpc, a client- or
/// bidirectional-streaming one, a bad template, a path or body field that does not
/// exist or cannot be set from a URL, a body on GET, two routes that would collide.
pub fn check(
    pool: &DescriptorPool,
    rules: &[Rule],
    served: &[String],
) -> Result<Vec<Route>, Error> {
    let mut routes: Vec<(Route, Template, &Rule)> = Vec::new();
    for rule in rules {
        let (service, method) = rule.rpc.rsplit_once('.').unwrap_or(("", &rule.rpc));
        if !served.iter().any(|served| served == service) {
            continue;
        }
        let fail = |message: String, help: &str| Err(error(rule, message, help));
        let wrong = |message: String, help: &str| error(rule, message, help);
        let Some(descriptor) = pool
            .get_service_by_name(service)
            .and_then(|service| service.methods().find(|m| m.name() == method))
        else {
            return fail(
                format!("no rpc `{}` is served", rule.rpc),
                "name a method of a served service: `Service.Method` or `package.Service.Method`",
            );
        };
        if descriptor.is_client_streaming() {
            return fail(
                format!(
                    "`{}` is client-streaming: HTTP routes serve unary and server-streaming rpcs",
                    rule.rpc
                ),
                "call it over gRPC, or remove the rule",
            );
        }
        if rule.method.is_empty() || http::Method::from_bytes(rule.method.as_bytes()).is_err() {
            return fail(
                format!("`{}` is not an HTTP method", rule.method),
                "use get, put, post, delete, patch, or custom { kind: \"…\" }",
            );
        }
        let template = Template::parse(&rule.path).map_err(|problem| {
            wrong(
                format!("invalid path template {problem}"),
                "e.g. \"/v1/{name=shelves/*}\"",
            )
        })?;
        let input = descriptor.input();
        for variable in template.variables() {
            settable(&input, &variable.field).map_err(|problem| {
                wrong(
                    format!("path variable `{}`: {problem}", variable.field.join(".")),
                    "bind fields of the request that hold one value: strings, numbers, bools, enums",
                )
            })?;
        }
        if !rule.body.is_empty() && rule.method == "GET" {
            return fail(
                format!("a GET route has no body (`body: \"{}\"`)", rule.body),
                "drop `body`, or use POST, PUT or PATCH",
            );
        }
        if !rule.body.is_empty()
            && rule.body != "*"
            && input.get_field_by_name(&rule.body).is_none()
        {
            return fail(
                format!(
                    "`body: \"{}\"`: `{}` has no such field",
                    rule.body,
                    input.full_name()
                ),
                "name a field of the request, or \"*\" for the whole request",
            );
        }
        if !rule.response_body.is_empty()
            && descriptor
                .output()
                .get_field_by_name(&rule.response_body)
                .is_none()
        {
            return fail(
                format!(
                    "`response_body: \"{}\"`: `{}` has no such field",
                    rule.response_body,
                    descriptor.output().full_name()
                ),
                "name a field of the response",
            );
        }
        let method = rule.method.to_ascii_uppercase();
        if let Some((other, _, origin)) = routes.iter().find(|(other, other_template, _)| {
            other.method == method && other_template.overlaps(&template)
        }) {
            return fail(
                format!(
                    "`{method} {}` collides with `{} {}` ({}, in {}): a request could match both",
                    rule.path, other.method, other.path, other.rpc, origin.origin.name
                ),
                "give the routes distinct literal segments or verbs",
            );
        }
        routes.push((
            Route {
                method,
                path: rule.path.clone(),
                body: rule.body.clone(),
                response_body: rule.response_body.clone(),
                rpc: format!("{service}/{method}", method = descriptor.name()),
                server_streaming: descriptor.is_server_streaming(),
            },
            template,
            rule,
        ));
    }
    Ok(routes.into_iter().map(|(route, _, _)| route).collect())
}

/// Whether the field at `path` of `message` holds one value a URL can give.
fn settable(message: &MessageDescriptor, path: &[String]) -> Result<(), String> {
    let mut message = message.clone();
    let mut field: Option<FieldDescriptor> = None;
    for (index, name) in path.iter().enumerate() {
        let found = message
            .get_field_by_name(name)
            .ok_or_else(|| format!("`{}` has no field `{name}`", message.full_name()))?;
        if found.is_list() || found.is_map() {
            return Err(format!("`{name}` is repeated"));
        }
        if index + 1 < path.len() {
            match found.kind() {
                Kind::Message(inner) => message = inner,
                _ => return Err(format!("`{name}` is not a message, it has no fields")),
            }
        }
        field = Some(found);
    }
    match field.map(|field| field.kind()) {
        Some(Kind::Message(inner)) if !is_scalar_wkt(inner.full_name()) => {
            Err(format!("`{}` is a message", inner.full_name()))
        }
        _ => Ok(()),
    }
}

/// The well-known types whose JSON form is one string or number.
fn is_scalar_wkt(name: &str) -> bool {
    name.starts_with("google.protobuf.")
        && matches!(
            &name["google.protobuf.".len()..],
            "Timestamp"
                | "Duration"
                | "FieldMask"
                | "StringValue"
                | "BytesValue"
                | "BoolValue"
                | "Int32Value"
                | "Int64Value"
                | "UInt32Value"
                | "UInt64Value"
                | "FloatValue"
                | "DoubleValue"
        )
}

fn error(rule: &Rule, message: String, help: &str) -> Error {
    Error::HttpRule(Box::new(crate::error::HttpRuleError {
        message,
        help: help.to_owned(),
        source_code: NamedSource::new(rule.origin.name.clone(), rule.origin.text.clone()),
        span: rule
            .origin
            .span
            .map(|(start, end)| SourceSpan::from(start..end.max(start + 1))),
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::proto::{ProtoInput, compile};

    /// The routes of `service`, compiled from `rpcs` (the body of `service S { … }` in a
    /// file importing the HTTP annotations), with `Item` and `Page` messages.
    fn routes(rpcs: &str) -> Result<Vec<Route>, Error> {
        let text = format!(
            "syntax = \"proto3\";\npackage p.v1;\nimport \"google/api/annotations.proto\";\n\
             service S {{\n{rpcs}\n}}\n\
             message Item {{ string name = 1; Inner inner = 2; repeated string tags = 3; int64 big = 4; }}\n\
             message Inner {{ string id = 1; }}\n"
        );
        let compiled = compile(&ProtoInput {
            files: vec![PathBuf::from("p.proto")],
            includes: Vec::new(),
            memory: BTreeMap::from([("p.proto".to_owned(), text)]),
        })
        .expect("the proto compiles");
        check(&compiled.pool, &compiled.http_rules, &["p.v1.S".to_owned()])
    }

    fn rejected(rpcs: &str) -> (String, String) {
        match routes(rpcs) {
            Err(Error::HttpRule(error)) => {
                let crate::error::HttpRuleError {
                    message,
                    source_code,
                    span,
                    ..
                } = *error;
                let span = span.expect("the rule's location");
                let text = miette::SourceCode::read_span(&source_code, &span, 0, 0)
                    .map(|contents| String::from_utf8_lossy(contents.data()).into_owned())
                    .unwrap_or_default();
                (message, text)
            }
            other => panic!("expected an HTTP rule error, got {other:?}"),
        }
    }

    #[test]
    fn rules_and_their_additional_bindings_become_routes() {
        let routes = routes(
            r#"rpc Get(Item) returns (Item) {
                 option (google.api.http) = {
                   get: "/v1/{name=items/*}"
                   response_body: "inner"
                   additional_bindings { post: "/v1/items" body: "*" }
                   additional_bindings { patch: "/v1/items/{inner.id}" body: "inner" }
                   additional_bindings { custom: { kind: "REPORT" path: "/v1/items:report" } }
                 };
               }
               rpc Watch(Item) returns (stream Item) {
                 option (google.api.http) = { get: "/v1/items/{name}:watch" };
               }"#,
        )
        .unwrap();
        let shown: Vec<String> = routes
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {} {} {}",
                    r.method, r.path, r.body, r.response_body, r.rpc, r.server_streaming
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "GET /v1/{name=items/*}  inner p.v1.S/Get false",
                "POST /v1/items *  p.v1.S/Get false",
                "PATCH /v1/items/{inner.id} inner  p.v1.S/Get false",
                "REPORT /v1/items:report   p.v1.S/Get false",
                "GET /v1/items/{name}:watch   p.v1.S/Watch true",
            ]
        );
    }

    #[test]
    fn rules_that_cannot_be_served_are_errors_at_the_rule() {
        for (rpcs, why) in [
            (
                "rpc Up(stream Item) returns (Item) { option (google.api.http) = { post: \"/v1/up\" body: \"*\" }; }",
                "is client-streaming",
            ),
            (
                "rpc Get(Item) returns (Item) { option (google.api.http) = { get: \"/v1/{nope}\" }; }",
                "`p.v1.Item` has no field `nope`",
            ),
            (
                "rpc Get(Item) returns (Item) { option (google.api.http) = { get: \"/v1/{tags}\" }; }",
                "`tags` is repeated",
            ),
            (
                "rpc Get(Item) returns (Item) { option (google.api.http) = { get: \"/v1/{inner}\" }; }",
                "`p.v1.Inner` is a message",
            ),
            (
                "rpc Get(Item) returns (Item) { option (google.api.http) = { get: \"/v1/x\" body: \"*\" }; }",
                "a GET route has no body",
            ),
            (
                "rpc Put(Item) returns (Item) { option (google.api.http) = { put: \"/v1/x\" body: \"nope\" }; }",
                "`body: \"nope\"`",
            ),
            (
                "rpc Get(Item) returns (Item) { option (google.api.http) = { get: \"/v1/x\" response_body: \"nope\" }; }",
                "`response_body: \"nope\"`",
            ),
            (
                "rpc Get(Item) returns (Item) { option (google.api.http) = { get: \"/v1/**/x\" }; }",
                "`**` can only be the last segment",
            ),
            (
                "rpc A(Item) returns (Item) { option (google.api.http) = { get: \"/v1/items/{name}\" }; }\n\
                 rpc B(Item) returns (Item) { option (google.api.http) = { get: \"/v1/items/{inner.id}\" }; }",
                "collides with `GET /v1/items/{name}` (p.v1.S/A",
            ),
        ] {
            let (message, located) = rejected(rpcs);
            assert!(message.contains(why), "{why}: {message}");
            assert!(
                located.contains("google.api.http"),
                "the rule is pointed at: {located:?}"
            );
        }
    }
}
