//! The dependency entries svcgen puts in a project's `Cargo.toml`, kept in step with
//! what the generated code needs, as `cargo add` and `cargo remove` would: the manifest
//! is the user's, so only the entries svcgen itself wrote are touched, with toml_edit
//! (comments, order and everything else left as they are).
//!
//! svcgen.lock records the entries svcgen wrote (a project from svcgen 0.1, whose lock
//! does not, is compared with what svcgen 0.1 wrote: `upgrade/manifest-0.1.toml`). An
//! entry still as svcgen wrote it is replaced by what svcgen writes now, or removed when
//! no longer needed; an entry the user changed is left alone and reported; a dependency
//! the generated code needs and the manifest lacks is added.

use std::collections::BTreeMap;

use toml_edit::{DocumentMut, Item, Table};

/// The dependency sections svcgen writes.
pub const SECTIONS: [&str; 3] = ["dependencies", "build-dependencies", "dev-dependencies"];

/// Dependency entries by `section.name`: their values, as svcgen writes them.
pub type Entries = BTreeMap<String, String>;

/// What svcgen 0.1 wrote.
const MANIFEST_0_1: &str = include_str!("upgrade/manifest-0.1.toml");

/// The dependency entries of the manifest `text` (none if it does not parse).
#[must_use]
pub fn entries(text: &str) -> Entries {
    let Ok(document) = text.parse::<DocumentMut>() else {
        return Entries::new();
    };
    let mut entries = Entries::new();
    for section in SECTIONS {
        if let Some(table) = document.get(section).and_then(Item::as_table_like) {
            for (name, item) in table.iter() {
                entries.insert(format!("{section}.{name}"), value_text(item));
            }
        }
    }
    entries
}

/// The entries svcgen 0.1 wrote into every project.
#[must_use]
pub fn entries_of_0_1() -> Entries {
    entries(MANIFEST_0_1)
}

/// An entry svcgen would have changed or removed, which the user had changed first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    /// `dependencies`, `build-dependencies` or `dev-dependencies`.
    pub section: String,
    /// The dependency.
    pub name: String,
    /// Its line as the user has it.
    pub yours: String,
    /// Its line as svcgen writes it now; `None` when svcgen no longer needs it.
    pub svcgen: Option<String>,
}

/// The manifest `disk` with svcgen's entries brought to `rendered`'s, given the
/// entries svcgen wrote before (`previous`), and the entries left alone because the
/// user changed them. `None` when `disk` or `rendered` does not parse (cargo will say
/// what is wrong with it).
#[must_use]
pub fn sync(disk: &str, rendered: &str, previous: &Entries) -> Option<(String, Vec<Left>)> {
    let mut document = disk.parse::<DocumentMut>().ok()?;
    let wanted = rendered.parse::<DocumentMut>().ok()?;
    let mut left = Vec::new();
    for section in SECTIONS {
        let empty = Table::new();
        let wanted = wanted
            .get(section)
            .and_then(Item::as_table)
            .unwrap_or(&empty);
        let Some(table) = section_table(&mut document, section, !wanted.is_empty()) else {
            continue;
        };
        let was_sorted = is_sorted(table);
        let mut changed = false;
        for (name, item) in wanted {
            let wrote = previous.get(&format!("{section}.{name}"));
            match table.get(name) {
                Some(have) if value_text(have) == value_text(item) => {}
                Some(have) if wrote == Some(&value_text(have)) => {
                    replace_value(table, name, item);
                    // Its comments were svcgen's too: they go with the entry.
                    if let (Some(mut key), Some((new_key, _))) =
                        (table.key_mut(name), wanted.get_key_value(name))
                    {
                        *key.leaf_decor_mut() = new_key.leaf_decor().clone();
                    }
                }
                // The user's version of it; said only when svcgen now writes another.
                Some(have) if wrote != Some(&value_text(item)) => left.push(Left {
                    section: section.to_owned(),
                    name: name.to_owned(),
                    yours: line(name, have),
                    svcgen: Some(line(name, item)),
                }),
                Some(_) => {}
                None => {
                    let (key, _) = wanted.get_key_value(name)?;
                    table.insert_formatted(key, item.clone());
                    changed = true;
                }
            }
        }
        let gone: Vec<String> = table
            .iter()
            .map(|(name, _)| name.to_owned())
            .filter(|name| !wanted.contains_key(name))
            .collect();
        for name in gone {
            let Some(wrote) = previous.get(&format!("{section}.{name}")) else {
                continue; // the user's own
            };
            let have = table.get(&name)?;
            if value_text(have) == *wrote {
                table.remove(&name);
            } else {
                left.push(Left {
                    section: section.to_owned(),
                    name: name.clone(),
                    yours: line(&name, have),
                    svcgen: None,
                });
            }
        }
        if changed && was_sorted {
            table.sort_values();
        }
    }
    Some((document.to_string(), left))
}

/// The `[section]` table of `document`, created (at the end) when `create`.
fn section_table<'a>(
    document: &'a mut DocumentMut,
    section: &str,
    create: bool,
) -> Option<&'a mut Table> {
    if !document.contains_key(section) {
        if !create {
            return None;
        }
        document.insert(section, Item::Table(Table::new()));
    }
    document.get_mut(section).and_then(Item::as_table_mut)
}

/// Replaces the value of `name` in `table` by `item`'s, keeping the spacing around it.
fn replace_value(table: &mut Table, name: &str, item: &Item) {
    if let Some(slot) = table.get_mut(name) {
        let mut value = item.clone();
        if let (Some(new), Some(old)) = (value.as_value_mut(), slot.as_value()) {
            *new.decor_mut() = old.decor().clone();
        }
        *slot = value;
    }
}

/// Whether the entries of `table` are in name order (then an added one is sorted in).
fn is_sorted(table: &Table) -> bool {
    let names: Vec<&str> = table.iter().map(|(name, _)| name).collect();
    names.windows(2).all(|pair| pair[0] <= pair[1])
}

/// A dependency's value as comparable text: its TOML, normalized (the keys of a table
/// in order, no comments or extra spaces).
fn value_text(item: &Item) -> String {
    let text = match item {
        Item::Value(value) => format!("v = {}", value.to_string().trim()),
        // A dependency written as a table of its own (`[dependencies.x]`).
        Item::Table(table) => format!("[v]\n{table}"),
        _ => return item.to_string().trim().to_owned(),
    };
    toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|mut table| table.remove("v"))
        .map_or_else(
            || item.to_string().trim().to_owned(),
            |value| value.to_string(),
        )
}

/// `name = value`, as a line to show.
fn line(name: &str, item: &Item) -> String {
    match item.as_value() {
        Some(value) => {
            let mut value = value.clone();
            value.decor_mut().clear();
            format!("{name} = {value}")
        }
        None => format!("[{name}] (a table)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RENDERED: &str = r#"[package]
name = "demo"

[dependencies]
anyhow = "1"
# The framework.
svcgen-runtime = { version = "=0.2.0", path = "vendor/svcgen-runtime" }
tonic = "0.14"

[dev-dependencies]
reqwest = { version = "0.13", default-features = false }
"#;

    fn previous() -> Entries {
        Entries::from([
            ("dependencies.anyhow".to_owned(), "\"1\"".to_owned()),
            ("dependencies.figment".to_owned(), "\"0.10\"".to_owned()),
            ("dependencies.itoa".to_owned(), "\"1\"".to_owned()),
            (
                "dependencies.tonic".to_owned(),
                "{ features = [\"tls\"], version = \"0.13\" }".to_owned(),
            ),
        ])
    }

    #[test]
    fn svcgens_entries_are_updated_added_and_removed_and_the_users_kept() {
        let disk = r#"[package]
name = "demo"

[dependencies]
anyhow = "1"
# the configuration
figment = "0.10"
itoa = "2" # mine now
mine = "3"
tonic = { version = "0.13", features = ["tls"] }
"#;
        let (text, left) = sync(disk, RENDERED, &previous()).unwrap();
        assert_eq!(
            text,
            r#"[package]
name = "demo"

[dependencies]
anyhow = "1"
itoa = "2" # mine now
mine = "3"
# The framework.
svcgen-runtime = { version = "=0.2.0", path = "vendor/svcgen-runtime" }
tonic = "0.14"

[dev-dependencies]
reqwest = { version = "0.13", default-features = false }
"#
        );
        assert_eq!(
            left,
            [Left {
                section: "dependencies".to_owned(),
                name: "itoa".to_owned(),
                yours: "itoa = \"2\"".to_owned(),
                svcgen: None,
            }]
        );
    }

    #[test]
    fn an_entry_the_user_changed_is_left_and_reported_when_svcgen_would_change_it() {
        let disk = RENDERED.replace(
            "tonic = \"0.14\"",
            "tonic = { version = \"0.14\", features = [\"tls\"] }",
        );
        let (text, left) = sync(&disk, RENDERED, &previous()).unwrap();
        assert_eq!(text, disk);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].svcgen.as_deref(), Some("tonic = \"0.14\""));
        // Once svcgen writes the same entry as before, the user's version is theirs.
        let (text, left) = sync(&disk, RENDERED, &entries(RENDERED)).unwrap();
        assert_eq!(text, disk);
        assert_eq!(left, []);
    }

    #[test]
    fn an_unsorted_section_gets_new_entries_at_its_end_and_nothing_changes_twice() {
        let disk = "[dependencies]\ntonic = \"0.14\"\nanyhow = \"1\"\n";
        let (text, _) = sync(disk, RENDERED, &Entries::new()).unwrap();
        assert!(
            text.starts_with(
                "[dependencies]\ntonic = \"0.14\"\nanyhow = \"1\"\n# The framework.\nsvcgen-runtime"
            ),
            "{text}"
        );
        let (again, left) = sync(&text, RENDERED, &entries(RENDERED)).unwrap();
        assert_eq!(again, text);
        assert!(left.is_empty());
    }

    #[test]
    fn svcgen_0_1s_entries_are_known() {
        let old = entries_of_0_1();
        assert_eq!(
            old.get("dependencies.anyhow").map(String::as_str),
            Some("\"1.0.105\"")
        );
        assert!(old.contains_key("build-dependencies.protox"));
        assert!(old.contains_key("dev-dependencies.figment"));
    }

    #[test]
    fn a_manifest_that_does_not_parse_is_left_to_cargo() {
        assert_eq!(sync("[dependencies\n", RENDERED, &Entries::new()), None);
    }
}
