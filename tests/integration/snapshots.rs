//! One snapshot of each kind of rendered file whose contents depend on the model, from
//! the examples that exercise it most: a template change shows up as a reviewable diff
//! (`cargo insta review`). The greeter is the default project; the shop has several
//! services, every RPC kind, keyword names and a package-less file. The committed
//! examples (`backend`, `frontend`) are snapshots of their own: e2e runs `svcgen check`
//! in them. Files that are the same for every project (the vendored runtime,
//! `build.rs`, `.gitignore`, ...) are not snapshotted.

use svcgen::commands::new::{NewOptions, generate};
use svcgen::render::Owner;

use crate::support::rendered_examples;

/// The greeter's files that depend on the model.
const GREETER: &[&str] = &[
    "API.md",
    "Cargo.toml",
    "Dockerfile",
    "README.md",
    "config/default.toml",
    "deploy/k8s/deployment.yaml",
    "deploy/k8s/hpa.yaml",
    "deploy/k8s/pdb.yaml",
    "deploy/k8s/service-headless.yaml",
    "deploy/k8s/service.yaml",
    "deploy/logging/elastalert/rules/greeter-errors.yaml",
    "deploy/logging/vector.yaml",
    "docker-compose.yml",
    "examples/greet.rs",
    "src/app.rs",
    "src/handlers/greeter/mod.rs",
    "src/handlers/mod.rs",
    "src/lib.rs",
    "src/main.rs",
    "src/svcgen/clients.rs",
    "src/svcgen/mod.rs",
    "src/svcgen/proto.rs",
    "svcgen.toml",
    "tests/config.rs",
    "tests/grpc.rs",
    "tests/support/mod.rs",
    "tests/tracing.rs",
];

/// The shop's, where they differ in kind from the greeter's: stubs, one handler of each
/// RPC kind, several services, keyword names.
const SHOP: &[&str] = &[
    "API.md",
    "src/app.rs",
    "src/handlers/async/ping.rs",
    "src/handlers/async/self_.rs",
    "src/handlers/catalog/get_product.rs",
    "src/handlers/catalog/import_products.rs",
    "src/handlers/catalog/mod.rs",
    "src/handlers/catalog/price.rs",
    "src/handlers/mod.rs",
    "src/handlers/orders/track.rs",
    "src/handlers/orders/type.rs",
    "src/svcgen/mod.rs",
    "src/svcgen/proto.rs",
    "tests/grpc.rs",
];

#[test]
fn one_of_each_kind_of_rendered_file() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (example, generated) in rendered_examples() {
            let wanted = match example.as_str() {
                "greeter" => GREETER,
                "shop" => SHOP,
                _ => continue,
            };
            for path in wanted {
                let file = generated
                    .files
                    .iter()
                    .find(|file| file.path == *path)
                    .unwrap_or_else(|| panic!("{example} renders no {path}"));
                let name = format!("{example}__{}", path.replace('/', "__"));
                insta::assert_snapshot!(name, file.contents);
            }
        }
    });
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
        // The vendored runtime is managed as a whole: a copy of `runtime/`.
        for file in generated.files.iter().filter(|file| {
            file.path.ends_with(".rs") && !file.path.starts_with(svcgen::model::VENDORED_RUNTIME)
        }) {
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
