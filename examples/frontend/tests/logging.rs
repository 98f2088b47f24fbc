//! The log file sink: one JSON-lines file a day, the oldest deleted beyond `keep_days`.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use frontend::svcgen::config::{Config, LogFileConfig};
use frontend::svcgen::telemetry::Telemetry;

fn scratch_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("frontend-logs-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn log_files(dir: &PathBuf, service: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("the log directory")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.starts_with(service) && name.ends_with(".log"))
        .collect()
}

#[test]
fn files_older_than_keep_days_are_deleted() {
    let dir = scratch_dir();
    let mut config = Config::ephemeral();
    let service = config.tracing.service_name.clone();
    // Twenty days of rotated files, oldest first.
    for day in 1..=20 {
        let name = format!("{service}.2020-01-{day:02}.log");
        std::fs::write(dir.join(name), "{}\n").expect("an old log file");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    config.log.file = Some(LogFileConfig {
        dir: dir.clone(),
        keep_days: 14,
    });
    let telemetry = Telemetry::new(&config).expect("telemetry");
    tracing::dispatcher::with_default(telemetry.dispatch(), || {
        tracing::warn!("a line for today's file");
    });
    telemetry.shutdown();

    let files = log_files(&dir, &service);
    assert_eq!(files.len(), 14, "{files:#?}");
    for day in 1..=7 {
        assert!(
            !files.contains(&format!("{service}.2020-01-{day:02}.log")),
            "{files:#?}"
        );
    }
    assert!(
        files.contains(&format!("{service}.2020-01-20.log")),
        "{files:#?}"
    );
    let today = files
        .iter()
        .find(|name| !name.contains("2020-01"))
        .expect("today's file");
    let text = std::fs::read_to_string(dir.join(today)).expect("today's file");
    let line = text.lines().last().expect("a line");
    assert!(
        line.starts_with('{') && line.contains(r#""message":"a line for today's file""#),
        "{line}"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}
