//! `svcgen new`: creates a service from a spec and protos, or from the embedded greeter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Output, Run, carry_out};
use crate::error::Error;
use crate::ident;
use crate::lock;
use crate::plan::Plan;
use crate::project::{self, Generated, Protos};
use crate::proto::ProtoInput;
use crate::render::Owner;
use crate::report::Diffs;
use crate::spec::Spec;

/// The proto `svcgen new` uses when given none: `greeter.v1.Greeter`.
pub const DEFAULT_PROTO_NAME: &str = "greeter/v1/greeter.proto";
/// Its text.
pub const DEFAULT_PROTO: &str =
    include_str!("../../examples/greeter/proto/greeter/v1/greeter.proto");

/// The options of `svcgen new`.
#[derive(Debug, Clone, Default)]
pub struct NewOptions {
    /// The service (crate) name.
    pub name: String,
    /// Root protos; none means the spec's, or the embedded greeter.
    pub protos: Vec<PathBuf>,
    /// Include directories, before the spec's.
    pub includes: Vec<PathBuf>,
    /// A spec to start from.
    pub spec: Option<PathBuf>,
    /// The project directory; default `./<name>`.
    pub out: Option<PathBuf>,
    /// Print the plan, write nothing.
    pub dry_run: bool,
    /// Write into a non-empty directory.
    pub force: bool,
}

/// Validates the options, compiles the protos and renders the project in memory.
///
/// # Errors
/// Invalid name, spec or protos.
pub fn generate(options: &NewOptions) -> anyhow::Result<Generated> {
    if let Some(reason) = ident::crate_name_problem(&options.name) {
        return Err(Error::InvalidName {
            name: options.name.clone(),
            reason,
        }
        .into());
    }
    let (mut spec, base) = match &options.spec {
        Some(path) => {
            let spec = Spec::load(path)?;
            let base = path.parent().unwrap_or(Path::new("")).to_owned();
            (spec, base)
        }
        None => (Spec::new(&options.name), PathBuf::new()),
    };
    match &spec.service.name {
        Some(name) if *name != options.name => {
            return Err(Error::NameMismatch {
                spec: name.clone(),
                cli: options.name.clone(),
            }
            .into());
        }
        _ => spec.service.name = Some(options.name.clone()),
    }

    let mut input = ProtoInput {
        includes: options.includes.clone(),
        ..ProtoInput::default()
    };
    if !options.protos.is_empty() {
        input.files.clone_from(&options.protos);
    } else if !spec.proto.files.is_empty() {
        input.files = spec.proto.files.iter().map(PathBuf::from).collect();
    }
    if options.spec.is_some() {
        input.includes.extend(spec.include_dirs(&base));
    }
    if input.files.is_empty() {
        input.files.push(PathBuf::from(DEFAULT_PROTO_NAME));
        input.memory = BTreeMap::from([(DEFAULT_PROTO_NAME.to_owned(), DEFAULT_PROTO.to_owned())]);
    } else if input.includes.is_empty() {
        // Without include directories, each proto's own directory is one.
        for file in &input.files {
            let dir = file.parent().unwrap_or(Path::new("")).to_owned();
            if !input.includes.contains(&dir) {
                input.includes.push(dir);
            }
        }
    }
    project::generate(spec, &input, Protos::Copy)
}

/// Runs `svcgen new`, printing what it does to `out`.
///
/// # Errors
/// Invalid input, a target that is a svcgen project already (even with `--force`: that
/// is `svcgen generate`'s job), a non-empty target without `--force`, or a failed write
/// (which leaves nothing behind).
pub fn run(
    options: &NewOptions,
    output: Output,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let root = options
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(&options.name));
    // Its lock is what tells svcgen which files it wrote and which rpcs have handlers;
    // `new` would render the project afresh, as if it had neither.
    if root.join(lock::FILE_NAME).exists() {
        return Err(Error::AlreadyAProject { path: root }.into());
    }
    // A service inside another's tree would be walked, locked and checked as part of it.
    if let Some(project) = enclosing_project(&root)? {
        let beside = project
            .parent()
            .unwrap_or(Path::new("/"))
            .join(&options.name);
        return Err(Error::InsideAProject {
            path: root,
            project,
            beside,
        }
        .into());
    }
    let generated = generate(options)?;
    if !options.force && !is_empty_or_missing(&root)? {
        return Err(Error::TargetNotEmpty { path: root }.into());
    }
    let plan = Plan::new(&root, &generated.files, None, options.force)
        .with_context(|| format!("cannot read {}", root.display()))?;
    carry_out(
        &plan,
        &root,
        &generated.warnings,
        Run {
            dry_run: options.dry_run,
            diffs: Diffs::Existing,
            output,
            notes: "",
        },
        out,
    )?;
    if options.dry_run {
        return Ok(());
    }
    let services: Vec<_> = generated
        .project
        .services
        .iter()
        .map(|service| service.full_name.as_str())
        .collect();
    let here = is_current_dir(&root);
    writeln!(
        out,
        "\nCreated `{}` in {} ({}) serving {}.\nNext: {}cargo run",
        options.name,
        if here {
            "the current directory".to_owned()
        } else {
            root.display().to_string()
        },
        counts(&plan),
        services.join(", "),
        if here {
            String::new()
        } else {
            format!("cd {} && ", shell_word(&root.display().to_string()))
        },
    )?;
    Ok(())
}

/// The nearest directory above `root` (not `root` itself) that holds a svcgen.lock.
fn enclosing_project(root: &Path) -> anyhow::Result<Option<PathBuf>> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let absolute = cwd.join(root);
    // `..` and symbolic links resolved as far as the path exists.
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    let resolved = loop {
        match existing.canonicalize() {
            Ok(resolved) => break resolved,
            Err(_) => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_owned());
                    existing = parent;
                }
                _ => return Ok(None),
            },
        }
    };
    let full = rest
        .iter()
        .rev()
        .fold(resolved, |path, name| path.join(name));
    Ok(full
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(lock::FILE_NAME).is_file())
        .map(Path::to_owned))
}

/// `49 files and 1 proto`: the files are those `svcgen check` counts (svcgen.lock lists
/// them), the protos those copied under `proto/`; and how many were there already.
fn counts(plan: &Plan) -> String {
    let protos = plan
        .entries
        .iter()
        .filter(|entry| entry.owner == Owner::Proto)
        .count();
    let files = plan.entries.len() - protos;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut counts = format!("{} and {}", plural(files, "file"), plural(protos, "proto"));
    let existing = plan
        .entries
        .iter()
        .filter(|entry| entry.disk.is_some())
        .count();
    if existing > 0 {
        counts.push_str(&format!(
            "; {existing} of them were there already, see above"
        ));
    }
    counts
}

/// Whether `dir` is the current directory.
fn is_current_dir(dir: &Path) -> bool {
    if dir.as_os_str().is_empty() || dir == Path::new(".") {
        return true;
    }
    match (std::fs::canonicalize(dir), std::env::current_dir()) {
        (Ok(dir), Ok(current)) => {
            std::fs::canonicalize(current).is_ok_and(|current| current == dir)
        }
        _ => false,
    }
}

/// `word` as one word for a POSIX shell: as it is when that is safe, else single-quoted.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn is_empty_or_missing(dir: &Path) -> anyhow::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotADirectory => Ok(false),
        Err(error) => {
            Err(anyhow::Error::new(error).context(format!("cannot read {}", dir.display())))
        }
    }
}
