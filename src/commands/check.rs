//! `svcgen check`: for CI, whether the tree is exactly what `svcgen generate` would make.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::Error;
use crate::plan::Action;
use crate::project::Existing;

/// The options of `svcgen check`.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// The project; default the current directory.
    pub project: Option<PathBuf>,
}

/// Runs `svcgen check`: prints the drifted, missing, conflicting and obsolete files, and
/// the handlers whose rpc changed signature (until `generate` records the new one).
///
/// # Errors
/// Not a project, invalid protos, or a tree that differs ([`Error::Drift`]).
pub fn run(options: &CheckOptions, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let project = Existing::open(options.project.as_deref())?;
    let generated = project.generate(BTreeMap::new())?;
    let plan = project.plan(&generated.files, false)?;
    for warning in &generated.warnings {
        writeln!(out, "{warning}")?;
    }
    write!(
        out,
        "{}",
        crate::report::leftovers(&plan, &project.root, false)
    )?;
    for entry in plan.with(Action::Stale) {
        writeln!(
            out,
            "warning: {} is no longer generated (stale)",
            entry.path
        )?;
    }
    // The build would fail; the tree itself is as svcgen makes it.
    write!(
        out,
        "{}",
        crate::report::manifest_left(&plan, &project.root, false)
    )?;
    if plan.is_clean() {
        // The files svcgen renders (those `new` counts, protos aside), not stale ones.
        let rendered = plan
            .entries
            .iter()
            .filter(|entry| entry.rendered.is_some())
            .count();
        writeln!(
            out,
            "up to date: {rendered} files match svcgen.toml and the protos"
        )?;
        return Ok(());
    }
    let mut problems = Vec::new();
    for (action, label) in [
        (Action::Update, "drifted"),
        (Action::Create, "missing"),
        (Action::Conflict, "conflicting"),
        (Action::Delete, "obsolete"),
        (Action::Signature, "signature"),
    ] {
        for entry in plan.with(action) {
            writeln!(out, "{label:>12}  {}", entry.path)?;
            problems.push(entry.path.clone());
        }
    }
    if plan.lock_changed() {
        let label = if plan.lock_action == Action::Create {
            "missing"
        } else {
            "drifted"
        };
        writeln!(out, "{label:>12}  {}", crate::lock::FILE_NAME)?;
        problems.push(crate::lock::FILE_NAME.to_owned());
    }
    write!(
        out,
        "{}",
        crate::report::reshaped(&plan, &project.root, false, false)
    )?;
    Err(Error::Drift {
        count: problems.len(),
    }
    .into())
}
