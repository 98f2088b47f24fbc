//! Authentication from metadata: `[auth]`. One tower layer, the same for the gRPC and the
//! HTTP server, reads the `authorization: Bearer <token>` header (gRPC metadata is HTTP
//! headers) of every request that is not open, and either refuses the request —
//! UNAUTHENTICATED (trailers-only), or 401 with a JSON status and `WWW-Authenticate:
//! Bearer`, never saying why — or hands it on with a [`Principal`] in its extensions:
//!
//! ```no_run
//! # async fn handler(request: tonic::Request<()>) -> Result<tonic::Response<()>, tonic::Status> {
//! use svcgen_runtime::auth::Principal;
//!
//! let subject = request
//!     .extensions()
//!     .get::<Principal>()
//!     .and_then(|principal| principal.subject.as_deref());
//! # Ok(tonic::Response::new(()))
//! # }
//! ```
//!
//! The REST routes hand the principal on to their rpc's handler the same way; an axum
//! handler of the service's own routes takes it with `axum::Extension<Principal>`.
//!
//! Modes (`auth.mode`):
//!
//! - `none` (the default): every request is served, no [`Principal`];
//! - `bearer`: opaque tokens, known by their sha256 digests (`auth.bearer_sha256`, hex),
//!   never in plain text; a token's digest is compared with each in constant time;
//! - `jwt`: JSON Web Tokens, as go-zero and Kratos issue them: HS256 with a secret that
//!   comes from the environment only (`APP__AUTH__JWT__SECRET`: a secret in a file is a
//!   configuration error), or RS256/ES256 with the public key of a PEM file or the keys
//!   of a JWKS file (chosen by the token's `kid` when there are several); `exp` is
//!   required, `exp` and `nbf` are checked with a leeway, `iss` and `aud` when
//!   configured.
//!
//! Always open: gRPC health (`grpc.health.v1.Health/*`), reflection (`grpc.reflection.*`)
//! and `GET /healthz`, `/readyz`, `/metrics`. `auth.public` opens more (see
//! [`AuthConfig::public`]). Neither the token nor its digest is ever logged: the access
//! line and the spans record no header, and a refusal is logged at DEBUG with its reason
//! only.

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use figment::{Figment, Metadata, Source};
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use subtle::{Choice, ConditionallySelectable as _, ConstantTimeEq as _};
use tower::{BoxError, Layer, Service};

use crate::access_log::Protocol;
use crate::rest::HttpRule;

/// The environment variable of the HS256 secret.
pub const SECRET_VARIABLE: &str = "APP__AUTH__JWT__SECRET";

/// `[auth]`: who may call the service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `none`, `bearer` or `jwt`.
    pub mode: AuthMode,
    /// What is served without a token, beside health, reflection and the probes:
    ///
    /// - `package.Service/Method`: an rpc, over gRPC and over every REST route to it;
    ///   `package.Service/*`: every rpc of a service;
    /// - `METHOD /template`: an HTTP route — the service's own axum route as written in
    ///   `src/app.rs` (`GET /users/{id}`), or a REST route as its `google.api.http` rule
    ///   writes it (`GET /v1/{name=shelves/*}`); `GET` opens `HEAD` too;
    /// - `/template`: that route, whatever the method;
    ///
    /// and a template without variables is a path (`/openapi.json`). A list, or one
    /// string of comma-separated entries (`APP__AUTH__PUBLIC`). An open request is not
    /// authenticated at all: its handler sees no [`Principal`], whatever it carries.
    #[serde(deserialize_with = "strings")]
    pub public: Vec<String>,
    /// `bearer`: the sha256 digests of the accepted tokens, 64 hex digits each (`printf
    /// %s "$TOKEN" | sha256sum`). A list, or one string of comma-separated digests
    /// (`APP__AUTH__BEARER_SHA256`).
    #[serde(deserialize_with = "strings")]
    pub bearer_sha256: Vec<String>,
    /// `[auth.jwt]`: how JWTs are verified, for `jwt`.
    pub jwt: JwtConfig,
}

/// How requests are authenticated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No authentication.
    #[default]
    None,
    /// Opaque bearer tokens, known by their sha256 digests.
    Bearer,
    /// JSON Web Tokens.
    Jwt,
}

/// `[auth.jwt]`: JWT verification.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// `HS256` (a shared secret), `RS256` or `ES256` (public keys).
    pub algorithm: JwtAlgorithm,
    /// HS256: the secret, from the environment variable `APP__AUTH__JWT__SECRET` only —
    /// one set in a configuration file is refused. Never serialized.
    #[serde(skip_serializing)]
    pub secret: Option<Secret>,
    /// RS256/ES256: a PEM file of the public key (`-----BEGIN PUBLIC KEY-----`).
    pub public_key_file: Option<PathBuf>,
    /// RS256/ES256: a JWKS file (`{"keys": [...]}`), instead of `public_key_file`; a
    /// token names its key with `kid` when the set has several.
    pub jwks_file: Option<PathBuf>,
    /// The issuer a token's `iss` must be, when set.
    pub issuer: Option<String>,
    /// The audiences a token's `aud` must name one of, when set.
    #[serde(deserialize_with = "strings")]
    pub audience: Vec<String>,
    /// How many seconds `exp` and `nbf` may be off, for clock skew.
    pub leeway_s: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            algorithm: JwtAlgorithm::HS256,
            secret: None,
            public_key_file: None,
            jwks_file: None,
            issuer: None,
            audience: Vec::new(),
            leeway_s: 30,
        }
    }
}

/// The JWT signature algorithms verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256: a secret shared with the issuer.
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256: the issuer's RSA public key.
    RS256,
    /// ECDSA on P-256 with SHA-256: the issuer's P-256 public key.
    ES256,
}

impl JwtAlgorithm {
    const fn algorithm(self) -> Algorithm {
        match self {
            Self::HS256 => Algorithm::HS256,
            Self::RS256 => Algorithm::RS256,
            Self::ES256 => Algorithm::ES256,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
        }
    }
}

/// A secret: never shown by `Debug`, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret `value`.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    /// A string only, and no error that would show the value: an environment variable
    /// of digits only arrives as a number.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Secret;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Secret, E> {
                Ok(Secret(value.to_owned()))
            }

            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Secret, E> {
                Err(not_a_string())
            }

            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Secret, E> {
                Err(not_a_string())
            }

            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Secret, E> {
                Err(not_a_string())
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Secret, E> {
                Err(not_a_string())
            }
        }

        fn not_a_string<E: serde::de::Error>() -> E {
            E::custom(
                "must be a string (a value that reads as a number or a boolean is not one: \
                 quote it)",
            )
        }

        deserializer.deserialize_any(Visitor)
    }
}

/// A list of strings, or one string of comma-separated ones (as an environment variable
/// gives it).
fn strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct Visitor;

    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings, or one string of comma-separated values")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Vec<String>, E> {
            Ok(value
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(str::to_owned)
                .collect())
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut values = Vec::new();
            while let Some(value) = seq.next_element::<String>()? {
                values.push(value);
            }
            Ok(values)
        }
    }

    deserializer.deserialize_any(Visitor)
}

/// Who made a request, as its token says: in the extensions of every authenticated
/// request (`request.extensions().get::<Principal>()`, or `axum::Extension<Principal>`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Principal {
    /// JWT: the `sub` claim, when the token has one. Bearer: none.
    pub subject: Option<String>,
    /// JWT: every claim of the token, a JSON object. Bearer: `null`.
    pub claims: Value,
    /// Bearer: the sha256 digest (lower-case hex) of the token, as `auth.bearer_sha256`
    /// lists it. JWT: none.
    pub token_sha256: Option<String>,
}

impl Principal {
    /// A principal of `subject`, `claims` and `token_sha256`: for the tests of a handler
    /// (the layer makes the real ones).
    #[must_use]
    pub const fn new(subject: Option<String>, claims: Value, token_sha256: Option<String>) -> Self {
        Self {
            subject,
            claims,
            token_sha256,
        }
    }

    /// The principal of an authenticated gRPC (or REST) request.
    #[must_use]
    pub fn of<T>(request: &tonic::Request<T>) -> Option<&Self> {
        request.extensions().get::<Self>()
    }
}

/// What is wrong with `[auth]`: `message` names the key; the error is located where
/// `at` was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// The key whose origin (file:line:column, environment variable) the error names.
    pub at: &'static str,
    /// The problem, naming the key, in one line.
    pub message: String,
}

impl Invalid {
    fn new(at: &'static str, message: impl Into<String>) -> Self {
        Self {
            at,
            message: message.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Checks `[auth]` as `Config::load_from` loaded it with `figment`: what [`Auth::new`]
/// checks, and that the HS256 secret does not come from a configuration file.
pub(crate) fn check(
    config: &AuthConfig,
    figment: &Figment,
    methods: &[crate::Method],
    services: &[&str],
) -> Result<(), Invalid> {
    if config.jwt.secret.is_some()
        && matches!(
            figment.find_metadata("auth.jwt.secret"),
            Some(Metadata {
                source: Some(Source::File(_)),
                ..
            })
        )
    {
        return Err(Invalid::new(
            "auth.jwt.secret",
            format!(
                "`auth.jwt.secret` is never read from a configuration file: remove it, and \
                 set the environment variable {SECRET_VARIABLE}"
            ),
        ));
    }
    Auth::new(config, methods, services).map(drop)
}

/// The authentication of both servers: how tokens are verified and what is open.
#[derive(Debug)]
pub(crate) struct Auth {
    verifier: Verifier,
    public: Public,
}

impl Auth {
    /// The authentication `config` describes for a service of `methods` and `services`;
    /// `None` for `mode = "none"`.
    ///
    /// # Errors
    /// A key is invalid, or a key file cannot be read or used.
    pub(crate) fn new(
        config: &AuthConfig,
        methods: &[crate::Method],
        services: &[&str],
    ) -> Result<Option<Arc<Self>>, Invalid> {
        let public = Public::new(&config.public, methods, services)?;
        let digests = config
            .bearer_sha256
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let digest = parse_digest(text).ok_or_else(|| {
                    // Not the value: it may be a token written where its digest belongs.
                    Invalid::new(
                        "auth.bearer_sha256",
                        format!(
                            "`auth.bearer_sha256`: digest #{} is not 64 hexadecimal digits \
                             (the sha256 of a token: printf %s \"$TOKEN\" | sha256sum)",
                            index + 1
                        ),
                    )
                })?;
                Ok((digest, hex(&digest)))
            })
            .collect::<Result<Vec<_>, Invalid>>()?;
        let verifier = match config.mode {
            AuthMode::None => return Ok(None),
            AuthMode::Bearer if digests.is_empty() => {
                return Err(Invalid::new(
                    "auth.mode",
                    "`auth.bearer_sha256` is empty: mode = \"bearer\" needs the sha256 digest \
                     of at least one token",
                ));
            }
            AuthMode::Bearer => Verifier::Bearer(digests),
            AuthMode::Jwt => Verifier::Jwt(Box::new(Jwt::new(&config.jwt)?)),
        };
        Ok(Some(Arc::new(Self { verifier, public })))
    }

    /// The principal of `request`, `None` when it is open, or why it is refused.
    fn authenticate<B>(
        &self,
        protocol: Protocol,
        rest: Option<&RestRules>,
        request: &Request<B>,
    ) -> Result<Option<Principal>, &'static str> {
        let path = request.uri().path();
        let open = match protocol {
            Protocol::Grpc => self.public.grpc(path),
            Protocol::Http => self.public.http(request, rest),
        };
        if open {
            return Ok(None);
        }
        let token = bearer(request.headers())?;
        self.verifier.verify(token).map(Some)
    }
}

/// How tokens are verified.
#[derive(Debug)]
enum Verifier {
    /// The digests of the accepted tokens, and each in hex.
    Bearer(Vec<([u8; 32], String)>),
    Jwt(Box<Jwt>),
}

impl Verifier {
    fn verify(&self, token: &str) -> Result<Principal, &'static str> {
        match self {
            Self::Bearer(digests) => {
                let digest = Sha256::digest(token.as_bytes());
                // Every digest compared, in constant time: no timing tells which matched.
                let mut found = Choice::from(0);
                let mut index = 0_u64;
                for (position, (known, _)) in (0_u64..).zip(digests) {
                    let same = known.as_slice().ct_eq(digest.as_slice());
                    index.conditional_assign(&position, same);
                    found |= same;
                }
                if !bool::from(found) {
                    return Err("an unknown bearer token");
                }
                let matched = usize::try_from(index)
                    .ok()
                    .and_then(|index| digests.get(index))
                    .ok_or("an unknown bearer token")?;
                Ok(Principal {
                    subject: None,
                    claims: Value::Null,
                    token_sha256: Some(matched.1.clone()),
                })
            }
            Self::Jwt(jwt) => jwt.verify(token),
        }
    }
}

/// JWT verification: the keys and what is checked.
struct Jwt {
    keys: Keys,
    validation: Validation,
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

/// The keys tokens are verified with.
enum Keys {
    /// The secret, or the public key of a PEM file.
    One(DecodingKey),
    /// The usable keys of a JWKS, with their `kid`.
    Set(Vec<(Option<String>, DecodingKey)>),
}

impl Jwt {
    fn new(config: &JwtConfig) -> Result<Self, Invalid> {
        let algorithm = config.algorithm;
        let keys = if algorithm == JwtAlgorithm::HS256 {
            for (at, set) in [
                ("auth.jwt.public_key_file", config.public_key_file.is_some()),
                ("auth.jwt.jwks_file", config.jwks_file.is_some()),
            ] {
                if set {
                    return Err(Invalid::new(
                        at,
                        format!(
                            "`{at}` is for RS256 and ES256: HS256 verifies tokens with a \
                             secret, from the environment variable {SECRET_VARIABLE}"
                        ),
                    ));
                }
            }
            let secret = config
                .secret
                .as_ref()
                .filter(|secret| !secret.0.is_empty())
                .ok_or_else(|| {
                    Invalid::new(
                        "auth.mode",
                        format!(
                            "`auth.jwt.secret` is not set: HS256 verifies tokens with a secret, \
                             which comes from the environment variable {SECRET_VARIABLE} (never \
                             from a file)"
                        ),
                    )
                })?;
            let key = DecodingKey::from_secret(secret.0.as_bytes()).map_err(|error| {
                Invalid::new("auth.jwt.secret", format!("`auth.jwt.secret`: {error}"))
            })?;
            Keys::One(key)
        } else {
            if config.secret.is_some() {
                return Err(Invalid::new(
                    "auth.jwt.secret",
                    format!(
                        "`auth.jwt.secret` is for HS256 (`auth.jwt.algorithm` is {})",
                        algorithm.name()
                    ),
                ));
            }
            match (&config.public_key_file, &config.jwks_file) {
                (Some(_), Some(_)) => {
                    return Err(Invalid::new(
                        "auth.jwt.jwks_file",
                        "`auth.jwt.public_key_file` and `auth.jwt.jwks_file` are both set: \
                         give one",
                    ));
                }
                (None, None) => {
                    return Err(Invalid::new(
                        "auth.mode",
                        format!(
                            "{} verifies tokens with public keys: set `auth.jwt.public_key_file` \
                             (PEM) or `auth.jwt.jwks_file` (JWKS)",
                            algorithm.name()
                        ),
                    ));
                }
                (Some(file), None) => Keys::One(pem_key(file, algorithm)?),
                (None, Some(file)) => Keys::Set(jwks_keys(file, algorithm)?),
            }
        };
        let mut validation = Validation::new(algorithm.algorithm());
        validation.leeway = config.leeway_s;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        if let Some(issuer) = &config.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".to_owned());
        }
        if config.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&config.audience);
            validation.required_spec_claims.insert("aud".to_owned());
        }
        Ok(Self { keys, validation })
    }

    fn verify(&self, token: &str) -> Result<Principal, &'static str> {
        let key = match &self.keys {
            Keys::One(key) => key,
            Keys::Set(keys) => {
                let header = jsonwebtoken::decode_header(token).map_err(|_| "a malformed token")?;
                let by_kid = header.kid.as_deref().and_then(|kid| {
                    keys.iter()
                        .find(|(id, _)| id.as_deref() == Some(kid))
                        .map(|(_, key)| key)
                });
                match (by_kid, keys.as_slice()) {
                    (Some(key), _) => key,
                    // One key without an id: the key of every token.
                    (None, [(None, key)]) => key,
                    (None, [(_, key)]) if header.kid.is_none() => key,
                    (None, _) if header.kid.is_none() => {
                        return Err("a token without kid, and the JWKS has several keys");
                    }
                    (None, _) => return Err("a kid the JWKS does not have"),
                }
            }
        };
        let data = jsonwebtoken::decode::<Value>(token, key, &self.validation)
            .map_err(|error| jwt_refusal(error.kind()))?;
        let claims = data.claims;
        if !claims.is_object() {
            return Err("claims that are not a JSON object");
        }
        let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        Ok(Principal {
            subject,
            claims,
            token_sha256: None,
        })
    }
}

/// Why a JWT is refused, without any of its content.
const fn jwt_refusal(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "an expired token (exp)",
        ErrorKind::ImmatureSignature => "a token not valid yet (nbf)",
        ErrorKind::InvalidIssuer => "a token of another issuer (iss)",
        ErrorKind::InvalidAudience => "a token for another audience (aud)",
        ErrorKind::InvalidSignature => "a wrong signature",
        ErrorKind::InvalidAlgorithm => "a token of another algorithm",
        ErrorKind::MissingRequiredClaim(_) => "a token without a required claim",
        ErrorKind::InvalidClaimFormat(_) => "a claim of the wrong type",
        _ => "a malformed token",
    }
}

/// The process's JWT crypto provider: RustCrypto's, unless one was installed (or a
/// dependency's features choose one).
fn provider() -> &'static CryptoProvider {
    if let Some(provider) = CryptoProvider::try_get_default() {
        return provider;
    }
    let ours = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    match ours.install_default() {
        Ok(()) => ours,
        // Installed meanwhile, by another thread.
        Err(_) => CryptoProvider::try_get_default().unwrap_or(ours),
    }
}

/// Fails unless `key` verifies `algorithm` signatures.
fn usable(key: &DecodingKey, algorithm: JwtAlgorithm) -> Result<(), String> {
    (provider().verifier_factory)(&algorithm.algorithm(), key)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// The public key of the PEM file `file`, for `algorithm`.
fn pem_key(file: &Path, algorithm: JwtAlgorithm) -> Result<DecodingKey, Invalid> {
    const AT: &str = "auth.jwt.public_key_file";
    let invalid = |problem: String| {
        Invalid::new(
            AT,
            format!("`{AT}` = {:?}: {problem}", file.display().to_string()),
        )
    };
    let text = std::fs::read(file).map_err(|error| invalid(format!("cannot read it: {error}")))?;
    if text.windows(11).any(|window| window == b"PRIVATE KEY") {
        return Err(invalid(
            "is a private key: give the public key (openssl pkey -in key.pem -pubout)".to_owned(),
        ));
    }
    let (kind, parsed) = match algorithm {
        JwtAlgorithm::ES256 => ("an EC", DecodingKey::from_ec_pem(&text)),
        _ => ("an RSA", DecodingKey::from_rsa_pem(&text)),
    };
    let key =
        parsed.map_err(|error| invalid(format!("is not {kind} public key in PEM: {error}")))?;
    usable(&key, algorithm).map_err(|error| {
        invalid(format!(
            "cannot verify {} signatures: {error}",
            algorithm.name()
        ))
    })?;
    Ok(key)
}

/// The keys of the JWKS file `file` that verify `algorithm`, with their `kid`.
fn jwks_keys(
    file: &Path,
    algorithm: JwtAlgorithm,
) -> Result<Vec<(Option<String>, DecodingKey)>, Invalid> {
    const AT: &str = "auth.jwt.jwks_file";
    let invalid = |problem: String| {
        Invalid::new(
            AT,
            format!("`{AT}` = {:?}: {problem}", file.display().to_string()),
        )
    };
    let text = std::fs::read(file).map_err(|error| invalid(format!("cannot read it: {error}")))?;
    let set: Value =
        serde_json::from_slice(&text).map_err(|error| invalid(format!("is not JSON: {error}")))?;
    let Some(keys) = set.get("keys").and_then(Value::as_array) else {
        return Err(invalid("is not a JWKS: no `keys` list".to_owned()));
    };
    let mut usable_keys = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let number = index + 1;
        if key.get("d").is_some() {
            return Err(invalid(format!(
                "key #{number} is a private key: a JWKS here holds public keys only"
            )));
        }
        if key.get("kty").and_then(Value::as_str) == Some("oct") {
            return Err(invalid(format!(
                "key #{number} is a symmetric (oct) key: an HS256 secret comes from the \
                 environment variable {SECRET_VARIABLE} only"
            )));
        }
        let jwk: Jwk = serde_json::from_value(key.clone())
            .map_err(|error| invalid(format!("key #{number} is not a JWK: {error}")))?;
        if !verifies(&jwk, algorithm) {
            continue;
        }
        let decoding = DecodingKey::from_jwk(&jwk)
            .map_err(|error| invalid(format!("key #{number}: {error}")))?;
        usable(&decoding, algorithm).map_err(|error| invalid(format!("key #{number}: {error}")))?;
        usable_keys.push((jwk.common.key_id.clone(), decoding));
    }
    if usable_keys.is_empty() {
        return Err(invalid(format!(
            "has no {} signature key",
            algorithm.name()
        )));
    }
    Ok(usable_keys)
}

/// Whether `jwk` is a signature key of `algorithm`'s kind (and of no other algorithm).
fn verifies(jwk: &Jwk, algorithm: JwtAlgorithm) -> bool {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return false;
    }
    if let Some(named) = &jwk.common.key_algorithm
        && named.to_string() != algorithm.name()
    {
        return false;
    }
    match (&jwk.algorithm, algorithm) {
        (AlgorithmParameters::RSA(_), JwtAlgorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(params), JwtAlgorithm::ES256) => {
            params.curve == EllipticCurve::P256
        }
        _ => false,
    }
}

/// The token of `authorization: Bearer <token>`, the scheme in any case.
fn bearer(headers: &HeaderMap) -> Result<&str, &'static str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or("no authorization header")?;
    if values.next().is_some() {
        return Err("more than one authorization header");
    }
    let value = value
        .to_str()
        .map_err(|_| "an authorization header that is not ASCII")?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or("an authorization header that is not a bearer token")?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err("an authorization header that is not a bearer token");
    }
    Ok(token)
}

/// The 32 bytes of a sha256 digest in hex (either case).
fn parse_digest(text: &str) -> Option<[u8; 32]> {
    fn nibble(digit: u8) -> Option<u8> {
        char::from(digit)
            .to_digit(16)
            .and_then(|value| u8::try_from(value).ok())
    }
    let text = text.trim().as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut digest = [0; 32];
    for (byte, pair) in digest.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(digest)
}

/// `bytes` in lower-case hex.
fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// The HTTP paths always open: the probes and the metrics.
const OPEN_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Whether the rpc `route` (`package.Service/Method`) is always open: health, reflection.
fn always_open(route: &str) -> bool {
    route.starts_with("grpc.health.v1.Health/") || route.starts_with("grpc.reflection.")
}

/// What `auth.public` opens.
#[derive(Debug, Default)]
struct Public {
    /// `package.Service/Method`.
    rpcs: HashSet<String>,
    /// `package.Service` of `package.Service/*`.
    services: HashSet<String>,
    /// HTTP routes: the method (any when `None`) and the template or path.
    routes: Vec<(Option<Method>, String)>,
}

impl Public {
    fn new(
        entries: &[String],
        methods: &[crate::Method],
        services: &[&str],
    ) -> Result<Self, Invalid> {
        let mut public = Self::default();
        for entry in entries {
            let entry = entry.trim();
            let invalid = |problem: &str| {
                Invalid::new("auth.public", format!("`auth.public`: {entry:?} {problem}"))
            };
            if entry.starts_with('/') {
                public.routes.push((None, entry.to_owned()));
            } else if let Some((method, path)) = entry.split_once(' ') {
                let path = path.trim();
                let method = Method::from_bytes(method.as_bytes())
                    .ok()
                    .filter(|_| path.starts_with('/'))
                    .ok_or_else(|| {
                        invalid("is not `METHOD /path`, such as \"GET /v1/items/{name}\"")
                    })?;
                public.routes.push((Some(method), path.to_owned()));
            } else if let Some((service, method)) = entry.split_once('/')
                && !service.is_empty()
                && !method.is_empty()
                && !method.contains('/')
            {
                let known = always_open(entry)
                    || if method == "*" {
                        services.contains(&service)
                    } else {
                        methods.iter().any(|rpc| rpc.route == entry)
                    };
                if !known {
                    return Err(invalid(if method == "*" {
                        "is not a service of this one"
                    } else {
                        "is not an rpc of this service"
                    }));
                }
                if method == "*" {
                    public.services.insert(service.to_owned());
                } else {
                    public.rpcs.insert(entry.to_owned());
                }
            } else {
                return Err(invalid(
                    "is not an rpc (package.Service/Method, package.Service/*), a route \
                     (GET /v1/items/{name}) nor a path (/openapi.json)",
                ));
            }
        }
        Ok(public)
    }

    /// Whether the rpc `route` is open.
    fn rpc(&self, route: &str) -> bool {
        always_open(route)
            || self.rpcs.contains(route)
            || route
                .split_once('/')
                .is_some_and(|(service, _)| self.services.contains(service))
    }

    /// Whether the gRPC request of `path` (`/package.Service/Method`) is open.
    fn grpc(&self, path: &str) -> bool {
        path.strip_prefix('/').is_some_and(|route| self.rpc(route))
    }

    /// Whether the HTTP request is open: a probe, or a public path, route, or rpc of a
    /// REST route.
    fn http<B>(&self, request: &Request<B>, rest: Option<&RestRules>) -> bool {
        let path = request.uri().path();
        if OPEN_PATHS.contains(&path) {
            return true;
        }
        if self.routes.is_empty() && self.rpcs.is_empty() && self.services.is_empty() {
            return false;
        }
        let method = request.method();
        let matched = request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map(axum::extract::MatchedPath::as_str);
        // A request no route of the service matched goes to the REST routes.
        let rule = match (matched, rest) {
            (None, Some(rest)) => rest(method, path),
            _ => None,
        };
        if rule.is_some_and(|rule| self.rpc(rule.rpc)) {
            return true;
        }
        let template = matched.or(rule.as_ref().map(|rule| rule.path));
        self.routes.iter().any(|(allowed, route)| {
            let method_matches = allowed.as_ref().is_none_or(|allowed| {
                allowed == method || (*allowed == Method::GET && method == Method::HEAD)
            });
            method_matches && (route == path || template.is_some_and(|template| route == template))
        })
    }
}

/// The REST rule an HTTP request (method, path) is served by, if any.
pub(crate) type RestRules = Arc<dyn Fn(&Method, &str) -> Option<HttpRule> + Send + Sync>;

/// The layer of [`Authenticate`]: both servers put it inside their limits.
#[derive(Clone)]
pub(crate) struct AuthLayer {
    protocol: Protocol,
    auth: Option<Arc<Auth>>,
    rest: Option<RestRules>,
}

impl AuthLayer {
    /// Authenticates the requests of `protocol` as `auth` says (none when `None`).
    pub(crate) fn new(protocol: Protocol, auth: Option<Arc<Auth>>) -> Self {
        Self {
            protocol,
            auth,
            rest: None,
        }
    }

    /// The same, finding with `rest` the REST rule of a request no route matched.
    pub(crate) fn with_rest(mut self, rest: RestRules) -> Self {
        self.rest = Some(rest);
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            layer: self.clone(),
        }
    }
}

/// Authenticates each request that is not open: refuses it, or hands it on with its
/// [`Principal`] in its extensions.
#[derive(Clone)]
pub(crate) struct Authenticate<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Authenticate<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = AuthFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        if let Some(auth) = &self.layer.auth {
            match auth.authenticate(self.layer.protocol, self.layer.rest.as_ref(), &request) {
                Ok(Some(principal)) => {
                    request.extensions_mut().insert(principal);
                }
                Ok(None) => {}
                Err(reason) => {
                    return AuthFuture::Refused {
                        protocol: self.layer.protocol,
                        reason,
                    };
                }
            }
        }
        AuthFuture::Inner {
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Authenticate`]: the inner service's, or the refusal.
    #[project = AuthFutureProjection]
    pub(crate) enum AuthFuture<F> {
        Inner {
            #[pin]
            inner: F,
        },
        Refused {
            protocol: Protocol,
            reason: &'static str,
        },
    }
}

impl<F, B, E> Future for AuthFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AuthFutureProjection::Inner { inner } => inner
                .poll(cx)
                .map(|result| result.map(|response| response.map(Body::new))),
            AuthFutureProjection::Refused { protocol, reason } => {
                // Polled inside the request's trace context: the line has its trace id.
                // The reason only, never the token.
                tracing::debug!(reason = *reason, "request refused: unauthenticated");
                Poll::Ready(Ok(refusal(*protocol)))
            }
        }
    }
}

/// The answer to an unauthenticated request: UNAUTHENTICATED (trailers-only), or 401
/// with a JSON status and `WWW-Authenticate: Bearer`; never why.
fn refusal(protocol: Protocol) -> Response<Body> {
    const MESSAGE: &str = "unauthenticated";
    match protocol {
        Protocol::Grpc => tonic::Status::unauthenticated(MESSAGE)
            .into_http::<tonic::body::Body>()
            .map(Body::new),
        Protocol::Http => {
            let body = serde_json::json!({
                "code": i32::from(tonic::Code::Unauthenticated),
                "message": MESSAGE,
                "details": [],
            });
            let mut response = Response::new(Body::from(body.to_string()));
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_64_hex_digits_in_either_case() {
        let digest = hex(&Sha256::digest(b"token"));
        assert_eq!(parse_digest(&digest).map(|d| hex(&d)), Some(digest.clone()));
        assert_eq!(
            parse_digest(&digest.to_uppercase()).map(|d| hex(&d)),
            Some(digest.clone())
        );
        assert_eq!(parse_digest(&digest[1..]), None);
        assert_eq!(parse_digest(&format!("{}g", &digest[1..])), None);
        assert_eq!(parse_digest("token"), None);
    }

    #[test]
    fn a_bearer_token_is_read_from_one_authorization_header() {
        let mut headers = HeaderMap::new();
        assert!(bearer(&headers).is_err());
        for (value, expected) in [
            ("Bearer abc", Ok("abc")),
            ("bearer  abc ", Ok("abc")),
            ("BEARER abc", Ok("abc")),
            ("Basic abc", Err(())),
            ("Bearer", Err(())),
            ("Bearer ", Err(())),
            ("abc", Err(())),
        ] {
            headers.insert(AUTHORIZATION, value.parse().unwrap());
            assert_eq!(bearer(&headers).map_err(drop), expected, "{value:?}");
        }
        headers.append(AUTHORIZATION, "Bearer def".parse().unwrap());
        assert!(bearer(&headers).is_err());
    }

    #[test]
    fn public_entries_are_rpcs_services_routes_and_paths() {
        let methods = [crate::Method::new("a.v1.A/Get", false)];
        let public = Public::new(
            &[
                "a.v1.A/Get".to_owned(),
                "b.v1.B/*".to_owned(),
                "GET /v1/items/{name}".to_owned(),
                "/openapi.json".to_owned(),
            ],
            &methods,
            &["a.v1.A", "b.v1.B"],
        )
        .expect("valid entries");
        assert!(public.grpc("/a.v1.A/Get"));
        assert!(!public.grpc("/a.v1.A/Put"));
        assert!(public.grpc("/b.v1.B/Anything"));
        assert!(public.grpc("/grpc.health.v1.Health/Check"));
        assert!(public.grpc("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"));
        let request = |method: Method, path: &str| {
            Request::builder()
                .method(method)
                .uri(path)
                .body(())
                .unwrap()
        };
        let rest: RestRules = Arc::new(|_: &Method, path: &str| {
            (path.starts_with("/v1/items/")).then_some(HttpRule {
                method: "GET",
                path: "/v1/items/{name}",
                body: "",
                response_body: "",
                rpc: "c.v1.C/Get",
            })
        });
        assert!(public.http(&request(Method::GET, "/v1/items/x"), Some(&rest)));
        assert!(public.http(&request(Method::HEAD, "/v1/items/x"), Some(&rest)));
        assert!(!public.http(&request(Method::DELETE, "/v1/items/x"), Some(&rest)));
        assert!(public.http(&request(Method::GET, "/openapi.json"), Some(&rest)));
        assert!(public.http(&request(Method::POST, "/healthz"), None));
        assert!(!public.http(&request(Method::GET, "/v1/other"), Some(&rest)));

        for entry in ["nothing", "GET v1", "a.v1.A/Nope", "c.v1.C/*", "a/b/c"] {
            let error = Public::new(&[entry.to_owned()], &methods, &["a.v1.A"]).expect_err(entry);
            assert_eq!(error.at, "auth.public", "{entry}");
            assert!(error.message.contains(entry), "{error}");
        }
    }
}
