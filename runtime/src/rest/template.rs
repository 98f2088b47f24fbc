//! Path templates of `google.api.http` rules, as grpc-gateway and Envoy read them:
//!
//! ```text
//! Template = "/" Segments [ ":" Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! ```
//!
//! `{field}` is `{field=*}`; `*` matches one segment, `**` any number of them (only as
//! the last segment). A variable binds the segments it matches, joined by `/`, to the
//! request field `FieldPath` (`a.b` is field `b` of field `a`).

use std::fmt;

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// This text exactly.
    Literal(String),
    /// Any one segment.
    One,
    /// Any number of segments (the last segment only).
    Rest,
}

/// A variable: the field it binds and the segments it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The field path, `a.b` as `["a", "b"]`.
    pub field: Vec<String>,
    /// The first segment it covers.
    start: usize,
    /// One past the last segment it covers.
    end: usize,
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
    verb: Option<String>,
    variables: Vec<Variable>,
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

impl Template {
    /// Parses `template`.
    ///
    /// # Errors
    /// It does not follow the grammar: no leading `/`, an empty segment, an unclosed or
    /// nested variable, a field path that is not identifiers, `**` before the end, a
    /// field bound twice.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let error = |message: &str| Err(TemplateError(format!("`{template}`: {message}")));
        let Some(rest) = template.strip_prefix('/') else {
            return error("a path template starts with `/`");
        };
        // The verb follows the last `:` outside a variable.
        let mut depth = 0;
        let mut verb_at = None;
        for (index, c) in rest.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ':' if depth == 0 => verb_at = Some(index),
                _ => {}
            }
        }
        let (path, verb) = match verb_at {
            Some(index) => (&rest[..index], Some(rest[index + 1..].to_owned())),
            None => (rest, None),
        };
        if verb
            .as_deref()
            .is_some_and(|verb| verb.is_empty() || verb.contains('/'))
        {
            return error("a `:verb` is one literal word at the end");
        }
        let mut segments = Vec::new();
        let mut variables: Vec<Variable> = Vec::new();
        let mut chars = path;
        loop {
            if let Some(inner) = chars.strip_prefix('{') {
                let Some(close) = inner.find('}') else {
                    return error("a `{` without its `}`");
                };
                let body = &inner[..close];
                if body.contains('{') {
                    return error("variables do not nest");
                }
                let (field, pattern) = body.split_once('=').unwrap_or((body, "*"));
                let field: Vec<String> = field.split('.').map(str::to_owned).collect();
                if !field.iter().all(|part| is_identifier(part)) {
                    return error("a variable names a field path such as `name` or `book.id`");
                }
                if variables.iter().any(|variable| variable.field == field) {
                    return error("a field is bound twice");
                }
                let start = segments.len();
                for part in pattern.split('/') {
                    segments.push(match part {
                        "*" => Segment::One,
                        "**" => Segment::Rest,
                        "" => return error("an empty segment"),
                        literal if literal.contains(['{', '}', '*']) => {
                            return error("a variable's pattern is `*`, `**` and literals");
                        }
                        literal => Segment::Literal(literal.to_owned()),
                    });
                }
                variables.push(Variable {
                    field,
                    start,
                    end: segments.len(),
                });
                chars = &inner[close + 1..];
            } else {
                let end = chars.find('/').unwrap_or(chars.len());
                let part = &chars[..end];
                segments.push(match part {
                    "*" => Segment::One,
                    "**" => Segment::Rest,
                    "" => return error("an empty segment"),
                    literal if literal.contains(['{', '}']) => {
                        return error("a variable is a whole segment, `{field}` or `{field=…}`");
                    }
                    literal => Segment::Literal(literal.to_owned()),
                });
                chars = &chars[end..];
            }
            match chars.strip_prefix('/') {
                Some(next) => chars = next,
                None if chars.is_empty() => break,
                None => return error("a variable is a whole segment, `{field}` or `{field=…}`"),
            }
        }
        if let Some(position) = segments
            .iter()
            .position(|segment| *segment == Segment::Rest)
            && position + 1 != segments.len()
        {
            return error("`**` can only be the last segment");
        }
        Ok(Self {
            segments,
            verb,
            variables,
        })
    }

    /// The variables, in order.
    #[must_use]
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The `:verb`, if any.
    #[must_use]
    #[allow(dead_code)] // svcgen's, which compiles this file too
    pub fn verb(&self) -> Option<&str> {
        self.verb.as_deref()
    }

    /// Whether two templates can match the same path (so that two rules of one HTTP
    /// method would collide).
    #[must_use]
    #[allow(dead_code)] // svcgen's, which compiles this file too
    pub fn overlaps(&self, other: &Self) -> bool {
        if self.verb != other.verb {
            return false;
        }
        let (a, b) = (&self.segments, &other.segments);
        for index in 0..a.len().max(b.len()) {
            match (a.get(index), b.get(index)) {
                (Some(Segment::Rest), _) | (_, Some(Segment::Rest)) => return true,
                (Some(Segment::Literal(x)), Some(Segment::Literal(y))) if x != y => return false,
                (Some(_), Some(_)) => {}
                _ => return false,
            }
        }
        true
    }

    /// Matches the path `path` (without its query): the text each variable binds,
    /// percent-decoded, in the order of [`Template::variables`].
    #[must_use]
    pub fn matches(&self, path: &str) -> Option<Vec<String>> {
        let path = path.strip_prefix('/')?;
        let path = match &self.verb {
            Some(verb) => path.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => path,
        };
        // Without `**`, a path of another length cannot match: told before allocating.
        let rest = self.segments.last() == Some(&Segment::Rest);
        if !rest && path.bytes().filter(|&byte| byte == b'/').count() + 1 != self.segments.len() {
            return None;
        }
        // Where each segment's text starts in `path`, then one past its end (as if a `/`
        // followed it): a variable binds the text from its first segment's start to the
        // `/` before the segment after it.
        let mut starts: Vec<usize> = Vec::with_capacity(self.segments.len() + 1);
        let mut at = 0;
        for segment in &self.segments {
            starts.push(at);
            match segment {
                Segment::Literal(literal) => {
                    if next_part(path, &mut at)? != literal {
                        return None;
                    }
                }
                Segment::One => {
                    if next_part(path, &mut at)?.is_empty() {
                        return None;
                    }
                }
                Segment::Rest => at = path.len() + 1,
            }
        }
        if at != path.len() + 1 {
            return None;
        }
        starts.push(at);
        let mut bound = Vec::with_capacity(self.variables.len());
        for variable in &self.variables {
            let (start, end) = (starts[variable.start], starts[variable.end] - 1);
            let text = path.get(start..end).unwrap_or_default();
            bound.push(if text.contains('%') {
                // Only `{field}` (`{field=*}`) decodes `%2F`: in a variable that may span
                // segments, it stays apart from the `/` between them.
                decode(
                    text,
                    self.segments[variable.start..variable.end] != [Segment::One],
                )?
            } else {
                text.to_owned()
            });
        }
        Some(bound)
    }
}

/// The segment of `path` starting at `at` (none when `at` is past its end), moving `at`
/// past it and the `/` after it.
fn next_part<'a>(path: &'a str, at: &mut usize) -> Option<&'a str> {
    let rest = path.get(*at..)?;
    let end = rest
        .bytes()
        .position(|byte| byte == b'/')
        .unwrap_or(rest.len());
    let part = &rest[..end];
    *at += part.len() + 1;
    Some(part)
}

/// Percent-decodes a path segment, but `%2F` when `keep_slashes` (`None` when the result
/// is not UTF-8).
fn decode(part: &str, keep_slashes: bool) -> Option<String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%'
            && let Some(hex) = part.get(index + 1..index + 3)
            && let Ok(value) = u8::from_str_radix(hex, 16)
            && !(keep_slashes && value == b'/')
        {
            out.push(value);
            index += 3;
            continue;
        }
        out.push(byte);
        index += 1;
    }
    String::from_utf8(out).ok()
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(template: &Template) -> Vec<String> {
        template
            .variables()
            .iter()
            .map(|variable| variable.field.join("."))
            .collect()
    }

    #[test]
    fn variables_bind_the_segments_they_cover() {
        let template = Template::parse("/v1/hello/{name}").unwrap();
        assert_eq!(fields(&template), ["name"]);
        assert_eq!(
            template.matches("/v1/hello/ada"),
            Some(vec!["ada".to_owned()])
        );
        assert_eq!(
            template.matches("/v1/hello/a%20da%2Fb"),
            Some(vec!["a da/b".to_owned()])
        );
        assert_eq!(template.matches("/v1/hello/"), None);
        assert_eq!(template.matches("/v1/hello/ada/more"), None);

        let template = Template::parse("/v1/{name=shelves/*/books/*}").unwrap();
        assert_eq!(
            template.matches("/v1/shelves/1/books/2"),
            Some(vec!["shelves/1/books/2".to_owned()])
        );
        assert_eq!(template.matches("/v1/shelves/1/notes/2"), None);
        // `%2F` is decoded in a one-segment variable only.
        assert_eq!(
            template.matches("/v1/shelves/a%2Fb/books/c%2fd%20e"),
            Some(vec!["shelves/a%2Fb/books/c%2fd e".to_owned()])
        );

        let template = Template::parse("/v1/{book.shelf}/books/{book.id}").unwrap();
        assert_eq!(fields(&template), ["book.shelf", "book.id"]);
        assert_eq!(
            template.matches("/v1/s/books/7"),
            Some(vec!["s".to_owned(), "7".to_owned()])
        );
    }

    #[test]
    fn double_wildcards_take_the_rest_and_verbs_the_end() {
        let template = Template::parse("/v1/files/{path=**}").unwrap();
        assert_eq!(
            template.matches("/v1/files/a/b/c"),
            Some(vec!["a/b/c".to_owned()])
        );
        // `**` matches zero segments too.
        assert_eq!(template.matches("/v1/files"), Some(vec![String::new()]));
        let template = Template::parse("/v1/{name=books/*}:publish").unwrap();
        assert_eq!(template.verb(), Some("publish"));
        assert_eq!(
            template.matches("/v1/books/7:publish"),
            Some(vec!["books/7".to_owned()])
        );
        assert_eq!(template.matches("/v1/books/7"), None);
        assert_eq!(template.matches("/v1/books/7:delete"), None);
    }

    #[test]
    fn bad_templates_say_why() {
        for (template, why) in [
            ("v1/x", "starts with `/`"),
            ("/v1//x", "an empty segment"),
            ("/v1/{name", "without its `}`"),
            ("/v1/{a={b}}", "do not nest"),
            ("/v1/{1a}", "field path"),
            ("/v1/**/x", "last segment"),
            ("/v1/{a}/{a}", "bound twice"),
            ("/v1/x{a}", "whole segment"),
            ("/v1/x:", "one literal word"),
        ] {
            let error = Template::parse(template).expect_err(template).to_string();
            assert!(error.contains(why), "{template}: {error}");
        }
    }

    #[test]
    fn overlapping_templates_are_told() {
        let parse = |text| Template::parse(text).unwrap();
        assert!(parse("/v1/{a}").overlaps(&parse("/v1/{b}")));
        assert!(parse("/v1/x").overlaps(&parse("/v1/{b}")));
        assert!(parse("/v1/{a=**}").overlaps(&parse("/v1/x/y")));
        assert!(!parse("/v1/x").overlaps(&parse("/v1/y")));
        assert!(!parse("/v1/{a}").overlaps(&parse("/v1/{a}/b")));
        assert!(!parse("/v1/{a}:go").overlaps(&parse("/v1/{a}")));
    }
}
