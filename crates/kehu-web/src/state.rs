//! Shared state of request handlers.

use chrono_tz::Tz;
use kehu_store::Db;
use std::sync::Arc;

/// Settings the web layer needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mark cookies `Secure` (set when kehu is served over HTTPS).
    pub secure_cookies: bool,
    /// The business time zone, for showing times.
    pub timezone: Tz,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: false,
            timezone: chrono_tz::Asia::Shanghai,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> Self {
        AppState {
            db,
            config: Arc::new(config),
        }
    }
}
