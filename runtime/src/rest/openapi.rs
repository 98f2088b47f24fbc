//! The OpenAPI 3.1 document of a service's REST routes (`GET /openapi.json`): each route
//! an operation, each message a JSON schema of its proto3 JSON form.

use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};
use serde_json::{Map, Value, json};

use super::HttpRule;
use super::template::Template;

/// The document of `rules`, whose messages are in `pool`, for the service `name`.
#[must_use]
pub(crate) fn document(
    name: &str,
    version: &str,
    rules: &[HttpRule],
    pool: &DescriptorPool,
) -> Value {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut schemas = Schemas::default();
    let mut operation_ids = BTreeSet::new();
    for rule in rules {
        let (service, method) = rule.rpc.split_once('/').unwrap_or((rule.rpc, ""));
        let Some(descriptor) = pool
            .get_service_by_name(service)
            .and_then(|service| service.methods().find(|m| m.name() == method))
        else {
            continue;
        };
        let Ok(template) = Template::parse(rule.path) else {
            continue;
        };
        let mut id = format!(
            "{}_{}",
            descriptor.parent_service().name(),
            descriptor.name()
        );
        let mut index = 1;
        while !operation_ids.insert(id.clone()) {
            index += 1;
            id = format!(
                "{}_{}{index}",
                descriptor.parent_service().name(),
                descriptor.name()
            );
        }
        let mut operation = operation(rule, &template, &descriptor, &id, &mut schemas);
        let mut path = openapi_path(rule.path, &template);
        // Another rule of the method has the same OpenAPI path (`/v1/{name=shelves/*}`
        // and `/v1/{name=shelves/*/books/*}` are both `/v1/{name}`): this one's first path
        // parameter gets a suffix (`{name_1}`), as grpc-gateway's generator does.
        if let Some(first) = template.variables().first()
            && is_taken(&paths, &path, rule.method)
        {
            let name = first.field.join(".");
            let mut suffix = 0;
            let (renamed, parameter) = loop {
                suffix += 1;
                let parameter = format!("{name}_{suffix}");
                let renamed = path.replacen(&format!("{{{name}}}"), &format!("{{{parameter}}}"), 1);
                if !is_taken(&paths, &renamed, rule.method) {
                    break (renamed, parameter);
                }
            };
            path = renamed;
            operation["parameters"][0]["name"] = Value::String(parameter);
        }
        add_operation(paths.entry(path).or_default(), rule.method, operation);
    }
    schemas.add_status();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": name,
            "version": version,
            "description": "The REST routes of the service, transcoded to its gRPC methods \
                (google.api.http). Bodies are the proto3 JSON mapping of its messages. \
                Client- and bidirectional-streaming methods are served over gRPC only. \
                The operations of HTTP methods OpenAPI 3.1 has no field for are in the \
                path item's `x-additionalOperations`, by method.",
        },
        "paths": paths,
        "components": { "schemas": schemas.defined },
    })
}

/// The methods a path item has a field for.
const OPENAPI_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The path item extension holding the operations of the other methods (`REPORT`), by
/// method, as the `additionalOperations` of OpenAPI 3.2 does.
const ADDITIONAL_OPERATIONS: &str = "x-additionalOperations";

/// Sets `operation` as the operation of `method` in the path item `item`.
fn add_operation(item: &mut Map<String, Value>, method: &str, operation: Value) {
    let field = method.to_ascii_lowercase();
    if OPENAPI_METHODS.contains(&field.as_str()) {
        item.insert(field, operation);
    } else {
        item.entry(ADDITIONAL_OPERATIONS)
            .or_insert_with(|| json!({}))[method] = operation;
    }
}

/// Whether the path item of `path` has an operation of `method`.
fn is_taken(paths: &BTreeMap<String, Map<String, Value>>, path: &str, method: &str) -> bool {
    paths.get(path).is_some_and(|item| {
        let field = method.to_ascii_lowercase();
        if OPENAPI_METHODS.contains(&field.as_str()) {
            item.contains_key(&field)
        } else {
            item.get(ADDITIONAL_OPERATIONS)
                .is_some_and(|operations| operations.get(method).is_some())
        }
    })
}

/// `/v1/{name=shelves/*}:publish` as OpenAPI writes paths: `/v1/{name}:publish`.
fn openapi_path(path: &str, template: &Template) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map_or(rest.len(), |close| open + close);
        let inner = &rest[open + 1..close];
        out.push('{');
        out.push_str(inner.split('=').next().unwrap_or(inner));
        out.push('}');
        rest = rest.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    debug_assert!(template.variables().len() == out.matches('{').count());
    out
}

fn operation(
    rule: &HttpRule,
    template: &Template,
    method: &MethodDescriptor,
    id: &str,
    schemas: &mut Schemas,
) -> Value {
    let input = method.input();
    let mut parameters = Vec::new();
    let mut bound: BTreeSet<String> = BTreeSet::new();
    let path_pattern = |field: &str| {
        let start = rule.path.find(&format!("{{{field}="))?;
        let pattern = &rule.path[start + field.len() + 2..];
        Some(pattern[..pattern.find('}')?].to_owned())
    };
    for variable in template.variables() {
        let name = variable.field.join(".");
        let schema = field_schema_at(&input, &variable.field, schemas).unwrap_or_else(|| json!({}));
        let mut parameter = json!({
            "name": name, "in": "path", "required": true, "schema": schema,
        });
        if let Some(pattern) = path_pattern(&name) {
            parameter["description"] = Value::String(format!("matches `{pattern}`"));
        }
        parameters.push(parameter);
        bound.insert(name);
    }
    if rule.body != "*" {
        query_parameters(&input, &[], &bound, rule.body, schemas, &mut parameters, 0);
    }
    let mut operation = json!({
        "operationId": id,
        "tags": [method.parent_service().name()],
        "parameters": parameters,
        "responses": {
            "200": response(rule, method, schemas),
            "default": {
                "description": "An error: the gRPC status, as google.rpc.Status",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/google.rpc.Status"}}},
            },
        },
    });
    let comments = method
        .parent_file()
        .file_descriptor_proto()
        .source_code_info
        .as_ref()
        .and_then(|info| {
            let path = method.path();
            info.location.iter().find(|location| location.path == path)
        })
        .and_then(|location| location.leading_comments.clone());
    if let Some(comments) = comments {
        operation["summary"] = Value::String(comments.trim().to_owned());
    }
    match rule.body {
        "" => {}
        "*" => {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schemas.message(&input)}},
            });
        }
        field => {
            let schema =
                field_schema_at(&input, &[field.to_owned()], schemas).unwrap_or_else(|| json!({}));
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema}},
            });
        }
    }
    operation
}

fn response(rule: &HttpRule, method: &MethodDescriptor, schemas: &mut Schemas) -> Value {
    let output = method.output();
    let schema = if rule.response_body.is_empty() {
        schemas.message(&output)
    } else {
        field_schema_at(&output, &[rule.response_body.to_owned()], schemas)
            .unwrap_or_else(|| json!({}))
    };
    if method.is_server_streaming() {
        json!({
            "description": "A stream of responses: newline-delimited JSON, or Server-Sent \
                Events with `Accept: text/event-stream`",
            "content": {
                "application/x-ndjson": {"schema": schema},
                "text/event-stream": {"schema": {"type": "string"}},
            },
        })
    } else {
        json!({
            "description": "OK",
            "content": {"application/json": {"schema": schema}},
        })
    }
}

/// Query parameters for the scalar fields of `message` (nested as `a.b`) that the path
/// and the body do not bind.
fn query_parameters(
    message: &MessageDescriptor,
    prefix: &[String],
    bound: &BTreeSet<String>,
    body: &str,
    schemas: &mut Schemas,
    parameters: &mut Vec<Value>,
    depth: usize,
) {
    for field in message.fields() {
        let mut path = prefix.to_vec();
        path.push(field.name().to_owned());
        let name = path.join(".");
        if bound.contains(&name) || (prefix.is_empty() && field.name() == body) || field.is_map() {
            continue;
        }
        match field.kind() {
            Kind::Message(inner) if !super::is_scalar_wkt(inner.full_name()) => {
                if !field.is_list() && depth < 3 && !super::is_wkt(inner.full_name()) {
                    query_parameters(&inner, &path, bound, body, schemas, parameters, depth + 1);
                }
            }
            _ => parameters.push(json!({
                "name": name,
                "in": "query",
                "required": false,
                "schema": schemas.field(&field),
                "style": "form",
                "explode": true,
            })),
        }
    }
}

fn field_schema_at(
    message: &MessageDescriptor,
    path: &[String],
    schemas: &mut Schemas,
) -> Option<Value> {
    let chain = super::field_at(message, path).ok()?;
    Some(schemas.field(chain.last()?))
}

/// The schemas defined so far, by message full name.
#[derive(Default)]
struct Schemas {
    defined: BTreeMap<String, Value>,
}

impl Schemas {
    /// A reference to the schema of `message`, defining it (and what it uses) first.
    fn message(&mut self, message: &MessageDescriptor) -> Value {
        let name = message.full_name().to_owned();
        if let Some(special) = well_known(&name) {
            return special;
        }
        if !self.defined.contains_key(&name) {
            // Placeholder first: a message may contain itself.
            self.defined.insert(name.clone(), json!({}));
            let mut properties = Map::new();
            for field in message.fields() {
                properties.insert(field.json_name().to_owned(), self.field(&field));
            }
            let mut schema = json!({
                "type": "object",
                "properties": properties,
                "additionalProperties": false,
            });
            if let Some(comments) = comments(message) {
                schema["description"] = Value::String(comments);
            }
            self.defined.insert(name.clone(), schema);
        }
        json!({"$ref": format!("#/components/schemas/{name}")})
    }

    /// The schema of a field's JSON value.
    fn field(&mut self, field: &FieldDescriptor) -> Value {
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return json!({"type": "object"});
            };
            let value = entry.map_entry_value_field();
            return json!({"type": "object", "additionalProperties": self.kind(&value.kind())});
        }
        let item = self.kind(&field.kind());
        if field.is_list() {
            json!({"type": "array", "items": item})
        } else {
            item
        }
    }

    fn kind(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Double | Kind::Float => json!({"type": "number"}),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({"type": "integer", "format": "int32"})
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({"type": "integer", "format": "int64", "minimum": 0})
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"})
            }
            Kind::Uint64 | Kind::Fixed64 => {
                json!({"type": "string", "format": "uint64", "pattern": "^[0-9]+$"})
            }
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => json!({"type": "string"}),
            Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
            Kind::Enum(values) => {
                let names: Vec<String> = values
                    .values()
                    .map(|value| value.name().to_owned())
                    .collect();
                json!({"type": "string", "enum": names})
            }
            Kind::Message(message) => self.message(message),
        }
    }

    /// `google.rpc.Status`, the body of every error.
    fn add_status(&mut self) {
        self.defined.insert(
            "google.rpc.Status".to_owned(),
            json!({
                "type": "object",
                "description": "A gRPC status: its code, a message for developers, and details",
                "properties": {
                    "code": {"type": "integer", "format": "int32"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "object"}},
                },
            }),
        );
    }
}

/// The special JSON forms of the well-known types.
fn well_known(name: &str) -> Option<Value> {
    let nullable = |kind: &str, format: Option<&str>| {
        let mut schema = json!({"type": [kind, "null"]});
        if let Some(format) = format {
            schema["format"] = Value::String(format.to_owned());
        }
        schema
    };
    Some(match name {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => {
            json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"})
        }
        "google.protobuf.FieldMask" => json!({"type": "string"}),
        "google.protobuf.Struct" => json!({"type": "object"}),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({"type": "array"}),
        "google.protobuf.Empty" => json!({"type": "object", "additionalProperties": false}),
        "google.protobuf.Any" => json!({
            "type": "object",
            "properties": {"@type": {"type": "string"}},
            "required": ["@type"],
        }),
        "google.protobuf.StringValue" => nullable("string", None),
        "google.protobuf.BytesValue" => nullable("string", Some("byte")),
        "google.protobuf.BoolValue" => nullable("boolean", None),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => nullable("number", None),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => {
            nullable("integer", Some("int32"))
        }
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => {
            nullable("string", Some("int64"))
        }
        _ => return None,
    })
}

/// A message's leading comments.
fn comments(message: &MessageDescriptor) -> Option<String> {
    let path = message.path();
    message
        .parent_file()
        .file_descriptor_proto()
        .source_code_info
        .as_ref()?
        .location
        .iter()
        .find(|location| location.path == path)?
        .leading_comments
        .as_ref()
        .map(|comments| comments.trim().to_owned())
}
