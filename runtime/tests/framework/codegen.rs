//! The test service's Rust code is generated from `support/echo.proto` and
//! `support/rest.proto` (both of the package `echo.v1`) and committed
//! (`support/echo.v1.rs`, `support/echo.v1.serde.rs`, `support/echo.v1.fds.rs`), as tonic
//! commits tonic-health's: the
//! runtime has no build script. This regenerates it and fails when the committed files
//! differ; `SVCGEN_BLESS=1` writes them instead.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prost::Message as _;

/// Set to write the generated files rather than compare them.
const BLESS: &str = "SVCGEN_BLESS";

fn support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/framework/support")
}

/// The protos of the test service.
const PROTOS: [&str; 2] = ["echo.proto", "rest.proto"];

/// The descriptors of [`PROTOS`] and the well-known types they import, with their
/// comments (for the generated docs).
fn descriptors() -> prost_types::FileDescriptorSet {
    protox::Compiler::new([support_dir()])
        .expect("the include directory")
        .include_imports(true)
        .include_source_info(true)
        .open_files(PROTOS)
        .expect("the protos compile")
        .file_descriptor_set()
}

/// The messages (with their `prost::Name`) and stubs, as tonic-prost-build writes them in
/// a generated service's build.
fn messages_and_stubs(descriptors: prost_types::FileDescriptorSet) -> String {
    let out = tempfile::tempdir().expect("a scratch directory");
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .out_dir(out.path())
        .compile_fds_with_config(descriptors, config)
        .expect("tonic-prost-build generates the code");
    std::fs::read_to_string(out.path().join("echo.v1.rs")).expect("the generated echo.v1.rs")
}

/// The serde impls of `echo.v1.Plain` and the types it holds, as pbjson-build writes them
/// in a generated service's build for the messages whose JSON it writes exactly.
fn serde_impls(descriptors: &prost_types::FileDescriptorSet) -> String {
    let out = tempfile::tempdir().expect("a scratch directory");
    pbjson_build::Builder::new()
        .out_dir(out.path())
        .register_descriptors(&descriptors.encode_to_vec())
        .expect("the descriptors decode")
        .build(&[".echo.v1.Plain", ".echo.v1.Nested", ".echo.v1.Color"])
        .expect("pbjson-build generates the code");
    std::fs::read_to_string(out.path().join("echo.v1.serde.rs"))
        .expect("the generated echo.v1.serde.rs")
}

/// `FILE_DESCRIPTOR_SET`, the encoded descriptors that reflection serves (without the
/// comments), as a Rust constant.
fn file_descriptor_set(mut descriptors: prost_types::FileDescriptorSet) -> String {
    for file in &mut descriptors.file {
        file.source_code_info = None;
    }
    let bytes = descriptors.encode_to_vec();
    let mut text = String::from(
        "// @generated from echo.proto and rest.proto by the test `codegen`: do not edit.\n\
         /// The encoded `FileDescriptorSet` of echo.proto and rest.proto (and the well-known\n\
         /// types they import), for gRPC reflection and the REST routes.\n\
         pub const FILE_DESCRIPTOR_SET: &[u8] = &[",
    );
    for (index, byte) in bytes.iter().enumerate() {
        text.push_str(if index % 16 == 0 { "\n    " } else { " " });
        write!(text, "{byte},").expect("a String takes every write");
    }
    text.push_str("\n];\n");
    text
}

#[test]
fn the_committed_code_is_what_the_protos_generate() {
    let descriptors = descriptors();
    let generated = [
        ("echo.v1.rs", messages_and_stubs(descriptors.clone())),
        ("echo.v1.serde.rs", serde_impls(&descriptors)),
        ("echo.v1.fds.rs", file_descriptor_set(descriptors)),
    ];
    let bless = std::env::var_os(BLESS).is_some();
    let mut stale = Vec::new();
    for (name, text) in generated {
        let path = support_dir().join(name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == text {
            continue;
        }
        if bless {
            std::fs::write(&path, text)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        } else {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from what {PROTOS:?} of tests/framework/support generate: run \
         `{BLESS}=1 cargo test -p svcgen-runtime --test framework codegen` and commit them"
    );
}
