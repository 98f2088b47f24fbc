//! What the generated code needs of the project's `Cargo.toml`, which is the user's and
//! never rewritten: after a newer svcgen regenerates the managed code, the dependencies
//! (or features of them) it uses and the manifest lacks are reported, with the lines to
//! add, instead of surfacing as unresolved imports.

use toml::{Table, Value};

/// The dependency sections compared.
const SECTIONS: [&str; 3] = ["dependencies", "build-dependencies", "dev-dependencies"];

/// A dependency the rendered manifest declares and the one on disk lacks or declares
/// without some of its features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// `dependencies`, `build-dependencies` or `dev-dependencies`.
    pub section: &'static str,
    /// The crate.
    pub name: String,
    /// What is missing.
    pub missing: Missing,
}

/// What a [`Gap`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The whole dependency: its line in the rendered manifest.
    Dependency(String),
    /// Features of a dependency the manifest has: the rendered line, and the features
    /// the manifest's declaration lacks.
    Features {
        /// The dependency's line in the rendered manifest.
        line: String,
        /// What it lacks.
        features: Vec<String>,
    },
}

/// The gaps of the manifest `disk` against the `rendered` one. A manifest that does not
/// parse has none (cargo will say what is wrong with it).
#[must_use]
pub fn gaps(rendered: &str, disk: &str) -> Vec<Gap> {
    let (Ok(rendered_table), Ok(disk_table)) = (rendered.parse::<Table>(), disk.parse::<Table>())
    else {
        return Vec::new();
    };
    let mut gaps = Vec::new();
    for section in SECTIONS {
        let Some(wanted) = rendered_table.get(section).and_then(Value::as_table) else {
            continue;
        };
        for (name, value) in wanted {
            let missing = match declared(&disk_table, section, name) {
                None => Missing::Dependency(line_of(rendered, section, name)),
                // Inherited from the workspace, or with the crate's default features on
                // (which may well include those svcgen names): nothing to tell.
                Some(existing) if inherits_or_has_defaults(existing) => continue,
                Some(existing) => {
                    let present = features(existing);
                    let absent: Vec<String> = features(value)
                        .into_iter()
                        .filter(|feature| !present.contains(feature))
                        .collect();
                    if absent.is_empty() {
                        continue;
                    }
                    Missing::Features {
                        line: line_of(rendered, section, name),
                        features: absent,
                    }
                }
            };
            gaps.push(Gap {
                section,
                name: name.clone(),
                missing,
            });
        }
    }
    gaps
}

/// The declaration of `name` in `section` of the manifest: under its own name or renamed
/// (`package = "name"`), for every target or a `[target.….section]` one.
fn declared<'a>(manifest: &'a Table, section: &str, name: &str) -> Option<&'a Value> {
    let targets = manifest
        .get("target")
        .and_then(Value::as_table)
        .into_iter()
        .flat_map(|targets| targets.values())
        .filter_map(|target| target.get(section));
    std::iter::once(manifest.get(section))
        .flatten()
        .chain(targets)
        .filter_map(Value::as_table)
        .find_map(|dependencies| {
            dependencies.get(name).or_else(|| {
                dependencies
                    .values()
                    .find(|value| value.get("package").and_then(Value::as_str) == Some(name))
            })
        })
}

/// Whether a declaration's features cannot be told from the manifest alone.
fn inherits_or_has_defaults(dependency: &Value) -> bool {
    let flag = |key| dependency.get(key).and_then(Value::as_bool);
    flag("workspace") == Some(true) || flag("default-features") != Some(false)
}

fn features(dependency: &Value) -> Vec<String> {
    dependency
        .get("features")
        .and_then(Value::as_array)
        .map(|features| {
            features
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The line declaring `name` in `section` of the rendered manifest (one line each, as
/// svcgen writes them).
fn line_of(manifest: &str, section: &str, name: &str) -> String {
    let header = format!("[{section}]");
    let mut in_section = false;
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_section = trimmed == header;
        } else if in_section
            && trimmed
                .strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return trimmed.to_owned();
        }
    }
    format!("{name} = \"*\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RENDERED: &str = r#"[package]
name = "demo"

[dependencies]
anyhow = "1"
# a comment
axum = { version = "0.8", default-features = false, features = ["json", "matched-path"] }
toml_edit = { version = "0.22", features = ["parse"] }

[dev-dependencies]
reqwest = { version = "0.13", default-features = false }
"#;

    #[test]
    fn an_up_to_date_manifest_has_no_gaps_whatever_else_it_has() {
        let disk = format!("{RENDERED}\n[features]\nextra = []\n");
        let disk = disk.replace("anyhow = \"1\"", "anyhow = \"1.0.100\"\nmine = \"2\"");
        assert_eq!(gaps(RENDERED, &disk), []);
    }

    #[test]
    fn missing_dependencies_and_features_are_named_with_what_to_add() {
        let disk = RENDERED
            .replace(
                "toml_edit = { version = \"0.22\", features = [\"parse\"] }\n",
                "",
            )
            .replace(", \"matched-path\"", "")
            .replace(
                "[dev-dependencies]\nreqwest = { version = \"0.13\", default-features = false }\n",
                "",
            );
        assert_eq!(
            gaps(RENDERED, &disk),
            [
                Gap {
                    section: "dependencies",
                    name: "axum".to_owned(),
                    missing: Missing::Features {
                        line: "axum = { version = \"0.8\", default-features = false, features = \
                               [\"json\", \"matched-path\"] }"
                            .to_owned(),
                        features: vec!["matched-path".to_owned()],
                    },
                },
                Gap {
                    section: "dependencies",
                    name: "toml_edit".to_owned(),
                    missing: Missing::Dependency(
                        "toml_edit = { version = \"0.22\", features = [\"parse\"] }".to_owned()
                    ),
                },
                Gap {
                    section: "dev-dependencies",
                    name: "reqwest".to_owned(),
                    missing: Missing::Dependency(
                        "reqwest = { version = \"0.13\", default-features = false }".to_owned()
                    ),
                },
            ]
        );
    }

    #[test]
    fn defaults_workspaces_renames_and_target_sections_count_as_declared() {
        let disk = r#"[package]
name = "demo"

[dependencies]
anyhow = { workspace = true }
axum = "0.8"
toml-edit-renamed = { package = "toml_edit", version = "0.22" }

[target.'cfg(unix)'.dev-dependencies]
reqwest = "0.13"
"#;
        assert_eq!(gaps(RENDERED, disk), []);
    }

    #[test]
    fn a_manifest_that_does_not_parse_is_left_to_cargo() {
        assert_eq!(gaps(RENDERED, "[dependencies\n"), []);
    }
}
