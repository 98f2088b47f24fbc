//! Compiles .proto files in-process with protox (no system `protoc`) into a
//! `FileDescriptorSet`, and collects the sources the generated project must carry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};
use protox::file::{
    ChainFileResolver, File, FileResolver, GoogleFileResolver, IncludeFileResolver,
};

use crate::error::Error;

/// What to compile.
#[derive(Debug, Clone, Default)]
pub struct ProtoInput {
    /// The root files: paths on disk (under an include directory) or names of
    /// in-memory files.
    pub files: Vec<PathBuf>,
    /// Directories imports are resolved against, in order.
    pub includes: Vec<PathBuf>,
    /// Files that exist only in memory (the embedded default proto), by name.
    pub memory: BTreeMap<String, String>,
}

/// One .proto file of the project, by the name imports use (`greeter/v1/greeter.proto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoSource {
    /// The import name, which is also its path under the project's `proto/`.
    pub name: String,
    /// Its text, byte for byte.
    pub contents: String,
}

/// The compiled protos.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// Every file, imports included, dependencies first, with source info (comments).
    pub descriptors: FileDescriptorSet,
    /// The import names of the root files.
    pub roots: Vec<String>,
    /// The project's own proto files (roots and their imports, well-known types excluded).
    pub sources: Vec<ProtoSource>,
    /// Copies of the well-known types on disk, under an include directory, that the
    /// bundled ones were used in place of.
    pub shadowed: Vec<PathBuf>,
    /// The `google.api.http` rules of every method, located in their files.
    pub http_rules: Vec<crate::http::Rule>,
    /// The descriptors as prost-reflect reads them (options and extensions included).
    pub pool: prost_reflect::DescriptorPool,
}

/// Where the well-known types live. protox bundles them, and they are always resolved
/// to that bundled copy, before the include directories: trees vendored from googleapis
/// carry their own `google/protobuf/*.proto`, and recent protobuf releases write
/// `descriptor.proto` with syntax protox does not parse (extension declarations).
pub const WELL_KNOWN_PREFIX: &str = "google/protobuf/";

/// Protos svcgen ships for imports that have no other source: the `google.api` HTTP
/// annotations. Users' own copies, in an include directory, come first.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "google/api/annotations.proto",
        include_str!("../templates/proto/google/api/annotations.proto"),
    ),
    (
        "google/api/http.proto",
        include_str!("../templates/proto/google/api/http.proto"),
    ),
];

/// The steps of a `SourceCodeInfo` location path: the field numbers of
/// `FileDescriptorProto` and `ServiceDescriptorProto` that lead to a declaration.
pub mod source_path {
    /// `FileDescriptorProto.package`.
    pub const PACKAGE: i32 = 2;
    /// `FileDescriptorProto.dependency` (the imports).
    pub const DEPENDENCY: i32 = 3;
    /// `FileDescriptorProto.message_type`.
    pub const MESSAGE_TYPE: i32 = 4;
    /// `FileDescriptorProto.service`.
    pub const SERVICE: i32 = 6;
    /// `FileDescriptorProto.syntax`.
    pub const SYNTAX: i32 = 12;
    /// `ServiceDescriptorProto.method`.
    pub const METHOD: i32 = 2;
}

/// Whether a declared type is a message or an enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    /// A message.
    Message,
    /// An enum.
    Enum,
}

/// A message or enum of the compiled protos.
#[derive(Debug, Clone)]
pub struct DeclaredType<'a> {
    /// What it is.
    pub kind: TypeKind,
    /// The file declaring it (its import name).
    pub file: &'a str,
    /// Its package.
    pub package: &'a str,
    /// The messages it is nested in, outermost first.
    pub parents: Vec<&'a str>,
    /// Its own name.
    pub name: &'a str,
    /// A message's descriptor.
    pub message: Option<&'a DescriptorProto>,
}

/// Every message and enum of a set of files, by fully qualified name (without the
/// leading dot): what model.rs maps to Rust paths and add-rpc resolves names against.
#[derive(Debug, Default)]
pub struct TypeIndex<'a> {
    types: BTreeMap<String, DeclaredType<'a>>,
}

impl<'a> TypeIndex<'a> {
    /// The index of `files`.
    #[must_use]
    pub fn new(files: &'a [FileDescriptorProto]) -> Self {
        let mut index = Self::default();
        for file in files {
            for message in &file.message_type {
                index.add_message(file, &[], message);
            }
            for item in &file.enum_type {
                index.add(file, &[], item.name(), TypeKind::Enum, None);
            }
        }
        index
    }

    fn add(
        &mut self,
        file: &'a FileDescriptorProto,
        parents: &[&'a str],
        name: &'a str,
        kind: TypeKind,
        message: Option<&'a DescriptorProto>,
    ) {
        let mut full = file.package().to_owned();
        for part in parents.iter().chain([&name]) {
            full = crate::ident::qualify(&full, part);
        }
        self.types.insert(
            full,
            DeclaredType {
                kind,
                file: file.name(),
                package: file.package(),
                parents: parents.to_vec(),
                name,
                message,
            },
        );
    }

    fn add_message(
        &mut self,
        file: &'a FileDescriptorProto,
        parents: &[&'a str],
        message: &'a DescriptorProto,
    ) {
        self.add(
            file,
            parents,
            message.name(),
            TypeKind::Message,
            Some(message),
        );
        let mut inner = parents.to_vec();
        inner.push(message.name());
        for nested in &message.nested_type {
            self.add_message(file, &inner, nested);
        }
        for nested in &message.enum_type {
            self.add(file, &inner, nested.name(), TypeKind::Enum, None);
        }
    }

    /// The type named `full_name` (`a.v1.Outer.Inner`, a leading dot allowed).
    #[must_use]
    pub fn get(&self, full_name: &str) -> Option<&DeclaredType<'a>> {
        self.types.get(full_name.trim_start_matches('.'))
    }

    /// Resolves `name` as protoc does from inside `package`, innermost scope first (a
    /// leading dot makes it absolute): its full name and the type.
    #[must_use]
    pub fn resolve(&self, package: &str, name: &str) -> Option<(String, &DeclaredType<'a>)> {
        if let Some(absolute) = name.strip_prefix('.') {
            return self
                .types
                .get_key_value(absolute)
                .map(|(full, found)| (full.clone(), found));
        }
        let mut scope = package.to_owned();
        loop {
            let candidate = crate::ident::qualify(&scope, name);
            if let Some(found) = self.types.get(&candidate) {
                return Some((candidate, found));
            }
            if scope.is_empty() {
                return None;
            }
            scope = scope
                .rsplit_once('.')
                .map_or_else(String::new, |(parent, _)| parent.to_owned());
        }
    }

    /// Every message, by full name.
    pub fn messages(&self) -> impl Iterator<Item = (&str, &DeclaredType<'a>)> {
        self.types
            .iter()
            .filter(|(_, found)| found.kind == TypeKind::Message)
            .map(|(full, found)| (full.as_str(), found))
    }
}

/// Serves in-memory files by name.
struct MemoryResolver(BTreeMap<String, String>);

impl FileResolver for MemoryResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.0.get(name) {
            Some(source) => File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Compiles `input`.
///
/// # Errors
/// A file that does not parse, an import that cannot be found, an unknown type... each
/// with the file, line and column.
pub fn compile(input: &ProtoInput) -> Result<Compiled, Error> {
    let mut resolver = ChainFileResolver::new();
    resolver.add(GoogleFileResolver::new());
    resolver.add(MemoryResolver(input.memory.clone()));
    for include in &input.includes {
        resolver.add(IncludeFileResolver::new(include.clone()));
    }
    resolver.add(MemoryResolver(
        EMBEDDED
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect(),
    ));

    check_roots(input)?;
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(true);
    compiler
        .open_files(&input.files)
        .map_err(|error| located(error, &input.includes))?;

    let roots = compiler
        .files()
        .filter(|file| !file.is_import())
        .map(|file| file.name().to_owned())
        .collect::<Vec<_>>();
    let descriptors = compiler.file_descriptor_set();
    let mut sources = Vec::new();
    let mut shadowed = Vec::new();
    let mut texts = BTreeMap::new();
    for file in compiler.files() {
        let name = file.name();
        if name.starts_with(WELL_KNOWN_PREFIX) && file.path().is_none() {
            shadowed.extend(
                input
                    .includes
                    .iter()
                    .map(|include| include.join(name))
                    .filter(|path| path.is_file())
                    .map(|path| {
                        path.components()
                            .filter(|c| *c != std::path::Component::CurDir)
                            .collect()
                    }),
            );
        }
        let embedded = EMBEDDED.iter().find(|(embedded, _)| *embedded == name);
        let contents = if let Some(source) = input.memory.get(name) {
            source.clone()
        } else if let Some(path) = file.path() {
            read(path)?
        } else if let Some((_, source)) = embedded {
            (*source).to_owned()
        } else {
            continue; // a well-known type, which protox and prost-types carry
        };
        let shown = file
            .path()
            .map_or_else(|| name.to_owned(), |path| path.display().to_string());
        texts.insert(name.to_owned(), (shown, contents.clone()));
        sources.push(ProtoSource {
            name: name.to_owned(),
            contents,
        });
    }
    // Keep the dependency order of the descriptor set, which is deterministic.
    let order: BTreeMap<&str, usize> = descriptors
        .file
        .iter()
        .enumerate()
        .map(|(index, file)| (file.name(), index))
        .collect();
    sources.sort_by_key(|source| order.get(source.name.as_str()).copied());
    let mut roots = roots;
    roots.sort_by_key(|root| order.get(root.as_str()).copied());
    let pool = compiler.descriptor_pool();
    Ok(Compiled {
        descriptors,
        roots,
        sources,
        shadowed,
        http_rules: crate::http::from_protos(&pool, &texts),
        pool,
    })
}

/// Checks that every root file is where protox will look for it — under an include
/// directory, as a path or as an import name — so that a missing file is reported as
/// missing, with the paths checked, and one outside the include directories as that
/// (protox says "not in any include path" for both).
fn check_roots(input: &ProtoInput) -> Result<(), Error> {
    for file in &input.files {
        let name = file.to_string_lossy().replace('\\', "/");
        if input.memory.contains_key(&name) || name.starts_with("google/") {
            continue; // in memory, or one of the protos protox or svcgen carry
        }
        let checked = lookups(file, &input.includes);
        if checked.iter().any(|path| path.is_file()) {
            continue;
        }
        let list = |paths: &mut dyn Iterator<Item = &PathBuf>| {
            paths
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if file.is_file() {
            return Err(Error::ProtoNotIncluded {
                file: file.clone(),
                includes: list(&mut input.includes.iter()),
                dir: file
                    .parent()
                    .filter(|dir| !dir.as_os_str().is_empty())
                    .map_or_else(|| ".".to_owned(), |dir| dir.display().to_string()),
            });
        }
        return Err(Error::ProtoNotFound {
            file: file.clone(),
            checked: if checked.is_empty() {
                "it nowhere: there is no include directory".to_owned()
            } else {
                list(&mut checked.iter())
            },
        });
    }
    Ok(())
}

/// Where protox looks for the root `file`: a path under an include directory is the
/// import name of what follows it, anything else is taken as an import name; the name
/// is looked up in every include directory.
fn lookups(file: &Path, includes: &[PathBuf]) -> Vec<PathBuf> {
    let name = includes
        .iter()
        .find_map(|include| strip_prefix(file, include))
        .unwrap_or_else(|| file.to_owned());
    let mut paths = Vec::new();
    for include in includes {
        let path = include.join(&name);
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

/// `path` after `prefix`, ignoring `.` components, as protox compares them.
fn strip_prefix(path: &Path, prefix: &Path) -> Option<PathBuf> {
    let not_dot = |component: &std::path::Component<'_>| *component != std::path::Component::CurDir;
    let mut rest = path.components().filter(not_dot);
    for component in prefix.components().filter(not_dot) {
        if rest.next() != Some(component) {
            return None;
        }
    }
    Some(rest.collect())
}

/// Adds the path on disk of the file a protox error is about, if it is on disk.
fn located(error: protox::Error, includes: &[PathBuf]) -> Error {
    let path = error.file().and_then(|name| {
        includes
            .iter()
            .map(|include| include.join(name))
            .find(|path| path.is_file())
    });
    Error::Proto { error, path }
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|error| Error::Proto {
        error: protox::Error::new(format!("cannot read {}: {error}", path.display())),
        path: Some(path.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(files: &[(&str, &str)]) -> ProtoInput {
        ProtoInput {
            files: files
                .iter()
                .take(1)
                .map(|(name, _)| PathBuf::from(name))
                .collect(),
            includes: Vec::new(),
            memory: files
                .iter()
                .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn compiles_imports_and_well_known_types() {
        let compiled = compile(&memory(&[
            (
                "a/v1/a.proto",
                "syntax = \"proto3\"; package a.v1; import \"b/b.proto\"; \
                 import \"google/protobuf/timestamp.proto\"; \
                 message A { b.B b = 1; google.protobuf.Timestamp at = 2; }",
            ),
            ("b/b.proto", "syntax = \"proto3\"; package b; message B {}"),
        ]))
        .unwrap();
        assert_eq!(compiled.roots, ["a/v1/a.proto"]);
        let names: Vec<_> = compiled.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["b/b.proto", "a/v1/a.proto"]);
        assert!(
            compiled
                .descriptors
                .file
                .iter()
                .any(|f| f.name() == "google/protobuf/timestamp.proto")
        );
    }

    #[test]
    fn roots_are_looked_up_as_protox_does() {
        let includes = [PathBuf::from("api"), PathBuf::from("./shared")];
        // A path under an include directory is the name of what follows it.
        assert_eq!(
            lookups(Path::new("./api/v1/a.proto"), &includes),
            [
                PathBuf::from("api/v1/a.proto"),
                PathBuf::from("./shared/v1/a.proto")
            ]
        );
        assert_eq!(
            lookups(Path::new("shared/b.proto"), &includes),
            [
                PathBuf::from("api/b.proto"),
                PathBuf::from("./shared/b.proto")
            ]
        );
        // Anything else is a name.
        assert_eq!(
            lookups(Path::new("v1/a.proto"), &includes),
            [
                PathBuf::from("api/v1/a.proto"),
                PathBuf::from("./shared/v1/a.proto")
            ]
        );
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let Err(Error::Proto { error, .. }) = compile(&memory(&[(
            "bad.proto",
            "syntax = \"proto3\";\nmessage A {\n  string name = 1\n}\n",
        )])) else {
            panic!("expected a proto error");
        };
        assert_eq!(error.file(), Some("bad.proto"));
    }

    #[test]
    fn well_known_types_on_disk_are_shadowed_by_the_bundled_ones() {
        let dir = tempfile::tempdir().unwrap();
        let vendored = dir.path().join("google/protobuf/descriptor.proto");
        std::fs::create_dir_all(vendored.parent().unwrap()).unwrap();
        // What recent protobuf releases write, and protox does not parse.
        std::fs::write(
            &vendored,
            "syntax = \"proto2\"; package google.protobuf;\n\
             message FileDescriptorSet { extensions 536000000 [declaration = { number: 536000000 }]; }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("a.proto"),
            "syntax = \"proto3\"; import \"google/protobuf/descriptor.proto\";\n\
             extend google.protobuf.MethodOptions { string tag = 50000; }\n",
        )
        .unwrap();
        let compiled = compile(&ProtoInput {
            files: vec![PathBuf::from("a.proto")],
            includes: vec![dir.path().to_owned()],
            memory: BTreeMap::new(),
        })
        .unwrap();
        assert_eq!(compiled.shadowed, [vendored]);
        let names: Vec<_> = compiled.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a.proto"], "the bundled copy is not the project's");
    }
}
