//! A generated project on disk, and the one way svcgen renders any project: compile the
//! protos, build the model, render, format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::lock::Lock;
use crate::model::Project;
use crate::plan::Plan;
use crate::proto::{self, ProtoInput};
use crate::render::{self, GeneratedFile};
use crate::spec::{self, Spec};

/// Everything svcgen would write for a project, decided without touching the disk.
#[derive(Debug)]
pub struct Generated {
    /// The model the files were rendered from.
    pub project: Project,
    /// The files, as rendered.
    pub files: Vec<GeneratedFile>,
    /// What the user should know about how the files were made (printed before the plan).
    pub warnings: Vec<String>,
}

/// Where the protos come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protos {
    /// A new project: every proto is copied under `proto/`, which becomes the only
    /// include directory.
    Copy,
    /// An existing project: the protos stay where its spec says they are.
    InPlace,
}

/// Compiles `input`, builds the model from `spec` and renders every file.
///
/// # Errors
/// Invalid protos, or protos the generated code could not serve.
pub fn generate(mut spec: Spec, input: &ProtoInput, protos: Protos) -> anyhow::Result<Generated> {
    let mut compiled = proto::compile(input)?;
    // The services served are those of the spec's protos; the clients' protos are
    // compiled with them, for their client stubs only.
    let served = compiled.roots.clone();
    if !spec.clients.is_empty() {
        let mut with_clients = input.clone();
        for client in &spec.clients {
            let file = PathBuf::from(&client.proto);
            if !with_clients.files.contains(&file) {
                with_clients.files.push(file);
            }
        }
        compiled = proto::compile(&with_clients)?;
    }
    match protos {
        Protos::Copy => {
            spec.proto.files.clone_from(&served);
            spec.proto.includes = vec!["proto".to_owned()];
        }
        Protos::InPlace => compiled.sources.clear(),
    }
    let mut warnings = Vec::new();
    if !compiled.shadowed.is_empty() {
        let list: Vec<String> = compiled
            .shadowed
            .iter()
            .map(|path| format!("\n    {}", path.display()))
            .collect();
        warnings.push(format!(
            "warning: the well-known types bundled with svcgen were used instead of these \
             copies on disk (they are always resolved first, here and in build.rs):{}",
            list.concat()
        ));
    }
    let project = Project::build(spec, &compiled, &served)?;
    let files = render::render(&project)?;
    Ok(Generated {
        project,
        files,
        warnings,
    })
}

/// A project svcgen generated, as found on disk.
#[derive(Debug, Clone)]
pub struct Existing {
    /// Its root directory.
    pub root: PathBuf,
    /// Its `svcgen.toml`.
    pub spec: Spec,
    /// Its `svcgen.lock`, if it has one.
    pub lock: Option<Lock>,
}

impl Existing {
    /// Opens the project at `root` (the current directory by default).
    ///
    /// # Errors
    /// `root` has no `svcgen.toml`, or its spec or lock is invalid.
    pub fn open(root: Option<&Path>) -> Result<Self, Error> {
        let root = root.map_or_else(|| PathBuf::from("."), Path::to_owned);
        let spec_path = root.join(spec::FILE_NAME);
        if !spec_path.is_file() {
            return Err(Error::NotAProject { dir: root });
        }
        let spec = Spec::load(&spec_path)?;
        spec.name(&spec_path)?;
        let lock = Lock::load(&root)?;
        Ok(Self { root, spec, lock })
    }

    /// The protos to compile: the spec's, with `overlay` (name → text) read instead of
    /// the files of the same name on disk.
    #[must_use]
    pub fn proto_input(&self, overlay: BTreeMap<String, String>) -> ProtoInput {
        ProtoInput {
            files: self.spec.proto.files.iter().map(PathBuf::from).collect(),
            includes: self.spec.include_dirs(&self.root),
            memory: overlay,
        }
    }

    /// Plans writing `files` into the project against its lock.
    ///
    /// # Errors
    /// A file of the project cannot be read.
    pub fn plan(&self, files: &[GeneratedFile], force: bool) -> std::io::Result<Plan> {
        Plan::new(&self.root, files, self.lock.as_ref(), force)
    }

    /// Renders the project from its spec and protos (with `overlay`).
    ///
    /// # Errors
    /// Invalid protos.
    pub fn generate(&self, overlay: BTreeMap<String, String>) -> anyhow::Result<Generated> {
        generate(
            self.spec.clone(),
            &self.proto_input(overlay),
            Protos::InPlace,
        )
    }
}
