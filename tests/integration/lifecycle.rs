//! A project's life after `new`: `add-rpc`, `generate` and `check`, and the ownership
//! rules they follow (nothing the user wrote is ever lost).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use similar::{ChangeTag, TextDiff};

use crate::support::{edit, run, svcgen, text, text_tree, tree};

/// A new greeter project `demo` in a temporary directory.
pub fn new_project() -> (tempfile::TempDir, PathBuf) {
    new_project_named("demo")
}

/// A new greeter project `name` in a temporary directory.
pub fn new_project_named(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let output = run(svcgen(dir.path()).args(["new", name]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let project = dir.path().join(name);
    (dir, project)
}

/// Runs svcgen in `project`; returns (success, stdout, stderr).
fn svcgen_in(project: &Path, args: &[&str]) -> (bool, String, String) {
    let output = run(svcgen(project).args(args));
    (
        output.status.success(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

fn succeeds(project: &Path, args: &[&str]) -> String {
    let (ok, stdout, stderr) = svcgen_in(project, args);
    assert!(ok, "svcgen {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// Runs a command expected to fail and checks it wrote nothing; returns stdout + stderr.
fn fails_writing_nothing(project: &Path, args: &[&str]) -> String {
    let before = tree(project);
    let (ok, stdout, stderr) = svcgen_in(project, args);
    assert!(!ok, "svcgen {args:?} should fail:\n{stdout}");
    assert!(tree(project) == before, "svcgen {args:?} changed the tree");
    format!("{stdout}{stderr}")
}

fn check_passes(project: &Path) {
    let stdout = succeeds(project, &["check"]);
    assert!(stdout.contains("up to date"), "{stdout}");
}

fn mtimes(project: &Path) -> BTreeMap<PathBuf, SystemTime> {
    tree(project)
        .into_keys()
        .map(|path| {
            let modified = std::fs::metadata(project.join(&path))
                .unwrap()
                .modified()
                .unwrap();
            (path, modified)
        })
        .collect()
}

/// Only insertions between `before` and `after`.
fn only_insertions(before: &str, after: &str) -> bool {
    TextDiff::from_lines(before, after)
        .iter_all_changes()
        .all(|change| change.tag() != ChangeTag::Delete)
}

const PROTO: &str = "proto/greeter/v1/greeter.proto";

#[test]
fn check_passes_after_new_and_generate_changes_nothing_twice() {
    let (_dir, project) = new_project();
    check_passes(&project);
    let before = (tree(&project), mtimes(&project));
    for _ in 0..2 {
        let stdout = succeeds(&project, &["generate"]);
        assert!(
            stdout
                .lines()
                .all(|line| line.trim_start().starts_with("unchanged")),
            "{stdout}"
        );
    }
    assert!(
        (tree(&project), mtimes(&project)) == before,
        "generate wrote something"
    );
    check_passes(&project);
}

#[test]
fn files_an_interrupted_run_left_behind_are_reported_and_kept() {
    let (_dir, project) = new_project();
    // What a run killed between its renames and its clean-up leaves: the old contents
    // of a replaced file, and new contents it had not put in place yet.
    let old = "src/.svcgen-main.rs.Ab12Cd.old";
    let staged = "src/svcgen/.svcgen-mod.rs.Xy34Zw.tmp";
    std::fs::write(project.join(old), "fn main() {}\n").unwrap();
    std::fs::write(project.join(staged), "partial").unwrap();
    for args in [
        &["check"][..],
        &["generate"],
        &["add-rpc", "Greeter.Farewell"],
    ] {
        let stdout = succeeds(&project, args);
        for line in [
            "warning: an interrupted svcgen run (a crash or a kill) left files behind; svcgen does not remove them:",
            &format!("  {old}  what src/main.rs held before that run"),
            &format!(
                "  {staged}  new contents for src/svcgen/mod.rs never put in place: safe to delete"
            ),
        ] {
            assert!(stdout.contains(line), "{args:?}: {line} in\n{stdout}");
        }
    }
    assert!(project.join(old).is_file() && project.join(staged).is_file());
    std::fs::remove_file(project.join(old)).unwrap();
    std::fs::remove_file(project.join(staged)).unwrap();
    let stdout = succeeds(&project, &["check"]);
    assert!(!stdout.contains("interrupted"), "{stdout}");
}

#[test]
fn check_fails_on_a_hand_edited_managed_file_and_an_ungenerated_proto_change() {
    let (_dir, project) = new_project();
    edit(&project, "src/svcgen/mod.rs", |text| {
        format!("{text}// tweak\n")
    });
    let out = fails_writing_nothing(&project, &["check"]);
    assert!(out.contains("conflicting  src/svcgen/mod.rs"), "{out}");

    let (_dir, project) = new_project();
    edit(&project, PROTO, |text| {
        text.replace(
            "  rpc Chat(",
            "  rpc Ping(HelloRequest) returns (HelloReply);\n  rpc Chat(",
        )
    });
    let out = fails_writing_nothing(&project, &["check"]);
    assert!(out.contains("drifted  src/svcgen/mod.rs"), "{out}");
    assert!(
        out.contains("missing  src/handlers/greeter/ping.rs"),
        "{out}"
    );
    succeeds(&project, &["generate"]);
    check_passes(&project);
}

#[test]
fn a_hand_edited_managed_file_is_a_conflict_until_forced() {
    let (_dir, project) = new_project();
    edit(&project, "src/svcgen/mod.rs", |text| {
        format!("{text}// mine\n")
    });
    // A proto change makes generate want to rewrite the edited file.
    edit(&project, PROTO, |text| {
        text.replace(
            "  rpc Chat(",
            "  rpc Ping(HelloRequest) returns (HelloReply);\n  rpc Chat(",
        )
    });
    let out = fails_writing_nothing(&project, &["generate"]);
    assert!(out.contains("conflict  src/svcgen/mod.rs"), "{out}");
    assert!(out.contains("-// mine"), "the diff shows the edit: {out}");
    assert!(out.contains("edited by hand"), "{out}");

    let stdout = succeeds(&project, &["generate", "--force"]);
    assert!(
        stdout.contains(
            "   updated  src/svcgen/mod.rs  (your version kept as src/svcgen/mod.rs.orig)\n"
        ),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("your version kept").count(),
        1,
        "only the edited file is backed up: {stdout}"
    );
    let orig = std::fs::read_to_string(project.join("src/svcgen/mod.rs.orig")).unwrap();
    assert!(orig.ends_with("// mine\n"));
    let now = std::fs::read_to_string(project.join("src/svcgen/mod.rs")).unwrap();
    assert!(!now.contains("// mine"));
    check_passes(&project);

    // A second forced edit keeps the first backup.
    edit(&project, "src/svcgen/mod.rs", |text| {
        format!("{text}// mine again\n")
    });
    let stdout = succeeds(&project, &["generate", "--force"]);
    assert!(
        stdout.contains("(your version kept as src/svcgen/mod.rs.orig.1)"),
        "{stdout}"
    );
    let orig = std::fs::read_to_string(project.join("src/svcgen/mod.rs.orig")).unwrap();
    assert!(orig.ends_with("// mine\n"));
    let orig = std::fs::read_to_string(project.join("src/svcgen/mod.rs.orig.1")).unwrap();
    assert!(orig.ends_with("// mine again\n"));
}

#[test]
fn a_removed_rpc_leaves_a_stale_handler_that_is_never_deleted() {
    let (_dir, project) = new_project();
    edit(&project, "src/handlers/greeter/chat.rs", |text| {
        format!("{text}// my chat\n")
    });
    edit(&project, PROTO, |text| {
        let kept: Vec<&str> = text
            .lines()
            .filter(|line| !line.contains("rpc Chat("))
            .collect();
        kept.join("\n") + "\n"
    });
    let stdout = succeeds(&project, &["generate"]);
    assert!(
        stdout.contains("stale  src/handlers/greeter/chat.rs  (no longer generated"),
        "{stdout}"
    );
    assert!(
        std::fs::read_to_string(project.join("src/handlers/greeter/chat.rs"))
            .unwrap()
            .ends_with("// my chat\n")
    );
    let handlers = std::fs::read_to_string(project.join("src/handlers/greeter/mod.rs")).unwrap();
    assert!(!handlers.contains("chat"), "{handlers}");
    let glue = std::fs::read_to_string(project.join("src/svcgen/mod.rs")).unwrap();
    assert!(!glue.contains("chat"), "{glue}");
    let stdout = succeeds(&project, &["check"]);
    assert!(
        stdout.contains("src/handlers/greeter/chat.rs is no longer generated (stale)"),
        "{stdout}"
    );
}

const CHAT_HANDLER: &str = "src/handlers/greeter/chat.rs";

/// The user turns `Chat` from bidi-streaming to unary by hand.
fn make_chat_unary(project: &Path) {
    edit(project, PROTO, |text| {
        let changed = text.replace(
            "rpc Chat(stream HelloRequest) returns (stream HelloReply);",
            "rpc Chat(HelloRequest) returns (HelloReply);",
        );
        assert_ne!(changed, text, "the proto declares Chat as expected");
        changed
    });
}

fn locked_signature(project: &Path, path: &str) -> Option<String> {
    let lock = svcgen::lock::Lock::load(project).unwrap().unwrap();
    lock.files[path].signature.clone()
}

#[test]
fn an_rpc_whose_signature_changed_keeps_its_handler_and_says_what_it_must_become() {
    let (_dir, project) = new_project();
    assert_eq!(
        locked_signature(&project, CHAT_HANDLER).as_deref(),
        Some("rpc Chat(stream greeter.v1.HelloRequest) returns (stream greeter.v1.HelloReply)"),
        "new records what each handler is written for"
    );
    let handler = std::fs::read(project.join(CHAT_HANDLER)).unwrap();
    make_chat_unary(&project);

    // Until generate records the new signature, check fails and names the handler.
    let out = fails_writing_nothing(&project, &["check"]);
    assert!(
        out.contains("   signature  src/handlers/greeter/chat.rs"),
        "{out}"
    );
    assert!(
        out.contains("warning: rpc greeter.v1.Greeter.Chat changed"),
        "{out}"
    );
    let before = tree(&project);
    let dry_run = succeeds(&project, &["generate", "--dry-run"]);
    assert!(tree(&project) == before, "dry run wrote something");
    assert!(
        dry_run.contains("now: rpc Chat(greeter.v1.HelloRequest) returns (greeter.v1.HelloReply)"),
        "{dry_run}"
    );
    assert!(
        !dry_run.contains("this warning is not repeated"),
        "{dry_run}"
    );

    // generate writes the managed files, keeps the handler and says what it must become.
    let stdout = succeeds(&project, &["generate"]);
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("generate_changed_signature", stdout);
    });
    assert!(
        std::fs::read(project.join(CHAT_HANDLER)).unwrap() == handler,
        "the handler is the user's: never modified"
    );
    let glue = std::fs::read_to_string(project.join("src/svcgen/mod.rs")).unwrap();
    assert!(
        !glue.contains("ChatStream"),
        "the glue serves the unary rpc: {glue}"
    );
    assert_eq!(
        locked_signature(&project, CHAT_HANDLER).as_deref(),
        Some("rpc Chat(greeter.v1.HelloRequest) returns (greeter.v1.HelloReply)")
    );

    // Told once: from now on the tree is up to date and generate quiet.
    check_passes(&project);
    let again = succeeds(&project, &["generate"]);
    assert!(!again.contains("warning: rpc"), "{again}");
}

#[test]
fn add_rpc_also_reports_a_handler_whose_rpc_changed() {
    let (_dir, project) = new_project();
    let handler = std::fs::read(project.join(CHAT_HANDLER)).unwrap();
    make_chat_unary(&project);
    let stdout = succeeds(&project, &["add-rpc", "Greeter.Ping"]);
    assert!(
        stdout.contains(" signature  src/handlers/greeter/chat.rs  (kept; its rpc changed"),
        "{stdout}"
    );
    for expected in [
        "warning: rpc greeter.v1.Greeter.Chat changed since svcgen created src/handlers/greeter/chat.rs",
        "    was: rpc Chat(stream greeter.v1.HelloRequest) returns (stream greeter.v1.HelloReply)",
        "    now: rpc Chat(greeter.v1.HelloRequest) returns (greeter.v1.HelloReply)",
        "    pub async fn chat(\n        _state: Arc<AppState>,\n        _request: Request<HelloRequest>,\n    ) -> Result<Response<HelloReply>, Status>\n",
        "created  src/handlers/greeter/ping.rs",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in\n{stdout}");
    }
    assert!(std::fs::read(project.join(CHAT_HANDLER)).unwrap() == handler);
    check_passes(&project);
}

#[test]
fn add_rpc_keeps_every_user_file_and_only_inserts_into_the_proto() {
    let (_dir, project) = new_project();
    // The user's own work: handler bodies, app state, config, a proto comment.
    edit(&project, "src/handlers/greeter/say_hello.rs", |text| {
        text.replace("format!(", "format!(\n        // polite\n        ")
    });
    edit(&project, "src/app.rs", |text| {
        format!("{text}\n// my notes\n")
    });
    edit(&project, "config/default.toml", |text| {
        text.replace("greeting = \"Hello\"", "greeting = \"Hi\"")
    });
    edit(&project, PROTO, |text| {
        text.replace(
            "service Greeter {",
            "// Owned by the greeting team.\nservice Greeter {",
        )
    });
    let before = text_tree(&project);

    for args in [
        vec![
            "add-rpc",
            "Greeter.SayGoodbye",
            "--http",
            "GET /v1/goodbye/{name}",
        ],
        vec![
            "add-rpc",
            "Greeter.WatchGoodbyes",
            "--server-streaming",
            "--request",
            "HelloRequest",
        ],
        vec![
            "add-rpc",
            "greeter.v1.Greeter.UploadNames",
            "--client-streaming",
            "--response",
            "google.protobuf.Empty",
        ],
        vec![
            "add-rpc",
            "Greeter.Converse",
            "--client-streaming",
            "--server-streaming",
            "--request",
            "HelloRequest",
            "--response",
            "HelloReply",
        ],
    ] {
        let stdout = succeeds(&project, &args);
        assert!(
            stdout.contains("updated  proto/greeter/v1/greeter.proto"),
            "{stdout}"
        );
        check_passes(&project);
    }
    let after = text_tree(&project);
    let lock = svcgen::lock::Lock::load(&project).unwrap().unwrap();
    for (path, text) in &before {
        let path_str = path.to_string_lossy();
        let owner = lock.files.get(path_str.as_ref()).map(|file| file.owner);
        if owner == Some(svcgen::lock::LockOwner::User) {
            assert!(after[path] == *text, "user file {path_str} changed");
        }
    }
    assert!(only_insertions(
        &before[Path::new(PROTO)],
        &after[Path::new(PROTO)]
    ));
    let proto = &after[Path::new(PROTO)];
    for rpc in [
        "rpc SayGoodbye(SayGoodbyeRequest) returns (SayGoodbyeResponse) {",
        "get: \"/v1/goodbye/{name}\"",
        "rpc WatchGoodbyes(HelloRequest) returns (stream WatchGoodbyesResponse);",
        "rpc UploadNames(stream UploadNamesRequest) returns (google.protobuf.Empty);",
        "rpc Converse(stream HelloRequest) returns (stream HelloReply);",
        "import \"google/api/annotations.proto\";",
        "import \"google/protobuf/empty.proto\";",
        "message SayGoodbyeRequest {\n  string name = 1;\n}",
    ] {
        assert!(proto.contains(rpc), "{rpc} in\n{proto}");
    }
    for handler in ["say_goodbye", "watch_goodbyes", "upload_names", "converse"] {
        let text = &after[&PathBuf::from(format!("src/handlers/greeter/{handler}.rs"))];
        assert!(text.contains("Status::unimplemented"), "{handler}: {text}");
    }
    assert!(after.contains_key(Path::new("proto/google/api/annotations.proto")));
    // The managed API.md lists the new rpcs; the README (the user's) is as it was.
    let api = &after[Path::new("API.md")];
    for row in [
        "| `rpc SayHello(greeter.v1.HelloRequest) returns (greeter.v1.HelloReply)` | `src/handlers/greeter/say_hello.rs` |",
        "| `rpc Converse(stream greeter.v1.HelloRequest) returns (stream greeter.v1.HelloReply)` | `src/handlers/greeter/converse.rs` |",
        "| `rpc UploadNames(stream greeter.v1.UploadNamesRequest) returns (google.protobuf.Empty)` | `src/handlers/greeter/upload_names.rs` |",
    ] {
        assert!(api.contains(row), "{row} in\n{api}");
    }
    assert!(!before[Path::new("API.md")].contains("Converse"));
}

#[test]
fn add_rpc_dry_run_prints_the_plan_and_the_diffs_and_writes_nothing() {
    let (_dir, project) = new_project();
    let before = tree(&project);
    let stdout = succeeds(
        &project,
        &[
            "add-rpc",
            "Greeter.SayGoodbye",
            "--server-streaming",
            "--dry-run",
        ],
    );
    assert!(tree(&project) == before, "dry run wrote something");
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("add_rpc_dry_run", stdout);
    });
}

#[test]
fn generate_dry_run_prints_the_diff_of_a_proto_change() {
    let (_dir, project) = new_project();
    edit(&project, PROTO, |text| {
        text.replace(
            "  rpc Chat(",
            "  rpc Ping(HelloRequest) returns (HelloReply);\n  rpc Chat(",
        )
    });
    let before = tree(&project);
    let stdout = succeeds(&project, &["generate", "--dry-run"]);
    assert!(tree(&project) == before, "dry run wrote something");
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("generate_dry_run", stdout);
    });
}

#[test]
fn add_rpc_rejects_bad_requests_and_writes_nothing() {
    let (_dir, project) = new_project();
    for (args, expected) in [
        (
            vec!["add-rpc", "Nope.Foo"],
            "unknown service `Nope`; the services are: greeter.v1.Greeter",
        ),
        (
            vec!["add-rpc", "Greeter.SayHello"],
            "rpc `greeter.v1.Greeter.SayHello` already exists",
        ),
        (vec!["add-rpc", "Greeter.say_hello"], "already exists"),
        (
            vec!["add-rpc", "Greeter.9Lives"],
            "`9Lives` is not a valid rpc name",
        ),
        (
            vec!["add-rpc", "Greeter.bad_name"],
            "error: `bad_name` is not a valid rpc name: it is not UpperCamelCase\n  help: did you mean `Greeter.BadName`?",
        ),
        (
            vec!["add-rpc", "greeter.v1.Greeter.sayGoodbye"],
            "did you mean `greeter.v1.Greeter.SayGoodbye`?",
        ),
        (vec!["add-rpc", "Greeter"], "`Greeter` does not name an rpc"),
        (
            vec!["add-rpc", "Greeter.Go", "--request", "not-a-type"],
            "`not-a-type` is not a valid message name",
        ),
        (
            vec!["add-rpc", "Greeter.Go", "--request", "acme.Missing"],
            "message `acme.Missing` does not exist",
        ),
        (
            vec!["add-rpc", "Greeter.Go", "--http", "FETCH /x"],
            "invalid --http",
        ),
        (
            vec![
                "add-rpc",
                "Greeter.Go",
                "--http",
                "GET /x/{id}",
                "--request",
                "HelloRequest",
            ],
            "`{id}` is not a field of `greeter.v1.HelloRequest`",
        ),
        (
            vec![
                "add-rpc",
                "Greeter.Go",
                "--client-streaming",
                "--http",
                "POST /x",
            ],
            "--http cannot map a client-streaming rpc",
        ),
    ] {
        let out = fails_writing_nothing(&project, &args);
        assert!(
            out.contains(expected),
            "{args:?}: expected {expected:?} in\n{out}"
        );
    }
    // A type that exists, but as an enum.
    edit(&project, PROTO, |text| {
        format!("{text}\nenum Mood {{\n  MOOD_UNSPECIFIED = 0;\n}}\n")
    });
    let out = fails_writing_nothing(&project, &["add-rpc", "Greeter.Go", "--response", "Mood"]);
    assert!(
        out.contains("`greeter.v1.Mood` is an enum, not a message"),
        "{out}"
    );
}

#[test]
fn add_rpc_reports_the_messages_it_creates_and_a_close_existing_name() {
    let (_dir, project) = new_project();
    let args = ["add-rpc", "Greeter.A3", "--request", "HeloRequest"];
    let before = tree(&project);
    let dry_run = succeeds(&project, &[&args[..], &["--dry-run"]].concat());
    assert!(tree(&project) == before, "dry run wrote something");
    assert!(
        dry_run.contains(
            "\ncreated message HeloRequest in proto/greeter/v1/greeter.proto\n  hint: no message HeloRequest existed; did you mean HelloRequest? If so, run add-rpc again with `--request HelloRequest`\ncreated message A3Response in proto/greeter/v1/greeter.proto\ndry run: nothing was written\n"
        ),
        "{dry_run}"
    );

    let stdout = succeeds(&project, &args);
    for expected in [
        "created message HeloRequest in proto/greeter/v1/greeter.proto\n",
        "  hint: no message HeloRequest existed; did you mean HelloRequest? If so, make rpc A3 use HelloRequest in the proto, delete message HeloRequest, and run `svcgen generate`\n",
        "created message A3Response in proto/greeter/v1/greeter.proto\n",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in\n{stdout}");
    }
    let proto = std::fs::read_to_string(project.join(PROTO)).unwrap();
    assert!(proto.contains("message HeloRequest {}"), "{proto}");

    // Names add-rpc chose, and names far from any message, get no hint.
    let stdout = succeeds(&project, &["add-rpc", "Greeter.Ping", "--response", "Pong"]);
    assert!(
        stdout.contains("created message PingRequest in proto/greeter/v1/greeter.proto\ncreated message Pong in proto/greeter/v1/greeter.proto\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("hint:"), "{stdout}");
    // Names that exist are used, not created.
    let stdout = succeeds(
        &project,
        &[
            "add-rpc",
            "Greeter.Pang",
            "--request",
            "Pong",
            "--response",
            "HelloReply",
        ],
    );
    assert!(!stdout.contains("created message"), "{stdout}");
    check_passes(&project);
}

#[test]
fn a_spec_naming_a_missing_proto_says_where_it_looked() {
    let (_dir, project) = new_project();
    edit(&project, "svcgen.toml", |text| {
        text.replace("greeter/v1/greeter.proto", "greeter/v1/gone.proto")
    });
    for args in [
        vec!["check"],
        vec!["generate"],
        vec!["add-rpc", "Greeter.Go"],
    ] {
        let out = fails_writing_nothing(&project, &args);
        assert!(
            out.contains(
                "error: proto file `greeter/v1/gone.proto` does not exist\n  help: looked for ./proto/greeter/v1/gone.proto\n"
            ),
            "{args:?}: {out}"
        );
    }
}

#[test]
fn a_project_without_its_lock_is_reported_so() {
    let (_dir, project) = new_project();
    // The user wrote a handler of their own before the lock was lost.
    edit(&project, "src/handlers/greeter/chat.rs", |text| {
        format!("{text}\n// Our own chat.\n")
    });
    std::fs::remove_file(project.join("svcgen.lock")).unwrap();
    let out = fails_writing_nothing(&project, &["check"]);
    assert!(out.contains("     missing  svcgen.lock\n"), "{out}");
    let stdout = succeeds(&project, &["generate"]);
    assert!(stdout.contains("   created  svcgen.lock\n"), "{stdout}");
    check_passes(&project);
    // Every file is in the new lock, the edited handler too: it is still tracked, and
    // reported stale once its rpc is gone.
    let lock = std::fs::read_to_string(project.join("svcgen.lock")).unwrap();
    assert!(
        lock.contains("[files.\"src/handlers/greeter/chat.rs\"]"),
        "{lock}"
    );
    edit(&project, "proto/greeter/v1/greeter.proto", |text| {
        text.lines()
            .filter(|line| !line.trim_start().starts_with("rpc Chat("))
            .map(|line| format!("{line}\n"))
            .collect()
    });
    let stdout = succeeds(&project, &["generate"]);
    assert!(
        stdout.contains("stale  src/handlers/greeter/chat.rs"),
        "{stdout}"
    );
}

#[test]
fn commands_outside_a_project_say_so() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["generate"],
        vec!["check"],
        vec!["add-rpc", "Greeter.Go"],
    ] {
        let out = fails_writing_nothing(dir.path(), &args);
        assert!(out.contains("is not a svcgen project"), "{out}");
        assert!(out.contains("--project"), "{out}");
    }
}

#[test]
fn svcgens_cargo_entries_follow_the_spec_and_the_users_are_left_alone() {
    let (_dir, project) = new_project();
    // The user's own dependency, svcgen's tonic entry changed, its tracing entry removed.
    edit(&project, "Cargo.toml", |text| {
        text.replace(
            "anyhow = \"1.0.105\"\n",
            "anyhow = \"1.0.105\"\nbytes = \"1\" # mine\n",
        )
        .replace(
            "tonic = \"0.14.9\"",
            "tonic = { version = \"0.14.9\", features = [\"zstd\"] }",
        )
        .replace("tracing = \"0.1.44\"\n", "")
    });
    // The runtime now comes from elsewhere: svcgen's entry of it changes.
    edit(&project, "svcgen.toml", |text| {
        format!("{text}\n[runtime]\npath = \"../svcgen-runtime\"\n")
    });
    let stdout = succeeds(&project, &["generate"]);
    assert!(stdout.contains("   updated  Cargo.toml\n"), "{stdout}");
    assert!(
        stdout.contains("   deleted  vendor/svcgen-runtime/"),
        "no vendored copy then: {stdout}"
    );
    assert!(!stdout.contains("left them as they are"), "{stdout}");
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    for line in [
        "bytes = \"1\" # mine\n",
        "tonic = { version = \"0.14.9\", features = [\"zstd\"] }\n",
        "svcgen-runtime = { version = \"=0.2.0\", path = \"../svcgen-runtime\" }\n",
        // Needed by the generated code: back.
        "tracing = \"0.1.44\"\n",
    ] {
        assert!(manifest.contains(line), "{line} in\n{manifest}");
    }
    check_passes(&project);

    // svcgen would change an entry the user changed: it is left, and said so.
    edit(&project, "Cargo.toml", |text| {
        text.replace(
            "svcgen-runtime = { version = \"=0.2.0\", path = \"../svcgen-runtime\" }",
            "svcgen-runtime = { version = \"=0.2.0\", path = \"../mine\" }",
        )
    });
    edit(&project, "svcgen.toml", |text| {
        text.replace("../svcgen-runtime", "../runtime")
    });
    let stdout = succeeds(&project, &["generate"]);
    assert!(
        stdout.contains(
            "warning: Cargo.toml has dependency entries you changed; svcgen left them as they are:\n  \
             [dependencies] svcgen-runtime = { version = \"=0.2.0\", path = \"../mine\" }\n      \
             svcgen now writes: svcgen-runtime = { version = \"=0.2.0\", path = \"../runtime\" }\n"
        ),
        "{stdout}"
    );
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("path = \"../mine\""), "{manifest}");
}
