//! End to end: generate the examples, then build, lint and test them with cargo as a
//! user would, run the greeter and call it over the network.
//!
//! All generated projects share one `CARGO_TARGET_DIR` (under cargo's `target/tmp`) so
//! their dependencies compile once.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::support::{edit, examples, run, svcgen, text};

/// The target directory every generated project builds into.
pub fn shared_target() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("generated-projects")
}

/// `cargo <args>` in `project`, isolated from the cargo running these tests.
///
/// Every project compiled this way must have a package name of its own (or be a copy
/// of the same example): in one target directory cargo keys a path package's outputs —
/// its build script's generated code among them — by name and version, not by path, so
/// two different `demo`s built side by side would read each other's generated code.
pub fn cargo(project: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || key.starts_with("RUSTC_") {
            command.env_remove(key.as_ref());
        }
    }
    command
        .current_dir(project)
        .env("CARGO_TARGET_DIR", shared_target())
        .env("CARGO_TERM_COLOR", "never")
        // Disk, not time, is what CI runs out of: without debug info and incremental
        // caches the shared target is a third of the size.
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .args(args);
    command
}

pub fn succeeds(command: &mut Command) {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// Generates a project with `svcgen new` into a fresh directory.
fn generate(name: &str, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    succeeds(svcgen(dir.path()).args(["new", name]).args(args));
    let project = dir.path().join(name);
    (dir, project)
}

/// What CI runs in a generated project: formatting, lints and its own tests.
fn build_lint_and_test(project: &Path) {
    succeeds(&mut cargo(project, &["fmt", "--check"]));
    succeeds(&mut cargo(
        project,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    ));
    succeeds(&mut cargo(project, &["test"]));
}

/// Copies the example project `name` (a project generated and then implemented, with
/// its lock) into `into`.
/// The example's `svcgen.toml` takes svcgen-runtime from the repository
/// (`../../runtime`), which is linked beside it.
pub fn copy_example(name: &str, into: &Path) -> PathBuf {
    let source = crate::support::repo().join("examples").join(name);
    let runtime = into.join("runtime");
    if !runtime.exists() {
        std::os::unix::fs::symlink(crate::support::repo().join("runtime"), &runtime).unwrap();
    }
    let target = into.join("examples").join(name);
    for entry in walkdir::WalkDir::new(&source) {
        let entry = entry.unwrap();
        let path = target.join(entry.path().strip_prefix(&source).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&path).unwrap();
        } else {
            std::fs::copy(entry.path(), &path).unwrap();
        }
    }
    target
}

#[test]
fn every_example_builds_lints_and_passes_its_own_tests() {
    for (example, spec) in examples() {
        if example == "greeter" {
            continue; // the default greeter is covered below, and run for real
        }
        let dir = tempfile::tempdir().unwrap();
        let project = if spec.with_file_name(svcgen::lock::FILE_NAME).is_file() {
            // A full project: it must be exactly what svcgen generates, plus the user's code.
            let project = copy_example(&example, dir.path());
            succeeds(svcgen(&project).arg("check"));
            project
        } else {
            let spec = spec.to_string_lossy().into_owned();
            succeeds(svcgen(dir.path()).args(["new", &example, "--spec", &spec]));
            dir.path().join(&example)
        };
        build_lint_and_test(&project);
    }
}

/// A running service: its JSON log lines, and its addresses.
pub struct Service {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Where its gRPC server listens.
    pub grpc_addr: String,
    /// Where its HTTP server listens.
    pub http_addr: String,
}

impl Service {
    pub fn start(project: &Path, binary: &str, env: &[(&str, String)]) -> Self {
        let mut command = Command::new(shared_target().join("debug").join(binary));
        command
            .current_dir(project)
            .env("APP__SERVER__GRPC_ADDR", "127.0.0.1:0")
            .env("APP__SERVER__HTTP_ADDR", "127.0.0.1:0")
            .env("APP__LOG__FORMAT", "json")
            .env("APP__LOG__LEVEL", "info")
            .stdout(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the service starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let line = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the service logs its addresses");
            if line.contains("serving gRPC and HTTP") {
                break line;
            }
        };
        let line: Value = serde_json::from_str(&line).unwrap();
        Self {
            child,
            lines,
            grpc_addr: line["grpc_addr"].as_str().unwrap().to_owned(),
            http_addr: line["http_addr"].as_str().unwrap().to_owned(),
        }
    }

    /// Reads the JSON log lines written since the last look into `seen`, until `enough`
    /// holds of them all or `timeout` passed (lines reach the output within 50 ms of
    /// being logged: `runtime/src/log_writer.rs`).
    pub fn logs_until(
        &self,
        seen: &mut Vec<Value>,
        timeout: Duration,
        enough: impl Fn(&[Value]) -> bool,
    ) {
        let deadline = std::time::Instant::now() + timeout;
        while !enough(seen) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => seen.extend(serde_json::from_str(&line).ok()),
                Err(_) => return,
            }
        }
    }

    /// SIGKILL, as a replica crashes: no shutdown, connections reset. Then the log lines
    /// it had written, to the end of its output.
    pub fn kill(mut self) -> Vec<Value> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.rest_of_the_logs()
    }

    /// SIGTERM (which flushes the spans and the last log lines), then every log line up
    /// to the end of its output.
    pub fn stop(mut self) -> Vec<Value> {
        succeeds(Command::new("kill").args(["-TERM", &self.child.id().to_string()]));
        assert!(self.child.wait().unwrap().success());
        self.rest_of_the_logs()
    }

    /// The JSON log lines not read yet, to the end of the output of the process, which
    /// has exited (the reader thread ends with the output).
    fn rest_of_the_logs(&self) -> Vec<Value> {
        self.lines
            .iter()
            .filter_map(|line| serde_json::from_str(&line).ok())
            .collect()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

pub fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

#[test]
fn the_default_greeter_serves_all_four_rpcs_and_keeps_doing_so_after_add_rpc() {
    let (_dir, project) = generate("demo", &[]);
    build_lint_and_test(&project);

    // The user's own changes, then four new rpcs of every kind.
    edit(&project, "config/default.toml", |text| {
        text.replace("greeting = \"Hello\"", "greeting = \"Hi\"")
    });
    edit(&project, "src/app.rs", |text| {
        format!("{text}\n// Notes of the team.\n")
    });
    edit(&project, "proto/greeter/v1/greeter.proto", |text| {
        format!("// Owned by the greeting team.\n{text}")
    });
    for args in [
        vec![
            "add-rpc",
            "Greeter.SayGoodbye",
            "--http",
            "GET /v1/goodbye/{name}",
        ],
        vec!["add-rpc", "Greeter.WatchGoodbyes", "--server-streaming"],
        vec!["add-rpc", "Greeter.UploadNames", "--client-streaming"],
        vec![
            "add-rpc",
            "Greeter.Converse",
            "--client-streaming",
            "--server-streaming",
        ],
    ] {
        succeeds(svcgen(&project).args(&args));
    }
    succeeds(svcgen(&project).arg("check"));
    // The user teaches the example client the new rpc.
    edit(&project, "examples/greet.rs", |text| {
        text.replace(
            "    Ok(())\n}",
            "    let request = demo::proto::greeter::v1::SayGoodbyeRequest::default();\n    \
             let status = client.say_goodbye(request).await.expect_err(\"a stub\");\n    \
             println!(\"SayGoodbye: {:?}\", status.code());\n    Ok(())\n}",
        )
    });
    build_lint_and_test(&project);
    succeeds(&mut cargo(&project, &["build", "--bins", "--examples"]));
    let binary = shared_target().join("debug/demo");
    let client = shared_target().join("debug/examples/greet");

    // Invalid configuration: one line naming the key, a non-zero exit code.
    let output = run(Command::new(&binary)
        .current_dir(&project)
        .env("APP__SERVER__GRPC_PORT", "1"));
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("grpc_port"), "{stderr}");
    // A bad level directive (from the environment or RUST_LOG) or an APP_ENV without its
    // file: one line naming where the value came from and the value, nothing more.
    for (key, value, names) in [
        ("APP__LOG__LEVEL", "demo=verbose", "demo=verbose"),
        ("RUST_LOG", "info,demo=verbose", "demo=verbose"),
        ("APP_ENV", "staging", "staging.toml"),
    ] {
        let output = run(Command::new(&binary)
            .current_dir(&project)
            .env_remove("RUST_LOG")
            .env(key, value));
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{key}={value}");
        assert_eq!(stderr.lines().count(), 1, "{key}={value}: {stderr}");
        assert!(stderr.contains(key) && stderr.contains(names), "{stderr}");
    }

    let service = Service::start(&project, "demo", &[]);
    let (grpc_addr, http_addr) = (service.grpc_addr.clone(), service.http_addr.clone());

    let output = run(Command::new(&client).args([format!("http://{grpc_addr}"), "Ada".to_owned()]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).lines().collect::<Vec<_>>(),
        [
            "SayHello: Hi, Ada!",
            "SayHelloStream: Hi, Ada! (1 of 3)",
            "SayHelloStream: Hi, Ada! (2 of 3)",
            "SayHelloStream: Hi, Ada! (3 of 3)",
            "CollectHellos: Hi, Ada, Grace!",
            "Chat: Hi, Ada!",
            "Chat: Hi, Grace!",
            "SayGoodbye: Unimplemented",
        ]
    );

    let (head, body) = get(&http_addr, "/healthz", &[]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, r#"{"status":"ok"}"#);

    // SIGTERM: a graceful stop with exit code 0, and one access line per request.
    let logs = service.stop();
    let access = logs
        .iter()
        .find(|line| line["target"] == "access" && line["method"] == "greeter.v1.Greeter/SayHello")
        .unwrap_or_else(|| panic!("an access line for SayHello in {logs:#?}"));
    assert_eq!(access["status"], "OK", "{access}");
    assert!(access["latency_us"].is_u64(), "{access}");
    assert!(
        access["trace_id"].is_string(),
        "every request has a trace id: {access}"
    );
    let healthz = logs
        .iter()
        .find(|line| line["target"] == "access" && line["route"] == "/healthz")
        .unwrap_or_else(|| panic!("an access line for /healthz in {logs:#?}"));
    assert_eq!(healthz["status"], 200, "{healthz}");
    assert_eq!(healthz["method"], "GET", "{healthz}");
    assert_eq!(healthz["level"], "INFO", "{healthz}");
    assert!(healthz["latency_us"].is_u64(), "{healthz}");
    assert!(
        healthz["peer"]
            .as_str()
            .is_some_and(|peer| peer.starts_with("127.0.0.1:")),
        "the client's address: {healthz}"
    );
}

/// A googleapis-style tree vendored the way teams vendor it (`tests/protos/vendored`): its
/// own `google/protobuf/descriptor.proto`, written as recent protobuf releases write it
/// (extension declarations, which protox cannot parse), `google.api` annotations,
/// `google.rpc.Status`, a `google.type` message and packages named after Rust keywords.
/// svcgen uses its bundled well-known types and says so; the generated build.rs does the
/// same with a vendored copy inside the project; prost's file names for keyword
/// packages are the ones included; and the project lints clean.
#[test]
fn a_vendored_googleapis_tree_with_keyword_packages_builds() {
    let corpus = crate::support::repo().join("tests/protos/vendored");
    let dir = tempfile::tempdir().unwrap();
    let spec = corpus.join("svcgen.toml").to_string_lossy().into_owned();
    let output = run(svcgen(dir.path()).args(["new", "vendored", "--spec", &spec]));
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let warning = stdout
        .lines()
        .position(|line| line.starts_with("warning: the well-known types bundled"))
        .unwrap_or_else(|| panic!("no warning about the shadowed copy:\n{stdout}"));
    assert!(
        stdout
            .lines()
            .nth(warning + 1)
            .is_some_and(|line| line.trim().ends_with("google/protobuf/descriptor.proto")),
        "{stdout}"
    );
    let project = dir.path().join("vendored");
    assert!(!project.join("proto/google/protobuf").exists());
    // The user vendors the tree into the project itself: build.rs must not read it.
    let vendored = project.join("proto/google/protobuf/descriptor.proto");
    std::fs::create_dir_all(vendored.parent().unwrap()).unwrap();
    std::fs::copy(corpus.join("google/protobuf/descriptor.proto"), &vendored).unwrap();
    let check = run(svcgen(&project).arg("check"));
    assert!(check.status.success(), "{}", text(&check.stdout));
    assert!(text(&check.stdout).contains("proto/google/protobuf/descriptor.proto"));
    succeeds(&mut cargo(
        &project,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    ));
}

/// A greeter made by svcgen 0.1 (every framework file in its own tree) and then edited by
/// its team — a handler, `app.rs`, the config, a dependency of their own, svcgen's tokio
/// entry, a framework test (`tests/fixtures/README.md`) — moves to the runtime crate in
/// one `svcgen generate`, keeps every edit, and runs.
#[test]
fn a_project_from_svcgen_0_1_upgrades_in_one_generate_and_runs_with_its_edits() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = crate::support::repo().join("tests/fixtures/greeter-0.1.tar.gz");
    succeeds(
        Command::new("tar")
            .arg("xzf")
            .arg(&fixture)
            .current_dir(dir.path()),
    );
    let project = dir.path().join("greeter-0-1");

    let output = run(svcgen(&project).arg("generate"));
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    for line in [
        // Unedited managed framework files go; the glue is rewritten.
        "   deleted  src/svcgen/otel.rs",
        "   deleted  src/svcgen/services/greeter.rs",
        "   updated  src/svcgen/mod.rs",
        "   created  vendor/svcgen-runtime/",
        // The framework tests svcgen wrote give way to the service's own...
        "   updated  tests/config.rs",
        "   deleted  tests/shutdown.rs",
        "   created  tests/support/mod.rs",
        // ... unless edited.
        "     stale  tests/logging.rs",
        // The user's files are theirs.
        "      kept  src/app.rs",
        "      kept  src/handlers/greeter/say_hello.rs",
        "   updated  Cargo.toml",
        // svcgen's entry the user changed: left, and said so.
        "  [dependencies] tokio = { version = \"1.54\", features = [\"fs\",",
        "      svcgen no longer needs it",
    ] {
        assert!(stdout.contains(line), "{line:?} in\n{stdout}");
    }
    assert!(!project.join("src/svcgen/otel.rs").exists());
    assert!(project.join("tests/logging.rs").is_file());
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    for kept in ["bytes = \"1\" # the user's own", "\"fs\", \"macros\""] {
        assert!(manifest.contains(kept), "{kept} in\n{manifest}");
    }
    for gone in [
        "opentelemetry",
        "figment = { version = \"0.10.19\", features = [\"env\", \"toml\"] }",
    ] {
        assert!(!manifest.contains(gone), "{gone} in\n{manifest}");
    }
    assert!(
        manifest.contains("svcgen-runtime = { version = \"="),
        "{manifest}"
    );
    succeeds(svcgen(&project).arg("check"));

    succeeds(&mut cargo(&project, &["build", "--bins", "--examples"]));
    let service = Service::start(&project, "greeter-0-1", &[]);
    let client = shared_target().join("debug/examples/greet");
    let output = run(
        Command::new(&client).args([format!("http://{}", service.grpc_addr), "Ada".to_owned()])
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with("SayHello: Howdy, ADA!\n"),
        "the edited handler and config: {}",
        text(&output.stdout)
    );
    let (head, body) = get(&service.http_addr, "/greeting", &[]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "Howdy", "the user's own route");
    service.stop();
}

/// The bookstore (`examples/bookstore`), a REST API from an annotated proto, answers as
/// its README says over plain HTTP, and its `GET /openapi.json` passes a real OpenAPI
/// 3.1 validator (`openapi-spec-validator`, which `.ci/run` installs).
#[test]
fn the_bookstore_serves_rest_and_an_openapi_document_a_validator_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let project = copy_example("bookstore", dir.path());
    succeeds(&mut cargo(&project, &["build", "--bins"]));
    let service = Service::start(&project, "bookstore", &[]);
    let (head, body) = get(
        &service.http_addr,
        "/v1/shelves/classics/books/moby-dick",
        &[],
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let book: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(book["title"], "Moby-Dick");
    assert_eq!(book["pages"], "635", "int64 as a string");
    let (head, body) = get(&service.http_addr, "/openapi.json", &[]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let document: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(
        document["paths"]["/v1/{name}:lend"]["post"].is_object(),
        "{document:#}"
    );
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &body).unwrap();
    let output = run(Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file));
    assert!(
        output.status.success(),
        "openapi-spec-validator (pip install openapi-spec-validator): {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let logs = service.stop();
    assert!(
        logs.iter().any(|line| line["target"] == "access"
            && line["route"] == "/v1/{name=shelves/*/books/*}"
            && line["status"] == 200),
        "the access line names the route template: {logs:#?}"
    );
}
