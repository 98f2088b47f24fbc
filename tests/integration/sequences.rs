//! Property: over random sequences of `add-rpc`, hand edits of the proto, edits of user
//! files and `generate`, no user edit is ever lost, and every step either succeeds
//! (leaving a tree `check` finds up to date) or fails writing nothing. A sample of the
//! sequences is compiled with `cargo check`, after the user changed an rpc's streaming
//! kinds and gave its handler the signature `generate` asked for.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::TestRunner;
use svcgen::commands::{Output, add_rpc, check, generate};

use crate::lifecycle::{new_project, new_project_named};
use crate::support::tree;

const PROTO: &str = "proto/greeter/v1/greeter.proto";

/// One step of a sequence.
#[derive(Debug, Clone)]
enum Op {
    /// `add-rpc Greeter.Op<n>` with the given streaming kinds.
    AddRpc { n: u8, client: bool, server: bool },
    /// Delete the line of rpc `Op<n>` from the proto by hand.
    RemoveRpc { n: u8 },
    /// Add a comment to the proto by hand.
    CommentProto,
    /// Append a line to one of the user's files (picked by index).
    EditUserFile { pick: usize },
    /// `svcgen generate`.
    Generate,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..6u8, any::<bool>(), any::<bool>()).prop_map(|(n, client, server)| Op::AddRpc { n, client, server }),
        1 => (0..6u8).prop_map(|n| Op::RemoveRpc { n }),
        1 => Just(Op::CommentProto),
        2 => any::<usize>().prop_map(|pick| Op::EditUserFile { pick }),
        2 => Just(Op::Generate),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..8)
}

/// The user files a step may edit: handlers, app, config and tests that exist now.
fn user_files(project: &Path) -> Vec<PathBuf> {
    let lock = svcgen::lock::Lock::load(project)
        .unwrap()
        .unwrap_or_default();
    lock.files
        .iter()
        .filter(|(path, file)| {
            file.owner == svcgen::lock::LockOwner::User
                && (path.ends_with(".rs") || path.ends_with(".toml"))
                && project.join(path).is_file()
        })
        .map(|(path, _)| PathBuf::from(path))
        .collect()
}

/// Runs `ops` on `project`, checking the invariants after every step.
fn apply(project: &Path, ops: &[Op]) -> Result<(), TestCaseError> {
    let quiet = Output::default();
    // What each edited user file must hold from now on.
    let mut edited: BTreeMap<PathBuf, String> = BTreeMap::new();
    for (step, op) in ops.iter().enumerate() {
        let before = tree(project);
        let result = match op {
            Op::AddRpc { n, client, server } => add_rpc::run(
                &add_rpc::AddRpcOptions {
                    target: format!("Greeter.Op{n}"),
                    client_streaming: *client,
                    server_streaming: *server,
                    project: Some(project.to_owned()),
                    ..Default::default()
                },
                quiet,
                &mut Vec::new(),
            ),
            Op::Generate => generate::run(
                &generate::GenerateOptions {
                    project: Some(project.to_owned()),
                    ..Default::default()
                },
                quiet,
                &mut Vec::new(),
            ),
            Op::RemoveRpc { n } => {
                let path = project.join(PROTO);
                let text = std::fs::read_to_string(&path).unwrap();
                let needle = format!("rpc Op{n}(");
                let kept: String = text
                    .split_inclusive('\n')
                    .filter(|line| !line.contains(&needle))
                    .collect();
                std::fs::write(&path, kept).unwrap();
                Ok(())
            }
            Op::CommentProto => {
                let path = project.join(PROTO);
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, format!("{text}// step {step}\n")).unwrap();
                Ok(())
            }
            Op::EditUserFile { pick } => {
                let files = user_files(project);
                let file = &files[pick % files.len()];
                let path = project.join(file);
                let marker = if file.extension().is_some_and(|ext| ext == "toml") {
                    "#"
                } else {
                    "//"
                };
                let text = format!(
                    "{}{marker} user edit {step}\n",
                    std::fs::read_to_string(&path).unwrap()
                );
                std::fs::write(&path, &text).unwrap();
                edited.insert(file.clone(), text);
                Ok(())
            }
        };
        let is_svcgen = matches!(op, Op::AddRpc { .. } | Op::Generate);
        match result {
            Err(_) => prop_assert!(
                tree(project) == before,
                "step {step} {op:?} failed but wrote"
            ),
            Ok(()) if is_svcgen => {
                let clean = check::run(
                    &check::CheckOptions {
                        project: Some(project.to_owned()),
                    },
                    &mut Vec::new(),
                );
                prop_assert!(clean.is_ok(), "after step {step} {op:?}, check: {clean:?}");
            }
            Ok(()) => {}
        }
        for (file, text) in &edited {
            let now = std::fs::read_to_string(project.join(file));
            prop_assert!(
                now.as_deref().ok() == Some(text.as_str()),
                "step {step} {op:?} lost the edit of {file:?}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn no_user_edit_is_ever_lost(ops in ops()) {
        let (_dir, project) = new_project();
        apply(&project, &ops)?;
    }
}

#[test]
fn sampled_sequences_leave_a_project_that_compiles() {
    let mut runner = TestRunner::deterministic();
    for sample in 0..2 {
        // A name of its own: see `e2e::cargo`.
        let (_dir, project) = new_project_named(&format!("sample{sample}"));
        let mut sequence = ops().new_tree(&mut runner).expect("a sequence").current();
        // Make every sample exercise add-rpc and generate at least once.
        sequence.push(Op::AddRpc {
            n: 9,
            client: sample == 0,
            server: true,
        });
        sequence.push(Op::Generate);
        apply(&project, &sequence).unwrap_or_else(|error| panic!("{sequence:?}: {error}"));
        // The user then changes Op9's streaming kinds by hand, and gives its handler the
        // signature generate asks for.
        let new_rpc = if sample == 0 {
            "rpc Op9(Op9Request) returns (Op9Response);"
        } else {
            "rpc Op9(stream Op9Request) returns (Op9Response);"
        };
        let asked = reshape(&project, "Op9", new_rpc);
        if sample == 0 {
            // As svcgen warned: the kept handler no longer fits the managed glue.
            let output = crate::support::run(&mut crate::e2e::cargo(&project, &["check"]));
            let stderr = crate::support::text(&output.stderr);
            assert!(!output.status.success(), "a stale handler compiled");
            assert!(stderr.contains("E0308"), "{stderr}");
        }
        std::fs::write(
            project.join("src/handlers/greeter/op9.rs"),
            format!("{asked} {{\n    Err(Status::unimplemented(\"later\"))\n}}\n"),
        )
        .unwrap();
        crate::e2e::succeeds(&mut crate::e2e::cargo(
            &project,
            &["check", "--all-targets"],
        ));
    }
}

/// Replaces the declaration of `rpc` in the proto by `declaration`, runs generate and
/// returns the `use` lines and function signature it asks the handler to have.
fn reshape(project: &Path, rpc: &str, declaration: &str) -> String {
    let path = project.join(PROTO);
    let text = std::fs::read_to_string(&path).unwrap();
    let needle = format!("rpc {rpc}(");
    let edited: String = text
        .split_inclusive('\n')
        .map(|line| {
            if line.contains(&needle) {
                format!("  {declaration}\n")
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_ne!(edited, text, "{rpc} is declared");
    std::fs::write(&path, edited).unwrap();
    let handler = format!("src/handlers/greeter/{}.rs", rpc.to_lowercase());
    let before = std::fs::read(project.join(&handler)).unwrap();
    let mut out = Vec::new();
    generate::run(
        &generate::GenerateOptions {
            project: Some(project.to_owned()),
            ..Default::default()
        },
        Output::default(),
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        std::fs::read(project.join(&handler)).unwrap() == before,
        "generate modified {handler}"
    );
    let warning = format!(
        "warning: rpc greeter.v1.Greeter.{rpc} changed since svcgen created {}",
        project.join(&handler).display()
    );
    let after = out
        .split_once(&warning)
        .unwrap_or_else(|| panic!("{warning:?} in\n{out}"))
        .1;
    // The signature: the block indented by four spaces that starts with its `use` lines.
    let mut asked: Vec<&str> = after
        .lines()
        .skip_while(|line| !line.starts_with("    use "))
        .take_while(|line| line.is_empty() || line.starts_with("    "))
        .map(|line| line.strip_prefix("    ").unwrap_or(line))
        .collect();
    while asked.last().is_some_and(|line| line.is_empty()) {
        asked.pop();
    }
    assert!(
        asked.last().is_some_and(|line| line.contains("-> Result<")),
        "{out}"
    );
    asked.join("\n")
}
