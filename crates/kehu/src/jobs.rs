//! Background jobs of a running server: emptying the recycle bin of
//! customers deleted more than 30 days ago, hourly; and marking import jobs
//! whose server stopped as interrupted, at start and every minute. Both
//! are idempotent, so several servers running them at once do no harm.

use kehu_domain::time::Timestamp;
use kehu_store::{customers, import_jobs, Db};
use std::time::Duration;

pub fn spawn(db: Db) {
    let purge_db = db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match customers::purge_expired(&purge_db, Timestamp::now()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(purged = n, "emptied expired customers from the recycle bin")
                }
                Err(e) => tracing::error!(error = %e, "recycle bin purge failed"),
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            interrupt(&db, &[]).await;
        }
    });
}

/// Marks as interrupted the import jobs named (this server's, as it
/// stops) and those that have not reported progress for minutes.
pub async fn interrupt(db: &Db, running_here: &[String]) {
    match import_jobs::interrupt(db, running_here, Timestamp::now()).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(jobs = n, "marked import jobs interrupted"),
        Err(e) => tracing::error!(error = %e, "marking interrupted import jobs failed"),
    }
}
