//! Compares the rendered files with the disk and the lock, and decides file by file what
//! to do, following the ownership rules:
//!
//! - **managed**: written when missing; rewritten when the disk still holds what svcgen
//!   last wrote (the lock's hash); a **conflict** when the user edited it (`--force`
//!   rewrites it and keeps the user's version as `<file>.orig`); deleted when no longer
//!   generated and unedited.
//! - **user**: created when missing, otherwise never touched; **stale** when svcgen no
//!   longer generates it (e.g. the handler of a removed RPC): reported, never deleted.
//!   A handler whose rpc's signature differs from the one the lock records for it (the
//!   streaming kinds or message types were changed in the proto) is **signature**: kept
//!   as it is, reported with the signature the managed code now calls, and the lock
//!   records the new signature.
//! - **proto**: replaced only by a version that keeps every byte of it (`add-rpc`'s
//!   insertions), and only in a project svcgen wrote (one with a lock). Any other
//!   difference — a directory `svcgen new --force` writes into holding a proto of the
//!   same name — is a **conflict** (`--force` replaces it, keeping `<file>.orig`): a
//!   proto's lines are never lost.
//!
//! Without a lock, nothing on disk is known to be svcgen's: every file that differs from
//! what is rendered is someone else's (a conflict, or with `--force` replaced after a
//! backup). A backup never replaces another file: when `<file>.orig` exists with other
//! contents, `<file>.orig.1`, `<file>.orig.2`, … are used.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use crate::lock::{self, Lock, LockOwner, LockedFile};
use crate::manifest;
use crate::render::{GeneratedFile, Owner};
use crate::write::{self, Write};

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Missing: it is written.
    Create,
    /// Rewritten with new contents.
    Update,
    /// Already exactly as rendered.
    Unchanged,
    /// A user file that exists: left as it is.
    Keep,
    /// A handler kept as it is although its rpc's signature changed since svcgen
    /// created it: the user must change it (see [`Entry::reshaped`]).
    Signature,
    /// A managed file the user edited: not overwritten without `--force`.
    Conflict,
    /// A managed file that is no longer generated: removed.
    Delete,
    /// A user file svcgen no longer generates: reported, left alone.
    Stale,
}

impl Action {
    /// Whether carrying this action out changes the disk.
    #[must_use]
    pub const fn writes(self) -> bool {
        matches!(self, Self::Create | Self::Update | Self::Delete)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Create => "created",
            Self::Update => "updated",
            Self::Unchanged => "unchanged",
            Self::Keep => "kept",
            Self::Signature => "signature",
            Self::Conflict => "conflict",
            Self::Delete => "deleted",
            Self::Stale => "stale",
        })
    }
}

/// One file of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the project root, `/`-separated.
    pub path: String,
    /// Who owns it.
    pub owner: Owner,
    /// What happens to it.
    pub action: Action,
    /// What the disk holds now, if anything.
    pub disk: Option<String>,
    /// What svcgen renders for it, if anything.
    pub rendered: Option<String>,
    /// Where the disk's version is kept first (`--force`): `<path>.orig`, or
    /// `<path>.orig.<n>` when that exists already with other contents.
    pub backup: Option<String>,
    /// For [`Action::Signature`], how the handler's rpc changed.
    pub reshaped: Option<Reshaped>,
}

/// A kept handler whose rpc no longer has the signature it was written for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reshaped {
    /// The rpc, fully qualified: `greeter.v1.Greeter.Chat`.
    pub rpc: String,
    /// The signature the handler was written for, as the lock records it.
    pub was: String,
    /// The rpc's signature now.
    pub now: String,
    /// What the handler must declare now: the fresh stub's `use` lines and function
    /// signature.
    pub rust: String,
}

/// The files svcgen 0.1 wrote into every project's `tests/` as the user's: tests of the
/// framework, which lives in svcgen-runtime now and is tested there. A project from
/// svcgen 0.1 in which they are still as svcgen wrote them (its lock says so) gets the
/// service's own tests in their place, or loses them; an edited one is kept and
/// reported like any stale file.
const RETIRED_IN_0_2: &[&str] = &[
    "tests/config.rs",
    "tests/grpc.rs",
    "tests/logging.rs",
    "tests/shutdown.rs",
    "tests/telemetry.rs",
    "tests/tracing.rs",
];

/// The manifest, whose dependency entries svcgen keeps in step (see `manifest`).
const MANIFEST: &str = "Cargo.toml";

/// Everything a command will do to the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One entry per rendered file, then per locked file no longer rendered, by path.
    pub entries: Vec<Entry>,
    /// Dependency entries of `Cargo.toml` svcgen would have changed, which the user had
    /// changed first: left as they are.
    pub manifest_left: Vec<manifest::Left>,
    /// The lock as it will be after the plan is carried out.
    pub lock: Lock,
    /// What happens to `svcgen.lock`: [`Action::Create`] (there was none),
    /// [`Action::Update`] or [`Action::Unchanged`].
    pub lock_action: Action,
}

impl Plan {
    /// Plans writing `files` into `root`, given the project's `lock` (if any; `None`
    /// means that nothing in `root` is known to be svcgen's).
    ///
    /// # Errors
    /// A file on disk cannot be read.
    pub fn new(
        root: &Path,
        files: &[GeneratedFile],
        old_lock: Option<&Lock>,
        force: bool,
    ) -> std::io::Result<Self> {
        let empty = Lock::default();
        let old = old_lock.unwrap_or(&empty);
        let mut entries = Vec::with_capacity(files.len());
        let mut new_lock = Lock::current();
        let rendered_paths: BTreeSet<&str> = files.iter().map(|file| file.path.as_str()).collect();
        let from_0_1 = old_lock.is_some_and(|old| old.svcgen_version.starts_with("0.1."));
        let retired = |path: &str| from_0_1 && RETIRED_IN_0_2.contains(&path);
        let mut manifest_left = Vec::new();

        for file in files {
            let disk = read(root, &file.path)?;
            let locked = old.files.get(&file.path);
            let edited = || match (&disk, locked) {
                (Some(disk), Some(locked)) => lock::sha256(disk.as_bytes()) != locked.sha256,
                _ => true,
            };
            // The manifest's dependency entries svcgen wrote are kept in step with what
            // it writes now, in the user's manifest (in a project svcgen wrote).
            let mut file = std::borrow::Cow::Borrowed(file);
            if file.path == MANIFEST {
                new_lock.manifest = manifest::entries(&file.contents);
            }
            if file.path == MANIFEST
                && let (Some(old_lock), Some(text)) = (old_lock, &disk)
            {
                let previous = if old_lock.manifest.is_empty() && from_0_1 {
                    manifest::entries_of_0_1()
                } else {
                    old_lock.manifest.clone()
                };
                if let Some((synced, left)) = manifest::sync(text, &file.contents, &previous) {
                    manifest_left = left;
                    file.to_mut().contents = synced;
                }
            }
            let file = file.as_ref();
            // A proto svcgen may extend: in its project, and only by insertions.
            let extended =
                |disk: &str| old_lock.is_some() && keeps_every_byte(disk, &file.contents);
            let (mut action, backup) = match (file.owner, &disk) {
                (_, None) => (Action::Create, false),
                (_, Some(disk)) if *disk == file.contents => (Action::Unchanged, false),
                (Owner::User, Some(_)) if file.path == MANIFEST && old_lock.is_some() => {
                    (Action::Update, false)
                }
                (Owner::User, Some(_)) if retired(&file.path) && !edited() => {
                    (Action::Update, false)
                }
                (Owner::User, Some(_)) => (Action::Keep, false),
                (Owner::Proto, Some(disk)) if extended(disk) => (Action::Update, false),
                (Owner::Managed, Some(_)) if !edited() => (Action::Update, false),
                (Owner::Proto | Owner::Managed, Some(_)) if force => (Action::Update, true),
                (Owner::Proto | Owner::Managed, Some(_)) => (Action::Conflict, false),
            };
            let backup = match &disk {
                Some(disk) if backup => Some(backup_path(root, &file.path, disk)?),
                _ => None,
            };
            let signature = file
                .handler
                .as_ref()
                .map(|handler| handler.signature.clone());
            let reshaped = match (action, &file.handler, locked) {
                (Action::Keep, Some(handler), Some(locked)) => locked
                    .signature
                    .as_ref()
                    .filter(|was| **was != handler.signature)
                    .map(|was| Reshaped {
                        rpc: handler.rpc.clone(),
                        was: was.clone(),
                        now: handler.signature.clone(),
                        rust: handler.rust_signature(),
                    }),
                _ => None,
            };
            if reshaped.is_some() {
                action = Action::Signature;
            }
            if let Some(owner) = LockOwner::of(file.owner) {
                let entry = match action {
                    // The file stays as svcgen last wrote it, now known to be for the
                    // rpc's current signature (recorded once the user has been told; or,
                    // in a lock written before signatures were, assumed).
                    Action::Keep | Action::Signature if let Some(locked) = locked => LockedFile {
                        signature: signature.or_else(|| locked.signature.clone()),
                        ..locked.clone()
                    },
                    // Written now, or a user file the lock did not know yet (a lock lost,
                    // or `new --force` over existing files): recorded as svcgen renders
                    // it, so that it is reported stale or reshaped later like any other.
                    _ => LockedFile {
                        owner,
                        sha256: lock::sha256(file.contents.as_bytes()),
                        signature,
                    },
                };
                new_lock.files.insert(file.path.clone(), entry);
            }
            entries.push(Entry {
                path: file.path.clone(),
                owner: file.owner,
                action,
                disk,
                rendered: Some(file.contents.clone()),
                backup,
                reshaped,
            });
        }

        for (path, locked) in &old.files {
            if rendered_paths.contains(path.as_str()) {
                continue;
            }
            let Some(disk) = read(root, path)? else {
                continue; // gone already: forget it
            };
            let unedited = lock::sha256(disk.as_bytes()) == locked.sha256;
            let (owner, action, backup) = match locked.owner {
                LockOwner::User if retired(path) && unedited => {
                    (Owner::User, Action::Delete, false)
                }
                LockOwner::User => (Owner::User, Action::Stale, false),
                LockOwner::Managed if lock::sha256(disk.as_bytes()) == locked.sha256 => {
                    (Owner::Managed, Action::Delete, false)
                }
                LockOwner::Managed if force => (Owner::Managed, Action::Delete, true),
                LockOwner::Managed => (Owner::Managed, Action::Conflict, false),
            };
            let backup = if backup {
                Some(backup_path(root, path, &disk)?)
            } else {
                None
            };
            if action != Action::Delete {
                new_lock.files.insert(path.clone(), locked.clone());
            }
            entries.push(Entry {
                path: path.clone(),
                owner,
                action,
                disk: Some(disk),
                rendered: None,
                backup,
                reshaped: None,
            });
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let lock_action = match old_lock {
            None => Action::Create,
            Some(old) if *old != new_lock => Action::Update,
            Some(_) => Action::Unchanged,
        };
        Ok(Self {
            entries,
            manifest_left,
            lock: new_lock,
            lock_action,
        })
    }

    /// The entries with `action`.
    pub fn with(&self, action: Action) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(move |entry| entry.action == action)
    }

    /// How many entries have `action`.
    #[must_use]
    pub fn count(&self, action: Action) -> usize {
        self.with(action).count()
    }

    /// Whether the plan writes `svcgen.lock`.
    #[must_use]
    pub fn lock_changed(&self) -> bool {
        self.lock_action != Action::Unchanged
    }

    /// Whether the tree already is what the plan would make it.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        !self.lock_changed()
            && self.entries.iter().all(|entry| {
                !entry.action.writes()
                    && !matches!(entry.action, Action::Conflict | Action::Signature)
            })
    }

    /// Carries the plan out atomically, lock included.
    ///
    /// # Errors
    /// The plan has conflicts, or a write fails (then nothing is changed).
    pub fn apply(&self, root: &Path) -> anyhow::Result<()> {
        if let Some(conflict) = self.with(Action::Conflict).next() {
            anyhow::bail!("{} was edited by hand; nothing was written", conflict.path);
        }
        let mut backups = Vec::new();
        let mut writes = Vec::new();
        let mut deletes = Vec::new();
        for entry in &self.entries {
            if let Some(backup) = &entry.backup {
                // The file's own bytes (the plan holds it as text, which is lossy for a
                // file that is not UTF-8).
                let path = root.join(&entry.path);
                let bytes = std::fs::read(&path)
                    .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
                backups.push((backup.as_str(), bytes));
            }
            match (entry.action, &entry.rendered) {
                (Action::Create | Action::Update, Some(rendered)) => writes.push(Write {
                    path: &entry.path,
                    contents: rendered.as_bytes(),
                }),
                (Action::Delete, _) => deletes.push(entry.path.as_str()),
                _ => {}
            }
        }
        writes.extend(
            backups
                .iter()
                .map(|(path, contents)| Write { path, contents }),
        );
        let lock_text = self.lock.to_toml();
        if self.lock_changed() {
            writes.push(Write {
                path: lock::FILE_NAME,
                contents: lock_text.as_bytes(),
            });
        }
        write::apply(root, &writes, &deletes)
    }

    /// The files by path, for tests and reports.
    #[must_use]
    pub fn actions(&self) -> BTreeMap<&str, Action> {
        self.entries
            .iter()
            .map(|entry| (entry.path.as_str(), entry.action))
            .collect()
    }
}

/// Whether `new` holds every byte of `old`, in order: `new` is `old` with insertions.
fn keeps_every_byte(old: &str, new: &str) -> bool {
    let mut new = new.bytes();
    old.bytes()
        .all(|byte| new.any(|candidate| candidate == byte))
}

/// Where the disk's `contents` of `path` are kept before it is replaced or deleted: the
/// first of `<path>.orig`, `<path>.orig.1`, … that does not exist or already holds them.
fn backup_path(root: &Path, path: &str, contents: &str) -> std::io::Result<String> {
    let mut candidate = format!("{path}.orig");
    let mut n = 0_u64;
    loop {
        match read(root, &candidate)? {
            Some(existing) if existing != contents => {
                n += 1;
                candidate = format!("{path}.orig.{n}");
            }
            _ => return Ok(candidate),
        }
    }
}

fn read(root: &Path, path: &str) -> std::io::Result<Option<String>> {
    match std::fs::read(root.join(path)) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, owner: Owner, contents: &str) -> GeneratedFile {
        GeneratedFile {
            path: path.to_owned(),
            contents: contents.to_owned(),
            owner,
            handler: None,
        }
    }

    /// The handler `h.rs` of `rpc H(<signature>)`, holding `contents`.
    fn handler(signature: &str, contents: &str) -> GeneratedFile {
        GeneratedFile {
            handler: Some(crate::render::Handler {
                rpc: "a.S.H".to_owned(),
                signature: format!("rpc H({signature})"),
                stub: format!(
                    "use a::B;\n\npub async fn h(b: {signature}) -> C {{\n    todo!()\n}}\n"
                ),
            }),
            ..file("h.rs", Owner::User, contents)
        }
    }

    fn locked_signature(plan: &Plan) -> Option<&str> {
        plan.lock.files["h.rs"].signature.as_deref()
    }

    /// Writes `files`, then returns the plan for re-rendering them as `next`.
    fn replan(
        first: &[GeneratedFile],
        edit: impl FnOnce(&Path),
        next: &[GeneratedFile],
        force: bool,
    ) -> Plan {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        Plan::new(root, first, None, false)
            .unwrap()
            .apply(root)
            .unwrap();
        edit(root);
        let lock = Lock::load(root).unwrap();
        Plan::new(root, next, lock.as_ref(), force).unwrap()
    }

    #[test]
    fn unedited_managed_files_are_updated_and_user_files_kept() {
        let first = [
            file("m.rs", Owner::Managed, "m1"),
            file("u.rs", Owner::User, "u1"),
        ];
        let next = [
            file("m.rs", Owner::Managed, "m2"),
            file("u.rs", Owner::User, "u2"),
        ];
        let plan = replan(&first, |_| {}, &next, false);
        assert_eq!(plan.actions()["m.rs"], Action::Update);
        assert_eq!(plan.actions()["u.rs"], Action::Keep);
    }

    #[test]
    fn an_edited_managed_file_is_a_conflict_unless_forced() {
        let first = [file("m.rs", Owner::Managed, "m1")];
        let next = [file("m.rs", Owner::Managed, "m2")];
        let edit = |root: &Path| std::fs::write(root.join("m.rs"), "mine").unwrap();
        let plan = replan(&first, edit, &next, false);
        assert_eq!(plan.actions()["m.rs"], Action::Conflict);
        assert!(!plan.is_clean());

        let plan = replan(&first, edit, &next, true);
        assert_eq!(plan.actions()["m.rs"], Action::Update);
        assert_eq!(plan.entries[0].backup.as_deref(), Some("m.rs.orig"));
    }

    #[test]
    fn a_forced_backup_is_the_file_byte_for_byte_even_when_it_is_not_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let first = [file("m.rs", Owner::Managed, "m1")];
        Plan::new(root, &first, None, false)
            .unwrap()
            .apply(root)
            .unwrap();
        let mine = b"// caf\xe9, in Latin-1\n".to_vec();
        std::fs::write(root.join("m.rs"), &mine).unwrap();
        let lock = Lock::load(root).unwrap();
        let next = [file("m.rs", Owner::Managed, "m2")];
        let plan = Plan::new(root, &next, lock.as_ref(), true).unwrap();
        plan.apply(root).unwrap();
        assert_eq!(std::fs::read(root.join("m.rs.orig")).unwrap(), mine);
        assert_eq!(std::fs::read_to_string(root.join("m.rs")).unwrap(), "m2");
    }

    #[test]
    fn a_proto_is_replaced_only_by_insertions_into_it() {
        let first = [file("p.proto", Owner::Proto, "service S {\n}\n")];
        let grown = [file(
            "p.proto",
            Owner::Proto,
            "service S {\n  rpc A(B) returns (B);\n}\n",
        )];
        let plan = replan(&first, |_| {}, &grown, false);
        assert_eq!(plan.actions()["p.proto"], Action::Update);
        assert_eq!(plan.entries[0].backup, None);

        let other = [file("p.proto", Owner::Proto, "service T {\n}\n")];
        let plan = replan(&first, |_| {}, &other, false);
        assert_eq!(plan.actions()["p.proto"], Action::Conflict);
        let plan = replan(&first, |_| {}, &other, true);
        assert_eq!(plan.actions()["p.proto"], Action::Update);
        assert_eq!(plan.entries[0].backup.as_deref(), Some("p.proto.orig"));
    }

    #[test]
    fn without_a_lock_every_differing_file_is_someone_elses() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("p.proto"), "a").unwrap();
        std::fs::write(root.join("m.rs"), "m").unwrap();
        std::fs::write(root.join("m.rs.orig"), "an older backup").unwrap();
        std::fs::write(root.join("m.rs.orig.1"), "m").unwrap();
        let files = [
            file("p.proto", Owner::Proto, "ab"),
            file("m.rs", Owner::Managed, "m2"),
        ];
        let plan = Plan::new(root, &files, None, false).unwrap();
        assert_eq!(
            plan.actions()["p.proto"],
            Action::Conflict,
            "even an insertion"
        );
        assert_eq!(plan.actions()["m.rs"], Action::Conflict);
        assert_eq!(plan.lock_action, Action::Create);

        let plan = Plan::new(root, &files, None, true).unwrap();
        let backups: Vec<_> = plan.entries.iter().map(|e| e.backup.as_deref()).collect();
        assert_eq!(
            backups,
            [Some("m.rs.orig.1"), Some("p.proto.orig")],
            "a backup with other contents is never overwritten; one with the same is reused"
        );
    }

    #[test]
    fn keeps_every_byte_means_only_insertions() {
        assert!(keeps_every_byte("abc", "abc"));
        assert!(keeps_every_byte("ac", "abc"));
        assert!(keeps_every_byte("", "x"));
        assert!(!keeps_every_byte("abc", "ab"));
        assert!(!keeps_every_byte("abc", "acb"));
    }

    #[test]
    fn files_no_longer_rendered_are_deleted_or_stale_by_owner() {
        let first = [
            file("m.rs", Owner::Managed, "m"),
            file("u.rs", Owner::User, "u"),
        ];
        let plan = replan(&first, |_| {}, &[], false);
        assert_eq!(plan.actions()["m.rs"], Action::Delete);
        assert_eq!(plan.actions()["u.rs"], Action::Stale);
        assert!(plan.lock.files.contains_key("u.rs"));
        assert!(!plan.lock.files.contains_key("m.rs"));
    }

    #[test]
    fn rendering_the_same_files_again_is_clean() {
        let first = [
            file("m.rs", Owner::Managed, "m"),
            file("u.rs", Owner::User, "u"),
        ];
        let edit = |root: &Path| std::fs::write(root.join("u.rs"), "edited").unwrap();
        let plan = replan(&first, edit, &first, false);
        assert!(plan.is_clean(), "{plan:#?}");
        assert_eq!(plan.actions()["u.rs"], Action::Keep);
    }

    #[test]
    fn a_kept_handler_whose_rpc_changed_is_reported_and_the_new_signature_recorded() {
        let edit = |root: &Path| std::fs::write(root.join("h.rs"), "mine").unwrap();
        let plan = replan(
            &[handler("A", "stub A")],
            edit,
            &[handler("B", "stub B")],
            false,
        );
        assert_eq!(plan.actions()["h.rs"], Action::Signature);
        let entry = &plan.entries[0];
        assert_eq!(
            entry.reshaped,
            Some(Reshaped {
                rpc: "a.S.H".to_owned(),
                was: "rpc H(A)".to_owned(),
                now: "rpc H(B)".to_owned(),
                rust: "use a::B;\n\npub async fn h(b: B) -> C".to_owned(),
            })
        );
        assert_eq!(locked_signature(&plan), Some("rpc H(B)"));
        assert_eq!(
            plan.lock.files["h.rs"].sha256,
            lock::sha256(b"stub A"),
            "the hash stays that of what svcgen wrote"
        );
        assert!(plan.lock_changed() && !plan.is_clean());

        // Once recorded, the same signature is a plain keep.
        let plan = replan(
            &[handler("A", "stub A")],
            edit,
            &[handler("A", "stub A2")],
            false,
        );
        assert_eq!(plan.actions()["h.rs"], Action::Keep);
        assert!(plan.entries[0].reshaped.is_none());
        assert!(plan.is_clean(), "{plan:#?}");
    }

    #[test]
    fn an_unedited_handler_is_a_keep_too_and_a_recreated_one_just_created() {
        // The disk holds the old stub: still the user's file, never rewritten.
        let plan = replan(
            &[handler("A", "stub A")],
            |_| {},
            &[handler("B", "stub B")],
            false,
        );
        assert_eq!(plan.actions()["h.rs"], Action::Signature);
        // Deleted by the user: created anew, for the new signature.
        let remove = |root: &Path| std::fs::remove_file(root.join("h.rs")).unwrap();
        let plan = replan(
            &[handler("A", "stub A")],
            remove,
            &[handler("B", "stub B")],
            false,
        );
        assert_eq!(plan.actions()["h.rs"], Action::Create);
        assert_eq!(locked_signature(&plan), Some("rpc H(B)"));
    }

    #[test]
    fn a_lock_without_signatures_gets_them_without_a_warning() {
        let forget = |root: &Path| {
            let mut lock = Lock::load(root).unwrap().unwrap();
            lock.files.get_mut("h.rs").unwrap().signature = None;
            std::fs::write(root.join(lock::FILE_NAME), lock.to_toml()).unwrap();
            std::fs::write(root.join("h.rs"), "mine").unwrap();
        };
        let plan = replan(
            &[handler("A", "stub A")],
            forget,
            &[handler("B", "stub B")],
            false,
        );
        assert_eq!(plan.actions()["h.rs"], Action::Keep);
        assert_eq!(locked_signature(&plan), Some("rpc H(B)"));
        assert!(plan.lock_changed());
    }
}
