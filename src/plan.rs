//! Compares the rendered files with the disk and decides, file by file, what to do.

use std::fmt;
use std::path::Path;

use crate::render::{GeneratedFile, Owner};
use crate::write::Write;

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// It does not exist yet.
    Create,
    /// It exists with other contents and will be replaced (`--force`).
    Overwrite,
    /// It already has exactly these contents.
    Unchanged,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Create => "create",
            Self::Overwrite => "overwrite",
            Self::Unchanged => "unchanged",
        })
    }
}

/// One file of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the project root.
    pub path: String,
    /// Who owns it.
    pub owner: Owner,
    /// What happens to it.
    pub action: Action,
}

/// Everything a command will do to the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One entry per rendered file, in path order.
    pub entries: Vec<Entry>,
}

impl Plan {
    /// The plan for writing `files` into `root`, which may hold older versions of them.
    ///
    /// # Errors
    /// An existing file cannot be read.
    pub fn new(root: &Path, files: &[GeneratedFile]) -> std::io::Result<Self> {
        let mut entries = Vec::with_capacity(files.len());
        for file in files {
            let action = match std::fs::read(root.join(&file.path)) {
                Ok(existing) if existing == file.contents.as_bytes() => Action::Unchanged,
                Ok(_) => Action::Overwrite,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Action::Create,
                Err(error) => return Err(error),
            };
            entries.push(Entry {
                path: file.path.clone(),
                owner: file.owner,
                action,
            });
        }
        Ok(Self { entries })
    }

    /// The writes that carry the plan out.
    #[must_use]
    pub fn writes<'a>(&self, files: &'a [GeneratedFile]) -> Vec<Write<'a>> {
        files
            .iter()
            .zip(&self.entries)
            .filter(|(_, entry)| entry.action != Action::Unchanged)
            .map(|(file, _)| Write {
                path: &file.path,
                contents: &file.contents,
            })
            .collect()
    }

    /// How many entries have `action`.
    #[must_use]
    pub fn count(&self, action: Action) -> usize {
        self.entries
            .iter()
            .filter(|entry| entry.action == action)
            .count()
    }
}
