//! Formats the rendered Rust files with `rustfmt`, so the generated project passes
//! `cargo fmt --check` whatever the lengths of the names its protos bring in.

use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;

use crate::render::GeneratedFile;

/// What formatting did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formatted {
    /// Every Rust file went through rustfmt.
    Yes,
    /// rustfmt is not installed; the files are as rendered.
    RustfmtMissing,
}

/// Runs one `rustfmt --edition 2024` over every `.rs` file, in a scratch copy of the
/// project tree (so `mod` declarations resolve), with an empty configuration, and over
/// every handler's stub (beside the tree, as if it were the handler file).
///
/// # Errors
/// rustfmt rejects a file (a template bug), or the scratch directory cannot be used.
pub fn rustfmt(files: &mut [GeneratedFile]) -> anyhow::Result<Formatted> {
    let scratch = tempfile::tempdir()?;
    let config = scratch.path().join("rustfmt.toml");
    std::fs::write(&config, "")?;
    let mut paths = Vec::new();
    for file in files.iter().filter(|file| file.path.ends_with(".rs")) {
        let path = scratch.path().join("tree").join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &file.contents)?;
        paths.push(path);
    }
    let stubs = scratch.path().join("stubs");
    std::fs::create_dir(&stubs)?;
    for (index, file) in files.iter().enumerate() {
        if let Some(handler) = &file.handler {
            let path = stubs.join(format!("{index}.rs"));
            std::fs::write(&path, &handler.stub)?;
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Ok(Formatted::Yes);
    }
    let output = match Command::new(rustfmt_binary())
        .args(["--edition", "2024", "--config-path"])
        .arg(&config)
        .args(&paths)
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(Formatted::RustfmtMissing),
        Err(error) => return Err(error.into()),
    };
    if !output.status.success() {
        anyhow::bail!(
            "rustfmt rejected the generated code (a bug in svcgen's templates):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let tree = scratch.path().join("tree");
    for file in files.iter_mut().filter(|file| file.path.ends_with(".rs")) {
        file.contents = std::fs::read_to_string(tree.join(Path::new(&file.path)))?;
    }
    for (index, file) in files.iter_mut().enumerate() {
        if let Some(handler) = &mut file.handler {
            handler.stub = std::fs::read_to_string(stubs.join(format!("{index}.rs")))?;
        }
    }
    Ok(Formatted::Yes)
}

/// `$RUSTFMT` when set (as cargo does), else `rustfmt` from `PATH`.
fn rustfmt_binary() -> std::ffi::OsString {
    std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into())
}
