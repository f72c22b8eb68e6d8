//! Shared state of request handlers.

use chrono_tz::Tz;
use kehu_store::Db;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Uploads larger than this are refused unless configured otherwise.
pub const DEFAULT_MAX_UPLOAD: u64 = 200 * 1024 * 1024;

/// Settings the web layer needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mark cookies `Secure` (set when kehu is served over HTTPS).
    pub secure_cookies: bool,
    /// The business time zone, for showing times.
    pub timezone: Tz,
    /// Where uploaded files are kept (`imports/` below it).
    pub data_dir: PathBuf,
    /// The largest file an upload may carry, in bytes.
    pub max_upload: u64,
    /// The address customers open, for links shown to be sent by hand.
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: false,
            timezone: chrono_tz::Asia::Shanghai,
            data_dir: PathBuf::from("data"),
            max_upload: DEFAULT_MAX_UPLOAD,
            public_url: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// The import jobs this server is running, to mark them interrupted
    /// when it stops.
    pub running: Arc<Mutex<HashSet<String>>>,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> Self {
        AppState {
            db,
            config: Arc::new(config),
            running: Arc::default(),
        }
    }

    /// The ids of the import jobs running here now.
    pub fn running_jobs(&self) -> Vec<String> {
        self.running
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }
}
