//! Your application: its own configuration section (`[app]`) and the state that every
//! handler receives. svcgen created this file once and never touches it again.

use std::sync::Arc;

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::svcgen::clients::Clients;
use crate::svcgen::config::Config;

/// The `[app]` section of the configuration: add your service's own settings here.
{%- if p.flavor == Flavor::Greeter %}
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {
    /// The word the greeter greets with.
    pub greeting: String,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            greeting: "Hello".to_owned(),
        }
    }
}
{%- else %}
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {}
{%- endif %}

/// State shared by every handler: configuration, connection pools, clients, caches.
#[derive(Debug)]
pub struct AppState {
    /// The `[app]` section of the configuration.
    pub config: AppConfig,
    /// Clients of the services this one calls (`[[clients]]` in svcgen.toml).
    pub clients: Clients,
}

impl AppState {
    /// Builds the state once, at start-up, before the servers accept requests.
    ///
    /// # Errors
    /// Whatever your initialisation can fail with; the service then does not start.
    pub async fn new(config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            config: config.app.clone(),
            clients: Clients::new(config)?,
        })
    }
}

/// Your own HTTP routes, served beside `/healthz` on `server.http_addr`. Handlers reach
/// the state with `axum::extract::State<Arc<AppState>>`.
pub fn http_routes() -> Router<Arc<AppState>> {
    Router::new()
}
