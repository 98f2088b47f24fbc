//! One module per command; each is `validate → plan → (print | write)`.

pub mod add_rpc;
pub mod check;
pub mod generate;
pub mod new;

use std::io::Write;
use std::path::Path;

use crate::error::Error;
use crate::plan::{Action, Plan};
use crate::report;

/// How a command prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    /// Colour diffs (stdout is a terminal).
    pub colour: bool,
}

/// How a command carries out its plan.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// Print the plan (and diffs), write nothing.
    pub dry_run: bool,
    /// Which diffs a dry run prints.
    pub diffs: report::Diffs,
    /// How to print.
    pub output: Output,
    /// Printed after the plan (and a dry run's diffs), before the warnings about
    /// handlers: what else the command did, such as the messages add-rpc created.
    pub notes: &'a str,
}

/// Prints `warnings` and `plan`, then writes it, or with `dry_run` prints its diffs and writes nothing.
/// Conflicts are printed with their diffs and fail the command before anything is
/// written. Handlers whose rpc changed signature are warned about last (the plan is
/// carried out all the same: the handler stays as the user wrote it).
///
/// # Errors
/// Conflicts, or a failed write (which leaves the tree as it was).
pub fn carry_out(
    plan: &Plan,
    root: &Path,
    warnings: &[String],
    run: Run<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let Run {
        dry_run,
        diffs,
        output,
        notes,
    } = run;
    for warning in warnings {
        writeln!(out, "{warning}")?;
    }
    write!(out, "{}", report::leftovers(plan, root, output.colour))?;
    write!(out, "{}", report::lines(plan, root))?;
    let conflicts: Vec<String> = plan
        .with(Action::Conflict)
        .map(|entry| entry.path.clone())
        .collect();
    if !conflicts.is_empty() {
        for entry in plan.with(Action::Conflict) {
            write!(out, "\n{}", report::diff(entry, output.colour))?;
        }
        return Err(Error::Conflicts { paths: conflicts }.into());
    }
    // Handlers that no longer fit their rpc come last, where they are seen.
    if dry_run {
        let diffs = report::diffs(plan, diffs, output.colour);
        if !diffs.is_empty() {
            write!(out, "\n{diffs}")?;
        }
        write!(out, "{notes}")?;
        write!(out, "{}", report::manifest_left(plan, root, output.colour))?;
        write!(
            out,
            "{}",
            report::reshaped(plan, root, false, output.colour)
        )?;
        writeln!(out, "dry run: nothing was written")?;
        return Ok(());
    }
    plan.apply(root)?;
    write!(out, "{notes}")?;
    write!(out, "{}", report::manifest_left(plan, root, output.colour))?;
    write!(out, "{}", report::reshaped(plan, root, true, output.colour))?;
    Ok(())
}
