//! Your application: its own configuration section (`[app]`) and the state that every
//! handler receives. svcgen created this file once and never touches it again.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::proto::backend::v1::GreetRequest;
use crate::svcgen::clients::Clients;
use crate::svcgen::config::Config;
use crate::svcgen::trace;

/// The `[app]` section of the configuration: add your service's own settings here.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {}

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
    Router::new().route("/welcome/{name}", get(welcome))
}

/// The body of `GET /welcome/{name}`.
#[derive(Debug, Serialize)]
struct Welcome {
    message: String,
    trace_id: String,
}

/// `GET /welcome/{name}`: asks the backend for a greeting.
async fn welcome(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Welcome>, (StatusCode, String)> {
    let greeting = state
        .clients
        .backend
        .clone()
        .greet(GreetRequest { name })
        .await
        .map_err(|status| (StatusCode::BAD_GATEWAY, status.message().to_owned()))?
        .into_inner();
    Ok(Json(Welcome {
        message: greeting.message,
        trace_id: trace::current_trace_id().unwrap_or_default(),
    }))
}
