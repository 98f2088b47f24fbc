//! Embeds the source of svcgen-runtime (`runtime/`), which `svcgen new` and `generate`
//! write into a project as `vendor/svcgen-runtime/`: its manifest and `src/`, without the
//! tests (`runtime/tests/`, `runtime/src/tests/`), which a service never builds.

use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime");
    println!("cargo:rerun-if-changed={}", runtime.display());
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&runtime).sort_by_file_name() {
        let entry = entry?;
        let relative = entry.path().strip_prefix(&runtime)?;
        let name = relative.to_string_lossy().replace('\\', "/");
        let shipped = name == "Cargo.toml"
            || name == "README.md"
            || (name.starts_with("src/")
                && !name.starts_with("src/tests/")
                && name.ends_with(".rs"));
        if entry.file_type().is_file() && shipped {
            files.push((name, entry.path().to_owned()));
        }
    }
    let mut out = String::from(
        "/// The files of svcgen-runtime, by path relative to its directory.\n\
         pub const FILES: &[(&str, &str)] = &[\n",
    );
    for (name, path) in files {
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )?;
    }
    out.push_str("];\n");
    let out_dir = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?;
    std::fs::write(Path::new(&out_dir).join("runtime_files.rs"), out)?;
    Ok(())
}
