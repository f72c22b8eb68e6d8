//! Background jobs of a running server. For now: emptying the recycle bin
//! of customers deleted more than 30 days ago, hourly. The purge is
//! idempotent, so several servers running it at once do no harm.

use kehu_domain::time::Timestamp;
use kehu_store::{customers, Db};
use std::time::Duration;

pub fn spawn(db: Db) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match customers::purge_expired(&db, Timestamp::now()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(purged = n, "emptied expired customers from the recycle bin")
                }
                Err(e) => tracing::error!(error = %e, "recycle bin purge failed"),
            }
        }
    });
}
