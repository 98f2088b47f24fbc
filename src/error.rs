//! The errors svcgen reports to its user. Each says what is wrong and, where it helps,
//! what to do about it (`help`); errors in a file carry its source and a span so they
//! print `file:line:col` and the offending line.

use std::path::PathBuf;

use miette::{Diagnostic, NamedSource, SourceSpan};

/// Everything that can go wrong before svcgen writes a file.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    /// The service name cannot be a crate name.
    #[error("invalid service name `{name}`: {reason}")]
    #[diagnostic(help(
        "a service name becomes the crate, binary and directory name: try something like `order-service`"
    ))]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The target directory has files in it.
    #[error("destination `{}` already exists and is not empty", path.display())]
    #[diagnostic(help(
        "choose another name or `--out` directory, or pass `--force` to write into it"
    ))]
    TargetNotEmpty {
        /// The directory.
        path: PathBuf,
    },

    /// `new` was pointed at a project svcgen generated already.
    #[error("`{}` is a svcgen project already (it has a svcgen.lock); `svcgen new` does not write over one, even with --force", path.display())]
    #[diagnostic(help(
        "to re-render it from its svcgen.toml and protos, run `svcgen generate` in it (`svcgen add-rpc` adds rpcs); to start afresh, choose another `--out` directory"
    ))]
    AlreadyAProject {
        /// The directory.
        path: PathBuf,
    },

    /// `new` was pointed inside a project svcgen generated.
    #[error("`{}` is inside the svcgen project `{}` (it has a svcgen.lock); `svcgen new` does not create a service within another one's tree", path.display(), project.display())]
    #[diagnostic(help(
        "generate the new service beside it instead, e.g. `--out {}`",
        beside.display()
    ))]
    InsideAProject {
        /// The directory.
        path: PathBuf,
        /// The project it is inside.
        project: PathBuf,
        /// A directory beside that project, for the hint.
        beside: PathBuf,
    },

    /// A spec file that cannot be read.
    #[error("cannot read the spec `{}`: {source}", path.display())]
    SpecUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// An HTTP rule (`google.api.http`, `[[http.routes]]`) that cannot be served.
    #[error(transparent)]
    #[diagnostic(transparent)]
    HttpRule(Box<HttpRuleError>),

    /// A lock file that cannot be read.
    #[error("cannot read the lock `{}`: {source}", path.display())]
    LockUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// A lock that is not valid TOML or not a lock svcgen can read.
    #[error("invalid lock: {message}")]
    #[diagnostic(help(
        "svcgen.lock is svcgen's record of the files it wrote: restore it from version control, or delete it and run `svcgen generate` (every file then counts as possibly edited)"
    ))]
    Lock {
        /// What is wrong.
        message: String,
        /// The file's text.
        #[source_code]
        source_code: NamedSource<String>,
        /// Where.
        #[label("here")]
        span: Option<SourceSpan>,
    },

    /// A spec file that is not valid TOML or does not match the spec's schema.
    #[error("invalid spec: {message}")]
    #[diagnostic(help("every key of svcgen.toml is documented in svcgen's README"))]
    Spec {
        /// What is wrong.
        message: String,
        /// The file's text.
        #[source_code]
        source_code: NamedSource<String>,
        /// Where.
        #[label("here")]
        span: Option<SourceSpan>,
    },

    /// A spec that parses but makes no sense.
    #[error("invalid spec `{}`: {message}", path.display())]
    #[diagnostic(help("{help}"))]
    SpecValue {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },

    /// The name given on the command line and the spec's disagree.
    #[error("the spec names the service `{spec}` but the command line says `{cli}`")]
    #[diagnostic(help("drop `service.name` from the spec or use the same name"))]
    NameMismatch {
        /// From the spec.
        spec: String,
        /// From the command line.
        cli: String,
    },

    /// A proto that does not compile: syntax, import or type errors.
    #[error("{error}{}", path.as_ref().map(|path| format!(" (in {})", path.display())).unwrap_or_default())]
    #[diagnostic(forward(error))]
    Proto {
        /// protox's error, with the file's source and the span.
        error: protox::Error,
        /// The file on disk, when it is one (protox names files by import name).
        path: Option<PathBuf>,
    },

    /// A root proto that is nowhere protox would look for it.
    #[error("proto file `{}` does not exist", file.display())]
    #[diagnostic(help("looked for {checked}"))]
    ProtoNotFound {
        /// As given (`--proto`, or a spec's `proto.files`).
        file: PathBuf,
        /// The paths checked, comma-separated.
        checked: String,
    },

    /// A root proto that exists, but not under an include directory: protox compiles
    /// files by their import name, relative to one.
    #[error("proto file `{}` is not in any include directory ({includes})", file.display())]
    #[diagnostic(help(
        "protos are compiled by import name, relative to an include directory: pass the directory its imports are relative to with `--include` (perhaps `--include {dir}`), or add it to a spec's `[proto] includes`"
    ))]
    ProtoNotIncluded {
        /// As given.
        file: PathBuf,
        /// The include directories, comma-separated.
        includes: String,
        /// The file's directory, as a suggestion.
        dir: String,
    },

    /// Protos that compile but declare nothing to serve.
    #[error("no service is defined in {files}")]
    #[diagnostic(help(
        "add a `service` block with at least one `rpc`, or pass the .proto that declares one with `--proto`"
    ))]
    NoService {
        /// The root files, comma-separated.
        files: String,
    },

    /// A command that needs a project was run outside one.
    #[error("`{}` is not a svcgen project: it has no svcgen.toml", dir.display())]
    #[diagnostic(help(
        "run the command inside a project created by `svcgen new`, or pass `--project DIR`"
    ))]
    NotAProject {
        /// The directory.
        dir: PathBuf,
    },

    /// Managed files the user edited stand in the way.
    #[error("{} managed file(s) were edited by hand: {}; nothing was written", paths.len(), paths.join(", "))]
    #[diagnostic(help(
        "move your changes into a user file (handlers, src/app.rs), or pass `--force` to overwrite (your version is kept as <file>.orig)"
    ))]
    Conflicts {
        /// The files.
        paths: Vec<String>,
    },

    /// `check` found files that differ from what `generate` would write.
    #[error("{count} file(s) differ from what `svcgen generate` would produce")]
    #[diagnostic(help(
        "run `svcgen generate` (conflicting files need your edits moved out, or `--force`)"
    ))]
    Drift {
        /// How many.
        count: usize,
    },

    /// `add-rpc` named a service the protos do not declare.
    #[error("unknown service `{name}`; the services are: {known}")]
    #[diagnostic(help("name the service as `Service.Rpc` or `package.Service.Rpc`"))]
    UnknownService {
        /// As given.
        name: String,
        /// The known services, comma-separated.
        known: String,
    },

    /// `add-rpc` was asked for something it cannot add.
    #[error("{message}")]
    #[diagnostic(help("{help}"))]
    AddRpc {
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },

    /// Protos that compile into code the generated project could not build.
    #[error("{message}")]
    #[diagnostic(help("{help}"))]
    Unsupported {
        /// What cannot be generated.
        message: String,
        /// What to do.
        help: String,
    },
}

impl Error {
    /// The diagnostics to print, each on its own, and the file on disk they are about.
    /// A proto error can hold several (protox reports every type error of a file): the
    /// first, then the others, all in the same file.
    #[must_use]
    pub fn parts(&self) -> (Vec<&dyn Diagnostic>, Option<&std::path::Path>) {
        match self {
            Self::Proto { error, path } => {
                let mut parts: Vec<&dyn Diagnostic> = vec![error];
                parts.extend(error.related().into_iter().flatten());
                (parts, path.as_deref())
            }
            _ => (vec![self], None),
        }
    }

    /// A spec error at a byte range of `text`.
    #[must_use]
    pub fn spec(
        path: &std::path::Path,
        text: &str,
        message: impl Into<String>,
        span: Option<std::ops::Range<usize>>,
    ) -> Self {
        Self::Spec {
            message: message.into(),
            source_code: NamedSource::new(path.display().to_string(), text.to_owned()),
            span: span.map(Into::into),
        }
    }
}

/// An HTTP rule that cannot be served, where it is written.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(help("{help}"))]
pub struct HttpRuleError {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
    /// The file's text.
    #[source_code]
    pub source_code: NamedSource<String>,
    /// Where.
    #[label("this rule")]
    pub span: Option<SourceSpan>,
}
