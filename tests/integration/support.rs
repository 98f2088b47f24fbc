//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every example: its name and spec.
pub fn examples() -> Vec<(String, PathBuf)> {
    let mut examples: Vec<_> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/")
        .map(|entry| entry.expect("an entry").path())
        .filter(|dir| dir.join("svcgen.toml").is_file())
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            (name, dir.join("svcgen.toml"))
        })
        .collect();
    examples.sort();
    assert!(
        examples.len() >= 2,
        "expected at least two examples, found {examples:?}"
    );
    examples
}

/// The svcgen binary, run in `dir`.
pub fn svcgen(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_svcgen"));
    command.current_dir(dir);
    command
}

/// Runs `command` and returns its output.
pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"))
}

/// Every file under `dir` with its bytes, and every directory (`None`): what "nothing
/// changed" is checked against, so an empty directory left behind counts as a change.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|entry| entry.expect("a walkable tree"))
        .map(|entry| {
            let relative = entry.path().strip_prefix(dir).unwrap().to_owned();
            let bytes = (!entry.file_type().is_dir()).then(|| std::fs::read(entry.path()).unwrap());
            (relative, bytes)
        })
        .collect()
}

/// Every file under `dir` with its bytes.
pub fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    tree(dir)
        .into_iter()
        .filter_map(|(path, bytes)| Some((path, bytes?)))
        .collect()
}

/// Rewrites the file `path` of `project` with `change` — a user's hand edit.
pub fn edit(project: &Path, path: &str, change: impl FnOnce(&str) -> String) {
    let path = project.join(path);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, change(&text)).unwrap();
}

/// Every example rendered in memory, as `svcgen new <example> --spec <its spec>` would.
pub fn rendered_examples() -> Vec<(String, svcgen::project::Generated)> {
    examples()
        .into_iter()
        .map(|(example, spec)| {
            let generated = svcgen::commands::new::generate(&svcgen::commands::new::NewOptions {
                name: example.clone(),
                spec: Some(spec),
                ..Default::default()
            })
            .unwrap_or_else(|error| panic!("{example}: {error:#}"));
            (example, generated)
        })
        .collect()
}

/// Every file under `dir` as text.
pub fn text_tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    files(dir)
        .into_iter()
        .map(|(path, bytes)| (path, String::from_utf8(bytes).expect("text")))
        .collect()
}

/// Text of a process's stdout and stderr.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
