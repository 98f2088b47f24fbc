//! `[auth]` as `Config::load_from` checks it: every invalid setting is one line naming
//! the key and where it was set — and never the secret, a token or a digest.

// `figment::Jail` closures return figment's large error type.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::sync::Arc;

use figment::Jail;

use crate::auth::{AuthMode, JwtAlgorithm};
use crate::{Config, Empty, Method, Service};

/// A service with one rpc, for the checks of `auth.public`.
struct Guarded;

impl Service for Guarded {
    const NAME: &'static str = "guarded";
    const GRPC_PORT: u16 = 50071;
    const HTTP_PORT: u16 = 8091;
    const SERVICES: &'static [&'static str] = &["shop.v1.Shop"];
    const METHODS: &'static [Method] = &[Method::new("shop.v1.Shop/List", false)];
    const FILE_DESCRIPTOR_SET: &'static [u8] = &[];
    type AppConfig = Empty;
    type ClientsConfig = Empty;

    async fn init(_config: &Config<Self>) -> anyhow::Result<Self> {
        Ok(Self)
    }

    fn grpc(_state: &Arc<Self>, _max_message_bytes: usize) -> tonic::service::Routes {
        tonic::service::Routes::default()
    }

    fn http() -> axum::Router<Arc<Self>> {
        axum::Router::new()
    }
}

/// A sha256 digest, in hex.
const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// A secret, which no error may show.
const SECRET: &str = "s3cr3t-never-shown-0123456789abcdef";

fn load() -> Config<Guarded> {
    Config::load_from(Path::new("config"), None).expect("a valid configuration")
}

/// The error of `Config::load_from`, which must be one line.
fn load_error() -> String {
    let error = Config::<Guarded>::load_from(Path::new("config"), None)
        .expect_err("the configuration is invalid")
        .to_string();
    assert!(!error.contains('\n'), "one line: {error}");
    error
}

/// `config/<name>` as the errors write it.
fn file(name: &str) -> String {
    Path::new("config").join(name).display().to_string()
}

/// Runs `test` in a `Jail` with `config/` and without the shell's environment.
fn jail(test: impl FnOnce(&mut Jail) -> figment::Result<()>) {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.create_dir("config")?;
        test(jail)
    });
}

#[test]
fn auth_is_off_by_default() {
    jail(|_| {
        let config = load();
        assert_eq!(config.auth.mode, AuthMode::None);
        assert!(config.auth.public.is_empty());
        assert_eq!(config.auth.jwt.algorithm, JwtAlgorithm::HS256);
        assert_eq!(config.auth.jwt.leeway_s, 30);
        assert!(config.auth.jwt.secret.is_none());
        Ok(())
    });
}

#[test]
fn an_unknown_mode_is_named_with_the_modes() {
    jail(|jail| {
        jail.set_env("APP__AUTH__MODE", "basic");
        assert_eq!(
            load_error(),
            "APP__AUTH__MODE: `auth.mode` = \"basic\" is not one of none, bearer, jwt"
        );
        Ok(())
    });
    jail(|jail| {
        jail.create_file(
            "config/default.toml",
            "[auth]\nmode = \"jwt\"\n\n[auth.jwt]\nalgorithm = \"PS256\"\n",
        )?;
        assert_eq!(
            load_error(),
            format!(
                "{}:5:1: `auth.jwt.algorithm` = \"PS256\" is not one of HS256, RS256, ES256",
                file("default.toml")
            )
        );
        Ok(())
    });
}

#[test]
fn digests_come_from_a_file_or_the_environment_as_a_list_or_a_string() {
    jail(|jail| {
        jail.create_file(
            "config/default.toml",
            &format!("[auth]\nmode = \"bearer\"\nbearer_sha256 = [\"{DIGEST}\"]\n"),
        )?;
        assert_eq!(load().auth.bearer_sha256, [DIGEST]);
        let other = DIGEST.replace('9', "a");
        jail.set_env("APP__AUTH__BEARER_SHA256", format!("{DIGEST}, {other}"));
        assert_eq!(load().auth.bearer_sha256, [DIGEST, other.as_str()]);
        jail.set_env("APP__AUTH__BEARER_SHA256", format!("[\"{other}\"]"));
        assert_eq!(load().auth.bearer_sha256, [other.as_str()]);
        Ok(())
    });
}

#[test]
fn a_bad_digest_is_named_by_its_position_not_its_value() {
    jail(|jail| {
        jail.create_file(
            "config/default.toml",
            &format!(
                "[auth]\nmode = \"bearer\"\nbearer_sha256 = [\"{DIGEST}\", \"plain-token\"]\n"
            ),
        )?;
        let error = load_error();
        assert_eq!(
            error,
            format!(
                "{}:3:1: `auth.bearer_sha256`: digest #2 is not 64 hexadecimal digits (the \
                 sha256 of a token: printf %s \"$TOKEN\" | sha256sum)",
                file("default.toml")
            )
        );
        assert!(!error.contains("plain-token"), "{error}");
        Ok(())
    });
}

#[test]
fn bearer_without_a_digest_is_refused() {
    jail(|jail| {
        jail.set_env("APP__AUTH__MODE", "bearer");
        assert_eq!(
            load_error(),
            "APP__AUTH__MODE: `auth.bearer_sha256` is empty: mode = \"bearer\" needs the \
             sha256 digest of at least one token"
        );
        Ok(())
    });
}

#[test]
fn hs256_needs_a_secret_from_the_environment() {
    jail(|jail| {
        jail.create_file("config/default.toml", "[auth]\nmode = \"jwt\"\n")?;
        assert_eq!(
            load_error(),
            format!(
                "{}:2:1: `auth.jwt.secret` is not set: HS256 verifies tokens with a secret, \
                 which comes from the environment variable APP__AUTH__JWT__SECRET (never from \
                 a file)",
                file("default.toml")
            )
        );
        jail.set_env("APP__AUTH__JWT__SECRET", SECRET);
        let config = load();
        assert_eq!(
            config
                .auth
                .jwt
                .secret
                .as_ref()
                .map(|secret| secret.expose()),
            Some(SECRET)
        );
        // Neither Debug nor serialization shows it.
        assert!(!format!("{config:?}").contains(SECRET));
        let serialized = serde_json::to_string(&config.auth).expect("JSON");
        assert!(!serialized.contains(SECRET), "{serialized}");
        Ok(())
    });
}

#[test]
fn a_secret_from_a_file_is_refused_without_showing_it() {
    for (mode, line) in [("jwt", 5), ("none", 5)] {
        jail(|jail| {
            jail.create_file(
                "config/development.toml",
                &format!("[auth]\nmode = \"{mode}\"\n\n[auth.jwt]\nsecret = \"{SECRET}\"\n"),
            )?;
            let error = load_error();
            assert_eq!(
                error,
                format!(
                    "{}:{line}:1: `auth.jwt.secret` is never read from a configuration file: \
                     remove it, and set the environment variable APP__AUTH__JWT__SECRET",
                    file("development.toml")
                ),
                "{mode}"
            );
            assert!(!error.contains(SECRET), "{error}");
            Ok(())
        });
    }
}

#[test]
fn a_secret_that_reads_as_a_number_is_refused_without_showing_it() {
    jail(|jail| {
        jail.set_env("APP__AUTH__MODE", "jwt");
        jail.set_env("APP__AUTH__JWT__SECRET", "12345678901234567");
        let error = load_error();
        assert!(
            error.starts_with("APP__AUTH__JWT__SECRET: `auth.jwt.secret`: must be a string"),
            "{error}"
        );
        assert!(!error.contains("12345678901234567"), "{error}");
        Ok(())
    });
}

#[test]
fn an_unreadable_key_file_is_named() {
    for (key, variable) in [
        ("public_key_file", "APP__AUTH__JWT__PUBLIC_KEY_FILE"),
        ("jwks_file", "APP__AUTH__JWT__JWKS_FILE"),
    ] {
        jail(|jail| {
            jail.set_env("APP__AUTH__MODE", "jwt");
            jail.set_env("APP__AUTH__JWT__ALGORITHM", "RS256");
            jail.set_env(variable, "keys/missing.pem");
            let error = load_error();
            let expected =
                format!("{variable}: `auth.jwt.{key}` = \"keys/missing.pem\": cannot read it: ");
            assert!(error.starts_with(&expected), "{error}");
            Ok(())
        });
    }
}

#[test]
fn a_key_file_that_is_not_a_public_key_is_refused() {
    jail(|jail| {
        jail.create_file(
            "config/default.toml",
            "[auth]\nmode = \"jwt\"\n\n[auth.jwt]\nalgorithm = \"ES256\"\n\
             public_key_file = \"key.pem\"\n",
        )?;
        jail.create_file(
            "key.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )?;
        let at = format!(
            "{}:6:1: `auth.jwt.public_key_file` = \"key.pem\": ",
            file("default.toml")
        );
        assert_eq!(
            load_error(),
            format!("{at}is a private key: give the public key (openssl pkey -in key.pem -pubout)")
        );
        jail.create_file("key.pem", "not a PEM")?;
        let error = load_error();
        assert!(
            error.starts_with(&format!("{at}is not an EC public key in PEM: ")),
            "{error}"
        );
        Ok(())
    });
}

#[test]
fn a_jwks_without_a_usable_key_or_with_a_secret_is_refused() {
    jail(|jail| {
        jail.set_env("APP__AUTH__MODE", "jwt");
        jail.set_env("APP__AUTH__JWT__ALGORITHM", "ES256");
        jail.set_env("APP__AUTH__JWT__JWKS_FILE", "jwks.json");
        for (jwks, problem) in [
            ("[]", "is not a JWKS: no `keys` list"),
            (r#"{"keys": []}"#, "has no ES256 signature key"),
            (
                r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#,
                "key #1 is a symmetric (oct) key: an HS256 secret comes from the environment \
                 variable APP__AUTH__JWT__SECRET only",
            ),
            (
                r#"{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}]}"#,
                "key #1 is a private key: a JWKS here holds public keys only",
            ),
        ] {
            jail.create_file("jwks.json", jwks)?;
            assert_eq!(
                load_error(),
                format!(
                    "APP__AUTH__JWT__JWKS_FILE: `auth.jwt.jwks_file` = \"jwks.json\": {problem}"
                ),
                "{jwks}"
            );
        }
        Ok(())
    });
}

#[test]
fn public_keys_need_one_file_and_no_secret() {
    jail(|jail| {
        jail.set_env("APP__AUTH__MODE", "jwt");
        jail.set_env("APP__AUTH__JWT__ALGORITHM", "RS256");
        assert_eq!(
            load_error(),
            "APP__AUTH__MODE: RS256 verifies tokens with public keys: set \
             `auth.jwt.public_key_file` (PEM) or `auth.jwt.jwks_file` (JWKS)"
        );
        jail.set_env("APP__AUTH__JWT__SECRET", SECRET);
        let error = load_error();
        assert_eq!(
            error,
            "APP__AUTH__JWT__SECRET: `auth.jwt.secret` is for HS256 (`auth.jwt.algorithm` is \
             RS256)"
        );
        Ok(())
    });
    jail(|jail| {
        jail.set_env("APP__AUTH__MODE", "jwt");
        jail.set_env("APP__AUTH__JWT__SECRET", SECRET);
        jail.set_env("APP__AUTH__JWT__JWKS_FILE", "jwks.json");
        assert_eq!(
            load_error(),
            "APP__AUTH__JWT__JWKS_FILE: `auth.jwt.jwks_file` is for RS256 and ES256: HS256 \
             verifies tokens with a secret, from the environment variable \
             APP__AUTH__JWT__SECRET"
        );
        Ok(())
    });
}

#[test]
fn public_entries_must_name_an_rpc_a_route_or_a_path() {
    jail(|jail| {
        jail.create_file(
            "config/default.toml",
            "[auth]\npublic = [\"shop.v1.Shop/List\", \"shop.v1.Shop/*\", \
             \"grpc.health.v1.Health/Check\", \"GET /v1/items/{name}\", \"/openapi.json\"]\n",
        )?;
        assert_eq!(load().auth.public.len(), 5);
        for (entry, problem) in [
            ("shop.v1.Shop/Lst", "is not an rpc of this service"),
            ("shop.v2.Shop/*", "is not a service of this one"),
            (
                "GET v1/items",
                "is not `METHOD /path`, such as \"GET /v1/items/{name}\"",
            ),
            (
                "openapi.json",
                "is not an rpc (package.Service/Method, package.Service/*), a route (GET \
                 /v1/items/{name}) nor a path (/openapi.json)",
            ),
        ] {
            jail.set_env("APP__AUTH__PUBLIC", entry);
            assert_eq!(
                load_error(),
                format!("APP__AUTH__PUBLIC: `auth.public`: {entry:?} {problem}")
            );
        }
        Ok(())
    });
}
