//! The few layout decisions rustfmt would make in the generated Rust, made here, so that
//! svcgen needs no rustfmt and its output passes `cargo fmt --check` as it is written.
//!
//! Templates are written in rustfmt's style; what depends on the lengths of the names a
//! proto brings in is laid out by these functions, each following one of rustfmt's rules
//! (edition 2024 style, 100 columns, 4-space indents). Managed glue that lists RPCs and
//! clients is written inside `{ }` macro invocations, which rustfmt leaves as they are.
//! The test `tests/integration/formatting.rs` runs rustfmt over projects rendered with
//! long and awkward names to hold these rules to rustfmt's.

use std::cmp::Ordering;

use crate::model::ModuleLine;

/// rustfmt's `max_width`.
pub const MAX_WIDTH: usize = 100;

/// One level of indentation.
const INDENT: &str = "    ";

/// The nested `pub mod` tree of the generated proto code: each package's
/// `tonic::include_proto!("…");` and `svcgen_runtime::include_serde!("…");` (its
/// messages, and the serde impls of the plain ones), the argument on a line of its own
/// when a call would be wider than [`MAX_WIDTH`].
#[must_use]
pub fn proto_modules(lines: &[ModuleLine]) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for line in lines {
        match line {
            ModuleLine::Open(name) => {
                out.push_str(&format!("{}pub mod {name} {{\n", INDENT.repeat(depth)));
                depth += 1;
            }
            ModuleLine::Include(file, package) => {
                let indent = INDENT.repeat(depth);
                for (call, file) in [
                    ("tonic::include_proto!", file),
                    ("svcgen_runtime::include_serde!", package),
                ] {
                    let line = format!("{indent}{call}(\"{file}\");");
                    if line.len() <= MAX_WIDTH {
                        out.push_str(&line);
                        out.push('\n');
                    } else {
                        out.push_str(&format!(
                            "{indent}{call}(\n{indent}{INDENT}\"{file}\"\n{indent});\n"
                        ));
                    }
                }
            }
            ModuleLine::Close => {
                depth = depth.saturating_sub(1);
                out.push_str(&format!("{}}}\n", INDENT.repeat(depth)));
            }
        }
    }
    out
}

/// A handler's signature, up to and including its opening `{`: on one line when that
/// fits, else one parameter a line; a return type too wide for its line has its type
/// arguments one a line, as rustfmt breaks it.
#[must_use]
pub fn handler_signature(ident: &str, request: &str, response: &str) -> String {
    let params = [
        "_state: Arc<AppState>".to_owned(),
        format!("_request: Request<{request}>"),
    ];
    let result = format!("Result<Response<{response}>, Status>");
    let one_line = format!("pub async fn {ident}({}) -> {result} {{", params.join(", "));
    if one_line.len() <= MAX_WIDTH {
        return one_line;
    }
    let mut out = format!("pub async fn {ident}(\n");
    for param in &params {
        out.push_str(&format!("{INDENT}{param},\n"));
    }
    let last = format!(") -> {result} {{");
    if last.len() <= MAX_WIDTH {
        out.push_str(&last);
    } else {
        out.push_str(&format!(
            ") -> Result<\n{INDENT}Response<{response}>,\n{INDENT}Status,\n> {{"
        ));
    }
    out
}

/// rustfmt's `fn_call_width`: the widest a call's arguments may be on one line.
const FN_CALL_WIDTH: usize = 60;

/// `Err(Status::unimplemented("…"))` as the body of a handler: on one line when its
/// argument fits a call's width, else the message on a line of its own.
#[must_use]
pub fn unimplemented_body(message: &str) -> String {
    let argument = format!("Status::unimplemented(\"{message}\")");
    if argument.len() <= FN_CALL_WIDTH {
        format!("{INDENT}Err({argument})")
    } else {
        format!("{INDENT}Err(Status::unimplemented(\n{INDENT}{INDENT}\"{message}\",\n{INDENT}))")
    }
}

/// `use` paths in the order rustfmt sorts a group of `use` items: segment by segment,
/// each compared by the style guide's version sorting (`r#` prefixes aside), a path
/// that is a prefix of another first.
pub fn sort_use_paths(paths: &mut [String]) {
    paths.sort_by(|a, b| {
        let segments = |path: &str| {
            let path = path.split(" as ").next().unwrap_or(path).to_owned();
            path.split("::")
                .map(unraw)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let (a, b) = (segments(a), segments(b));
        for (a, b) in a.iter().zip(&b) {
            match version_cmp(a, b) {
                Ordering::Equal => {}
                order => return order,
            }
        }
        a.len().cmp(&b.len())
    });
}

/// Module declarations (`pub mod x;`) in the order rustfmt reorders them: by name, as
/// plain strings, `r#` prefixes aside.
pub fn sort_modules<T>(items: &mut [T], name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| unraw(name(a)).cmp(unraw(name(b))));
}

fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// A piece of an identifier for version sorting.
#[derive(Debug, PartialEq, Eq)]
enum Chunk<'a> {
    Underscore,
    Text(&'a str),
    Number {
        value: u128,
        zeros: usize,
        text: &'a str,
    },
}

fn chunks(ident: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut rest = ident;
    while let Some(first) = rest.chars().next() {
        if first == '_' {
            chunks.push(Chunk::Underscore);
            rest = &rest[1..];
            continue;
        }
        let digits = first.is_ascii_digit();
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if digits {
                    !c.is_ascii_digit()
                } else {
                    c == '_' || c.is_ascii_digit()
                }
            })
            .map_or(rest.len(), |(index, _)| index);
        let text = &rest[..end];
        chunks.push(if digits {
            Chunk::Number {
                value: text.parse().unwrap_or(u128::MAX),
                zeros: text.len() - text.trim_start_matches('0').len(),
                text,
            }
        } else {
            Chunk::Text(text)
        });
        rest = &rest[end..];
    }
    chunks
}

/// The Rust style guide's version sorting of two identifiers: `_` before anything,
/// numbers by value (more leading zeros first on a tie), other text by code point.
#[must_use]
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (chunks(a), chunks(b));
    let mut zeros = Ordering::Equal;
    for (x, y) in a.iter().zip(&b) {
        let order = match (x, y) {
            (Chunk::Underscore, Chunk::Underscore) => Ordering::Equal,
            (Chunk::Underscore, _) => Ordering::Less,
            (_, Chunk::Underscore) => Ordering::Greater,
            (
                Chunk::Number {
                    value: va,
                    zeros: za,
                    ..
                },
                Chunk::Number {
                    value: vb,
                    zeros: zb,
                    ..
                },
            ) => {
                if zeros == Ordering::Equal {
                    zeros = zb.cmp(za);
                }
                va.cmp(vb)
            }
            (Chunk::Text(x) | Chunk::Number { text: x, .. }, Chunk::Text(y))
            | (Chunk::Text(x), Chunk::Number { text: y, .. }) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len()).then(zeros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(items: &[&str]) -> Vec<String> {
        let mut items: Vec<String> = items.iter().map(|&item| item.to_owned()).collect();
        items.sort_by(|a, b| version_cmp(a, b));
        items
    }

    #[test]
    fn version_sorting_follows_the_style_guide() {
        assert_eq!(sorted(&["x7x", "xxx"]), ["x7x", "xxx"]);
        assert_eq!(sorted(&["applesauce", "apple"]), ["apple", "applesauce"]);
        assert_eq!(sorted(&["aaaaa", "aaa_a"]), ["aaa_a", "aaaaa"]);
        assert_eq!(
            sorted(&["AAAAA", "AAA1A", "BBBBB", "BB_BB", "C3CCC"]),
            ["AAA1A", "AAAAA", "BB_BB", "BBBBB", "C3CCC"]
        );
        assert_eq!(
            sorted(&["X86_64", "x86_64", "X86_128", "x86_128"]),
            ["X86_64", "X86_128", "x86_64", "x86_128"]
        );
        assert_eq!(sorted(&["v010", "v10", "v09"]), ["v09", "v010", "v10"]);
        assert_eq!(sorted(&["a10", "a2"]), ["a2", "a10"]);
    }

    #[test]
    fn use_paths_sort_by_segment() {
        let mut paths = [
            "crate::svcgen::BoxStream",
            "prost_types::Timestamp",
            "crate::proto::a::v1::r#type::Foo",
            "crate::proto::a::v1::Zed",
            "crate::app::AppState",
            "crate::proto::a::V1",
        ]
        .map(str::to_owned);
        sort_use_paths(&mut paths);
        assert_eq!(
            paths,
            [
                "crate::app::AppState",
                "crate::proto::a::V1",
                "crate::proto::a::v1::Zed",
                "crate::proto::a::v1::r#type::Foo",
                "crate::svcgen::BoxStream",
                "prost_types::Timestamp",
            ]
        );
    }

    #[test]
    fn modules_sort_as_plain_strings_without_raw_prefixes() {
        let mut modules = [
            "zeta", "r#type", "a_b", "ab", "a2", "a10", "r#async", "self_",
        ];
        sort_modules(&mut modules, |name| name);
        assert_eq!(
            modules,
            [
                "a10", "a2", "a_b", "ab", "r#async", "self_", "r#type", "zeta"
            ]
        );
    }

    #[test]
    fn a_signature_breaks_where_rustfmt_breaks_it() {
        assert_eq!(
            handler_signature("a", "A", "B"),
            "pub async fn a(_state: Arc<AppState>, _request: Request<A>) -> Result<Response<B>, Status> {"
        );
        assert_eq!(
            handler_signature("say_hello", "HelloRequest", "HelloReply"),
            "pub async fn say_hello(\n    _state: Arc<AppState>,\n    _request: Request<HelloRequest>,\n) \
             -> Result<Response<HelloReply>, Status> {"
        );
        let long = "A".repeat(60);
        assert!(
            handler_signature("get", "A", &format!("BoxStream<{long}>")).ends_with(&format!(
                ") -> Result<\n    Response<BoxStream<{long}>>,\n    Status,\n> {{"
            ))
        );
    }
}
