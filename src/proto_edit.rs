//! Minimal textual edits of a .proto file: insert an `rpc` into a service, append
//! message definitions, add an import. Every byte outside the insertions stays as it was,
//! comments and formatting included. Positions come from the descriptor's source info
//! (0-based lines), so no second parser is involved.

use std::fmt::Write as _;

/// An HTTP binding for `(google.api.http)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpBinding {
    /// `get`, `post`, `put`, `patch` or `delete`.
    pub method: String,
    /// The path template, e.g. `/v1/things/{id}`.
    pub path: String,
    /// Whether the body maps to the request (`body: "*"`).
    pub body: bool,
}

impl HttpBinding {
    /// Parses `"GET /v1/things/{id}"`.
    ///
    /// # Errors
    /// A method other than GET, POST, PUT, PATCH, DELETE, or a path not starting with `/`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (method, path) = text
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("`{text}` is not `METHOD /path`"))?;
        let method = method.to_ascii_lowercase();
        if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
            return Err(format!(
                "`{method}` is not one of GET, POST, PUT, PATCH, DELETE"
            ));
        }
        let path = path.trim();
        if !path.starts_with('/') || path.contains(char::is_whitespace) || path.contains('"') {
            return Err(format!("`{path}` is not a path template starting with `/`"));
        }
        let body = matches!(method.as_str(), "post" | "put" | "patch");
        Ok(Self {
            method,
            path: path.to_owned(),
            body,
        })
    }

    /// The field names the path binds (`{id}`, `{name=shelves/*}` → `id`, `name`).
    #[must_use]
    pub fn path_fields(&self) -> Vec<String> {
        self.path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}'))
            .map(|(inside, _)| inside.split('=').next().unwrap_or(inside).trim().to_owned())
            .collect()
    }
}

/// The rpc to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRpc {
    /// Its name.
    pub name: String,
    /// The request type as written in the proto.
    pub request: String,
    /// The response type as written in the proto.
    pub response: String,
    /// `stream` request.
    pub client_streaming: bool,
    /// `stream` response.
    pub server_streaming: bool,
    /// `(google.api.http)`, if any.
    pub http: Option<HttpBinding>,
}

impl NewRpc {
    /// The rpc's text, multi-line when it has options; lines after the first are
    /// indented by `indent` + `step` (an empty `newline` writes it on one line).
    fn render(&self, indent: &str, step: &str, newline: &str) -> String {
        let stream = |yes: bool| if yes { "stream " } else { "" };
        let mut text = format!(
            "rpc {}({}{}) returns ({}{})",
            self.name,
            stream(self.client_streaming),
            self.request,
            stream(self.server_streaming),
            self.response
        );
        match &self.http {
            None => text.push(';'),
            Some(http) if newline.is_empty() => {
                let body = if http.body { " body: \"*\"" } else { "" };
                let _ = write!(
                    text,
                    " {{ option (google.api.http) = {{ {}: \"{}\"{body} }}; }}",
                    http.method, http.path
                );
            }
            Some(http) => {
                let inner = format!("{indent}{step}");
                let _ = write!(
                    text,
                    " {{{newline}{inner}option (google.api.http) = {{{newline}"
                );
                let _ = write!(
                    text,
                    "{inner}{step}{}: \"{}\"{newline}",
                    http.method, http.path
                );
                if http.body {
                    let _ = write!(text, "{inner}{step}body: \"*\"{newline}");
                }
                let _ = write!(text, "{inner}}};{newline}{indent}}}");
            }
        }
        text
    }
}

/// A message to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Its name.
    pub name: String,
    /// `string` fields, numbered from 1.
    pub string_fields: Vec<String>,
}

/// A 0-based line range from a descriptor's source info: `[start line, start column,
/// (end line,) end column]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First line.
    pub start_line: usize,
    /// Last line.
    pub end_line: usize,
    /// Column just after the end, on the last line.
    pub end_column: usize,
}

impl Span {
    /// From a source-info span.
    #[must_use]
    pub fn from_source_info(span: &[i32]) -> Option<Self> {
        let number = |index: usize| {
            span.get(index)
                .and_then(|value| usize::try_from(*value).ok())
        };
        let (end_line, end_column) = match span.len() {
            3 => (number(0)?, number(2)?),
            4 => (number(2)?, number(3)?),
            _ => return None,
        };
        Some(Self {
            start_line: number(0)?,
            end_line,
            end_column,
        })
    }
}

fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// Byte offset of the start of 0-based `line`.
fn line_start(text: &str, line: usize) -> Option<usize> {
    if line == 0 {
        return Some(0);
    }
    text.match_indices('\n')
        .nth(line - 1)
        .map(|(index, _)| index + 1)
}

fn line_text(text: &str, line: usize) -> Option<&str> {
    let start = line_start(text, line)?;
    let rest = &text[start..];
    Some(
        rest.split('\n')
            .next()
            .unwrap_or(rest)
            .trim_end_matches('\r'),
    )
}

fn leading_whitespace(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Inserts `rpc` as the last member of the service spanning `service`, indented like
/// the service's last rpc (`last_rpc`), or one level deeper than the service.
///
/// # Errors
/// The span does not point at the service's closing brace (a stale descriptor).
pub fn insert_rpc(
    text: &str,
    service: Span,
    last_rpc: Option<Span>,
    rpc: &NewRpc,
) -> Result<String, String> {
    let newline = newline_of(text);
    let closing_line =
        line_text(text, service.end_line).ok_or("the service's end is past the file")?;
    let closing_start =
        line_start(text, service.end_line).ok_or("the service's end is past the file")?;
    // The closing brace: at the span's end column when the column counts characters the
    // way we do, else the last brace of the line.
    let brace = closing_line
        .char_indices()
        .nth(service.end_column.saturating_sub(1))
        .filter(|(_, c)| *c == '}')
        .map(|(index, _)| index)
        .or_else(|| closing_line.rfind('}'))
        .ok_or("the service's closing brace was not found")?;
    let service_indent = line_text(text, service.start_line)
        .map(leading_whitespace)
        .unwrap_or("");
    let indent = last_rpc
        .and_then(|span| line_text(text, span.start_line))
        .map_or_else(
            || format!("{service_indent}  "),
            |line| leading_whitespace(line).to_owned(),
        );
    let step = indent
        .strip_prefix(service_indent)
        .filter(|step| !step.is_empty())
        .unwrap_or("  ")
        .to_owned();

    let mut edited = String::with_capacity(text.len() + 200);
    if closing_line[..brace].trim().is_empty() {
        // `}` on its own line: a new line before it.
        edited.push_str(&text[..closing_start]);
        edited.push_str(&indent);
        edited.push_str(&rpc.render(&indent, &step, newline));
        edited.push_str(newline);
        edited.push_str(&text[closing_start..]);
    } else {
        // `service S { rpc A(B) returns (C); }`: on the same line, before the brace.
        let at = closing_start + brace;
        let before = &text[..at];
        edited.push_str(before);
        if !before.ends_with(' ') {
            edited.push(' ');
        }
        edited.push_str(&rpc.render("", "", ""));
        edited.push(' ');
        edited.push_str(&text[at..]);
    }
    Ok(edited)
}

/// Appends `messages` at the end of the file.
#[must_use]
pub fn append_messages(text: &str, messages: &[NewMessage]) -> String {
    let newline = newline_of(text);
    let mut edited = text.to_owned();
    if !edited.is_empty() && !edited.ends_with('\n') {
        edited.push_str(newline);
    }
    for message in messages {
        edited.push_str(newline);
        if message.string_fields.is_empty() {
            let _ = write!(edited, "message {} {{}}{newline}", message.name);
        } else {
            let _ = write!(edited, "message {} {{{newline}", message.name);
            for (number, field) in message.string_fields.iter().enumerate() {
                let _ = write!(edited, "  string {field} = {};{newline}", number + 1);
            }
            let _ = write!(edited, "}}{newline}");
        }
    }
    edited
}

/// Adds `import "<name>";` on a new line after `after_line` (the last import, or the
/// package or syntax statement, in which case a blank line separates them), or at the
/// top.
#[must_use]
pub fn add_import(text: &str, after_line: Option<usize>, first_import: bool, name: &str) -> String {
    let newline = newline_of(text);
    let blank = if first_import && after_line.is_some() {
        newline
    } else {
        ""
    };
    let statement = format!("{blank}import \"{name}\";{newline}");
    let at = match after_line.and_then(|line| line_start(text, line + 1)) {
        Some(at) => at,
        None if after_line.is_some() => {
            // The statement is on the last line, without a newline.
            let mut edited = text.to_owned();
            edited.push_str(newline);
            edited.push_str(&statement);
            return edited;
        }
        None => 0,
    };
    let mut edited = String::with_capacity(text.len() + statement.len());
    edited.push_str(&text[..at]);
    edited.push_str(&statement);
    edited.push_str(&text[at..]);
    edited
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc(name: &str) -> NewRpc {
        NewRpc {
            name: name.to_owned(),
            request: format!("{name}Request"),
            response: format!("{name}Response"),
            client_streaming: false,
            server_streaming: false,
            http: None,
        }
    }

    const PROTO: &str = "syntax = \"proto3\";\n\npackage a;\n\n// Things.\nservice Things {\n  // Gets one.\n  rpc Get(Req) returns (Res); // trailing\n}\n";

    #[test]
    fn inserts_before_the_closing_brace_with_the_last_rpcs_indentation() {
        let service = Span {
            start_line: 5,
            end_line: 8,
            end_column: 1,
        };
        let last = Span {
            start_line: 7,
            end_line: 7,
            end_column: 29,
        };
        let edited = insert_rpc(PROTO, service, Some(last), &rpc("List")).unwrap();
        assert_eq!(
            edited,
            PROTO.replace(
                "// trailing\n}",
                "// trailing\n  rpc List(ListRequest) returns (ListResponse);\n}"
            )
        );
    }

    #[test]
    fn inserts_http_options_as_a_block() {
        let service = Span {
            start_line: 5,
            end_line: 8,
            end_column: 1,
        };
        let mut new = rpc("Create");
        new.server_streaming = true;
        new.http = Some(HttpBinding::parse("POST /v1/things").unwrap());
        let edited = insert_rpc(PROTO, service, None, &new).unwrap();
        assert!(edited.contains(
            "  rpc Create(CreateRequest) returns (stream CreateResponse) {\n    option (google.api.http) = {\n      post: \"/v1/things\"\n      body: \"*\"\n    };\n  }\n}\n"
        ), "{edited}");
    }

    #[test]
    fn inserts_into_a_one_line_service_on_that_line() {
        let text = "syntax = \"proto3\";\nservice S { rpc A(B) returns (B); }\nmessage B {}\n";
        let service = Span {
            start_line: 1,
            end_line: 1,
            end_column: 35,
        };
        let edited = insert_rpc(text, service, None, &rpc("C")).unwrap();
        assert_eq!(
            edited,
            "syntax = \"proto3\";\nservice S { rpc A(B) returns (B); rpc C(CRequest) returns (CResponse); }\nmessage B {}\n"
        );
    }

    #[test]
    fn keeps_crlf_line_endings() {
        let text = PROTO.replace('\n', "\r\n");
        let service = Span {
            start_line: 5,
            end_line: 8,
            end_column: 1,
        };
        let edited = insert_rpc(&text, service, None, &rpc("List")).unwrap();
        assert!(
            edited.contains("  rpc List(ListRequest) returns (ListResponse);\r\n}"),
            "{edited:?}"
        );
        assert!(!edited.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn appends_messages_with_path_fields() {
        let edited = append_messages(
            "message A {}",
            &[
                NewMessage {
                    name: "GetRequest".to_owned(),
                    string_fields: vec!["id".to_owned()],
                },
                NewMessage {
                    name: "GetResponse".to_owned(),
                    string_fields: vec![],
                },
            ],
        );
        assert_eq!(
            edited,
            "message A {}\n\nmessage GetRequest {\n  string id = 1;\n}\n\nmessage GetResponse {}\n"
        );
    }

    #[test]
    fn adds_an_import_after_a_line_or_at_the_top() {
        assert_eq!(
            add_import(
                "syntax = \"proto3\";\nimport \"a.proto\";\n",
                Some(1),
                false,
                "x.proto"
            ),
            "syntax = \"proto3\";\nimport \"a.proto\";\nimport \"x.proto\";\n"
        );
        assert_eq!(
            add_import("package a;\n\nmessage A {}\n", Some(0), true, "x.proto"),
            "package a;\n\nimport \"x.proto\";\n\nmessage A {}\n"
        );
        assert_eq!(
            add_import("package a;", Some(0), true, "x.proto"),
            "package a;\n\nimport \"x.proto\";\n"
        );
        assert_eq!(
            add_import("message A {}\n", None, true, "x.proto"),
            "import \"x.proto\";\nmessage A {}\n"
        );
    }

    #[test]
    fn parses_http_bindings() {
        let binding = HttpBinding::parse("GET /v1/shelves/{shelf}/books/{name=books/*}").unwrap();
        assert_eq!(binding.method, "get");
        assert!(!binding.body);
        assert_eq!(binding.path_fields(), ["shelf", "name"]);
        assert!(HttpBinding::parse("FETCH /x").is_err());
        assert!(HttpBinding::parse("GET x").is_err());
        assert!(HttpBinding::parse("GET").is_err());
    }
}
