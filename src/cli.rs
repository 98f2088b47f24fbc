//! The command line: parses arguments, runs one command, prints errors, sets the exit code.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands;

/// Scaffolds production-grade Rust microservices (tonic gRPC + axum HTTP) from a service
/// spec and .proto files.
#[derive(Debug, Parser)]
#[command(name = "svcgen", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new service project.
    New(NewArgs),
    /// Add an rpc to a service: insert it into the proto, regenerate the managed files and
    /// create its handler stub.
    AddRpc(AddRpcArgs),
    /// Re-render the managed files from svcgen.toml and the protos after you edited them.
    Generate(GenerateArgs),
    /// Exit 0 when the project is exactly what `generate` would produce, else list the
    /// differences and exit 1 (for CI).
    Check(ProjectArg),
    /// Print a completion script for a shell (install lines in the README).
    Completions(CompletionsArgs),
}

/// `svcgen completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `--project DIR`.
#[derive(Debug, clap::Args)]
pub struct ProjectArg {
    /// The project directory (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

/// `svcgen add-rpc`.
#[derive(Debug, clap::Args)]
pub struct AddRpcArgs {
    /// `Service.Rpc` (or `package.Service.Rpc`), e.g. `Greeter.SayGoodbye`.
    #[arg(value_name = "SERVICE.RPC")]
    pub target: String,
    /// The request message [default: <Rpc>Request, created when missing].
    #[arg(long, value_name = "TYPE")]
    pub request: Option<String>,
    /// The response message [default: <Rpc>Response, created when missing].
    #[arg(long, value_name = "TYPE")]
    pub response: Option<String>,
    /// The client sends a stream of requests.
    #[arg(long)]
    pub client_streaming: bool,
    /// The server sends a stream of responses.
    #[arg(long)]
    pub server_streaming: bool,
    /// An HTTP binding, e.g. "GET /v1/things/{id}" (a `google.api.http` option).
    #[arg(long, value_name = "\"METHOD /path\"")]
    pub http: Option<String>,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Print the plan and the diffs, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `svcgen generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Print the plan and the diffs, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite managed files edited by hand, keeping your version as `<file>.orig`.
    #[arg(long)]
    pub force: bool,
}

/// `svcgen new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The service name: the crate, binary and directory name (e.g. `order-service`).
    pub name: String,
    /// A .proto file whose services to serve (repeatable). Without one, the spec's
    /// protos, or else the embedded greeter example.
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,
    /// A directory imports are resolved against (repeatable). Default: each proto's
    /// directory.
    #[arg(long = "include", short = 'I', value_name = "DIR")]
    pub includes: Vec<PathBuf>,
    /// A service spec (svcgen.toml) to start from.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// The project directory to create. Default: `./<NAME>`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print what would be written, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write into a non-empty directory, replacing the files svcgen generates.
    #[arg(long)]
    pub force: bool,
}

/// The entry point of the `svcgen` binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    let output = commands::Output {
        colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let result = match cli.command {
        Command::New(args) => commands::new::run(
            &commands::new::NewOptions {
                name: args.name,
                protos: args.protos,
                includes: args.includes,
                spec: args.spec,
                out: args.out,
                dry_run: args.dry_run,
                force: args.force,
            },
            output,
            &mut stdout,
        ),
        Command::AddRpc(args) => commands::add_rpc::run(
            &commands::add_rpc::AddRpcOptions {
                target: args.target,
                request: args.request,
                response: args.response,
                client_streaming: args.client_streaming,
                server_streaming: args.server_streaming,
                http: args.http,
                project: args.project.project,
                dry_run: args.dry_run,
            },
            output,
            &mut stdout,
        ),
        Command::Generate(args) => commands::generate::run(
            &commands::generate::GenerateOptions {
                project: args.project.project,
                dry_run: args.dry_run,
                force: args.force,
            },
            output,
            &mut stdout,
        ),
        Command::Check(args) => commands::check::run(
            &commands::check::CheckOptions {
                project: args.project,
            },
            &mut stdout,
        ),
        Command::Completions(args) => completions(args.shell, &mut stdout),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = std::io::Write::flush(&mut stdout);
            eprint!("{}", render_error(&error, std::io::stderr().is_terminal()));
            ExitCode::FAILURE
        }
    }
}

/// Writes the completion script of `svcgen` for `shell` to `out`.
///
/// # Errors
/// `out` cannot be written (a closed pipe is reported, not a panic).
pub fn completions(
    shell: clap_complete::Shell,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    use clap::CommandFactory as _;
    // clap_complete panics on a failed write: render to memory first.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "svcgen", &mut script);
    out.write_all(&script)?;
    Ok(())
}

/// Renders an error for the terminal: `error: ...`, the offending line of a file with
/// its `file:line:col` where there is one, and a `help:` line. An error made of several
/// (every type error of a proto) prints each the same way, one after the other, naming
/// the file on disk.
#[must_use]
pub fn render_error(error: &anyhow::Error, colour: bool) -> String {
    let Some(diagnostic) = error.downcast_ref::<crate::error::Error>() else {
        return format!("error: {error:#}\n");
    };
    let theme = if colour {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    // Wide enough that miette never wraps the message line, which is replaced below.
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(10_000);
    let (parts, path) = diagnostic.parts();
    let parent_source = parts.first().and_then(|first| first.source_code());
    let mut out = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let alone = Alone {
            inner: *part,
            source: part.source_code().or(parent_source).map(|inner| Renamed {
                inner,
                name: path.map(|path| path.display().to_string()),
            }),
        };
        // The first part is the error itself, whose message names the file already.
        let message = match path {
            Some(path) if index > 0 => format!("{part} (in {})", path.display()),
            _ if index == 0 => diagnostic.to_string(),
            _ => part.to_string(),
        };
        let mut rendered = String::new();
        if handler.render_report(&mut rendered, &alone).is_err() {
            out.push(format!("error: {message}\n"));
            continue;
        }
        // miette starts with `  × <message>`; lead with `error: <message>` instead.
        let details = rendered.split_once('\n').map_or("", |(_, rest)| rest);
        out.push(format!(
            "error: {message}\n{}",
            details.trim_start_matches('\n')
        ));
    }
    out.join("\n")
}

/// One diagnostic on its own: without the related ones (rendered in turn), with its
/// source, or its parent's, named after the file on disk.
struct Alone<'a> {
    inner: &'a dyn miette::Diagnostic,
    source: Option<Renamed<'a>>,
}

impl std::fmt::Debug for Alone<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.inner, f)
    }
}

impl std::fmt::Display for Alone<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.inner, f)
    }
}

impl std::error::Error for Alone<'_> {}

impl miette::Diagnostic for Alone<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.code()
    }

    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.help()
    }

    fn url<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.url()
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source
            .as_ref()
            .map(|source| source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.inner.labels()
    }

    fn diagnostic_source(&self) -> Option<&dyn miette::Diagnostic> {
        self.inner.diagnostic_source()
    }
}

/// A source whose name (the import name protox knows a file by) is replaced with the
/// path on disk, so that `file:line:col` names a file the user can open.
struct Renamed<'a> {
    inner: &'a dyn miette::SourceCode,
    name: Option<String>,
}

impl miette::SourceCode for Renamed<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let contents = self
            .inner
            .read_span(span, context_lines_before, context_lines_after)?;
        let Some(name) = &self.name else {
            return Ok(contents);
        };
        Ok(Box::new(miette::MietteSpanContents::new_named(
            name.clone(),
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}
