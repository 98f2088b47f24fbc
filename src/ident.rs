//! Every name conversion svcgen makes, in one place.
//!
//! The generated code calls into code that prost and tonic generate, so the names here
//! must be exactly the names those generators produce: the rules below mirror
//! `prost-build`'s `ident.rs` (snake/camel case through `heck`, keywords escaped) and
//! `tonic-build`'s naive snake case for service modules.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Rust keywords that can be used as raw identifiers (`r#type`).
const RAW_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "false", "fn", "for", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct",
    "trait", "true", "type", "unsafe", "use", "where", "while", "dyn", "abstract", "become", "box",
    "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "async",
    "await", "try", "gen",
];

/// Keywords that cannot be raw identifiers; prost appends an underscore.
const SUFFIXED_KEYWORDS: &[&str] = &["_", "super", "self", "Self", "extern", "crate"];

/// Makes `ident` usable as a Rust identifier exactly as prost does.
#[must_use]
pub fn sanitize(ident: &str) -> String {
    if RAW_KEYWORDS.contains(&ident) {
        format!("r#{ident}")
    } else if SUFFIXED_KEYWORDS.contains(&ident) {
        format!("{ident}_")
    } else if ident.starts_with(|c: char| c.is_numeric()) {
        format!("_{ident}")
    } else {
        ident.to_owned()
    }
}

/// `lower_snake` identifier (fields, functions, modules), keyword-escaped.
#[must_use]
pub fn to_snake(name: &str) -> String {
    sanitize(&name.to_snake_case())
}

/// `UpperCamel` identifier (types), keyword-escaped.
#[must_use]
pub fn to_upper_camel(name: &str) -> String {
    sanitize(&name.to_upper_camel_case())
}

/// Whether `name` is UpperCamelCase, as the protobuf style guide writes service, rpc and
/// message names: an ASCII upper-case letter, then ASCII letters and digits.
#[must_use]
pub fn is_upper_camel(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// The UpperCamelCase form of a proto name, to suggest in its place (`bad_name` →
/// `BadName`), when there is one.
#[must_use]
pub fn upper_camel_suggestion(name: &str) -> Option<String> {
    Some(name.to_upper_camel_case()).filter(|camel| is_upper_camel(camel))
}

/// The file stem of a module whose identifier is `ident`: `r#type` lives in `type.rs`.
#[must_use]
pub fn module_file(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// tonic-build's snake case for the `<service>_server` / `<service>_client` modules: an
/// underscore before every upper-case letter that follows another character.
#[must_use]
pub fn naive_snake_case(name: &str) -> String {
    let mut snake = String::with_capacity(name.len() + 4);
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        snake.push(c.to_ascii_lowercase());
        if chars.peek().is_some_and(|next| next.is_uppercase()) {
            snake.push('_');
        }
    }
    snake
}

/// Joins identifier parts with single underscores, as a plain snake-case identifier
/// (`type` + `self_` → `type_self`): for names the generated code invents.
#[must_use]
pub fn join_snake(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|part| part.split('_'))
        .filter(|piece| !piece.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// A proto name qualified by its package: `greeter.v1` + `Greeter` → `greeter.v1.Greeter`.
#[must_use]
pub fn qualify(package: &str, name: &str) -> String {
    if package.is_empty() {
        name.to_owned()
    } else {
        format!("{package}.{name}")
    }
}

/// The module path prost gives a proto package: `foo.v1` → `["foo", "v1"]`.
#[must_use]
pub fn package_modules(package: &str) -> Vec<String> {
    if package.is_empty() {
        return Vec::new();
    }
    package.split('.').map(to_snake).collect()
}

/// The longest crate name crates.io takes (and the generated code is laid out for).
pub const MAX_CRATE_NAME: usize = 64;

/// Why `name` is not a usable crate name, if it is not.
///
/// Cargo accepts more than this (upper case, for one), but a service name ends up as a
/// crate, a binary, a directory, a Docker image and a Kubernetes object, so it is held
/// to the strictest of those: lower-case ASCII letters, digits, `-` and `_`, starting
/// with a letter.
#[must_use]
pub fn crate_name_problem(name: &str) -> Option<String> {
    let Some(first) = name.chars().next() else {
        return Some("it is empty".to_owned());
    };
    if name.len() > MAX_CRATE_NAME {
        return Some(format!(
            "it is {} characters long; crates.io takes {MAX_CRATE_NAME} at most",
            name.len()
        ));
    }
    if !first.is_ascii_lowercase() {
        return Some(format!(
            "it must start with a lower-case letter, not `{first}`"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Some(format!(
            "`{bad}` is not allowed: use lower-case letters, digits, `-` and `_`"
        ));
    }
    let ident = crate_ident(name);
    if RAW_KEYWORDS.contains(&ident.as_str())
        || SUFFIXED_KEYWORDS.contains(&ident.as_str())
        || ["test", "std", "core", "alloc", "proc_macro"].contains(&ident.as_str())
    {
        return Some(format!("`{ident}` is a Rust keyword or a built-in crate"));
    }
    if name.len() > 63 {
        return Some("it is longer than 63 characters".to_owned());
    }
    None
}

/// The identifier of a crate named `name` (`my-service` → `my_service`).
#[must_use]
pub fn crate_ident(name: &str) -> String {
    name.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_prost_for_awkward_names() {
        for (proto, rust) in [
            ("SayHello", "say_hello"),
            ("HTTPServer", "http_server"),
            ("get_URL", "get_url"),
            ("type", "r#type"),
            ("Match", "r#match"),
            ("async", "r#async"),
            ("gen", "r#gen"),
            ("self", "self_"),
            ("Self", "self_"),
            ("super", "super_"),
            ("1st", "_1st"),
        ] {
            assert_eq!(to_snake(proto), rust, "to_snake({proto})");
        }
    }

    #[test]
    fn upper_camel_matches_prost_for_awkward_names() {
        for (proto, rust) in [
            ("hello_request", "HelloRequest"),
            ("HTTPServer", "HttpServer"),
            ("get_URL", "GetUrl"),
            ("Self", "Self_"),
            ("self", "Self_"),
            ("type", "Type"),
        ] {
            assert_eq!(to_upper_camel(proto), rust, "to_upper_camel({proto})");
        }
    }

    #[test]
    fn upper_camel_names_are_recognised_and_suggested() {
        for good in ["SayHello", "A3", "HTTPServer", "Get2Things"] {
            assert!(is_upper_camel(good), "{good}");
        }
        for (bad, suggestion) in [
            ("bad_name", Some("BadName")),
            ("sayHello", Some("SayHello")),
            ("get_URL", Some("GetUrl")),
            ("Say_Hello", Some("SayHello")),
            ("_", None),
            ("9lives", None),
            ("", None),
        ] {
            assert!(!is_upper_camel(bad), "{bad}");
            assert_eq!(upper_camel_suggestion(bad).as_deref(), suggestion, "{bad}");
        }
    }

    #[test]
    fn naive_snake_case_matches_tonic() {
        assert_eq!(naive_snake_case("Greeter"), "greeter");
        assert_eq!(naive_snake_case("HttpServer"), "http_server");
        assert_eq!(naive_snake_case("Catalog2Service"), "catalog2_service");
    }

    #[test]
    fn module_files_drop_the_raw_prefix() {
        assert_eq!(module_file("r#type"), "type");
        assert_eq!(module_file("say_hello"), "say_hello");
        assert_eq!(module_file("self_"), "self_");
    }

    #[test]
    fn joined_names_have_single_underscores() {
        assert_eq!(join_snake(&["async", "self_"]), "async_self");
        assert_eq!(
            join_snake(&["get__url", "self_", "answers"]),
            "get_url_self_answers"
        );
    }

    #[test]
    fn packages_become_module_paths() {
        assert_eq!(package_modules("acme.shop.v1"), ["acme", "shop", "v1"]);
        assert_eq!(package_modules("acme.type"), ["acme", "r#type"]);
        assert!(package_modules("").is_empty());
    }

    #[test]
    fn crate_names_are_validated() {
        assert_eq!(crate_name_problem("demo"), None);
        assert_eq!(crate_name_problem("order-service_2"), None);
        for bad in [
            "",
            "Demo",
            "2fast",
            "my service",
            "dé",
            "type",
            "self",
            "test",
            "-x",
        ] {
            assert!(
                crate_name_problem(bad).is_some(),
                "{bad:?} should be rejected"
            );
        }
    }
}
