//! Applies a plan to the disk all-or-nothing, as far as a file system allows:
//!
//! 1. **stage**: every file is written to a temporary file beside its target (creating
//!    the directories it needs);
//! 2. **commit**: the temporary files are renamed over their targets — an existing target
//!    is first hard-linked (or, where links are not supported, copied) to a temporary
//!    name beside it, so its old contents survive the rename — and then every file to
//!    delete is renamed to a temporary name beside it;
//! 3. **finish**: only when all of that succeeded are the old contents and the deleted
//!    files removed.
//!
//! Any error in steps 1 and 2 rolls everything back in reverse order: deleted files and
//! replaced targets are renamed back into place, files that did not exist are removed,
//! staged temporary files and the directories this run created are removed. The tree is
//! then as it was. A crash, unlike an error, can still leave `.svcgen-<file>.*` files
//! behind: [`leftovers`] finds them, and every command reports them.

use std::collections::VecDeque;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// One file to write.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    /// Relative to the root.
    pub path: &'a str,
    /// Its new contents.
    pub contents: &'a [u8],
}

/// Writes `files` under `root` (created if missing), then removes `deletes`.
///
/// # Errors
/// A directory or file cannot be created, replaced or removed; the tree is rolled back
/// to what it was then (a failure to roll back is added to the error).
pub fn apply(root: &Path, files: &[Write<'_>], deletes: &[&str]) -> anyhow::Result<()> {
    let mut transaction = Transaction::default();
    let result = transaction
        .stage(root, files)
        .and_then(|()| transaction.commit(root, deletes));
    match result {
        Ok(()) => {
            transaction.finish();
            Ok(())
        }
        Err(error) => {
            let failures = transaction.roll_back();
            if failures.is_empty() {
                Err(error)
            } else {
                Err(error.context(format!(
                    "the write failed and could not be fully undone (left as is: {})",
                    failures.join("; ")
                )))
            }
        }
    }
}

/// A change already made to the disk, and how to undo it.
#[derive(Debug)]
enum Done {
    /// `target` did not exist: it is removed.
    Created(PathBuf),
    /// `target` existed; its old contents are at `old`, renamed back.
    Replaced { target: PathBuf, old: PathBuf },
    /// `target` was deleted by renaming it to `old`, renamed back.
    Deleted { target: PathBuf, old: PathBuf },
}

#[derive(Default)]
struct Transaction {
    /// Directories this run created, parents first.
    created_dirs: Vec<PathBuf>,
    /// (temporary file, target), not yet renamed into place.
    staged: VecDeque<(PathBuf, PathBuf)>,
    /// What commit did so far, in order.
    done: Vec<Done>,
}

impl Transaction {
    fn stage(&mut self, root: &Path, files: &[Write<'_>]) -> anyhow::Result<()> {
        self.create_dir_all(root)?;
        for file in files {
            let target = root.join(file.path);
            if let Some(parent) = target.parent() {
                self.create_dir_all(parent)?;
            }
            let dir = target.parent().unwrap_or(root);
            let mut builder = tempfile::Builder::new();
            let prefix = temporary_prefix(&target);
            builder.prefix(&prefix).suffix(".tmp");
            // Created as `fs::write` would create the file (0o666 less the umask), not
            // with a temporary file's private 0o600.
            #[cfg(unix)]
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
            let mut temp = builder
                .tempfile_in(dir)
                .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
            std::io::Write::write_all(&mut temp, file.contents)
                .with_context(|| format!("cannot write {}", target.display()))?;
            // A file replaced keeps its permissions (an executable script stays one).
            if let Ok(existing) = fs::metadata(&target) {
                temp.as_file()
                    .set_permissions(existing.permissions())
                    .with_context(|| {
                        format!("cannot set the permissions of {}", target.display())
                    })?;
            }
            let (_, temp_path) = temp.keep().context("cannot keep a temporary file")?;
            self.staged.push_back((temp_path, target));
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

    fn commit(&mut self, root: &Path, deletes: &[&str]) -> anyhow::Result<()> {
        while let Some((temp, target)) = self.staged.pop_front() {
            if let Err(error) = self.replace(&temp, &target) {
                self.staged.push_front((temp, target));
                return Err(error);
            }
        }
        for path in deletes {
            self.delete(&root.join(path))?;
        }
        Ok(())
    }

    /// Renames `temp` over `target`, keeping what `target` held first.
    fn replace(&mut self, temp: &Path, target: &Path) -> anyhow::Result<()> {
        let old = match fs::symlink_metadata(target) {
            Ok(metadata) if metadata.is_dir() => {
                anyhow::bail!("cannot write {}: it is a directory", target.display())
            }
            Ok(_) => Some(
                preserve(target)
                    .with_context(|| format!("cannot keep a copy of {}", target.display()))?,
            ),
            // Missing (or unreadable: then the rename says why it fails).
            Err(_) => None,
        };
        if let Err(error) = fs::rename(temp, target) {
            if let Some(old) = &old {
                let _ = fs::remove_file(old);
            }
            return Err(error).with_context(|| format!("cannot write {}", target.display()));
        }
        self.done.push(match old {
            Some(old) => Done::Replaced {
                target: target.to_owned(),
                old,
            },
            None => Done::Created(target.to_owned()),
        });
        Ok(())
    }

    /// Deletes `target` by renaming it to a temporary name beside it.
    fn delete(&mut self, target: &Path) -> anyhow::Result<()> {
        let cannot = || format!("cannot delete {}", target.display());
        let metadata = fs::symlink_metadata(target).with_context(cannot)?;
        if metadata.is_dir() {
            anyhow::bail!("cannot delete {}: it is a directory", target.display());
        }
        let old = temporary_name(target, ".del", |path| {
            if fs::symlink_metadata(path).is_ok() {
                return Err(ErrorKind::AlreadyExists.into());
            }
            fs::rename(target, path)
        })
        .with_context(cannot)?;
        self.done.push(Done::Deleted {
            target: target.to_owned(),
            old,
        });
        Ok(())
    }

    /// Everything succeeded: drop the old contents and the deleted files.
    fn finish(self) {
        for done in self.done {
            if let Done::Replaced { old, .. } | Done::Deleted { old, .. } = done {
                let _ = fs::remove_file(old);
            }
        }
    }

    /// Undoes everything, last change first; returns what could not be undone.
    fn roll_back(self) -> Vec<String> {
        let mut failures = Vec::new();
        let mut attempt = |result: std::io::Result<()>, what: &Path| {
            if let Err(error) = result {
                failures.push(format!("{}: {error}", what.display()));
            }
        };
        for done in self.done.into_iter().rev() {
            match done {
                Done::Created(target) => attempt(fs::remove_file(&target), &target),
                Done::Replaced { target, old } | Done::Deleted { target, old } => {
                    attempt(fs::rename(&old, &target), &target);
                }
            }
        }
        for (temp, _) in &self.staged {
            attempt(fs::remove_file(temp), temp);
        }
        for dir in self.created_dirs.iter().rev() {
            attempt(fs::remove_dir(dir), dir);
        }
        failures
    }
}

/// The start of a temporary name beside `target`: `.svcgen-<target's file name>.`, so that
/// a file a crash left behind says whose it is (see [`leftovers`]).
fn temporary_prefix(target: &Path) -> String {
    match target.file_name().and_then(|name| name.to_str()) {
        // The name, a dot, six random characters and a suffix stay within 255 bytes.
        Some(name) if name.len() <= 200 => format!("{PREFIX}{name}."),
        _ => PREFIX.to_owned(),
    }
}

/// How every temporary name svcgen makes starts.
const PREFIX: &str = ".svcgen-";

/// A file an interrupted svcgen run (a crash or a kill: an error cleans up) left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// The file, relative to the root.
    pub path: PathBuf,
    /// The file it belongs to, beside it, when its name says so.
    pub of: Option<PathBuf>,
    /// What it holds.
    pub kind: LeftoverKind,
}

/// What a [`Leftover`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftoverKind {
    /// New contents that were never put in place.
    Staged,
    /// What a replaced file held before the run.
    Old,
    /// A file the run was deleting.
    Deleted,
}

/// The leftovers of interrupted runs in the directories `dirs` (relative to `root`; those
/// a run writes to), sorted.
#[must_use]
pub fn leftovers<'a>(root: &Path, dirs: impl IntoIterator<Item = &'a Path>) -> Vec<Leftover> {
    let dirs: std::collections::BTreeSet<&Path> = dirs.into_iter().collect();
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|name| name.strip_prefix(PREFIX)) else {
                continue;
            };
            let (stem, kind) = if let Some(stem) = rest.strip_suffix(".tmp") {
                (stem, LeftoverKind::Staged)
            } else if let Some(stem) = rest.strip_suffix(".old") {
                (stem, LeftoverKind::Old)
            } else if let Some(stem) = rest.strip_suffix(".del") {
                (stem, LeftoverKind::Deleted)
            } else {
                continue;
            };
            let of = stem
                .rsplit_once('.')
                .map(|(target, _random)| target)
                .filter(|target| !target.is_empty())
                .map(|target| dir.join(target));
            found.push(Leftover {
                path: dir.join(&name),
                of,
                kind,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// A new name beside `target`, `.svcgen-<target's name>.<random><suffix>`, made by `make`
/// (which fails with `AlreadyExists` when the name is taken, to try another).
fn temporary_name(
    target: &Path,
    suffix: &str,
    make: impl FnMut(&Path) -> std::io::Result<()>,
) -> std::io::Result<PathBuf> {
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(&temporary_prefix(target))
        .suffix(suffix)
        .make_in(dir, make)?
        .into_temp_path()
        .keep()
        .map_err(|error| error.error)
}

/// Keeps the current contents of `target` under a temporary name beside it: a hard link
/// (the rename over `target` then leaves the old file intact under that name), or a copy
/// where the file system cannot link.
fn preserve(target: &Path) -> std::io::Result<PathBuf> {
    temporary_name(target, ".old", |path| match fs::hard_link(target, path) {
        Err(error) if error.kind() != ErrorKind::AlreadyExists => copy_new(target, path),
        result => result,
    })
}

/// Copies `from` to `to`, which must not exist, with its permissions.
fn copy_new(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut source = fs::File::open(from)?;
    let mut copy = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    let result = std::io::copy(&mut source, &mut copy)
        .and_then(|_| copy.set_permissions(source.metadata()?.permissions()));
    if result.is_err() {
        let _ = fs::remove_file(to);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Every file (with its bytes) and directory under `root`: what "as it was" means.
    fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        walkdir::WalkDir::new(root)
            .min_depth(1)
            .into_iter()
            .map(|entry| {
                let entry = entry.unwrap();
                let relative = entry.path().strip_prefix(root).unwrap().to_owned();
                let bytes = entry
                    .file_type()
                    .is_file()
                    .then(|| fs::read(entry.path()).unwrap());
                (relative, bytes)
            })
            .collect()
    }

    /// A tree with a file to replace, one to delete, a nested user file and a
    /// directory.
    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("src/deep")).unwrap();
        fs::write(root.join("src/a.rs"), "old a").unwrap();
        fs::write(root.join("src/gone.rs"), "to delete").unwrap();
        fs::write(root.join("src/deep/user.rs"), "user").unwrap();
        fs::create_dir_all(root.join("src/taken/inside")).unwrap();
        dir
    }

    fn write<'a>(path: &'a str, contents: &'a str) -> Write<'a> {
        Write {
            path,
            contents: contents.as_bytes(),
        }
    }

    /// Applies a plan that fails midway and checks the tree is exactly as before.
    fn fails_leaving_the_tree_as_it_was(files: &[Write<'_>], deletes: &[&str]) -> String {
        let dir = project();
        let before = snapshot(dir.path());
        let error = apply(dir.path(), files, deletes).expect_err("the plan must fail");
        assert_eq!(snapshot(dir.path()), before, "after: {error:#}");
        format!("{error:#}")
    }

    #[test]
    fn writes_replaces_and_deletes_leaving_no_temporary_file() {
        let dir = project();
        let root = dir.path();
        apply(
            root,
            &[write("src/a.rs", "new a"), write("new/b/c.txt", "hi")],
            &["src/gone.rs"],
        )
        .unwrap();
        let mut expected = snapshot(root);
        expected.retain(|path, _| !path.to_string_lossy().contains(".svcgen-"));
        assert_eq!(snapshot(root), expected, "temporary files left behind");
        assert_eq!(fs::read_to_string(root.join("src/a.rs")).unwrap(), "new a");
        assert_eq!(fs::read_to_string(root.join("new/b/c.txt")).unwrap(), "hi");
        assert!(!root.join("src/gone.rs").exists());
        assert_eq!(
            fs::read_to_string(root.join("src/deep/user.rs")).unwrap(),
            "user"
        );
    }

    #[test]
    fn writes_into_a_new_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("new");
        apply(&root, &[write("a/b/c.txt", "hi")], &[]).unwrap();
        assert_eq!(
            snapshot(&root),
            BTreeMap::from([
                (PathBuf::from("a"), None),
                (PathBuf::from("a/b"), None),
                (PathBuf::from("a/b/c.txt"), Some(b"hi".to_vec())),
            ])
        );
    }

    #[test]
    fn a_failed_staging_leaves_the_tree_as_it_was() {
        // `src/a.rs` is a file, so `src/a.rs/x.txt` cannot be staged, after `new/ok.txt`
        // (and its directory) were.
        let error = fails_leaving_the_tree_as_it_was(
            &[write("new/ok.txt", "1"), write("src/a.rs/x.txt", "2")],
            &["src/gone.rs"],
        );
        assert!(error.contains("src/a.rs"), "{error}");
    }

    #[test]
    fn a_rename_failing_midway_undoes_the_renames_before_it() {
        // Staged fine (the temporary file's name is short), but the rename to a name
        // longer than any file system allows fails after the first two renames.
        let long = format!("src/{}.rs", "x".repeat(300));
        let error = fails_leaving_the_tree_as_it_was(
            &[
                write("src/a.rs", "new a"),
                write("new/dir/b.rs", "b"),
                write(&long, "too long"),
                write("src/deep/later.rs", "never"),
            ],
            &["src/gone.rs"],
        );
        assert!(error.contains("cannot write"), "{error}");
    }

    #[test]
    fn a_target_that_is_a_directory_undoes_the_renames_before_it() {
        let error = fails_leaving_the_tree_as_it_was(
            &[
                write("src/a.rs", "new a"),
                write("new/b.rs", "b"),
                write("src/taken", "a file where a directory is"),
            ],
            &[],
        );
        assert!(error.contains("is a directory"), "{error}");
    }

    #[test]
    fn a_deletion_failing_undoes_the_deletions_and_the_renames() {
        let error = fails_leaving_the_tree_as_it_was(
            &[write("src/a.rs", "new a"), write("new/b.rs", "b")],
            &["src/gone.rs", "src/never-there.rs"],
        );
        assert!(error.contains("cannot delete"), "{error}");
        let error = fails_leaving_the_tree_as_it_was(
            &[write("src/a.rs", "new a")],
            &["src/gone.rs", "src/taken"],
        );
        assert!(error.contains("is a directory"), "{error}");
    }

    #[test]
    fn the_copy_fallback_copies_and_never_overwrites() {
        let dir = project();
        let target = dir.path().join("src/a.rs");
        let copy = dir.path().join("copy");
        copy_new(&target, &copy).unwrap();
        assert_eq!(fs::read(&copy).unwrap(), b"old a");
        assert!(copy_new(&target, &copy).is_err(), "never overwrites");
    }

    #[cfg(unix)]
    #[test]
    fn files_get_the_permissions_of_a_plain_write_or_of_the_file_they_replace() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("plain"), "x").unwrap();
        fs::write(root.join("script.sh"), "old").unwrap();
        fs::set_permissions(root.join("script.sh"), fs::Permissions::from_mode(0o750)).unwrap();
        apply(
            root,
            &[write("new.txt", "new"), write("script.sh", "new")],
            &[],
        )
        .unwrap();
        assert_eq!(mode(&root.join("new.txt")), mode(&root.join("plain")));
        assert_eq!(mode(&root.join("script.sh")), 0o750);
    }

    #[test]
    fn what_a_crash_leaves_behind_says_whose_it_is() {
        let dir = project();
        let root = dir.path();
        // The three kinds of temporary file, made the way a run makes them, then left
        // there as a crash would leave them.
        let old = preserve(&root.join("src/a.rs")).unwrap();
        let deleted = temporary_name(&root.join("src/gone.rs"), ".del", |path| {
            fs::rename(root.join("src/gone.rs"), path)
        })
        .unwrap();
        let staged = tempfile::Builder::new()
            .prefix(&temporary_prefix(Path::new("Dockerfile")))
            .suffix(".tmp")
            .tempfile_in(root)
            .unwrap()
            .into_temp_path()
            .keep()
            .unwrap();
        // One from a name too long to carry, and an unrelated dot file.
        fs::write(root.join(".svcgen-Ab12Cd.tmp"), "").unwrap();
        fs::write(root.join("src/.svcgen-notes"), "").unwrap();
        let relative = |path: &Path| path.strip_prefix(root).unwrap().to_owned();
        assert_eq!(
            leftovers(root, [Path::new("src"), Path::new(""), Path::new("src")]),
            vec![
                Leftover {
                    path: PathBuf::from(".svcgen-Ab12Cd.tmp"),
                    of: None,
                    kind: LeftoverKind::Staged,
                },
                Leftover {
                    path: relative(&staged),
                    of: Some(PathBuf::from("Dockerfile")),
                    kind: LeftoverKind::Staged,
                },
                Leftover {
                    path: relative(&old),
                    of: Some(PathBuf::from("src/a.rs")),
                    kind: LeftoverKind::Old,
                },
                Leftover {
                    path: relative(&deleted),
                    of: Some(PathBuf::from("src/gone.rs")),
                    kind: LeftoverKind::Deleted,
                },
            ]
        );
        assert!(leftovers(root, [Path::new("new")]).is_empty());
    }
}
