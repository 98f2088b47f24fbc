//! The Dockerfile, docker-compose.yml and Kubernetes manifests of every example: valid,
//! and in agreement with the project's ports, binary and configuration keys. (No Docker
//! engine runs here, so they are checked, not run.)

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::rendered_examples;

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

#[test]
fn deployment_files_are_valid_and_agree_with_the_project() {
    for (example, generated) in rendered_examples() {
        let file = |path: &str| {
            generated
                .files
                .iter()
                .find(|file| file.path == path)
                .unwrap_or_else(|| panic!("{example}: no {path}"))
                .contents
                .clone()
        };
        let (grpc, http) = (
            i64::from(generated.project.grpc_port),
            i64::from(generated.project.http_port),
        );
        let config: toml::Table = toml::from_str(&file("config/default.toml")).unwrap();

        // Dockerfile: known instructions, the binary, the ports, a non-root user.
        let dockerfile = file("Dockerfile");
        let instructions: Vec<&str> = dockerfile
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|line| line.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(instructions.first(), Some(&"FROM"), "{example}");
        for instruction in &instructions {
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
                .contains(instruction),
                "{example}: unexpected Dockerfile instruction {instruction}"
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
        let compose = yaml(&file("docker-compose.yml"));
        let service = &compose["services"][example.as_str()];
        assert_eq!(
            compose["services"]["zipkin"]["image"].as_str(),
            Some("openzipkin/zipkin")
        );
        let published: Vec<&str> = service["ports"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(
            published,
            [format!("{grpc}:{grpc}"), format!("{http}:{http}")],
            "{example}"
        );
        for (key, _) in service["environment"].as_hash().expect("environment") {
            let key = key.as_str().unwrap();
            let Some(path) = key.strip_prefix("APP__") else {
                assert_eq!(key, "APP_ENV");
                continue;
            };
            let (section, name) = path
                .to_lowercase()
                .split_once("__")
                .map(|(s, n)| (s.to_owned(), n.to_owned()))
                .unwrap();
            assert!(
                config
                    .get(&section)
                    .and_then(|table| table.get(&name))
                    .is_some(),
                "{example}: {key} names no key of config/default.toml"
            );
        }

        // Kubernetes: the container's ports and probes, and a Service pointing at them.
        let deployment = yaml(&file("deploy/k8s/deployment.yaml"));
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
        let k8s_service = yaml(&file("deploy/k8s/service.yaml"));
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
