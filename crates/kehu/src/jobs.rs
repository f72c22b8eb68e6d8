//! Background jobs of a running server: emptying the recycle bin of
//! customers deleted more than 30 days ago, hourly; marking import jobs
//! whose server stopped as interrupted, and finishing the deferred indexes
//! of an import that stopped, at start and every minute (idempotent, so
//! several servers running them at once do no harm); and
//! recomputing every customer's scores (grade, lifecycle, RFM, profit) and
//! fitting the customer-value models on yesterday's history once a
//! day, claimed in the database so that one server of several does it; and
//! every few seconds, the due jobs of the database job queue (promise
//! reminders, escalations, surveys), each run once across all servers, and
//! with SMTP configured, the e-mail waiting in the outbox.

use kehu_domain::time::Timestamp;
use kehu_store::{analytics, customers, import_jobs, jobs, scores, Db};
use std::time::Duration;

/// How often a server looks for due queue jobs.
const QUEUE_TICK: Duration = Duration::from_secs(15);

pub fn spawn(db: Db, zone: chrono_tz::Tz, mailer: Option<std::sync::Arc<crate::mail::Mailer>>) {
    let queue_db = db.clone();
    if let Some(m) = mailer {
        let mail_db = db.clone();
        let worker = format!("{}:{}", hostname(), std::process::id());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(QUEUE_TICK);
            loop {
                tick.tick().await;
                match m.send_pending(&mail_db, &worker).await {
                    Ok(r) if r.sent + r.failed > 0 => {
                        tracing::info!(sent = r.sent, failed = r.failed, "sent e-mail")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "sending e-mail failed"),
                }
            }
        });
    }
    let worker = format!("{}:{}", hostname(), std::process::id());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(QUEUE_TICK);
        loop {
            tick.tick().await;
            run_queue(&queue_db, &worker, zone).await;
        }
    });
    let models_db = db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            nightly_models(&models_db, zone).await;
        }
    });
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
            match kehu_store::deferred::finish_stale(&db).await {
                Ok(true) => tracing::info!("finished a stopped import's deferred indexes"),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "finishing deferred indexes failed"),
            }
        }
    });
}

/// Recomputes every customer's scores and fits the models on the
/// purchases up to yesterday (in the business time zone) unless a server
/// has done so today.
async fn nightly_models(db: &Db, zone: chrono_tz::Tz) {
    let yesterday = chrono::Utc::now().with_timezone(&zone).date_naive() - chrono::Days::new(1);
    match analytics::claim_nightly(db, yesterday).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => return tracing::error!(error = %e, "claiming the nightly model fit failed"),
    }
    let actor = kehu_store::audit::Actor::system("nightly");
    let unit = kehu_models::TimeUnit::Week;
    match scores::recompute_claimed(db, &actor, yesterday, unit, zone).await {
        Ok(Some(run)) => tracing::info!(
            customers = run.customers,
            orders = run.orders,
            seconds = run.seconds,
            fit_error = run.fit_error.as_deref().unwrap_or(""),
            "recomputed customer scores and fitted the customer-value models"
        ),
        Ok(None) => tracing::info!("a customer-score recompute is already under way"),
        Err(e) => tracing::error!(error = %e, "the nightly customer-score recompute failed"),
    }
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

/// Runs the queue jobs due now.
async fn run_queue(db: &Db, worker: &str, zone: chrono_tz::Tz) {
    match jobs::run_due(db, worker, Timestamp::now(), zone, 500).await {
        Ok(ran) => {
            for r in ran {
                match r {
                    jobs::Ran::Done(w) => tracing::info!(job = w.kind(), "ran job"),
                    jobs::Ran::Failed { work, error } => {
                        tracing::warn!(job = work.kind(), %error, "job failed; it will be retried")
                    }
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "running queued jobs failed"),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kehu".into())
}
