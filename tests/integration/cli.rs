//! Bad input: a clear error, a non-zero exit code and nothing written.

use std::path::Path;

use crate::support::{run, svcgen, text, tree};

/// Runs `svcgen args` in `dir`, expects failure and an unchanged `dir`, returns stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let before = tree(dir);
    let output = run(svcgen(dir).args(args));
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{args:?} should fail: {stderr}"
    );
    assert_eq!(tree(dir), before, "{args:?} must write nothing");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn scratch_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, contents) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    dir
}

#[test]
fn a_proto_syntax_error_shows_file_line_column_and_the_line() {
    let dir = scratch_with(&[(
        "api/bad.proto",
        "syntax = \"proto3\";\npackage bad;\nservice Bad {\n  rpc Get(Req) returns (Req)\n}\nmessage Req {}\n",
    )]);
    let stderr = fails(dir.path(), &["new", "demo", "--proto", "api/bad.proto"]);
    assert!(stderr.contains("bad.proto:5:1"), "{stderr}");
    assert!(
        stderr
            .lines()
            .next()
            .unwrap()
            .ends_with("(in api/bad.proto)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rpc Get(Req) returns (Req)"),
        "the offending line: {stderr}"
    );
    assert!(!dir.path().join("demo").exists());
}

#[test]
fn a_missing_import_names_the_importing_line() {
    let dir = scratch_with(&[(
        "api/a.proto",
        "syntax = \"proto3\";\npackage a;\nimport \"nowhere/b.proto\";\nservice A { rpc Get(B) returns (B); }\n",
    )]);
    let stderr = fails(dir.path(), &["new", "demo", "--proto", "api/a.proto"]);
    assert!(
        stderr.contains("import 'nowhere/b.proto' not found"),
        "{stderr}"
    );
    assert!(stderr.contains("a.proto:3:1"), "{stderr}");
    assert!(
        stderr.contains(" 3 │ import \"nowhere/b.proto\";"),
        "the offending line, numbered: {stderr}"
    );
    assert!(stderr.contains("imported here"), "{stderr}");
}

/// `orders.proto` imports `common/v1/money.proto`, which lives in another include
/// directory than its own.
fn protos_in_two_include_dirs() -> tempfile::TempDir {
    scratch_with(&[
        (
            "api/orders/v1/orders.proto",
            "syntax = \"proto3\";\npackage orders.v1;\n\nimport \"common/v1/money.proto\";\n\nservice Orders {\n  rpc Pay(common.v1.Money) returns (common.v1.Money);\n}\n",
        ),
        (
            "shared/common/v1/money.proto",
            "syntax = \"proto3\";\npackage common.v1;\nmessage Money {\n  int64 cents = 1;\n}\n",
        ),
    ])
}

#[test]
fn include_dirs_resolve_imports_and_the_project_carries_every_proto() {
    let dir = protos_in_two_include_dirs();
    let output = run(svcgen(dir.path()).args([
        "new",
        "orders",
        "--proto",
        "api/orders/v1/orders.proto",
        "--include",
        "api",
        "-I",
        "shared",
    ]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let project = dir.path().join("orders");
    for (path, original) in [
        ("proto/orders/v1/orders.proto", "api/orders/v1/orders.proto"),
        (
            "proto/common/v1/money.proto",
            "shared/common/v1/money.proto",
        ),
    ] {
        assert_eq!(
            std::fs::read(project.join(path)).unwrap(),
            std::fs::read(dir.path().join(original)).unwrap(),
            "{path} is a byte-for-byte copy"
        );
    }
    assert!(project.join("src/handlers/orders/pay.rs").is_file());
    let output = run(svcgen(&project).arg("check"));
    assert!(output.status.success(), "{}", text(&output.stdout));
}

#[test]
fn a_missing_include_dir_names_the_import_that_needs_it() {
    let dir = protos_in_two_include_dirs();
    let stderr = fails(
        dir.path(),
        &[
            "new",
            "orders",
            "--proto",
            "api/orders/v1/orders.proto",
            "-I",
            "api",
        ],
    );
    assert!(
        stderr.contains("import 'common/v1/money.proto' not found"),
        "{stderr}"
    );
    assert!(stderr.contains("orders/v1/orders.proto:4:1"), "{stderr}");
    assert!(
        stderr.contains(" 4 │ import \"common/v1/money.proto\";"),
        "the offending line, numbered: {stderr}"
    );
    assert!(
        stderr.contains("(in api/orders/v1/orders.proto)"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_type_is_reported_where_it_is_used() {
    let dir = scratch_with(&[(
        "api/a.proto",
        "syntax = \"proto3\";\npackage a;\nservice A {\n  rpc Get(Missing) returns (Missing);\n}\n",
    )]);
    let stderr = fails(dir.path(), &["new", "demo", "--proto", "api/a.proto"]);
    assert!(stderr.contains("Missing"), "{stderr}");
    assert!(stderr.contains("a.proto:4:"), "{stderr}");
}

#[test]
fn a_proto_without_a_service_is_rejected_with_a_hint() {
    let dir = scratch_with(&[(
        "api/types.proto",
        "syntax = \"proto3\";\npackage types;\nmessage Thing {}\n",
    )]);
    let stderr = fails(dir.path(), &["new", "demo", "--proto", "api/types.proto"]);
    assert!(
        stderr.contains("no service is defined in types.proto"),
        "{stderr}"
    );
    assert!(stderr.contains("help:"), "{stderr}");
}

#[test]
fn an_invalid_crate_name_is_rejected_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["My Service", "Demo", "9lives", "type"] {
        let stderr = fails(dir.path(), &["new", name]);
        assert!(
            stderr.contains(&format!("invalid service name `{name}`")),
            "{stderr}"
        );
        assert!(stderr.contains("help:"), "{stderr}");
    }
}

#[test]
fn an_existing_non_empty_directory_is_left_alone_without_force() {
    let dir = scratch_with(&[("demo/notes.txt", "mine")]);
    let stderr = fails(dir.path(), &["new", "demo"]);
    assert!(
        stderr.contains("destination `demo` already exists and is not empty"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
}

#[test]
fn force_writes_into_a_non_empty_directory_and_keeps_other_files() {
    let dir = scratch_with(&[("demo/notes.txt", "mine")]);
    let output = run(svcgen(dir.path()).args(["new", "demo", "--force"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("demo/notes.txt")).unwrap(),
        "mine"
    );
    assert!(
        dir.path()
            .join("demo/src/handlers/greeter/say_hello.rs")
            .is_file()
    );
    let stdout = text(&output.stdout);
    assert!(!stdout.contains(".orig"), "nothing was replaced: {stdout}");
}

/// A directory svcgen did not write, holding files of the names it writes: a proto and
/// a managed file that differ (and an earlier backup of that one), and a user file.
fn foreign_files() -> tempfile::TempDir {
    scratch_with(&[
        (
            "demo/proto/greeter/v1/greeter.proto",
            "// my own greeter
",
        ),
        (
            "demo/build.rs",
            "// my build script
",
        ),
        (
            "demo/build.rs.orig",
            "// an older backup
",
        ),
        (
            "demo/src/app.rs",
            "// my app
",
        ),
    ])
}

#[test]
fn force_never_replaces_a_file_without_keeping_it_and_never_overwrites_a_backup() {
    let dir = foreign_files();
    let before = tree(dir.path());

    // The dry run lists every file and shows the diffs of those it would replace.
    let output = run(svcgen(dir.path()).args(["new", "demo", "--force", "--dry-run"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(tree(dir.path()) == before, "a dry run writes nothing");
    let stdout = text(&output.stdout);
    for expected in [
        "--- a/proto/greeter/v1/greeter.proto",
        "-// my own greeter",
        "--- a/build.rs",
        "   created  demo/src/svcgen/mod.rs",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in\n{stdout}");
    }
    assert!(
        !stdout.contains("+++ b/src/svcgen/mod.rs"),
        "no diffs of new files: {stdout}"
    );

    let output = run(svcgen(dir.path()).args(["new", "demo", "--force"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let project = dir.path().join("demo");
    let read = |path: &str| std::fs::read_to_string(project.join(path)).unwrap();
    for (line, backup, contents) in [
        (
            "   updated  demo/proto/greeter/v1/greeter.proto  (your version kept as demo/proto/greeter/v1/greeter.proto.orig)",
            "proto/greeter/v1/greeter.proto.orig",
            "// my own greeter\n",
        ),
        (
            "   updated  demo/build.rs  (your version kept as demo/build.rs.orig.1)",
            "build.rs.orig.1",
            "// my build script\n",
        ),
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line:?} in\n{stdout}");
        assert_eq!(read(backup), contents);
    }
    assert_eq!(
        read("build.rs.orig"),
        "// an older backup\n",
        "never overwritten"
    );
    assert_eq!(read("src/app.rs"), "// my app\n", "a user file is kept");
    assert!(stdout.contains("      kept  demo/src/app.rs\n"), "{stdout}");
    assert_eq!(
        stdout.matches("your version kept").count(),
        2,
        "only the replaced files: {stdout}"
    );
    let (files, protos) = default_counts();
    assert!(
        stdout.contains(&format!(
            "({files} files and {protos} protos; 3 of them were there already, see above)"
        )),
        "{stdout}"
    );
    let output = run(svcgen(&project).arg("check"));
    assert!(output.status.success(), "{}", text(&output.stdout));
}

#[test]
fn new_refuses_to_write_over_a_svcgen_project_even_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("demo");
    for args in [vec!["new", "demo"], vec!["add-rpc", "Greeter.Farewell"]] {
        let cwd = if args[0] == "new" {
            dir.path()
        } else {
            &project
        };
        let output = run(svcgen(cwd).args(&args));
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    for (cwd, args) in [
        (&project, vec!["new", "demo", "--out", ".", "--force"]),
        (&project, vec!["new", "demo", "--out", "."]),
        (&dir.path().to_owned(), vec!["new", "demo", "--force"]),
        (
            &dir.path().to_owned(),
            vec!["new", "demo", "--force", "--dry-run"],
        ),
    ] {
        let stderr = fails(cwd, &args);
        assert!(
            stderr.contains("is a svcgen project already (it has a svcgen.lock)"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("help:") && stderr.contains("`svcgen generate`"),
            "{stderr}"
        );
    }
    let proto = std::fs::read_to_string(project.join("proto/greeter/v1/greeter.proto")).unwrap();
    assert!(proto.contains("rpc Farewell("), "{proto}");
}

#[test]
fn new_refuses_to_create_a_service_inside_another_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(svcgen(dir.path()).args(["new", "demo"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let project = dir.path().join("demo");
    for (cwd, out) in [
        (dir.path().to_owned(), "demo/src"),
        (dir.path().to_owned(), "demo/not/yet/there"),
        (project.join("src"), "../other"),
        (project.join("src"), "."),
    ] {
        // `fails` checks that the whole tree, the enclosing project included, is unchanged.
        let out = cwd.join(out).display().to_string();
        let stderr = fails(dir.path(), &["new", "other", "--out", &out, "--force"]);
        assert!(
            stderr.contains("is inside the svcgen project")
                && stderr.contains("does not create a service within another one's tree"),
            "{out}: {stderr}"
        );
        assert!(
            stderr.contains("help:") && stderr.contains("--out"),
            "{stderr}"
        );
        let named = format!("`{}`", project.canonicalize().unwrap().display());
        assert!(stderr.contains(&named), "{named}: {stderr}");
    }
    // Beside it is fine.
    let output = run(svcgen(dir.path()).args(["new", "other"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// How many files and protos the default project has, as rendered.
fn default_counts() -> (usize, usize) {
    let generated = svcgen::commands::new::generate(&svcgen::commands::new::NewOptions {
        name: "demo".to_owned(),
        ..Default::default()
    })
    .unwrap();
    let protos = generated
        .files
        .iter()
        .filter(|file| file.owner == svcgen::render::Owner::Proto)
        .count();
    (generated.files.len() - protos, protos)
}

#[test]
fn new_in_the_current_directory_says_so_and_needs_no_cd() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(svcgen(dir.path()).args(["new", "demo", "--out", "."]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let (files, protos) = default_counts();
    assert!(
        stdout.contains(&format!(
            "\nCreated `demo` in the current directory ({files} files and {protos} protos) \
             serving greeter.v1.Greeter.\nNext: cargo run\n"
        )),
        "{stdout}"
    );
    // Elsewhere: not inside the project just made.
    let dir = tempfile::tempdir().unwrap();
    let output = run(svcgen(dir.path()).args(["new", "demo", "--out", "my services/demo"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).ends_with("Next: cd 'my services/demo' && cargo run\n"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn new_and_check_count_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let spec = crate::support::repo().join("examples/shop/svcgen.toml");
    let output = run(svcgen(dir.path())
        .args(["new", "shop", "--spec"])
        .arg(&spec));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let files = crate::support::files(&dir.path().join("shop"));
    let protos = files
        .keys()
        .filter(|path| path.starts_with("proto"))
        .count();
    // Every file but the protos and the lock is counted.
    let counted = files.len() - protos - 1;
    assert!(
        stdout.contains(&format!("({counted} files and {protos} protos)")),
        "{stdout}"
    );
    let output = run(svcgen(&dir.path().join("shop")).arg("check"));
    assert!(
        text(&output.stdout).contains(&format!("up to date: {counted} files match")),
        "{}",
        text(&output.stdout)
    );
}

/// The README's rule: the greeter's handlers are written working whenever the protos
/// declare `greeter.v1.Greeter` with its four RPCs as shipped, whatever else they hold.
#[test]
fn a_copy_of_the_greeter_proto_gets_working_handlers_and_a_changed_one_stubs() {
    let greeter = std::fs::read_to_string(
        crate::support::repo().join("examples/greeter/proto/greeter/v1/greeter.proto"),
    )
    .unwrap();
    let extended = greeter.replace(
        "  rpc Chat(",
        "  rpc Wave(HelloRequest) returns (HelloReply);\n  rpc Chat(",
    );
    let unary_chat = greeter.replace(
        "rpc Chat(stream HelloRequest) returns (stream HelloReply);",
        "rpc Chat(HelloRequest) returns (HelloReply);",
    );
    assert!(extended != greeter && unary_chat != greeter);
    for (proto, working) in [(&extended, true), (&unary_chat, false)] {
        let dir = scratch_with(&[("api/greeter/v1/greeter.proto", proto)]);
        let output = run(svcgen(dir.path()).args([
            "new",
            "demo",
            "--proto",
            "api/greeter/v1/greeter.proto",
            "-I",
            "api",
        ]));
        assert!(output.status.success(), "{}", text(&output.stderr));
        let handlers = dir.path().join("demo/src/handlers/greeter");
        let say_hello = std::fs::read_to_string(handlers.join("say_hello.rs")).unwrap();
        assert_eq!(
            !say_hello.contains("Status::unimplemented"),
            working,
            "{say_hello}"
        );
        assert_eq!(dir.path().join("demo/examples/greet.rs").is_file(), working);
        if working {
            let wave = std::fs::read_to_string(handlers.join("wave.rs")).unwrap();
            assert!(
                wave.contains("Status::unimplemented"),
                "an added rpc is a stub"
            );
        }
    }
}

#[test]
fn an_unknown_spec_key_shows_file_line_column() {
    let dir = scratch_with(&[("svcgen.toml", "[service]\nname = \"demo\"\ngrcp_port = 1\n")]);
    let stderr = fails(dir.path(), &["new", "demo", "--spec", "svcgen.toml"]);
    assert!(stderr.contains("unknown field `grcp_port`"), "{stderr}");
    assert!(stderr.contains("svcgen.toml:3:1"), "{stderr}");
    assert!(stderr.contains("help:"), "{stderr}");
}

#[test]
fn a_spec_naming_another_service_is_rejected() {
    let dir = scratch_with(&[("svcgen.toml", "[service]\nname = \"other\"\n")]);
    let stderr = fails(dir.path(), &["new", "demo", "--spec", "svcgen.toml"]);
    assert!(
        stderr.contains("`other`") && stderr.contains("`demo`"),
        "{stderr}"
    );
}

#[test]
fn a_missing_proto_file_is_reported_with_the_paths_checked() {
    let dir = scratch_with(&[("shared/other.proto", "syntax = \"proto3\";\n")]);
    let stderr = fails(dir.path(), &["new", "demo", "--proto", "nope/none.proto"]);
    assert_eq!(
        stderr,
        "error: proto file `nope/none.proto` does not exist\n  help: looked for nope/none.proto\n"
    );
    let stderr = fails(
        dir.path(),
        &[
            "new",
            "demo",
            "--proto",
            "api/none.proto",
            "-I",
            "api",
            "-I",
            "shared",
        ],
    );
    assert_eq!(
        stderr,
        "error: proto file `api/none.proto` does not exist\n  help: looked for api/none.proto, shared/none.proto\n"
    );
}

#[test]
fn a_proto_outside_the_include_dirs_says_so_and_how_to_include_it() {
    let dir = scratch_with(&[
        ("elsewhere/b.proto", "syntax = \"proto3\";\nservice B {}\n"),
        ("api/a.proto", "syntax = \"proto3\";\n"),
    ]);
    let stderr = fails(
        dir.path(),
        &["new", "demo", "--proto", "elsewhere/b.proto", "-I", "api"],
    );
    assert!(
        stderr.starts_with(
            "error: proto file `elsewhere/b.proto` is not in any include directory (api)\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: ") && stderr.contains("`--include elsewhere`"),
        "{stderr}"
    );
}

#[test]
fn every_error_of_a_proto_is_rendered_the_same_way() {
    let dir = scratch_with(&[(
        "api/a.proto",
        "syntax = \"proto3\";\npackage a;\nservice A {\n  rpc Get(Missing) returns (Other);\n}\n",
    )]);
    let stderr = fails(dir.path(), &["new", "demo", "--proto", "api/a.proto"]);
    let headlines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.starts_with(' ') && !line.is_empty())
        .collect();
    assert_eq!(
        headlines,
        [
            "error: name 'Missing' is not defined (in api/a.proto)",
            "error: name 'Other' is not defined (in api/a.proto)",
        ],
        "{stderr}"
    );
    for location in ["╭─[api/a.proto:4:11]", "╭─[api/a.proto:4:29]"] {
        assert!(stderr.contains(location), "{location} in\n{stderr}");
    }
    assert_eq!(
        stderr
            .matches(" 4 │   rpc Get(Missing) returns (Other);")
            .count(),
        2,
        "{stderr}"
    );
    assert!(!stderr.contains('×'), "{stderr}");
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for args in [vec!["new", "demo", "--dry-run"], vec!["new", "demo"]] {
        let output = run(svcgen(dir.path()).args(&args));
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(
            stdout.contains("   created  demo/src/svcgen/mod.rs\n"),
            "{stdout}"
        );
        assert!(
            stdout.contains("   created  demo/svcgen.lock\n"),
            "a fresh project's lock is created: {stdout}"
        );
        // Every line of the plan: `{action:>10}  {path}`, whatever its action.
        let lines = stdout
            .lines()
            .filter(|line| {
                line.get(10..12) == Some("  ")
                    && line.get(..10).is_some_and(|action| {
                        let action = action.trim_start();
                        !action.is_empty() && action.chars().all(|c| c.is_ascii_lowercase())
                    })
            })
            .count();
        assert_eq!(
            stdout.matches("   created  ").count(),
            lines,
            "every file is created: {stdout}"
        );
        assert!(!stdout.contains("+++"), "no diffs of new files: {stdout}");
        if args.contains(&"--dry-run") {
            assert!(
                stdout.ends_with("dry run: nothing was written\n"),
                "{stdout}"
            );
            assert!(tree(dir.path()).is_empty(), "not even a directory");
        }
    }
}

#[test]
fn new_writes_the_rendered_files_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(svcgen(dir.path()).args(["new", "demo", "--out", "services/demo"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let expected = svcgen::commands::new::generate(&svcgen::commands::new::NewOptions {
        name: "demo".to_owned(),
        ..Default::default()
    })
    .unwrap();
    let mut written = crate::support::text_tree(&dir.path().join("services/demo"));
    let lock = written
        .remove(std::path::Path::new("svcgen.lock"))
        .expect("a lock");
    let expected: std::collections::BTreeMap<_, _> = expected
        .files
        .iter()
        .map(|file| (std::path::PathBuf::from(&file.path), file.contents.clone()))
        .collect();
    assert!(
        written == expected,
        "the written tree differs from the rendered files"
    );
    let lock: svcgen::lock::Lock = toml::from_str(&lock).expect("a valid lock");
    for path in expected.keys().filter(|path| !path.starts_with("proto")) {
        let key = path.to_string_lossy();
        assert!(
            lock.files.contains_key(key.as_ref()),
            "{key} is not in the lock"
        );
    }
}

#[test]
fn completions_are_printed_for_every_shell_and_bash_loads_them() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = run(svcgen(dir.path()).args(["completions", shell]));
        assert!(output.status.success(), "{shell}: {}", text(&output.stderr));
        let script = text(&output.stdout);
        for word in ["add-rpc", "generate", "dry-run", "include"] {
            assert!(script.contains(word), "{shell}: no `{word}` in\n{script}");
        }
    }
    // bash is on every machine: the script must load and complete the subcommands.
    let output = run(std::process::Command::new("bash")
        .current_dir(dir.path())
        .args([
            "-c",
            &format!(
                "source <({} completions bash) && COMP_WORDS=(svcgen add) COMP_CWORD=1 \
             && _svcgen svcgen add svcgen && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                env!("CARGO_BIN_EXE_svcgen")
            ),
        ]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), "add-rpc");
    let output = run(svcgen(dir.path()).args(["completions", "tcsh"]));
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(text(&output.stderr).contains("possible values: bash, elvish, fish, powershell, zsh"));
}

#[test]
fn an_http_rule_that_cannot_be_served_is_shown_where_it_is_written() {
    let dir = scratch_with(&[(
        "api/a.proto",
        "syntax = \"proto3\";\npackage p.v1;\nimport \"google/api/annotations.proto\";\n\
         service S {\n  rpc Get(Item) returns (Item) {\n    \
         option (google.api.http) = { get: \"/v1/{nope}\" };\n  }\n}\n\
         message Item { string name = 1; }\n",
    )]);
    let stderr = fails(
        dir.path(),
        &["new", "x", "--proto", "api/a.proto", "--include", "api"],
    );
    assert!(
        stderr.starts_with("error: path variable `nope`: `p.v1.Item` has no field `nope`"),
        "{stderr}"
    );
    assert!(stderr.contains("╭─[api/a.proto:6:5]"), "{stderr}");
    assert!(
        stderr.contains("help: bind fields of the request"),
        "{stderr}"
    );
}

#[test]
fn http_routes_of_the_spec_are_served_and_checked_like_annotations() {
    let proto = "syntax = \"proto3\";\npackage p.v1;\nservice S {\n  rpc Get(Item) returns (Item);\n}\n\
                 message Item { string name = 1; }\n";
    let spec = |route: &str| {
        format!(
            "[service]\nname = \"x\"\n\n[proto]\nfiles = [\"a.proto\"]\nincludes = [\"api\"]\n\n\
             [[http.routes]]\n{route}\n"
        )
    };
    let dir = scratch_with(&[
        ("api/a.proto", proto),
        (
            "svcgen.toml",
            &spec("rpc = \"S.Get\"\nmethod = \"get\"\npath = \"/v1/items/{name}\""),
        ),
    ]);
    let output = run(svcgen(dir.path()).args(["new", "x", "--spec", "svcgen.toml"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let glue = std::fs::read_to_string(dir.path().join("x/src/svcgen/mod.rs")).unwrap();
    assert!(
        glue.contains("\"GET\" \"/v1/items/{name}\"\n                => \"p.v1.S/Get\";"),
        "{glue}"
    );
    let api = std::fs::read_to_string(dir.path().join("x/API.md")).unwrap();
    assert!(
        api.contains("| `GET /v1/items/{name}` | `p.v1.S/Get` |"),
        "{api}"
    );

    let dir = scratch_with(&[
        ("api/a.proto", proto),
        (
            "svcgen.toml",
            &spec("rpc = \"S.Nope\"\nmethod = \"get\"\npath = \"/v1/items/{name}\""),
        ),
    ]);
    let stderr = fails(dir.path(), &["new", "x", "--spec", "svcgen.toml"]);
    assert!(
        stderr.contains("no rpc `p.v1.S.Nope` is served"),
        "{stderr}"
    );
    assert!(stderr.contains("╭─[svcgen.toml:9:7]"), "{stderr}");
}
