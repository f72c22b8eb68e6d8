//! The script library (话术库): approved phrases for each step of the
//! handling methods, for any channel or one. Agents read them on the
//! ticket page; managers and admins edit them (audited).

use crate::audit::{self, Actor, Entry};
use crate::db::Query;
use crate::{Db, Error, Result};
use kehu_domain::ids::new_id;
use kehu_domain::role::Principal;
use kehu_domain::text;
use kehu_domain::ticket::{Channel, Step};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Script {
    pub id: String,
    pub step: Step,
    /// `None`: for every channel.
    pub channel: Option<Channel>,
    pub body: String,
    pub position: i64,
}

/// A phrase as sent.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ScriptDraft {
    pub step: String,
    /// Blank for every channel.
    #[serde(default)]
    pub channel: String,
    pub body: String,
}

struct Checked {
    step: Step,
    channel: Option<Channel>,
    body: String,
}

impl ScriptDraft {
    fn check(&self) -> Result<Checked, FieldErrors> {
        let mut e = FieldErrors::new();
        let step = e.take("step", Step::parse(&self.step));
        let channel = if self.channel.trim().is_empty() {
            Some(None)
        } else {
            e.take("channel", Channel::parse(&self.channel).map(Some))
        };
        let body = e.take(
            "body",
            text::multiline(&self.body, 2000).and_then(|b| b.ok_or(Problem::Required)),
        );
        e.into_result()?;
        Ok(Checked {
            step: step.expect("checked"),
            channel: channel.expect("checked"),
            body: body.expect("checked"),
        })
    }
}

/// Every phrase, by step and position.
pub async fn list(db: &Db) -> Result<Vec<Script>> {
    let rows: Vec<(String, String, Option<String>, String, i64)> = db
        .conn()
        .fetch_all(Query::new(
            "SELECT id, step, channel, body, position FROM scripts ORDER BY step, position, id",
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, step, channel, body, position)| {
            Some(Script {
                id,
                step: Step::parse(&step).ok()?,
                channel: channel.and_then(|c| Channel::parse(&c).ok()),
                body,
                position,
            })
        })
        .collect())
}

/// The phrases for a step on a channel (its own and the general ones).
pub fn for_step(all: &[Script], step: Step, channel: Channel) -> Vec<&Script> {
    all.iter()
        .filter(|s| s.step == step && s.channel.is_none_or(|c| c == channel))
        .collect()
}

fn may_edit(by: &Principal) -> Result<()> {
    if by.role.can_reassign() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

pub async fn create(db: &Db, by: &Principal, d: &ScriptDraft) -> Result<Script> {
    may_edit(by)?;
    let c = d.check()?;
    let id = new_id();
    let mut tx = db.begin().await?;
    let position = tx
        .scalar(Query::new(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM scripts",
        ))
        .await?;
    tx.execute(
        Query::new(
            "INSERT INTO scripts (id, step, channel, body, position, updated_by, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(&id)
        .bind(c.step.code())
        .bind(c.channel.map(Channel::code))
        .bind(&c.body)
        .bind(position)
        .bind(&by.user_id)
        .bind(Timestamp::now()),
    )
    .await?;
    record(
        &mut tx,
        by,
        "create",
        &id,
        json!({"step": c.step.code(), "channel": c.channel.map(Channel::code), "body": c.body}),
    )
    .await?;
    tx.commit().await?;
    Ok(Script {
        id,
        step: c.step,
        channel: c.channel,
        body: c.body,
        position,
    })
}

pub async fn update(db: &Db, by: &Principal, id: &str, d: &ScriptDraft) -> Result<()> {
    may_edit(by)?;
    let c = d.check()?;
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            Query::new("UPDATE scripts SET step = $2, channel = $3, body = $4, updated_by = $5, updated_at = $6 WHERE id = $1")
                .bind(id)
                .bind(c.step.code())
                .bind(c.channel.map(Channel::code))
                .bind(&c.body)
                .bind(&by.user_id)
                .bind(Timestamp::now()),
        )
        .await?;
    if n == 0 {
        return Err(Error::NotFound);
    }
    record(
        &mut tx,
        by,
        "update",
        id,
        json!({"step": c.step.code(), "channel": c.channel.map(Channel::code), "body": c.body}),
    )
    .await?;
    tx.commit().await
}

pub async fn delete(db: &Db, by: &Principal, id: &str) -> Result<()> {
    may_edit(by)?;
    let mut tx = db.begin().await?;
    let n = tx
        .execute(Query::new("DELETE FROM scripts WHERE id = $1").bind(id))
        .await?;
    if n == 0 {
        return Err(Error::NotFound);
    }
    record(&mut tx, by, "delete", id, json!({})).await?;
    tx.commit().await
}

async fn record(
    tx: &mut crate::Tx,
    by: &Principal,
    action: &str,
    id: &str,
    v: serde_json::Value,
) -> Result<()> {
    audit::record(
        tx,
        &Actor::from(by),
        Entry {
            action,
            entity: "script",
            entity_id: id,
            customer_id: None,
            changes: audit::created(v.as_object().expect("object")),
        },
    )
    .await
}
