//! What commands print about a plan: one line per file, and unified diffs (`similar`),
//! coloured on a terminal.

use std::fmt::Write as _;
use std::path::Path;

use similar::{ChangeTag, TextDiff};

use crate::plan::{Action, Entry, Plan};

/// One line per entry: `   updated  src/svcgen/grpc.rs`, with a note for conflicts and
/// stale files.
#[must_use]
pub fn lines(plan: &Plan, root: &Path) -> String {
    let mut out = String::new();
    let vendored = |path: &str| path.starts_with(&format!("{}/", crate::model::VENDORED_RUNTIME));
    let mut entries = plan.entries.iter().peekable();
    while let Some(entry) = entries.next() {
        // The vendored runtime is one unit: one line per action on its files, unless a
        // file of it needs saying more (a conflict, a backup).
        if vendored(&entry.path) && entry.backup.is_none() && entry.action != Action::Conflict {
            let mut count = 1;
            while entries
                .next_if(|next| {
                    vendored(&next.path) && next.action == entry.action && next.backup.is_none()
                })
                .is_some()
            {
                count += 1;
            }
            let _ = writeln!(
                out,
                "{:>10}  {}/  ({count} file{})",
                entry.action,
                shown(root, crate::model::VENDORED_RUNTIME),
                if count == 1 { "" } else { "s" }
            );
            continue;
        }
        let note = match entry.action {
            Action::Conflict => "  (edited by hand; not overwritten)",
            Action::Stale => "  (no longer generated; svcgen leaves it to you)",
            Action::Signature => "  (kept; its rpc changed: give it the new signature below)",
            _ => "",
        };
        let backup = match (&entry.backup, entry.action) {
            (Some(backup), Action::Update | Action::Delete) => {
                format!("  (your version kept as {})", shown(root, backup))
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{:>10}  {}{note}{backup}",
            entry.action,
            shown(root, &entry.path)
        );
    }
    if plan.lock_changed() {
        let _ = writeln!(
            out,
            "{:>10}  {}",
            plan.lock_action,
            shown(root, crate::lock::FILE_NAME)
        );
    }
    out
}

/// One warning per handler whose rpc changed signature ([`Action::Signature`]): the rpc,
/// its old and new signature, and the `use` lines and function the handler needs now.
/// `recorded`: the lock now holds the new signature, so the warning is not repeated.
#[must_use]
pub fn reshaped(plan: &Plan, root: &Path, recorded: bool, colour: bool) -> String {
    let mut out = String::new();
    for entry in plan.with(Action::Signature) {
        let Some(reshaped) = &entry.reshaped else {
            continue;
        };
        let _ = writeln!(
            out,
            "\n{} rpc {} changed since svcgen created {}\n    was: {}\n    now: {}",
            paint("warning:", "1;33", colour),
            reshaped.rpc,
            shown(root, &entry.path),
            reshaped.was,
            reshaped.now,
        );
        let _ = writeln!(
            out,
            "  The handler is your code, so svcgen never changes it, and the project will not\n  \
             compile until the handler has the signature the generated code now calls (your code\n  \
             calling the rpc, such as tests and examples, may need the change too):\n"
        );
        for line in reshaped.rust.lines() {
            let _ = writeln!(out, "{}", format!("    {line}").trim_end());
        }
        if recorded {
            let _ = writeln!(
                out,
                "\n  svcgen.lock now records the new signature: this warning is not repeated."
            );
        }
    }
    out
}

/// A warning listing the dependency entries of `Cargo.toml` svcgen would have changed
/// or removed, but left because their user changed them (see [`crate::manifest`]); empty
/// when there are none.
#[must_use]
pub fn manifest_left(plan: &Plan, root: &Path, colour: bool) -> String {
    if plan.manifest_left.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n{} {} has dependency entries you changed; svcgen left them as they are:\n",
        paint("warning:", "1;33", colour),
        shown(root, "Cargo.toml")
    );
    for left in &plan.manifest_left {
        let _ = writeln!(out, "  [{}] {}", left.section, left.yours);
        let _ = match &left.svcgen {
            Some(line) => writeln!(out, "      svcgen now writes: {line}"),
            None => writeln!(out, "      svcgen no longer needs it"),
        };
    }
    out
}

/// A warning about files interrupted svcgen runs left in the directories of `plan`'s
/// files (empty when there are none). svcgen does not remove them: an `.old` file may be
/// the only copy of what a file held before.
#[must_use]
pub fn leftovers(plan: &Plan, root: &Path, colour: bool) -> String {
    let dirs: Vec<&Path> = plan
        .entries
        .iter()
        .map(|entry| Path::new(&entry.path).parent().unwrap_or(Path::new("")))
        .chain([Path::new("")])
        .collect();
    let found = crate::write::leftovers(root, dirs);
    if found.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{} an interrupted svcgen run (a crash or a kill) left {} behind; svcgen does not remove them:\n",
        paint("warning:", "1;33", colour),
        if found.len() == 1 { "a file" } else { "files" }
    );
    for leftover in &found {
        let of = leftover.of.as_ref().map_or_else(
            || "a file".to_owned(),
            |of| shown(root, &of.to_string_lossy()),
        );
        let what = match leftover.kind {
            crate::write::LeftoverKind::Staged => {
                format!("new contents for {of} never put in place: safe to delete")
            }
            crate::write::LeftoverKind::Old => format!("what {of} held before that run"),
            crate::write::LeftoverKind::Deleted => format!("{of}, which that run was deleting"),
        };
        let _ = writeln!(
            out,
            "  {}  {what}",
            shown(root, &leftover.path.to_string_lossy())
        );
    }
    out.push_str(
        "  Compare each with the file it belongs to, keep what you need, then delete it.\n",
    );
    out
}

/// A path under `root` as the user knows it: relative when `root` is the current directory.
#[must_use]
pub fn shown(root: &Path, path: &str) -> String {
    if root == Path::new(".") || root.as_os_str().is_empty() {
        path.to_owned()
    } else {
        root.join(path).display().to_string()
    }
}

/// Which diffs a dry run prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diffs {
    /// Of every file that is created, changed or deleted (`generate`, `add-rpc`).
    All,
    /// Of the files that exist and are changed or deleted: `new`, whose files are all
    /// new (listed, not shown) unless `--force` writes over some.
    Existing,
}

/// A unified diff of every entry that changes the disk or conflicts (with
/// [`Diffs::Existing`], not of files created).
#[must_use]
pub fn diffs(plan: &Plan, which: Diffs, colour: bool) -> String {
    plan.entries
        .iter()
        .filter(|entry| entry.action.writes() || entry.action == Action::Conflict)
        .filter(|entry| which == Diffs::All || entry.disk.is_some())
        .map(|entry| diff(entry, colour))
        .collect()
}

/// The unified diff of one entry: the disk against what svcgen renders.
#[must_use]
pub fn diff(entry: &Entry, colour: bool) -> String {
    let old = entry.disk.as_deref().unwrap_or("");
    let new = entry.rendered.as_deref().unwrap_or("");
    let text = TextDiff::from_lines(old, new);
    let old_name = if entry.disk.is_some() {
        format!("a/{}", entry.path)
    } else {
        "/dev/null".to_owned()
    };
    let new_name = if entry.rendered.is_some() {
        format!("b/{}", entry.path)
    } else {
        "/dev/null".to_owned()
    };
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    for hunk in text.unified_diff().context_radius(3).iter_hunks() {
        let _ = writeln!(out, "{}", paint(&hunk.header().to_string(), "36", colour));
        for change in hunk.iter_changes() {
            let (sign, code) = match change.tag() {
                ChangeTag::Delete => ("-", "31"),
                ChangeTag::Insert => ("+", "32"),
                ChangeTag::Equal => (" ", ""),
            };
            let mut line = format!("{sign}{}", change.value());
            if !line.ends_with('\n') {
                line.push_str("\n\\ No newline at end of file\n");
            }
            let (body, end) = line.split_at(line.len() - 1);
            let _ = write!(
                out,
                "{}{end}",
                paint(body, code, colour && !code.is_empty())
            );
        }
    }
    out
}

fn paint(text: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\u{1b}[{code}m{text}\u{1b}[0m")
    } else {
        text.to_owned()
    }
}
