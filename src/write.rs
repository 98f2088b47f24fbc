//! Applies a plan to the disk atomically: every file is first written to a temporary
//! file beside its target, and only when all of them are written are they renamed into
//! place, and only then are deletions made. An error before that point removes what was
//! staged and leaves the tree as it was.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// One file to write.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    /// Relative to the root.
    pub path: &'a str,
    /// Its new contents.
    pub contents: &'a str,
}

/// Writes `files` under `root` (created if missing), then removes `deletes`.
///
/// # Errors
/// A directory or file cannot be created; nothing is left behind then.
pub fn apply(root: &Path, files: &[Write<'_>], deletes: &[&str]) -> anyhow::Result<()> {
    let mut staging = Staging::default();
    match staging.stage(root, files) {
        Ok(()) => {
            staging.commit()?;
            for path in deletes {
                let path = root.join(path);
                fs::remove_file(&path)
                    .with_context(|| format!("cannot delete {}", path.display()))?;
            }
            Ok(())
        }
        Err(error) => {
            staging.roll_back();
            Err(error)
        }
    }
}

#[derive(Default)]
struct Staging {
    /// Directories this run created, parents first.
    created_dirs: Vec<PathBuf>,
    /// (temporary file, target).
    staged: Vec<(PathBuf, PathBuf)>,
}

impl Staging {
    fn stage(&mut self, root: &Path, files: &[Write<'_>]) -> anyhow::Result<()> {
        self.create_dir_all(root)?;
        for file in files {
            let target = root.join(file.path);
            if let Some(parent) = target.parent() {
                self.create_dir_all(parent)?;
            }
            let dir = target.parent().unwrap_or(root);
            let mut temp = tempfile::Builder::new()
                .prefix(".svcgen-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
            std::io::Write::write_all(&mut temp, file.contents.as_bytes())
                .with_context(|| format!("cannot write {}", target.display()))?;
            let (_, temp_path) = temp.keep().context("cannot keep a temporary file")?;
            self.staged.push((temp_path, target));
        }
        Ok(())
    }

    fn create_dir_all(&mut self, dir: &Path) -> anyhow::Result<()> {
        let mut missing = Vec::new();
        let mut current = Some(dir);
        while let Some(path) = current {
            if path.as_os_str().is_empty() || path.exists() {
                break;
            }
            missing.push(path.to_owned());
            current = path.parent();
        }
        for path in missing.into_iter().rev() {
            fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
            self.created_dirs.push(path);
        }
        Ok(())
    }

    fn commit(self) -> anyhow::Result<()> {
        for (temp, target) in &self.staged {
            fs::rename(temp, target)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
        Ok(())
    }

    fn roll_back(self) {
        for (temp, _) in &self.staged {
            let _ = fs::remove_file(temp);
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("new");
        apply(
            &root,
            &[Write {
                path: "a/b/c.txt",
                contents: "hi",
            }],
            &[],
        )
        .unwrap();
        assert_eq!(fs::read_to_string(root.join("a/b/c.txt")).unwrap(), "hi");
        let leftovers: Vec<_> = walkdir::WalkDir::new(&root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_failure_leaves_the_tree_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("f"), "user").unwrap();
        // `f` is a file, so `f/x.txt` fails after `new/ok.txt` was staged.
        let result = apply(
            root,
            &[
                Write {
                    path: "new/ok.txt",
                    contents: "1",
                },
                Write {
                    path: "f/x.txt",
                    contents: "2",
                },
            ],
            &["f"],
        );
        assert!(result.is_err());
        let left: Vec<_> = fs::read_dir(root)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, ["f"]);
        assert_eq!(fs::read_to_string(root.join("f")).unwrap(), "user");
    }
}
