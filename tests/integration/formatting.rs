//! svcgen writes its Rust already formatted (`src/layout.rs`), without running rustfmt:
//! these tests hold that to rustfmt itself, on projects whose protos bring in short, long
//! and awkward names (the lengths decide where rustfmt breaks lines).

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;

use crate::support::{run, text};

/// Renders `name` from `proto` (the file `api/<package path>/x.proto`) and checks every
/// rendered Rust file with `rustfmt --check`.
fn assert_rustfmt_agrees(name: &str, proto: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api/x.proto");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, proto).unwrap();
    let generated = svcgen::commands::new::generate(&svcgen::commands::new::NewOptions {
        name: name.to_owned(),
        protos: vec![file],
        includes: vec![dir.path().join("api")],
        ..Default::default()
    })
    .unwrap_or_else(|error| panic!("{error:#}\n{proto}"));
    let tree = dir.path().join("project");
    let mut paths = Vec::new();
    for file in &generated.files {
        let path = tree.join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &file.contents).unwrap();
        if file.path.ends_with(".rs") && !file.path.starts_with("vendor/") {
            paths.push(path);
        }
    }
    // The handlers' stubs too: what a handler must become is shown from them.
    for (index, file) in generated.files.iter().enumerate() {
        if let Some(handler) = &file.handler {
            let path = dir.path().join(format!("stub{index}.rs"));
            std::fs::write(&path, &handler.stub).unwrap();
            paths.push(path);
        }
    }
    std::fs::write(dir.path().join("rustfmt.toml"), "").unwrap();
    let output = run(Command::new(rustfmt())
        .args(["--check", "--edition", "2024", "--config-path"])
        .arg(dir.path().join("rustfmt.toml"))
        .args(&paths));
    assert!(
        output.status.success(),
        "rustfmt would change what svcgen wrote for\n{proto}\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// `$RUSTFMT`, as cargo has it, else `rustfmt` (CI installs it; its absence fails).
fn rustfmt() -> std::ffi::OsString {
    std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into())
}

/// A proto with one service and an rpc of each kind, from the given names.
fn proto(package: &str, service: &str, rpc: &str, request: &str, response: &str) -> String {
    let package_line = if package.is_empty() {
        String::new()
    } else {
        format!("package {package};")
    };
    format!(
        "syntax = \"proto3\";\n{package_line}\nimport \"google/protobuf/empty.proto\";\n\
         service {service} {{\n\
           rpc {rpc}({request}) returns ({response});\n\
           rpc {rpc}Stream({request}) returns (stream {response});\n\
           rpc {rpc}Upload(stream {request}) returns ({response});\n\
           rpc {rpc}Chat(stream {request}) returns (stream {response});\n\
           rpc {rpc}Empty(google.protobuf.Empty) returns (google.protobuf.Empty);\n\
           rpc Status(Status) returns (Request);\n\
         }}\n\
         message {request} {{ string name = 1; }}\n\
         message {response} {{ string name = 1; }}\n\
         message Status {{}}\n\
         message Request {{}}\n"
    )
}

#[test]
fn awkward_names_are_laid_out_as_rustfmt_lays_them_out() {
    let long = "a".repeat(62);
    for (name, package, service, rpc, request, response) in [
        ("s", "", "S", "A", "B", "C"),
        ("x", "a.b", "Svc", "Get", "Req", "Res"),
        (
            long.as_str(),
            "acme.very_long_package_name.with.many.segments.v1",
            "AnExtraordinarilyLongServiceNameForTesting",
            "ReturnEverythingYouKnowAboutThisThing",
            "ReturnEverythingYouKnowAboutThisThingRequest",
            "ReturnEverythingYouKnowAboutThisThingResponse",
        ),
        ("kw", "type.match.self", "Async", "Match", "Type", "Self"),
        ("v2", "v10.v2_a.v2", "S10", "A1", "Msg10", "Msg9"),
    ] {
        assert_rustfmt_agrees(name, &proto(package, service, rpc, request, response));
    }
}

/// An UpperCamel proto name of 1 to `max` characters.
fn camel(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Z][a-z0-9]{{0,{}}}", max - 1)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn names_of_any_length_are_laid_out_as_rustfmt_lays_them_out(
        crate_name in "[a-z][a-z0-9_]{0,40}",
        package in proptest::collection::vec("[a-z][a-z0-9_]{0,14}", 0..4),
        service in camel(40),
        rpc in camel(40),
        request in camel(50),
        response in camel(50),
    ) {
        prop_assume!(request != response && !["Status", "Request"].contains(&request.as_str()));
        prop_assume!(!["Status", "Request"].contains(&response.as_str()));
        prop_assume!(service != rpc && service != request && service != response);
        prop_assume!(svcgen::ident::crate_name_problem(&crate_name).is_none());
        let package = package.join(".");
        assert_rustfmt_agrees(&crate_name, &proto(&package, &service, &rpc, &request, &response));
    }
}

#[test]
fn the_examples_as_rendered_are_formatted() {
    for (example, generated) in crate::support::rendered_examples() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for file in generated
            .files
            .iter()
            .filter(|file| file.path.ends_with(".rs"))
        {
            let path = dir.path().join(&file.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &file.contents).unwrap();
            if !file.path.starts_with("vendor/") {
                paths.push(path);
            }
        }
        let output = run(Command::new(rustfmt())
            .args(["--check", "--edition", "2024"])
            .args(&paths)
            .current_dir(Path::new(dir.path())));
        assert!(
            output.status.success(),
            "{example}: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
    }
}
