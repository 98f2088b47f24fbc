//! `[auth]` with the real servers, over gRPC and over HTTP (a REST route and an axum
//! route): a request without a token or with a wrong one is refused, UNAUTHENTICATED
//! (trailers-only) or 401 with a JSON status and `WWW-Authenticate: Bearer`, saying
//! nothing of why; a right one is served, its handler seeing the caller's `Principal`;
//! bearer tokens and JWTs (HS256, RS256 from a PEM file, ES256 from a PEM file or a
//! JWKS, keys chosen by `kid`), each claim check; what is always open and what `public`
//! opens; and neither a token nor its digest in a log line or a span.

use std::collections::BTreeMap;
use std::path::PathBuf;

use http_body::Body as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use svcgen_runtime::Config;
use svcgen_runtime::auth::{AuthMode, JwtAlgorithm, Secret};
use svcgen_runtime::config::Propagation;
use tonic::Code;
use tower::{Service as _, ServiceExt as _};

use crate::support::pb::rest_client::RestClient;
use crate::support::service::{METADATA, UNARY};
use crate::support::{Collector, Echo, LogDir, Pipeline, Running, echo, named, traced};

/// The bearer token the tests' services accept.
const TOKEN: &str = "tok-7c1e5a9f3b2d4e6a8c0b1d3f5e7a9c1b";
/// A token they do not.
const WRONG: &str = "tok-wrong-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
/// The HS256 secret.
const SECRET: &str = "hs256-secret-of-the-tests-9a8b7c6d5e4f3a2b1c0d";
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "echo";

/// The sha256 of `text`, in lower-case hex.
fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Now, in seconds since the epoch (JWT times).
fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).expect("a time that fits")
}

/// A service accepting [`TOKEN`] (and another token) as bearer tokens.
fn bearer() -> Config<Echo> {
    let mut config = Config::ephemeral();
    config.auth.mode = AuthMode::Bearer;
    config.auth.bearer_sha256 = vec![sha256("another-token"), sha256(TOKEN)];
    config
}

/// A service verifying JWTs of `algorithm`, of [`ISSUER`] for [`AUDIENCE`].
fn jwt(algorithm: JwtAlgorithm) -> Config<Echo> {
    let mut config = Config::ephemeral();
    config.auth.mode = AuthMode::Jwt;
    config.auth.jwt.algorithm = algorithm;
    config.auth.jwt.issuer = Some(ISSUER.to_owned());
    config.auth.jwt.audience = vec![AUDIENCE.to_owned()];
    config
}

/// Claims that pass every check, with `sub` and a claim of the issuer's own.
fn claims() -> Value {
    json!({
        "sub": "ada",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now() + 600,
        "nbf": now() - 5,
        "iat": now() - 5,
        "role": "admin",
    })
}

/// `claims` with `changes` merged in (a `null` removes the claim).
fn claims_with(changes: &Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().expect("an object") {
        if value.is_null() {
            claims.as_object_mut().expect("an object").remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// A JWT of `claims` signed with `key` by `algorithm`, naming the key `kid`.
fn sign(algorithm: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("a signed token")
}

/// The HMAC key `secret`.
fn secret_key(secret: &[u8]) -> EncodingKey {
    EncodingKey::from_secret(secret).expect("a secret")
}

/// A JWT of `claims` with the HS256 [`SECRET`].
fn hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        &secret_key(SECRET.as_bytes()),
        None,
        claims,
    )
}

/// An ECDSA P-256 key pair made now: the signing key and the public key in PEM.
fn p256() -> (EncodingKey, String) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a key pair");
    (
        EncodingKey::from_ec_der(&pair.serialize_der()),
        pair.public_key_pem(),
    )
}

/// The committed RSA test key pair (support/keys): the signing key and the public key
/// file.
fn rsa() -> (EncodingKey, PathBuf) {
    let keys = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/framework/support/keys");
    let private = std::fs::read(keys.join("rsa-private.pem")).expect("the test key");
    (
        EncodingKey::from_rsa_pem(&private).expect("an RSA key"),
        keys.join("rsa-public.pem"),
    )
}

/// `authorization: Bearer <token>`, when there is a token.
fn authorization(token: Option<&str>) -> Vec<(&'static str, String)> {
    token
        .map(|token| ("authorization", format!("Bearer {token}")))
        .into_iter()
        .collect()
}

/// A gRPC request of `message` with `token`.
fn grpc_request<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (name, value) in authorization(token) {
        request
            .metadata_mut()
            .insert(name, value.parse().expect("ASCII metadata"));
    }
    request
}

/// The fields `echo.v1.Rest/Metadata` answers over gRPC with `token`, or its status.
async fn grpc_metadata(
    service: &Running,
    token: Option<&str>,
) -> Result<BTreeMap<String, String>, tonic::Status> {
    let reply = RestClient::new(service.channel().await)
        .metadata(grpc_request((), token))
        .await?;
    Ok(reply
        .into_inner()
        .fields
        .into_iter()
        .map(|(key, value)| match value.kind {
            Some(prost_types::value::Kind::StringValue(text)) => (key, text),
            other => panic!("{key}: {other:?}"),
        })
        .collect())
}

/// `GET /v1/metadata` (the REST route to `echo.v1.Rest/Metadata`) with `token`: the
/// status and the JSON body.
async fn rest_metadata(service: &Running, token: Option<&str>) -> (u16, Value) {
    service
        .send("GET", "/v1/metadata", &authorization(token), None)
        .await
        .status_and_json()
}

/// Checks that `status` is the refusal: UNAUTHENTICATED, "unauthenticated", no details.
fn assert_refused_grpc(status: &tonic::Status, what: &str) {
    assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
    assert_eq!(status.message(), "unauthenticated", "{what}: {status:?}");
    assert!(status.details().is_empty(), "{what}: {status:?}");
}

/// The refusal over HTTP.
fn refused_http() -> (u16, Value) {
    (
        401,
        json!({"code": 16, "message": "unauthenticated", "details": []}),
    )
}

/// Checks that a request with `token` is refused over gRPC (`Rest/Metadata`) and over
/// HTTP (its REST route).
async fn assert_refused(service: &Running, token: Option<&str>, what: &str) {
    let status = grpc_metadata(service, token)
        .await
        .expect_err(&format!("{what}: refused over gRPC"));
    assert_refused_grpc(&status, what);
    assert_eq!(
        rest_metadata(service, token).await,
        refused_http(),
        "{what}: refused over HTTP"
    );
}

/// Checks that a request with `token` is served over gRPC and over HTTP, and answers
/// the principal's fields its handler saw (the same both ways).
async fn assert_served(service: &Running, token: &str, what: &str) -> BTreeMap<String, String> {
    let over_grpc = grpc_metadata(service, Some(token))
        .await
        .unwrap_or_else(|status| panic!("{what}: served over gRPC: {status:?}"));
    let (status, over_http) = rest_metadata(service, Some(token)).await;
    assert_eq!(status, 200, "{what}: {over_http}");
    let principal = |fields: BTreeMap<String, String>| -> BTreeMap<String, String> {
        fields
            .into_iter()
            .filter(|(key, _)| key.starts_with("principal."))
            .collect()
    };
    let over_http: BTreeMap<String, String> =
        serde_json::from_value(over_http).expect("string fields");
    let seen = principal(over_grpc);
    assert_eq!(principal(over_http), seen, "{what}");
    seen
}

/// The claims of a principal's fields.
fn claims_of(fields: &BTreeMap<String, String>) -> Value {
    serde_json::from_str(&fields["principal.claims"]).expect("JSON claims")
}

#[tokio::test]
async fn a_bearer_token_is_required_and_its_digest_reaches_the_handler() {
    let service = Running::start(&bearer()).await;
    assert_refused(&service, None, "no token").await;
    assert_refused(&service, Some(WRONG), "a wrong token").await;
    assert_refused(&service, Some(&sha256(TOKEN)), "the digest as the token").await;
    // Another scheme, the right token.
    let status = RestClient::new(service.channel().await)
        .metadata({
            let mut request = tonic::Request::new(());
            let basic = format!("Basic {TOKEN}").parse().expect("ASCII");
            request.metadata_mut().insert("authorization", basic);
            request
        })
        .await
        .expect_err("not a bearer token");
    assert_refused_grpc(&status, "Basic");

    let principal = assert_served(&service, TOKEN, "the right token").await;
    assert_eq!(
        principal,
        BTreeMap::from([("principal.token_sha256".to_owned(), sha256(TOKEN))])
    );
    // The scheme in any case.
    let (status, _) = service
        .send(
            "GET",
            "/v1/metadata",
            &[("authorization", format!("bearer {TOKEN}"))],
            None,
        )
        .await
        .status_and_json();
    assert_eq!(status, 200);

    // Every rpc and route, not only those of the REST engine.
    let status = service
        .client()
        .await
        .unary(echo("Ada", &[]))
        .await
        .expect_err("refused");
    assert_refused_grpc(&status, "Unary without a token");
    let reply = service
        .client()
        .await
        .unary(echo("Ada", &authorization(Some(TOKEN))))
        .await
        .expect("served");
    assert_eq!(reply.into_inner().message, "Ada");
    let answer = service.send("GET", "/whoami/ada", &[], None).await;
    assert_eq!(answer.status_and_json(), refused_http());
    let answer = service
        .send("GET", "/whoami/ada", &authorization(Some(TOKEN)), None)
        .await;
    assert_eq!(
        answer.status_and_json(),
        (200, json!({"principal.token_sha256": sha256(TOKEN)})),
        "an axum handler takes it with Extension<Principal>"
    );
    service.stop().await;
}

#[tokio::test]
async fn a_refusal_is_trailers_only_or_a_401_with_www_authenticate() {
    let service = Running::start(&bearer()).await;
    // gRPC: the status in the response headers, and no body (trailers-only).
    let mut channel = service.channel().await;
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("{}/{UNARY}", service.grpc_url()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {WRONG}"))
        .body(tonic::body::Body::empty())
        .expect("a request");
    let response = channel
        .ready()
        .await
        .expect("ready")
        .call(request)
        .await
        .expect("a response");
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["grpc-status"], "16", "{headers:?}");
    assert_eq!(headers["grpc-message"], "unauthenticated", "{headers:?}");
    assert!(
        !headers.contains_key("grpc-status-details-bin"),
        "{headers:?}"
    );
    assert!(
        response.body().is_end_stream(),
        "trailers-only: {headers:?}"
    );

    // HTTP: 401, the JSON status, and the scheme to authenticate with.
    let response = reqwest::Client::new()
        .get(service.http_url("/v1/metadata"))
        .header("authorization", format!("Bearer {WRONG}"))
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = serde_json::from_str(&response.text().await.expect("a body")).expect("JSON");
    assert_eq!((401, body), refused_http());
    service.stop().await;
}

#[tokio::test]
async fn hs256_tokens_are_checked_claim_by_claim() {
    let mut config = jwt(JwtAlgorithm::HS256);
    config.auth.jwt.secret = Some(Secret::new(SECRET));
    let service = Running::start(&config).await;

    let principal = assert_served(&service, &hs256(&claims()), "a valid token").await;
    assert_eq!(principal["principal.subject"], "ada");
    let seen = claims_of(&principal);
    assert_eq!(seen["role"], "admin", "{seen}");
    assert_eq!(seen["iss"], ISSUER, "{seen}");
    assert!(!principal.contains_key("principal.token_sha256"));

    // Within the leeway (30 s): an `exp` just past, an `nbf` just ahead.
    for (what, changes) in [
        ("expired within the leeway", json!({"exp": now() - 10})),
        (
            "not valid yet within the leeway",
            json!({"nbf": now() + 10}),
        ),
        (
            "one of several audiences",
            json!({"aud": ["other", AUDIENCE]}),
        ),
        ("no nbf", json!({"nbf": null})),
    ] {
        assert_served(&service, &hs256(&claims_with(&changes)), what).await;
    }
    let other_secret = secret_key(b"another-secret-of-the-same-length-000000");
    let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
    let payload = hs256(&claims())
        .split('.')
        .nth(1)
        .expect("a payload")
        .to_owned();
    // A signature with its first character changed (all of whose bits are the
    // signature's, unlike the last one's).
    let tampered = {
        let token = hs256(&claims());
        let at = token.rfind('.').expect("a signature") + 1;
        let changed = if token[at..].starts_with('A') {
            "B"
        } else {
            "A"
        };
        format!("{}{changed}{}", &token[..at], &token[at + 1..])
    };
    for (what, token) in [
        (
            "expired beyond the leeway",
            hs256(&claims_with(&json!({"exp": now() - 120}))),
        ),
        ("without exp", hs256(&claims_with(&json!({"exp": null})))),
        (
            "not valid yet beyond the leeway",
            hs256(&claims_with(&json!({"nbf": now() + 120}))),
        ),
        (
            "of another issuer",
            hs256(&claims_with(&json!({"iss": "https://elsewhere.test"}))),
        ),
        (
            "without an issuer",
            hs256(&claims_with(&json!({"iss": null}))),
        ),
        (
            "for another audience",
            hs256(&claims_with(&json!({"aud": "other"}))),
        ),
        (
            "without an audience",
            hs256(&claims_with(&json!({"aud": null}))),
        ),
        (
            "signed with another secret",
            sign(Algorithm::HS256, &other_secret, None, &claims()),
        ),
        ("with a changed signature", tampered),
        (
            "of another algorithm (HS384, the same secret)",
            sign(
                Algorithm::HS384,
                &secret_key(SECRET.as_bytes()),
                None,
                &claims(),
            ),
        ),
        ("unsigned (alg none)", format!("{none_header}.{payload}.")),
        ("not a JWT", "not.a.jwt".to_owned()),
    ] {
        assert_refused(&service, Some(&token), what).await;
    }
    service.stop().await;
}

#[tokio::test]
async fn rs256_tokens_are_verified_with_the_public_key_of_a_pem_file() {
    let (private, public_file) = rsa();
    let mut config = jwt(JwtAlgorithm::RS256);
    config.auth.jwt.public_key_file = Some(public_file.clone());
    let service = Running::start(&config).await;

    let token = sign(Algorithm::RS256, &private, None, &claims());
    let principal = assert_served(&service, &token, "a valid RS256 token").await;
    assert_eq!(principal["principal.subject"], "ada");
    assert_eq!(claims_of(&principal)["aud"], AUDIENCE);

    // The classic confusion: HS256 "signed" with the public key as the secret.
    let public_pem = std::fs::read(&public_file).expect("the public key");
    let confused = sign(Algorithm::HS256, &secret_key(&public_pem), None, &claims());
    let (es256_key, _) = p256();
    let expired = sign(
        Algorithm::RS256,
        &private,
        None,
        &claims_with(&json!({"exp": now() - 120})),
    );
    for (what, token) in [
        ("HS256 with the public key as its secret", confused),
        ("ES256", sign(Algorithm::ES256, &es256_key, None, &claims())),
        ("expired", expired),
    ] {
        assert_refused(&service, Some(&token), what).await;
    }
    service.stop().await;
}

#[tokio::test]
async fn es256_keys_come_from_a_pem_file_or_a_jwks_by_kid() {
    let files = tempfile::tempdir().expect("a scratch directory");
    let (key_a, public_a) = p256();
    let (key_b, _) = p256();

    // A PEM file: its key verifies, another does not.
    let pem = files.path().join("es256.pem");
    std::fs::write(&pem, public_a).expect("the PEM file");
    let mut config = jwt(JwtAlgorithm::ES256);
    config.auth.jwt.public_key_file = Some(pem);
    let service = Running::start(&config).await;
    let principal = assert_served(
        &service,
        &sign(Algorithm::ES256, &key_a, None, &claims()),
        "signed with the key of the PEM file",
    )
    .await;
    assert_eq!(principal["principal.subject"], "ada");
    assert_refused(
        &service,
        Some(&sign(Algorithm::ES256, &key_b, None, &claims())),
        "signed with another key",
    )
    .await;
    service.stop().await;

    // A JWKS of two keys: each token names its key.
    let jwk = |key: &EncodingKey, kid: &str| {
        let mut jwk = Jwk::from_encoding_key(key, Algorithm::ES256).expect("a JWK");
        jwk.common.key_id = Some(kid.to_owned());
        jwk
    };
    let jwks = files.path().join("jwks.json");
    let set = JwkSet {
        keys: vec![jwk(&key_a, "a"), jwk(&key_b, "b")],
    };
    std::fs::write(&jwks, serde_json::to_string(&set).expect("JSON")).expect("the JWKS");
    let mut config = jwt(JwtAlgorithm::ES256);
    config.auth.jwt.jwks_file = Some(jwks);
    let service = Running::start(&config).await;
    for (kid, key) in [("a", &key_a), ("b", &key_b)] {
        assert_served(
            &service,
            &sign(Algorithm::ES256, key, Some(kid), &claims()),
            kid,
        )
        .await;
    }
    for (what, token) in [
        (
            "the kid of another key",
            sign(Algorithm::ES256, &key_b, Some("a"), &claims()),
        ),
        (
            "an unknown kid",
            sign(Algorithm::ES256, &key_a, Some("c"), &claims()),
        ),
        (
            "no kid, with several keys",
            sign(Algorithm::ES256, &key_a, None, &claims()),
        ),
    ] {
        assert_refused(&service, Some(&token), what).await;
    }
    service.stop().await;
}

#[tokio::test]
async fn health_reflection_and_the_probes_are_always_open() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;

    let service = Running::start(&bearer()).await;
    let health = HealthClient::new(service.channel().await)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health without a token");
    assert_eq!(health.into_inner().status, 1, "SERVING");
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = ServerReflectionClient::new(service.channel().await)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection without a token")
        .into_inner();
    let reply = replies.message().await.expect("a reply").expect("one");
    assert!(format!("{reply:?}").contains("echo.v1.Echo"), "{reply:?}");

    for path in ["/healthz", "/readyz"] {
        let answer = service.send("GET", path, &[], None).await;
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
    }
    // Open whether metrics are served or not: never a 401.
    let answer = service.send("GET", "/metrics", &[], None).await;
    assert_ne!(answer.status, 401, "{answer:?}");
    // The OpenAPI document is not open unless `public` says so.
    let answer = service.send("GET", "/openapi.json", &[], None).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    service.stop().await;
}

#[tokio::test]
async fn public_rpcs_and_routes_are_open() {
    let mut config = bearer();
    config.auth.public = vec![
        // An rpc: over gRPC only (it has no REST route).
        UNARY.to_owned(),
        // An rpc: over gRPC and every REST route to it.
        "echo.v1.Rest/Fail".to_owned(),
        // A REST route, by its google.api.http template and method.
        "GET /v1/items/{name}".to_owned(),
        // An axum route, by its template, whatever the method.
        "/whoami/{name}".to_owned(),
        // A path.
        "/openapi.json".to_owned(),
    ];
    let service = Running::start(&config).await;
    let mut client = service.client().await;
    client
        .unary(echo("Ada", &[]))
        .await
        .expect("a public rpc without a token");
    let status = client
        .server_stream(echo("Ada", &[]))
        .await
        .expect_err("another rpc of the same service");
    assert_refused_grpc(&status, "ServerStream");
    RestClient::new(service.channel().await)
        .fail(grpc_request(
            crate::support::pb::Failure {
                code: 0,
                message: String::new(),
            },
            None,
        ))
        .await
        .expect("a public rpc over gRPC");
    let status = RestClient::new(service.channel().await)
        .metadata(grpc_request((), None))
        .await
        .expect_err("not public");
    assert_refused_grpc(&status, METADATA);

    for (method, path, expected) in [
        ("GET", "/v1/fail/0", 200),
        ("POST", "/v1/fail", 200),
        ("GET", "/v1/items/ada", 200),
        ("DELETE", "/v1/items/ada", 401),
        ("GET", "/v1/items/ada/tags", 401),
        ("GET", "/v1/metadata", 401),
        ("GET", "/whoami/ada", 200),
        ("GET", "/openapi.json", 200),
        ("GET", "/headers", 401),
        ("GET", "/nowhere", 401),
    ] {
        let body = (method == "POST").then(|| r#"{"code": 0}"#.to_owned());
        let answer = service.send(method, path, &[], body).await;
        assert_eq!(answer.status, expected, "{method} {path}: {answer:?}");
    }
    // A public route takes no token: its handler sees no principal.
    let answer = service
        .send("GET", "/whoami/ada", &authorization(Some(TOKEN)), None)
        .await;
    assert_eq!(answer.status_and_json(), (200, json!({})));
    service.stop().await;
}

#[tokio::test]
async fn no_token_nor_digest_is_ever_logged_or_traced() {
    let collector = Collector::start();
    let logs = LogDir::new();
    let mut config = traced(&collector, &[Propagation::B3, Propagation::W3c]);
    // The runtime's own DEBUG lines too: the refusals' reasons.
    config.log.level = "info,svcgen_runtime=debug".to_owned();
    config.log.file = Some(logs.config(14));
    config.auth = bearer().auth;
    let (pipeline, service) = Pipeline::serve(&config).await;
    for token in [None, Some(WRONG), Some(TOKEN)] {
        let _ = service
            .client()
            .await
            .unary(echo("Ada", &authorization(token)))
            .await;
        let _ = rest_metadata(&service, token).await;
    }
    // A JWT service beside it, in the same pipeline.
    let mut jwt_config = jwt(JwtAlgorithm::HS256);
    jwt_config.auth.jwt.secret = Some(Secret::new(SECRET));
    jwt_config.log = config.log.clone();
    jwt_config.tracing = config.tracing.clone();
    let jwt_service = Running::start(&jwt_config).await;
    let good = hs256(&claims());
    let expired = hs256(&claims_with(&json!({"exp": now() - 120})));
    for token in [&good, &expired] {
        let _ = grpc_metadata(&jwt_service, Some(token)).await;
        let _ = rest_metadata(&jwt_service, Some(token)).await;
    }
    pipeline.stop([service, jwt_service]).await;

    let lines = logs.lines();
    let spans = collector.zipkin_spans();
    let secrets = [
        TOKEN.to_owned(),
        WRONG.to_owned(),
        sha256(TOKEN),
        sha256(WRONG),
        SECRET.to_owned(),
        good.clone(),
        expired.clone(),
        // The signatures alone.
        good.rsplit('.').next().expect("a signature").to_owned(),
        expired.rsplit('.').next().expect("a signature").to_owned(),
    ];
    for line in &lines {
        let text = line.to_string();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret} in {text}");
        }
    }
    for span in &spans {
        let text = span.to_string();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret} in {text}");
        }
    }
    // What was logged and traced: the refusals, each with its reason and trace id.
    let refusals: Vec<&Value> = lines
        .iter()
        .filter(|line| line["message"] == "request refused: unauthenticated")
        .collect();
    let reasons: Vec<&str> = refusals
        .iter()
        .map(|line| line["reason"].as_str().expect("a reason"))
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|reason| **reason == "no authorization header")
            .count(),
        2,
        "{reasons:?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|reason| **reason == "an unknown bearer token")
            .count(),
        2,
        "{reasons:?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|reason| **reason == "an expired token (exp)")
            .count(),
        2,
        "{reasons:?}"
    );
    assert!(
        refusals.iter().all(|line| line["trace_id"].is_string()),
        "{refusals:#?}"
    );
    let refused: Vec<&Value> = lines
        .iter()
        .filter(|line| {
            line["target"] == "access"
                && (line["status"] == "UNAUTHENTICATED" || line["status"] == 401)
        })
        .collect();
    assert_eq!(refused.len(), 6, "{refused:#?}");
    let unary: Vec<&Value> = named(&spans, UNARY)
        .into_iter()
        .filter(|span| span["kind"] == "SERVER")
        .collect();
    assert_eq!(unary.len(), 3, "{spans:#?}");
}
