//! `svcgen generate`: re-renders a project from its spec and protos after they changed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Output, Run, carry_out};
use crate::project::Existing;
use crate::report::Diffs;

/// The options of `svcgen generate`.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// The project; default the current directory.
    pub project: Option<PathBuf>,
    /// Print the plan and diffs, write nothing.
    pub dry_run: bool,
    /// Overwrite managed files edited by hand (keeping `.orig` copies).
    pub force: bool,
}

/// Runs `svcgen generate`.
///
/// # Errors
/// Not a project, invalid protos, conflicts, or a failed write.
pub fn run(
    options: &GenerateOptions,
    output: Output,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let project = Existing::open(options.project.as_deref())?;
    let generated = project.generate(BTreeMap::new())?;
    let plan = project.plan(&generated.files, options.force)?;
    carry_out(
        &plan,
        &project.root,
        &generated.warnings,
        Run {
            dry_run: options.dry_run,
            diffs: Diffs::All,
            output,
            notes: "",
        },
        out,
    )
}
