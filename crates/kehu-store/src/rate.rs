//! Rate limits of public pages, counted in the database so that every
//! server sees the same count.

use crate::db::Query;
use crate::{Db, Error, Result};
use kehu_domain::time::Timestamp;

/// Counts a hit of `key` in `bucket`, refusing it when `limit` hits were
/// already counted within `window_secs`.
pub async fn hit(
    db: &Db,
    bucket: &str,
    key: &str,
    limit: i64,
    window_secs: i64,
    now: Timestamp,
) -> Result<()> {
    let since = now.millis() - window_secs * 1000;
    let rows: Vec<(i64,)> = db
        .conn()
        .fetch_all(
            Query::new("SELECT at FROM rate_events WHERE bucket = $1 AND key = $2 AND at > $3 ORDER BY at LIMIT $4")
                .bind(bucket)
                .bind(key)
                .bind(since)
                .bind(limit),
        )
        .await?;
    if rows.len() as i64 >= limit {
        let oldest = rows[0].0;
        let retry = ((oldest - since) / 1000).max(1) as u64;
        return Err(Error::RateLimited {
            retry_after_secs: retry,
        });
    }
    db.conn()
        .execute(
            Query::new("INSERT INTO rate_events (bucket, key, at) VALUES ($1, $2, $3)")
                .bind(bucket)
                .bind(key)
                .bind(now),
        )
        .await?;
    // Hits older than a day count for nothing.
    db.conn()
        .execute(
            Query::new("DELETE FROM rate_events WHERE at < $1").bind(now.millis() - 86_400_000),
        )
        .await?;
    Ok(())
}
