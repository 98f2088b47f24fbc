//! Your application: its own configuration section (`[app]`) and the state that every
//! handler receives. svcgen created this file once and never touches it again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::proto::bookstore::v1::{Book, Genre};
use crate::svcgen::clients::Clients;
use crate::svcgen::config::Config;

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
    /// The books, by name (`shelves/{shelf}/books/{book}`): an in-memory store, which a
    /// real bookstore would keep in a database.
    books: Mutex<BTreeMap<String, Book>>,
}

impl AppState {
    /// Builds the state once, at start-up, before the servers accept requests.
    ///
    /// # Errors
    /// Whatever your initialisation can fail with; the service then does not start.
    pub async fn new(config: &Config) -> anyhow::Result<Self> {
        let first = Book {
            name: "shelves/classics/books/moby-dick".to_owned(),
            title: "Moby-Dick".to_owned(),
            author: "Herman Melville".to_owned(),
            genre: Genre::Fiction.into(),
            pages: 635,
            published: Some(prost_types::Timestamp {
                seconds: -3_730_233_600,
                nanos: 0,
            }),
            borrower: String::new(),
            tags: vec!["whales".to_owned()],
        };
        Ok(Self {
            config: config.app.clone(),
            clients: Clients::new(config)?,
            books: Mutex::new(BTreeMap::from([(first.name.clone(), first)])),
        })
    }

    /// The books, to read or change.
    pub fn books(&self) -> MutexGuard<'_, BTreeMap<String, Book>> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Your own HTTP routes, served beside `/healthz` on `server.http_addr`. Handlers reach
/// the state with `axum::extract::State<Arc<AppState>>`.
pub fn http_routes() -> Router<Arc<AppState>> {
    Router::new()
}
