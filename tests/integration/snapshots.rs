//! Every file rendered for every example, snapshotted: a template change shows up as a
//! reviewable diff (`cargo insta review`).

use svcgen::commands::new::{NewOptions, generate};
use svcgen::render::Owner;

use crate::support::rendered_examples;

#[test]
fn every_rendered_file_of_every_example() {
    for (example, generated) in rendered_examples() {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| {
            for file in &generated.files {
                let name = format!("{example}__{}", file.path.replace('/', "__"));
                insta::assert_snapshot!(name, file.contents);
            }
        });
    }
}

#[test]
fn the_default_greeter_is_the_greeter_example() {
    let embedded = generate(&NewOptions {
        name: "greeter".to_owned(),
        ..NewOptions::default()
    })
    .expect("the embedded default");
    let from_spec = generate(&NewOptions {
        name: "greeter".to_owned(),
        spec: Some(crate::support::repo().join("examples/greeter/svcgen.toml")),
        ..NewOptions::default()
    })
    .expect("the example");
    assert_eq!(embedded.files, from_spec.files);
    assert!(
        embedded
            .files
            .iter()
            .any(|file| file.path == "src/handlers/greeter/say_hello.rs"
                && file.contents.contains("format!(")),
        "the default greeter's handlers are implemented"
    );
}

#[test]
fn managed_rust_files_carry_the_generated_marker_and_user_files_do_not() {
    for (example, generated) in rendered_examples() {
        for file in generated
            .files
            .iter()
            .filter(|file| file.path.ends_with(".rs"))
        {
            let marked = file.contents.starts_with(svcgen::render::GENERATED_MARKER);
            assert_eq!(
                marked,
                file.owner == Owner::Managed,
                "{example}/{}: owner {:?}",
                file.path,
                file.owner
            );
        }
    }
}
