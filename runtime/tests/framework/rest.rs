//! REST transcoding (`google.api.http`), over HTTP to the test service's routes to
//! `echo.v1.Rest` (`Echo::HTTP_RULES`, support/service.rs), whose rpcs mirror their
//! requests: every kind of rule, query parameters, bodies, the proto3 JSON mapping of
//! every kind of field and of each well-known type, server streams as newline-delimited
//! JSON and Server-Sent Events, gRPC statuses as HTTP statuses, bad input, forwarded
//! headers, the access line and span of a transcoded call, and the OpenAPI document.

use std::process::Command;

use serde_json::{Value, json};
use svcgen_runtime::config::Propagation;
use svcgen_runtime::{Config, Service as _};
use tonic::Code;

use crate::support::pb::{Item, Plain};
use crate::support::{Answer, Collector, Echo, LogDir, Pipeline, Running, find, traced};

/// The test service, with the default `[rest]`.
async fn started() -> Running {
    Running::start(&Config::ephemeral()).await
}

/// `method path` with `body`: the status and the JSON answer, which must be
/// `application/json`.
async fn call_with(
    service: &Running,
    method: &str,
    path: &str,
    body: Option<String>,
) -> (u16, Value) {
    let answer = service.send(method, path, &[], body).await;
    assert_eq!(answer.content_type, "application/json", "{answer:?}");
    answer.status_and_json()
}

/// `method path` with the JSON `body`: the status and the JSON answer.
async fn call(service: &Running, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    call_with(service, method, path, body.as_ref().map(Value::to_string)).await
}

/// The body of an error: a `google.rpc.Status`.
fn status(code: Code, message: &str) -> Value {
    json!({"code": i32::from(code), "message": message, "details": []})
}

/// `{"name": name}` with the fields of `fields` (an object).
fn item_named(name: &str, fields: Value) -> Value {
    let mut item = json!({ "name": name });
    if let (Some(item), Value::Object(fields)) = (item.as_object_mut(), fields) {
        item.extend(fields);
    }
    item
}

#[tokio::test]
async fn path_variables_bind_the_fields_their_templates_name() {
    let service = started().await;
    for (method, path, expected) in [
        // `{name}`, percent-decoded: a single segment, `%2F` too.
        ("GET", "/v1/items/ada", json!({"name": "ada"})),
        ("GET", "/v1/items/a%20b%2Fc", json!({"name": "a b/c"})),
        // `{a.b}`: a field of a message field.
        (
            "GET",
            "/v1/nested/42/first",
            json!({"nested": {"id": "42", "label": "first"}}),
        ),
        // `{name=shelves/*}`, `{name=shelves/*/books/*}`: the segments they cover,
        // `%2F` left as it is.
        ("GET", "/v1/shelves/1", json!({"name": "shelves/1"})),
        ("GET", "/v1/shelves/a%2Fb", json!({"name": "shelves/a%2Fb"})),
        (
            "GET",
            "/v1/shelves/1/books/2",
            json!({"name": "shelves/1/books/2"}),
        ),
        // `**`: any number of segments, none included.
        (
            "GET",
            "/v1/files/a/b/c.txt",
            json!({"name": "files/a/b/c.txt"}),
        ),
        ("GET", "/v1/files", json!({"name": "files"})),
        // `:verb`.
        ("POST", "/v1/items/ada:mirror", json!({"name": "items/ada"})),
        // A custom HTTP method.
        ("REPORT", "/v1/items/ada", json!({"name": "ada"})),
        ("DELETE", "/v1/items/ada", json!({"name": "ada"})),
    ] {
        assert_eq!(
            call(&service, method, path, None).await,
            (200, expected),
            "{method} {path}"
        );
    }
    // Paths the patterns do not match.
    for path in ["/v1/shelves/1/notes/2", "/v1/shelves", "/v1/items/ada/more"] {
        assert_eq!(
            call(&service, "POST", path, None).await,
            (404, status(Code::NotFound, "no route")),
            "{path}"
        );
    }
    service.stop().await;
}

#[tokio::test]
async fn a_custom_verb_is_matched_before_a_template_without_one() {
    let service = started().await;
    // `GET /v1/items/{name}` comes first in the rules, and `*` matches `ada:repeat`; but
    // the rule with the verb is the one meant.
    let answer = service
        .send("GET", "/v1/items/ada:repeat?tags=x", &[], None)
        .await;
    assert_eq!(answer.content_type, "application/x-ndjson", "{answer:?}");
    assert_eq!(answer.json_lines(), [json!({"name": "ada x"})]);
    // A colon that is no verb of a rule is part of the name.
    assert_eq!(
        call(&service, "GET", "/v1/items/a:b", None).await,
        (200, json!({"name": "a:b"}))
    );
    service.stop().await;
}

#[tokio::test]
async fn query_parameters_set_the_fields_the_path_and_body_leave() {
    let service = started().await;
    for (query, fields) in [
        // Scalars, by original name or lowerCamelCase name.
        ("display_name=Ada%20L", json!({"displayName": "Ada L"})),
        ("displayName=Ada", json!({"displayName": "Ada"})),
        ("is_active=true", json!({"isActive": true})),
        ("isActive=false", json!({})),
        (
            "big_count=-9007199254740993",
            json!({"bigCount": "-9007199254740993"}),
        ),
        (
            "unsigned_count=18446744073709551615",
            json!({"unsignedCount": "18446744073709551615"}),
        ),
        ("ratio=0.25", json!({"ratio": 0.25})),
        ("data=aGk%3D", json!({"data": "aGk="})),
        // Repeated, once or more.
        ("tags=a", json!({"tags": ["a"]})),
        ("tags=a&tags=b&tags=c", json!({"tags": ["a", "b", "c"]})),
        // Fields of a message field.
        (
            "nested.id=7&nested.label=x",
            json!({"nested": {"id": "7", "label": "x"}}),
        ),
        // Enums by name and by number.
        ("color=COLOR_RED", json!({"color": "COLOR_RED"})),
        ("color=2", json!({"color": "COLOR_GREEN"})),
        // Well-known types written as strings and numbers.
        (
            "created_at=2024-01-02T03:04:05Z&ttl=90s&update_mask=displayName,nested.label",
            json!({
                "createdAt": "2024-01-02T03:04:05Z",
                "ttl": "90s",
                "updateMask": "displayName,nested.label",
            }),
        ),
        ("limit=0&note=hi", json!({"limit": 0, "note": "hi"})),
        // The field the path binds is not the query's.
        ("name=bob", json!({})),
    ] {
        assert_eq!(
            call(&service, "GET", &format!("/v1/items/ada?{query}"), None).await,
            (200, item_named("ada", fields)),
            "{query}"
        );
    }
    service.stop().await;
}

#[tokio::test]
async fn a_body_is_the_whole_request_one_field_or_nothing() {
    let service = started().await;
    let item = json!({"name": "a", "tags": ["x"], "nested": {"id": "1", "label": "l"}});
    for (method, path, body, expected) in [
        // `body: "*"`: the query is not read.
        ("POST", "/v1/items", Some(item.clone()), item.clone()),
        (
            "POST",
            "/v1/items?tags=q",
            Some(json!({"name": "a"})),
            json!({"name": "a"}),
        ),
        ("POST", "/v1/items", None, json!({})),
        // The path's variables over the body's fields.
        (
            "PUT",
            "/v1/items/ada",
            Some(json!({"name": "bob", "displayName": "Ada"})),
            json!({"name": "ada", "displayName": "Ada"}),
        ),
        // `body: "nested"`: that field, with the path and the query for the others (not
        // for the body's field).
        (
            "PATCH",
            "/v1/items/ada?tags=q&nested.id=9",
            Some(json!({"id": "5", "label": "l"})),
            json!({"name": "ada", "tags": ["q"], "nested": {"id": "5", "label": "l"}}),
        ),
        // No body: a body sent is not read.
        (
            "DELETE",
            "/v1/items/ada",
            Some(json!({"tags": ["x"]})),
            json!({"name": "ada"}),
        ),
        // `response_body: "tags"`: that field of the response, set or not.
        (
            "GET",
            "/v1/items/ada/tags?tags=a&tags=b",
            None,
            json!(["a", "b"]),
        ),
        ("GET", "/v1/items/ada/tags", None, json!([])),
    ] {
        assert_eq!(
            call(&service, method, path, body).await,
            (200, expected),
            "{method} {path}"
        );
    }
    service.stop().await;
}

#[tokio::test]
async fn every_kind_of_field_round_trips_in_its_json_form() {
    let service = started().await;
    let item = json!({
        "name": "every",
        "displayName": "Every Field",
        "bigCount": "-9223372036854775808",
        "unsignedCount": "18446744073709551615",
        "isActive": true,
        "ratio": -2.5,
        "data": "AAEC/f7/",
        "color": "COLOR_GREEN",
        "tags": ["a", "b"],
        "nested": {"id": "1", "label": "one"},
        "counts": {"a": 1, "b": -2},
        "createdAt": "2024-01-02T03:04:05.500Z",
        "ttl": "3723.000000001s",
        "updateMask": "displayName,nested.label",
        "attributes": {"n": 1.5, "s": "x", "b": false, "z": null, "l": [1.5, "y"], "o": {"k": "v"}},
        "extra": ["any", {"json": 2.5}, null],
        "values": [true, "two", 3.5, null, {"five": []}],
        "detail": {"@type": "type.googleapis.com/echo.v1.Nested", "id": "7", "label": "in any"},
        "limit": 0,
        "note": "",
        "nothing": {},
        "failure": {"code": 5, "message": "m"},
    });
    assert_eq!(
        call(&service, "POST", "/v1/items", Some(item.clone())).await,
        (200, item)
    );
    // An Any of a well-known type holds its JSON form as `value`.
    let any = json!({"detail": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1.500s"}});
    assert_eq!(
        call(&service, "POST", "/v1/items", Some(any.clone())).await,
        (200, any)
    );
    // What the mapping accepts besides its canonical forms.
    for (sent, answered) in [
        (json!({"bigCount": 5}), json!({"bigCount": "5"})),
        (json!({"unsignedCount": 7}), json!({"unsignedCount": "7"})),
        (json!({"color": 1}), json!({"color": "COLOR_RED"})),
        (json!({"ratio": "NaN"}), json!({"ratio": "NaN"})),
        (json!({"data": "-_8"}), json!({"data": "+/8="})),
        (
            json!({"createdAt": "2024-01-02T05:04:05+02:00"}),
            json!({"createdAt": "2024-01-02T03:04:05Z"}),
        ),
        (json!({"limit": null, "note": null}), json!({})),
        (json!({"tags": null, "nested": null}), json!({})),
    ] {
        assert_eq!(
            call(&service, "POST", "/v1/items", Some(sent.clone())).await,
            (200, answered),
            "{sent}"
        );
    }
    service.stop().await;
}

/// `sent` as a `Plain`, written by the service's descriptors (prost-reflect): what a
/// message answered through its serde impls must equal.
fn reflected(sent: &Value) -> Value {
    let pool = prost_reflect::DescriptorPool::decode(Echo::FILE_DESCRIPTOR_SET)
        .expect("the test service's descriptors");
    let plain = pool
        .get_message_by_name("echo.v1.Plain")
        .expect("echo.v1.Plain");
    let message = prost_reflect::DynamicMessage::deserialize(plain, sent.clone())
        .unwrap_or_else(|error| panic!("{sent} is a Plain: {error}"));
    serde_json::to_value(&message).expect("a message writes as JSON")
}

#[test]
#[allow(clippy::needless_borrow)] // `&&` is what chooses (see `rest::json`)
fn a_response_type_answers_through_its_serde_impls_when_pbjson_generated_them() {
    use svcgen_runtime::rest::json::{Probe, Reflect as _, Serde as _};
    assert!((&&Probe::<Plain>::new()).to_json().is_some());
    // Holds well-known types: no serde impls.
    assert!((&&Probe::<Item>::new()).to_json().is_none());
    assert!((&&Probe::<prost_types::Struct>::new()).to_json().is_none());
    // `Serialize`, but not in the well-known types' JSON form (`Empty`, `Int64Value`,
    // `BytesValue`).
    assert!((&&Probe::<()>::new()).to_json().is_none());
    assert!((&&Probe::<i64>::new()).to_json().is_none());
    assert!((&&Probe::<Vec<u8>>::new()).to_json().is_none());
}

#[tokio::test]
async fn a_message_with_serde_impls_answers_what_its_descriptors_would_write() {
    let service = started().await;
    let plain = json!({
        "name": "every",
        "bigCount": "-9223372036854775808",
        "unsignedCount": "18446744073709551615",
        "isActive": true,
        "data": "AAEC/f7/",
        "color": "COLOR_GREEN",
        "tags": ["a", "b"],
        "nested": {"id": "1", "label": "one"},
        "counts": {"a": 1, "b": -2},
        "colors": ["COLOR_RED", "COLOR_UNSPECIFIED"],
        "limit": 0,
        "label": "chosen",
        "names": {"-1": "minus one", "9223372036854775807": "max"},
        "ids": ["1", "-2"],
        "small": -3,
        "stamp": "18446744073709551615",
    });
    assert_eq!(reflected(&plain), plain);
    assert_eq!(
        call(&service, "POST", "/v1/plain", Some(plain.clone())).await,
        (200, plain)
    );
    for (sent, answered) in [
        (
            json!({"bigCount": 5, "ids": [1, "2"]}),
            json!({"bigCount": "5", "ids": ["1", "2"]}),
        ),
        (
            json!({"color": 1, "colors": [2]}),
            json!({"color": "COLOR_RED", "colors": ["COLOR_GREEN"]}),
        ),
        (json!({"data": "-_8"}), json!({"data": "+/8="})),
        // Set to their defaults: a field with presence and a oneof's member are written,
        // the others are not.
        (
            json!({"number": 0, "limit": 0, "name": "", "small": 0}),
            json!({"number": 0, "limit": 0}),
        ),
        (json!({"tags": null, "nested": null}), json!({})),
        // A number no value of the enum has: the proto3 mapping writes the number, which
        // pbjson's impl refuses: the descriptors write it.
        (json!({"color": 7}), json!({"color": 7})),
    ] {
        assert_eq!(reflected(&sent), answered, "{sent}");
        assert_eq!(
            call(&service, "POST", "/v1/plain", Some(sent.clone())).await,
            (200, answered),
            "{sent}"
        );
    }
    // From the path and query, and streamed: one line a message.
    assert_eq!(
        call(
            &service,
            "GET",
            "/v1/plain/p?bigCount=4&colors=COLOR_RED",
            None
        )
        .await,
        (
            200,
            json!({"name": "p", "bigCount": "4", "colors": ["COLOR_RED"]})
        )
    );
    let answer = service
        .send("GET", "/v1/plain/p:repeat?tags=a&tags=b", &[], None)
        .await;
    assert_eq!(answer.content_type, "application/x-ndjson", "{answer:?}");
    assert_eq!(answer.body, "{\"name\":\"p a\"}\n{\"name\":\"p b\"}\n");
    service.stop().await;
}

#[tokio::test]
async fn original_field_names_are_accepted_as_well_as_lower_camel_case() {
    let service = started().await;
    let sent = json!({
        "display_name": "Ada",
        "big_count": "3",
        "is_active": true,
        "created_at": "2024-01-02T03:04:05Z",
        "nested": {"id": "1"},
        "failure": {"code": 1},
    });
    let answered = json!({
        "displayName": "Ada",
        "bigCount": "3",
        "isActive": true,
        "createdAt": "2024-01-02T03:04:05Z",
        "nested": {"id": "1"},
        "failure": {"code": 1},
    });
    assert_eq!(
        call(&service, "POST", "/v1/items", Some(sent)).await,
        (200, answered)
    );
    service.stop().await;
}

#[tokio::test]
async fn server_streams_are_newline_delimited_json_or_server_sent_events() {
    let service = started().await;
    let path = "/v1/items/s:repeat?tags=a&tags=b";
    let failing = format!("{path}&failure.code=10&failure.message=stop");
    let items = [json!({"name": "s a"}), json!({"name": "s b"})];
    let error = json!({"error": status(Code::Aborted, "stop")});

    let answer = service.send("GET", path, &[], None).await;
    assert_eq!(
        (answer.status, answer.content_type.as_str()),
        (200, "application/x-ndjson"),
        "{answer:?}"
    );
    assert_eq!(answer.json_lines(), items);
    // An error ends the stream, in its place.
    let answer = service.send("GET", &failing, &[], None).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.json_lines(),
        [items[0].clone(), items[1].clone(), error.clone()]
    );

    let sse = [("accept", "text/event-stream".to_owned())];
    let events = |answer: &Answer| {
        assert_eq!(
            (answer.status, answer.content_type.as_str()),
            (200, "text/event-stream"),
            "{answer:?}"
        );
        answer.events()
    };
    let message = |item: &Value| ("message".to_owned(), item.clone());
    assert_eq!(
        events(&service.send("GET", path, &sse, None).await),
        [message(&items[0]), message(&items[1])]
    );
    assert_eq!(
        events(&service.send("GET", &failing, &sse, None).await),
        [
            message(&items[0]),
            message(&items[1]),
            ("error".to_owned(), error)
        ]
    );
    service.stop().await;
}

#[tokio::test]
async fn grpc_statuses_are_answered_with_their_http_status() {
    let service = started().await;
    for (code, http) in [
        (Code::InvalidArgument, 400),
        (Code::FailedPrecondition, 400),
        (Code::OutOfRange, 400),
        (Code::Unauthenticated, 401),
        (Code::PermissionDenied, 403),
        (Code::NotFound, 404),
        (Code::AlreadyExists, 409),
        (Code::Aborted, 409),
        (Code::ResourceExhausted, 429),
        (Code::Cancelled, 499),
        (Code::Unknown, 500),
        (Code::Internal, 500),
        (Code::DataLoss, 500),
        (Code::Unimplemented, 501),
        (Code::Unavailable, 503),
        (Code::DeadlineExceeded, 504),
    ] {
        let number = i32::from(code);
        let expected = (http, status(code, "on purpose"));
        // The same rpc by its two rules: the path and query, and the body.
        assert_eq!(
            call(
                &service,
                "GET",
                &format!("/v1/fail/{number}?message=on%20purpose"),
                None
            )
            .await,
            expected,
            "{code:?}"
        );
        let failure = json!({"code": number, "message": "on purpose"});
        assert_eq!(
            call(&service, "POST", "/v1/fail", Some(failure)).await,
            expected,
            "{code:?}"
        );
    }
    // OK: an Empty.
    assert_eq!(
        call(&service, "GET", "/v1/fail/0", None).await,
        (200, json!({}))
    );
    service.stop().await;
}

#[tokio::test]
async fn bad_input_is_answered_400_saying_what_is_wrong() {
    let service = started().await;
    let invalid = |message: &str| (400, status(Code::InvalidArgument, message));
    // Bodies that are not JSON, or not a request's: the field named, as a path.
    for (path, body, message) in [
        (
            "/v1/items",
            "{\"name\": ",
            "the body is not valid JSON: EOF while parsing a value at line 1 column 9",
        ),
        ("/v1/items", "[1]", "the body must be a JSON object"),
        (
            "/v1/items",
            "{\"nope\": 1}",
            "unrecognized field name 'nope'",
        ),
        (
            "/v1/items",
            "{\"bigCount\": true}",
            "`bigCount`: invalid type: boolean `true`, expected a 64-bit signed integer or decimal string",
        ),
        (
            "/v1/items",
            "{\"nested\": {\"id\": \"x\"}}",
            "`nested.id`: invalid digit found in string",
        ),
        (
            "/v1/items",
            "{\"color\": \"COLOR_PURPLE\"}",
            "`color`: unrecognized enum value 'COLOR_PURPLE'",
        ),
        (
            "/v1/items",
            "{\"tags\": \"a\"}",
            "`tags`: invalid type: string \"a\", expected a list",
        ),
        (
            "/v1/items",
            "{\"counts\": {\"a\": \"x\"}}",
            "`counts.a`: invalid digit found in string",
        ),
        (
            "/v1/items",
            "{\"createdAt\": \"yesterday\"}",
            "`createdAt`: invalid rfc3339 timestamp: invalid date",
        ),
        (
            "/v1/items",
            "{\"detail\": {\"@type\": \"type.googleapis.com/nope.Nope\"}}",
            "`detail`: message 'nope.Nope' not found",
        ),
        // `body: "nested"`: the body is that field.
        (
            "/v1/items/a",
            "{\"nope\": 1}",
            "`nested`: unrecognized field name 'nope'",
        ),
        (
            "/v1/items/a",
            "3",
            "`nested`: invalid type: integer `3`, expected a map",
        ),
    ] {
        let method = if path == "/v1/items" { "POST" } else { "PATCH" };
        assert_eq!(
            call_with(&service, method, path, Some(body.to_owned())).await,
            invalid(message),
            "{body}"
        );
    }
    // Path and query parameters that do not fit their fields, or name none.
    for (path, message) in [
        (
            "/v1/nested/abc/x",
            "path parameter `nested.id`: `abc` is not an integer",
        ),
        (
            "/v1/fail/1.5",
            "path parameter `code`: `1.5` is not a 32-bit integer",
        ),
        (
            "/v1/items/a?nope=1",
            "query parameter `nope`: `echo.v1.Item` has no field `nope`",
        ),
        (
            "/v1/items/a?nested.nope=1",
            "query parameter `nested.nope`: `echo.v1.Nested` has no field `nope`",
        ),
        (
            "/v1/items/a?is_active=yes",
            "query parameter `is_active`: `yes` is not a bool (true or false)",
        ),
        (
            "/v1/items/a?color=COLOR_PURPLE",
            "query parameter `color`: `COLOR_PURPLE` is not one of COLOR_UNSPECIFIED, COLOR_RED, COLOR_GREEN",
        ),
        (
            "/v1/items/a?unsigned_count=-1",
            "query parameter `unsigned_count`: `-1` is not an unsigned integer",
        ),
        (
            "/v1/items/a?nested=1",
            "query parameter `nested`: a message field cannot be set from the URL (set its fields)",
        ),
        (
            "/v1/items/a?counts=1",
            "query parameter `counts`: a map field cannot be set from the URL",
        ),
        (
            "/v1/items/a?display_name=a&display_name=b",
            "query parameter `display_name`: more than one value for a field that is not repeated",
        ),
        (
            "/v1/items/a?ttl=3",
            "query parameter `ttl`: failed to parse duration",
        ),
        (
            "/v1/items/a?extra.string_value=x",
            "query parameter `extra.string_value`: `extra` is a google.protobuf.Value, whose JSON form has no fields",
        ),
        (
            "/v1/items/a?detail.type_url=x",
            "query parameter `detail.type_url`: `detail` is a google.protobuf.Any, whose JSON form has no fields",
        ),
    ] {
        assert_eq!(
            call(&service, "GET", path, None).await,
            invalid(message),
            "{path}"
        );
    }
    service.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_answered_413() {
    let mut config = Config::<Echo>::ephemeral();
    config.rest.max_body_bytes = 64;
    let service = Running::start(&config).await;
    let fits = json!({"name": "x".repeat(40)});
    assert_eq!(
        call(&service, "POST", "/v1/items", Some(fits.clone())).await,
        (200, fits)
    );
    assert_eq!(
        call(
            &service,
            "POST",
            "/v1/items",
            Some(json!({"name": "x".repeat(60)}))
        )
        .await,
        (
            413,
            status(Code::ResourceExhausted, "the body is larger than 64 bytes")
        )
    );
    service.stop().await;
}

#[tokio::test]
async fn a_path_no_rule_matches_is_404_and_another_method_405() {
    let service = started().await;
    for (method, path, expected) in [
        (
            "GET",
            "/v2/items/a",
            (404, status(Code::NotFound, "no route")),
        ),
        (
            "GET",
            "/v1/items",
            (405, status(Code::Unimplemented, "no route")),
        ),
        (
            "POST",
            "/v1/metadata",
            (405, status(Code::Unimplemented, "no route")),
        ),
        (
            "PATCH",
            "/v1/fail/1",
            (405, status(Code::Unimplemented, "no route")),
        ),
    ] {
        assert_eq!(
            call(&service, method, path, None).await,
            expected,
            "{method} {path}"
        );
    }
    // The service's own routes and the health checks come first.
    assert_eq!(
        service
            .send("GET", "/healthz", &[], None)
            .await
            .status_and_json(),
        (200, json!({"status": "ok"}))
    );
    service.stop().await;
}

#[tokio::test]
async fn the_configured_headers_reach_the_handler_as_metadata() {
    let headers = [
        ("authorization", "Bearer token".to_owned()),
        ("x-request-id", "req-1".to_owned()),
        ("x-tenant", "t1".to_owned()),
        ("cookie", "secret=1".to_owned()),
    ];
    let metadata = async |config: &Config<Echo>| {
        let service = Running::start(config).await;
        let answer = service.send("GET", "/v1/metadata", &headers, None).await;
        service.stop().await;
        answer.status_and_json()
    };
    // By default: `authorization` and `x-request-id`, and no other header.
    assert_eq!(
        metadata(&Config::ephemeral()).await,
        (
            200,
            json!({"authorization": "Bearer token", "x-request-id": "req-1"})
        )
    );
    let mut config = Config::ephemeral();
    config.rest.forward_headers = vec!["X-Tenant".to_owned()];
    assert_eq!(metadata(&config).await, (200, json!({"x-tenant": "t1"})));
    config.rest.forward_headers = Vec::new();
    assert_eq!(metadata(&config).await, (200, json!({})));
}

#[tokio::test]
async fn a_transcoded_call_is_logged_and_traced_by_its_route_template() {
    let collector = Collector::start();
    let logs = LogDir::new();
    let mut config = traced(&collector, &[Propagation::W3c]);
    config.log.level = "info".to_owned();
    config.log.file = Some(logs.config(14));
    let (pipeline, service) = Pipeline::serve(&config).await;
    for (path, status) in [
        ("/v1/items/ada", 200),
        ("/v1/shelves/1/books/2", 200),
        ("/v1/fail/14", 503),
        ("/v2/nothing", 404),
    ] {
        assert_eq!(
            service.send("GET", path, &[], None).await.status,
            status,
            "{path}"
        );
    }
    let stream = service
        .send("GET", "/v1/items/s:repeat?tags=a", &[], None)
        .await;
    assert_eq!(stream.json_lines().len(), 1, "{stream:?}");
    pipeline.stop([service]).await;

    let access: Vec<Value> = logs
        .lines()
        .into_iter()
        .filter(|line| line["target"] == "access")
        .collect();
    let spans = collector.zipkin_spans();
    for (route, status, level) in [
        ("/v1/items/{name}", 200, "INFO"),
        ("/v1/{name=shelves/*/books/*}", 200, "INFO"),
        ("/v1/fail/{code}", 503, "WARN"),
        ("/v1/items/{name}:repeat", 200, "INFO"),
        // No rule: the path.
        ("/v2/nothing", 404, "INFO"),
    ] {
        let lines: Vec<&Value> = access
            .iter()
            .filter(|line| line["route"] == route)
            .collect();
        assert_eq!(lines.len(), 1, "one access line of {route} in {access:#?}");
        let line = lines[0];
        assert_eq!(line["message"], "http request", "{line}");
        assert_eq!(line["method"], "GET", "{line}");
        assert_eq!(line["status"], status, "{line}");
        assert_eq!(line["level"], level, "{line}");
        let span = find(&spans, &format!("GET {route}"), "SERVER");
        assert_eq!(span["tags"]["http.route"], route, "{span}");
        assert_eq!(
            span["tags"]["http.response.status_code"],
            status.to_string(),
            "{span}"
        );
        assert_eq!(span["traceId"], line["trace_id"], "{span} {line}");
        assert_eq!(span["id"], line["span_id"], "{span} {line}");
    }
}

/// The OpenAPI document the test service serves.
async fn openapi_document(service: &Running) -> Value {
    let answer = service.send("GET", "/openapi.json", &[], None).await;
    assert_eq!(
        (answer.status, answer.content_type.as_str()),
        (200, "application/json"),
        "{answer:?}"
    );
    answer.json()
}

#[tokio::test]
async fn the_openapi_document_describes_every_rule() {
    let service = started().await;
    let document = openapi_document(&service).await;
    service.stop().await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "echo");
    // Every rule, as OpenAPI writes its path: the paths of the same method that would be
    // alike with their first path parameter's name suffixed, the methods OpenAPI has no
    // field for in the path item's `x-additionalOperations`.
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            if method == "x-additionalOperations" {
                let additional = operation.as_object().expect("operations by method");
                operations.extend(
                    additional
                        .keys()
                        .map(|method| (path.as_str(), method.as_str())),
                );
            } else {
                operations.push((path.as_str(), method.as_str()));
            }
        }
    }
    operations.sort_unstable();
    let mut expected = vec![
        ("/v1/items/{name}", "get"),
        ("/v1/items/{name}:repeat", "get"),
        ("/v1/nested/{nested.id}/{nested.label}", "get"),
        ("/v1/{name}", "get"),
        ("/v1/{name_1}", "get"),
        ("/v1/{name_2}", "get"),
        ("/v1/{name}:mirror", "post"),
        ("/v1/items/{name}", "REPORT"),
        ("/v1/items", "post"),
        ("/v1/items/{name}", "put"),
        ("/v1/items/{name}", "patch"),
        ("/v1/items/{name}", "delete"),
        ("/v1/items/{name}/tags", "get"),
        ("/v1/fail/{code}", "get"),
        ("/v1/fail", "post"),
        ("/v1/metadata", "get"),
        ("/v1/plain/{name}:repeat", "get"),
        ("/v1/plain/{name}", "get"),
        ("/v1/plain", "post"),
    ];
    assert_eq!(expected.len(), Echo::HTTP_RULES.len());
    expected.sort_unstable();
    assert_eq!(operations, expected);
    let books = &paths["/v1/{name_1}"]["get"]["parameters"][0];
    assert_eq!(
        books,
        &json!({
            "name": "name_1",
            "in": "path",
            "required": true,
            "schema": {"type": "string"},
            "description": "matches `shelves/*/books/*`",
        })
    );
    let report = &paths["/v1/items/{name}"]["x-additionalOperations"]["REPORT"];
    assert_eq!(report["operationId"], "Rest_Mirror7", "{report}");

    let mirror = &paths["/v1/items/{name}"]["get"];
    assert_eq!(mirror["operationId"], "Rest_Mirror", "{mirror}");
    assert_eq!(mirror["tags"], json!(["Rest"]), "{mirror}");
    let parameters = mirror["parameters"].as_array().expect("parameters");
    assert_eq!(
        parameters[0],
        json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}})
    );
    // The query: every field the path leaves, but maps and the fields of the well-known
    // types that JSON writes otherwise.
    let names: Vec<&str> = parameters[1..]
        .iter()
        .map(|parameter| {
            assert_eq!(parameter["in"], "query", "{parameter}");
            parameter["name"].as_str().expect("a name")
        })
        .collect();
    assert_eq!(
        names,
        [
            "display_name",
            "big_count",
            "unsigned_count",
            "is_active",
            "ratio",
            "data",
            "color",
            "tags",
            "nested.id",
            "nested.label",
            "created_at",
            "ttl",
            "update_mask",
            "limit",
            "note",
            "failure.code",
            "failure.message",
        ]
    );
    let parameter = |name: &str| {
        parameters
            .iter()
            .find(|parameter| parameter["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {parameters:#?}"))
    };
    assert_eq!(
        parameter("tags")["schema"],
        json!({"type": "array", "items": {"type": "string"}})
    );
    assert_eq!(
        parameter("created_at")["schema"],
        json!({"type": "string", "format": "date-time"})
    );
    assert_eq!(
        mirror["responses"]["200"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/echo.v1.Item"})
    );
    let fail = &paths["/v1/fail"]["post"];
    assert_eq!(
        fail["requestBody"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/echo.v1.Failure"})
    );
    let tags = &paths["/v1/items/{name}/tags"]["get"]["responses"]["200"];
    assert_eq!(
        tags["content"]["application/json"]["schema"],
        json!({"type": "array", "items": {"type": "string"}})
    );
    let repeat = &paths["/v1/items/{name}:repeat"]["get"]["responses"]["200"]["content"];
    assert_eq!(
        repeat["application/x-ndjson"]["schema"],
        json!({"$ref": "#/components/schemas/echo.v1.Item"})
    );

    let item = &document["components"]["schemas"]["echo.v1.Item"]["properties"];
    for (field, schema) in [
        (
            "createdAt",
            json!({"type": "string", "format": "date-time"}),
        ),
        (
            "bigCount",
            json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}),
        ),
        (
            "color",
            json!({"type": "string", "enum": ["COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_GREEN"]}),
        ),
        (
            "limit",
            json!({"type": ["integer", "null"], "format": "int32"}),
        ),
        (
            "nested",
            json!({"$ref": "#/components/schemas/echo.v1.Nested"}),
        ),
        (
            "counts",
            json!({"type": "object", "additionalProperties": {"type": "integer", "format": "int32"}}),
        ),
    ] {
        assert_eq!(item[field], schema, "{field}");
    }
}

/// The command that installs the OpenAPI validator, as CI runs it.
const VALIDATOR_INSTALL: &str = "python3 -m pip install openapi-spec-validator==0.9.0";

#[tokio::test]
async fn the_openapi_document_passes_an_openapi_validator() {
    let service = started().await;
    let document = openapi_document(&service).await;
    service.stop().await;
    let file = tempfile::Builder::new()
        .suffix(".json")
        .tempfile()
        .expect("a scratch file");
    std::fs::write(file.path(), document.to_string()).expect("the document written");
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .unwrap_or_else(|error| panic!("python3 runs ({error}); then `{VALIDATOR_INSTALL}`"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named openapi_spec_validator"),
        "the validator is missing: `{VALIDATOR_INSTALL}`"
    );
    assert!(
        output.status.success(),
        "{}{stderr}\n{document:#}",
        String::from_utf8_lossy(&output.stdout)
    );
}
