//! Satisfaction surveys: the 7-level scale and NPS, sent through a private
//! link and answered once on a public page. The link's token is random
//! (256 bits) and only its SHA-256 is stored; the page shows the survey and
//! nothing else. Answers go on the customer's timeline and feed the
//! satisfaction index.

use crate::audit::{self, Actor, Entry};
use crate::auth::{is_token, random_token, sha256_hex};
use crate::db::Query;
use crate::{Db, Error, Result, Tx};
use kehu_domain::ids::{new_id, CustomerId, SurveyId, TicketId};
use kehu_domain::role::Principal;
use kehu_domain::survey::{Nps, Satisfaction};
use kehu_domain::text;
use kehu_domain::ticket::{Channel, EventKind};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use serde::Serialize;
use serde_json::json;

/// A survey link stays open this long.
pub const VALID_DAYS: i64 = 30;

/// Where a link leads, written into messages; channels put the server's
/// public address in front of it.
pub fn link_path(token: &str) -> String {
    format!("/survey/{token}")
}

/// Creates a survey of `customer` (about `ticket`) to go out through
/// `channel`, with a message for the customer in the outbox. Returns the
/// survey and its token.
pub(crate) async fn create_in(
    tx: &mut Tx,
    customer: &CustomerId,
    ticket: Option<(&TicketId, i64)>,
    channel: Channel,
    now: Timestamp,
) -> Result<(SurveyId, String)> {
    let id = SurveyId::new();
    let token = random_token("");
    tx.execute(
        Query::new(
            "INSERT INTO surveys (id, customer_id, ticket_id, token_hash, channel, created_at, expires_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(&id)
        .bind(customer)
        .bind(ticket.map(|t| t.0))
        .bind(sha256_hex(&token))
        .bind(channel.code())
        .bind(now)
        .bind(now.minus_days(-VALID_DAYS)),
    )
    .await?;
    let contact: Option<(Option<String>, Option<String>)> = tx
        .fetch_optional(
            Query::new("SELECT mobile, email FROM customers WHERE id = $1").bind(customer),
        )
        .await?;
    let (mobile, email) = contact.unwrap_or((None, None));
    let (via, recipient) = match (channel, &mobile, &email) {
        (Channel::Email | Channel::Web, _, Some(e)) => ("email", Some(e.clone())),
        (Channel::Wechat, _, _) => ("wechat", mobile.clone()),
        (_, Some(m), _) => ("sms", Some(m.clone())),
        (_, None, Some(e)) => ("email", Some(e.clone())),
        (_, None, None) => ("manual", None),
    };
    let about = ticket
        .map(|(_, n)| format!("（工单 {n}）"))
        .unwrap_or_default();
    tx.execute(
        Query::new(
            "INSERT INTO outbox (id, customer_id, channel, recipient, subject, body, link, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(new_id())
        .bind(customer)
        .bind(via)
        .bind(recipient)
        .bind(format!("服务满意度调查{about}"))
        .bind(format!("您好！感谢您对我们的信任。请花一分钟评价我们这次的服务{about}："))
        .bind(link_path(&token))
        .bind(now),
    )
    .await?;
    Ok((id, token))
}

/// Sends a survey about a ticket now (an agent's choice, besides the one
/// sent after resolution). Returns the link's token.
pub async fn send_for_ticket(
    db: &Db,
    by: &Principal,
    ticket: &TicketId,
    now: Timestamp,
) -> Result<String> {
    let t = crate::tickets::get(db, by, ticket, now).await?;
    let c = crate::customers::get(db, by, &t.customer_id).await?;
    if !by.can_write(&c.placement()) {
        return Err(Error::Forbidden);
    }
    let mut tx = db.begin().await?;
    let (id, token) = create_in(
        &mut tx,
        &t.customer_id,
        Some((&t.id, t.number)),
        t.channel,
        now,
    )
    .await?;
    crate::tickets::handling::event(
        &mut tx,
        &t.id,
        now,
        Some(&by.user_id),
        EventKind::SurveySent,
        None,
        Some(t.channel),
        None,
        json!({"survey_id": id}),
    )
    .await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "send",
            entity: "survey",
            entity_id: id.as_str(),
            customer_id: Some(&t.customer_id),
            changes: vec![],
        },
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// What the public page may know of a survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Public {
    Open { ticket_number: Option<i64> },
    Answered,
    Expired,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    customer_id: String,
    ticket_id: Option<String>,
    number: Option<i64>,
    expires_at: i64,
    answered_at: Option<i64>,
}

async fn by_token(db: &Db, token: &str) -> Result<TokenRow> {
    if !is_token(token) {
        return Err(Error::NotFound);
    }
    db.conn()
        .fetch_optional(
            Query::new(
                "SELECT s.id, s.customer_id, s.ticket_id, t.number, s.expires_at, s.answered_at FROM surveys s \
                 LEFT JOIN tickets t ON t.id = s.ticket_id WHERE s.token_hash = $1",
            )
            .bind(sha256_hex(token)),
        )
        .await?
        .ok_or(Error::NotFound)
}

pub async fn open(db: &Db, token: &str, now: Timestamp) -> Result<Public> {
    let r = by_token(db, token).await?;
    Ok(if r.answered_at.is_some() {
        Public::Answered
    } else if now.millis() >= r.expires_at {
        Public::Expired
    } else {
        Public::Open {
            ticket_number: r.number,
        }
    })
}

/// An answer as sent from the public page.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AnswerDraft {
    /// 1-7 or a level's code or Chinese label.
    #[serde(default)]
    pub satisfaction: String,
    /// 0-10.
    #[serde(default)]
    pub nps: String,
    #[serde(default)]
    pub comment: String,
}

/// Records the one answer of a survey. A second answer, or one after the
/// link expired, is refused and changes nothing.
pub async fn answer(db: &Db, token: &str, a: &AnswerDraft, now: Timestamp) -> Result<()> {
    let r = by_token(db, token).await?;
    let mut e = FieldErrors::new();
    let raw = a.satisfaction.trim();
    let satisfaction = e.take(
        "satisfaction",
        match raw.parse::<u8>() {
            Ok(n) => Satisfaction::from_level(n).ok_or(Problem::InvalidChoice {
                allowed: (1..=7).map(|n| n.to_string()).collect(),
            }),
            Err(_) if raw.is_empty() => Err(Problem::Required),
            Err(_) => Satisfaction::parse(raw),
        },
    );
    let nps = match a.nps.trim() {
        "" => Some(None),
        s => e.take(
            "nps",
            s.parse::<i64>()
                .map_err(|_| Problem::InvalidNumber)
                .and_then(Nps::new)
                .map(Some),
        ),
    };
    let comment = e.take("comment", text::multiline(&a.comment, 2000));
    e.into_result()?;
    let (satisfaction, nps, comment) = (
        satisfaction.expect("checked"),
        nps.expect("checked"),
        comment.expect("checked"),
    );
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            Query::new(
                "UPDATE surveys SET answered_at = $2, satisfaction = $3, nps = $4, comment = $5 \
                 WHERE id = $1 AND answered_at IS NULL AND expires_at > $2",
            )
            .bind(&r.id)
            .bind(now)
            .bind(i64::from(satisfaction.level()))
            .bind(nps.map(|n| i64::from(n.score())))
            .bind(comment.as_deref()),
        )
        .await?;
    if n == 0 {
        return Err(Error::Invalid(FieldErrors::single(
            "survey",
            Problem::Invalid {
                zh: "此问卷已经填写过或已过期".into(),
                en: "this survey was already answered or has expired".into(),
            },
        )));
    }
    let customer: CustomerId = r.customer_id.parse().map_err(Error::Other)?;
    if let Some(t) = r
        .ticket_id
        .as_deref()
        .and_then(|t| t.parse::<TicketId>().ok())
    {
        crate::tickets::handling::event(
            &mut tx,
            &t,
            now,
            None,
            EventKind::SurveyAnswered,
            None,
            None,
            comment.as_deref(),
            json!({"satisfaction": satisfaction.code(), "nps": nps.map(|n| n.score())}),
        )
        .await?;
    }
    audit::record(
        &mut tx,
        &Actor::system("survey"),
        Entry {
            action: "answer",
            entity: "survey",
            entity_id: &r.id,
            customer_id: Some(&customer),
            changes: audit::created(
                json!({"satisfaction": satisfaction.code(), "nps": nps.map(|n| n.score()), "comment": comment})
                    .as_object()
                    .expect("object"),
            ),
        },
    )
    .await?;
    tx.commit().await
}

/// A survey as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Survey {
    pub id: SurveyId,
    pub customer_id: CustomerId,
    pub ticket_id: Option<TicketId>,
    pub channel: Channel,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub satisfaction: Option<Satisfaction>,
    pub nps: Option<u8>,
    pub comment: Option<String>,
}

type Row = (
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

fn survey(r: Row) -> Option<Survey> {
    Some(Survey {
        id: r.0.parse().ok()?,
        customer_id: r.1.parse().ok()?,
        ticket_id: r.2.and_then(|t| t.parse().ok()),
        channel: Channel::parse(&r.3).ok()?,
        created_at: Timestamp::from_millis(r.4)?,
        expires_at: Timestamp::from_millis(r.5)?,
        answered_at: r.6.and_then(Timestamp::from_millis),
        satisfaction: r
            .7
            .and_then(|l| Satisfaction::from_level(u8::try_from(l).ok()?)),
        nps: r.8.and_then(|n| u8::try_from(n).ok()),
        comment: r.9,
    })
}

const SELECT: &str = "SELECT id, customer_id, ticket_id, channel, created_at, expires_at, answered_at, satisfaction, nps, comment FROM surveys";

/// The surveys of a customer the principal may read, newest first.
pub async fn for_customer(
    db: &Db,
    by: &Principal,
    customer: &CustomerId,
    limit: i64,
) -> Result<Vec<Survey>> {
    crate::customers::get(db, by, customer).await?;
    let rows: Vec<Row> = db
        .conn()
        .fetch_all(
            Query::new(format!(
                "{SELECT} WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
            ))
            .bind(customer)
            .bind(limit.clamp(1, 1000)),
        )
        .await?;
    Ok(rows.into_iter().filter_map(survey).collect())
}

/// The surveys of a ticket.
pub async fn for_ticket(db: &Db, ticket: &TicketId) -> Result<Vec<Survey>> {
    let rows: Vec<Row> = db
        .conn()
        .fetch_all(
            Query::new(format!(
                "{SELECT} WHERE ticket_id = $1 ORDER BY created_at, id"
            ))
            .bind(ticket),
        )
        .await?;
    Ok(rows.into_iter().filter_map(survey).collect())
}
