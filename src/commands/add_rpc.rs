//! `svcgen add-rpc`: adds an RPC to a service of an existing project — a minimal
//! insertion into its .proto, the regenerated managed files and a new handler stub —
//! without touching anything the user wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use prost_types::FileDescriptorProto;

use super::{Output, Run, carry_out};
use crate::error::Error;
use crate::ident;
use crate::project::Existing;
use crate::proto::{self, Compiled, TypeIndex, TypeKind, source_path};
use crate::proto_edit::{self, HttpBinding, NewMessage, NewRpc, Span};
use crate::render::{GeneratedFile, Owner};
use crate::report::{self, Diffs};

/// The options of `svcgen add-rpc`.
#[derive(Debug, Clone, Default)]
pub struct AddRpcOptions {
    /// `Service.Rpc` or `package.Service.Rpc`.
    pub target: String,
    /// The request message; default `<Rpc>Request`, created when missing.
    pub request: Option<String>,
    /// The response message; default `<Rpc>Response`, created when missing.
    pub response: Option<String>,
    /// `stream` request.
    pub client_streaming: bool,
    /// `stream` response.
    pub server_streaming: bool,
    /// `"GET /v1/things/{id}"`: a `(google.api.http)` binding.
    pub http: Option<String>,
    /// The project; default the current directory.
    pub project: Option<PathBuf>,
    /// Print the plan and diffs, write nothing.
    pub dry_run: bool,
}

fn invalid(message: impl Into<String>, help: impl Into<String>) -> Error {
    Error::AddRpc {
        message: message.into(),
        help: help.into(),
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Runs `svcgen add-rpc`.
///
/// # Errors
/// Not a project; an unknown service; an rpc that exists; invalid names; a type that is
/// not a message; conflicts; a failed write. Nothing is written then.
pub fn run(
    options: &AddRpcOptions,
    output: Output,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let project = Existing::open(options.project.as_deref())?;
    let compiled = proto::compile(&project.proto_input(BTreeMap::new()))?;
    let (service_path, rpc_name) = options.target.rsplit_once('.').ok_or_else(|| {
        invalid(
            format!("`{}` does not name an rpc", options.target),
            "write the target as `Service.Rpc`, e.g. `Greeter.SayGoodbye`",
        )
    })?;
    let found = find_service(&compiled, service_path)?;
    let file = found.file;
    let service = &file.service[found.index];
    let full_service = ident::qualify(file.package(), service.name());

    let style = "the protobuf style guide writes rpc names in UpperCamelCase, the form prost \
                 and tonic derive Rust names from";
    if !is_identifier(rpc_name) {
        return Err(invalid(
            format!("`{rpc_name}` is not a valid rpc name"),
            format!("use ASCII letters and digits, starting with an upper-case letter: {style}"),
        )
        .into());
    }
    let handler_file = ident::module_file(&ident::to_snake(rpc_name)).to_owned();
    if let Some(existing) = service.method.iter().find(|method| {
        method.name() == rpc_name
            || ident::module_file(&ident::to_snake(method.name())) == handler_file
    }) {
        return Err(invalid(
            format!("rpc `{full_service}.{}` already exists", existing.name()),
            "choose another name; to change an existing rpc, edit the proto and run `svcgen generate`",
        )
        .into());
    }
    if !ident::is_upper_camel(rpc_name) {
        let help = match ident::upper_camel_suggestion(rpc_name) {
            Some(camel) => format!("did you mean `{service_path}.{camel}`? {style}"),
            None => {
                format!("use ASCII letters and digits, starting with an upper-case letter: {style}")
            }
        };
        return Err(invalid(
            format!("`{rpc_name}` is not a valid rpc name: it is not UpperCamelCase"),
            help,
        )
        .into());
    }
    let http = options
        .http
        .as_deref()
        .map(HttpBinding::parse)
        .transpose()
        .map_err(|message| {
            invalid(
                format!("invalid --http: {message}"),
                "e.g. --http \"GET /v1/things/{id}\"",
            )
        })?;
    if http.is_some() && options.client_streaming {
        return Err(invalid(
            "--http cannot map a client-streaming rpc",
            "HTTP bindings work for unary and server-streaming rpcs",
        )
        .into());
    }

    let index = TypeIndex::new(&compiled.descriptors.file);
    let mut edits = Edits::default();
    let request_name = options
        .request
        .clone()
        .unwrap_or_else(|| format!("{rpc_name}Request"));
    let response_name = options
        .response
        .clone()
        .unwrap_or_else(|| format!("{rpc_name}Response"));
    let path_fields = http
        .as_ref()
        .map(HttpBinding::path_fields)
        .unwrap_or_default();
    let request = edits.use_type(
        &index,
        file,
        &request_name,
        options.request.as_ref().map(|_| "--request"),
        &path_fields,
    )?;
    let response = edits.use_type(
        &index,
        file,
        &response_name,
        options.response.as_ref().map(|_| "--response"),
        &[],
    )?;
    if http.is_some() {
        edits
            .imports
            .insert("google/api/annotations.proto".to_owned());
    }

    // The edit, against the file as it is on disk.
    let disk_path = project
        .spec
        .include_dirs(&project.root)
        .into_iter()
        .map(|include| include.join(file.name()))
        .find(|path| path.is_file())
        .ok_or_else(|| {
            invalid(
                format!(
                    "`{}` is not in the project's include directories",
                    file.name()
                ),
                "check `[proto] includes` in svcgen.toml",
            )
        })?;
    let text = std::fs::read_to_string(&disk_path)?;
    let info = file.source_code_info.as_ref();
    let span_of = |path: &[i32]| {
        info.and_then(|info| info.location.iter().find(|location| location.path == path))
            .and_then(|location| Span::from_source_info(&location.span))
    };
    let service_index = i32::try_from(found.index)?;
    let service_span = span_of(&[source_path::SERVICE, service_index])
        .ok_or_else(|| anyhow::anyhow!("no source position for {full_service}"))?;
    let last_rpc = service.method.len().checked_sub(1).and_then(|last| {
        span_of(&[
            source_path::SERVICE,
            service_index,
            source_path::METHOD,
            i32::try_from(last).ok()?,
        ])
    });
    let new_rpc = NewRpc {
        name: rpc_name.to_owned(),
        request,
        response,
        client_streaming: options.client_streaming,
        server_streaming: options.server_streaming,
        http,
    };
    let mut edited = proto_edit::insert_rpc(&text, service_span, last_rpc, &new_rpc)
        .map_err(anyhow::Error::msg)?;
    edited = proto_edit::append_messages(&edited, &edits.messages);
    let imported: BTreeSet<&str> = file.dependency.iter().map(String::as_str).collect();
    let last_import = (0..file.dependency.len())
        .rev()
        .find_map(|i| span_of(&[source_path::DEPENDENCY, i32::try_from(i).ok()?]));
    let anchor = last_import
        .or_else(|| span_of(&[source_path::PACKAGE]))
        .or_else(|| span_of(&[source_path::SYNTAX]))
        .map(|span| span.end_line);
    // Imports go in reverse order after the same anchor line, so they end up sorted.
    let missing: Vec<&String> = edits
        .imports
        .iter()
        .filter(|import| !imported.contains(import.as_str()))
        .collect();
    for (position, import) in missing.iter().enumerate().rev() {
        let first = last_import.is_none() && position == 0;
        edited = proto_edit::add_import(&edited, anchor, first, import);
    }

    let overlay = BTreeMap::from([(file.name().to_owned(), edited.clone())]);
    let generated = project.generate(overlay)?;
    let mut files = generated.files;
    let relative = disk_path.strip_prefix(&project.root).unwrap_or(&disk_path);
    files.push(GeneratedFile {
        path: relative.to_string_lossy().replace('\\', "/"),
        contents: edited,
        owner: Owner::Proto,
        handler: None,
    });
    if new_rpc.http.is_some() {
        add_embedded_protos(&project, &mut files);
    }
    let plan = project.plan(&files, false)?;
    let notes = edits.report(
        &report::shown(&project.root, &relative.to_string_lossy()),
        rpc_name,
        options.dry_run,
    );
    carry_out(
        &plan,
        &project.root,
        &generated.warnings,
        Run {
            dry_run: options.dry_run,
            diffs: Diffs::All,
            output,
            notes: &notes,
        },
        out,
    )?;
    if !options.dry_run {
        let service_dir = ident::module_file(&ident::to_snake(service.name())).to_owned();
        writeln!(
            out,
            "\nAdded rpc {rpc_name} to {full_service}; write it in src/handlers/{service_dir}/{handler_file}.rs"
        )?;
    }
    Ok(())
}

/// Writes svcgen's `google/api` protos into the project's first include directory when
/// the project has none of its own.
fn add_embedded_protos(project: &Existing, files: &mut Vec<GeneratedFile>) {
    let includes = project.spec.include_dirs(&project.root);
    let Some(first) = includes.first() else {
        return;
    };
    for (name, text) in proto::EMBEDDED {
        if includes.iter().any(|include| include.join(name).is_file()) {
            continue;
        }
        let path = first.join(name);
        let relative = path.strip_prefix(&project.root).unwrap_or(&path);
        files.push(GeneratedFile {
            path: relative.to_string_lossy().replace('\\', "/"),
            contents: (*text).to_owned(),
            owner: Owner::Proto,
            handler: None,
        });
    }
}

/// The service `add-rpc` extends.
struct FoundService<'a> {
    file: &'a FileDescriptorProto,
    index: usize,
}

/// Finds a service of the root protos by simple or fully qualified name.
fn find_service<'a>(compiled: &'a Compiled, name: &str) -> Result<FoundService<'a>, Error> {
    let name = name.trim_start_matches('.');
    let mut matches = Vec::new();
    let mut known = Vec::new();
    for file in compiled
        .descriptors
        .file
        .iter()
        .filter(|file| compiled.roots.iter().any(|root| root == file.name()))
    {
        for (index, service) in file.service.iter().enumerate() {
            let full = ident::qualify(file.package(), service.name());
            if full == name || service.name() == name {
                matches.push(FoundService { file, index });
            }
            known.push(full);
        }
    }
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(Error::UnknownService {
            name: name.to_owned(),
            known: known.join(", "),
        }),
        _ => Err(Error::AddRpc {
            message: format!("`{name}` is ambiguous: several packages declare it"),
            help: format!("name it fully: one of {}", known.join(", ")),
        }),
    }
}

/// The message whose name is closest to `name` (as written from inside `package`), if
/// it is only a typo away: a few edits, fewer for short names.
fn similar_message(index: &TypeIndex<'_>, package: &str, name: &str) -> Option<String> {
    let limit = (name.len() / 4).clamp(1, 3);
    index
        .messages()
        .map(|(full, _)| {
            let local = full
                .strip_prefix(package)
                .and_then(|rest| rest.strip_prefix('.'))
                .filter(|_| !package.is_empty())
                .unwrap_or(full);
            let simple = full.rsplit('.').next().unwrap_or(full);
            let distance = strsim::levenshtein(name, simple).min(strsim::levenshtein(name, local));
            (distance, local.to_owned())
        })
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, local)| local)
}

/// The well-known type files, by message name.
fn well_known_file(name: &str) -> Option<&'static str> {
    Some(match name {
        "Any" => "google/protobuf/any.proto",
        "Duration" => "google/protobuf/duration.proto",
        "Empty" => "google/protobuf/empty.proto",
        "FieldMask" => "google/protobuf/field_mask.proto",
        "Struct" | "Value" | "ListValue" => "google/protobuf/struct.proto",
        "Timestamp" => "google/protobuf/timestamp.proto",
        "DoubleValue" | "FloatValue" | "Int64Value" | "UInt64Value" | "Int32Value"
        | "UInt32Value" | "BoolValue" | "StringValue" | "BytesValue" => {
            "google/protobuf/wrappers.proto"
        }
        _ => return None,
    })
}

/// Messages to append and imports to add to the service's file.
#[derive(Default)]
struct Edits {
    messages: Vec<NewMessage>,
    imports: BTreeSet<String>,
    /// For a created message whose name the user gave (`--request`, `--response`): that
    /// option, and the existing message of the closest name, when one is close.
    similar: BTreeMap<String, (&'static str, String)>,
}

impl Edits {
    /// The proto text naming the type `name` for an rpc in `file`, creating an empty
    /// message (with `string` fields for `path_fields`) when no type of that name exists.
    /// `option`: the command-line option that named it, if the user did.
    fn use_type(
        &mut self,
        index: &TypeIndex<'_>,
        file: &FileDescriptorProto,
        name: &str,
        option: Option<&'static str>,
        path_fields: &[String],
    ) -> Result<String, Error> {
        let bare = name.trim_start_matches('.');
        if bare.is_empty() || !bare.split('.').all(is_identifier) {
            return Err(invalid(
                format!("`{name}` is not a valid message name"),
                "use a message name such as `GetThingRequest` or `acme.common.v1.Money`",
            ));
        }
        if let Some((full, found)) = index.resolve(file.package(), name) {
            let (defined_in, message) = (found.file, found.message);
            if found.kind == TypeKind::Enum {
                return Err(invalid(
                    format!("`{full}` is an enum, not a message"),
                    "rpc requests and responses must be messages: pick or create a message",
                ));
            }
            for field in path_fields {
                let top = field.split('.').next().unwrap_or(field);
                if !message.is_some_and(|message| message.field.iter().any(|f| f.name() == top)) {
                    return Err(invalid(
                        format!("the path parameter `{{{field}}}` is not a field of `{full}`"),
                        "name the fields of the request message in the path, or let add-rpc create the request",
                    ));
                }
            }
            if defined_in != file.name() {
                self.imports.insert(defined_in.to_owned());
            }
            return Ok(name.to_owned());
        }
        if let Some(well_known) = bare
            .strip_prefix("google.protobuf.")
            .and_then(well_known_file)
        {
            self.imports.insert(well_known.to_owned());
            return Ok(name.to_owned());
        }
        if bare.contains('.') {
            return Err(invalid(
                format!("message `{name}` does not exist"),
                "add-rpc creates only messages with a simple name, in the service's file",
            ));
        }
        if !self.messages.iter().any(|message| message.name == bare) {
            let mut fields = Vec::new();
            for field in path_fields {
                if !is_identifier(field) {
                    return Err(invalid(
                        format!("the path parameter `{{{field}}}` is not a simple field name"),
                        "use `{id}`-style parameters when add-rpc creates the request",
                    ));
                }
                fields.push(field.clone());
            }
            self.messages.push(NewMessage {
                name: bare.to_owned(),
                string_fields: fields,
            });
            if let Some(option) = option
                && let Some(similar) = similar_message(index, file.package(), bare)
            {
                self.similar.insert(bare.to_owned(), (option, similar));
            }
        }
        Ok(bare.to_owned())
    }

    /// What add-rpc says about the messages it created in `path` for `rpc`: one line
    /// each, and a hint when a message of a close name exists (a typo, perhaps).
    fn report(&self, path: &str, rpc: &str, dry_run: bool) -> String {
        let mut out = String::new();
        if !self.messages.is_empty() {
            out.push('\n');
        }
        for message in &self.messages {
            out.push_str(&format!("created message {} in {path}\n", message.name));
            if let Some((option, similar)) = self.similar.get(&message.name) {
                let then = if dry_run {
                    format!("run add-rpc again with `{option} {similar}`")
                } else {
                    format!(
                        "make rpc {rpc} use {similar} in the proto, delete message {}, and run `svcgen generate`",
                        message.name
                    )
                };
                out.push_str(&format!(
                    "  hint: no message {} existed; did you mean {similar}? If so, {then}\n",
                    message.name
                ));
            }
        }
        out
    }
}
