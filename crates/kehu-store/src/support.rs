//! The public support desk: a customer files a complaint or request
//! without an account and follows it through a private link. The link's
//! token (256 random bits, only its SHA-256 kept) opens that one ticket's
//! status and the replies to the customer, nothing else: no internal notes,
//! no other ticket, no customer record.
//!
//! The filer is matched to a customer by mobile, then e-mail; someone new
//! becomes a customer (source: website). Filing is rate-limited per address
//! and per mobile; the web layer adds its own checks against robots.

use crate::auth::{is_token, random_token, sha256_hex};
use crate::customers::{self, CustomerWrite};
use crate::db::Query;
use crate::tickets::{self, handling, Clock, Origin};
use crate::{rate, Db, Error, Result};
use kehu_domain::customer::{CustomerInput, CustomerKind, Source};
use kehu_domain::ids::{CustomerId, TicketId};
use kehu_domain::mobile::Mobile;
use kehu_domain::ticket::{
    Channel, EventKind, Purpose, Severity, Status, TicketDraft, TicketKind, NOTE_MAX,
};
use kehu_domain::time::Timestamp;
use kehu_domain::{text, FieldErrors, Problem};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The key that signs the public forms' render time (so that a robot
/// cannot post at once or forge the time): random, made once, kept in the
/// database so that every server shares it.
pub async fn form_key(db: &Db) -> Result<String> {
    db.conn()
        .execute(
            Query::new("INSERT INTO settings (key, value) VALUES ('form_key', $1) ON CONFLICT (key) DO NOTHING")
                .bind(random_token("")),
        )
        .await?;
    let (key,): (String,) = db
        .conn()
        .fetch_one(Query::new(
            "SELECT value FROM settings WHERE key = 'form_key'",
        ))
        .await?;
    Ok(key)
}

/// Tickets one address may file per hour.
pub const PER_IP_PER_HOUR: i64 = 5;
/// Tickets filed for one mobile number per day.
pub const PER_MOBILE_PER_DAY: i64 = 5;
/// Messages on one ticket per hour.
pub const MESSAGES_PER_HOUR: i64 = 10;

/// The public form as sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublicDraft {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub mobile: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub description: String,
    /// `suggestion`, `criticism` or `accusation`.
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub product: String,
}

/// Text with more links than this is taken for spam.
const MAX_LINKS: usize = 2;

fn too_many_links(s: &str) -> bool {
    let lower = s.to_lowercase();
    lower.matches("http://").count()
        + lower.matches("https://").count()
        + lower.matches("www.").count()
        > MAX_LINKS
}

/// Files a ticket from the public form; returns its number and the token
/// of its private link.
pub async fn file(db: &Db, d: &PublicDraft, ip: &str, clock: &Clock) -> Result<(i64, String)> {
    let mut e = FieldErrors::new();
    let name = e.take("name", text::required(&d.name, 50));
    let mobile = e.take("mobile", Mobile::parse_optional(&d.mobile));
    let email = e.take("email", text::email(&d.email));
    if matches!((&mobile, &email), (Some(None), Some(None))) {
        e.add(
            "mobile",
            Problem::Invalid {
                zh: "请留下手机号或邮箱，以便我们联系您".into(),
                en: "leave a mobile number or an e-mail address so that we can reach you".into(),
            },
        );
    }
    // The customer says what they want; urgency follows from it.
    let purpose = Purpose::parse(&d.purpose).ok();
    let severity = match purpose {
        Some(Purpose::Accusation) => Severity::High,
        _ => Severity::Normal,
    };
    let draft = TicketDraft {
        subject: d.subject.clone(),
        description: d.description.clone(),
        purpose: d.purpose.clone(),
        severity: severity.code().into(),
        channel: Channel::Web.code().into(),
        kind: TicketKind::Complaint.code().into(),
        category: d.category.clone(),
        product: d.product.clone(),
        department: String::new(),
    };
    let ticket = match draft.check() {
        Ok(t) => Some(t),
        Err(te) => {
            e.0.extend(te.0);
            None
        }
    };
    if too_many_links(&d.description) || too_many_links(&d.subject) {
        e.add(
            "description",
            Problem::Invalid {
                zh: "内容包含过多链接".into(),
                en: "the text holds too many links".into(),
            },
        );
    }
    e.into_result()?;
    let (name, mobile, email, ticket) = (
        name.expect("checked"),
        mobile.expect("checked"),
        email.expect("checked"),
        ticket.expect("checked"),
    );
    rate::hit(db, "support_ip", ip, PER_IP_PER_HOUR, 3600, clock.now).await?;
    if let Some(m) = &mobile {
        rate::hit(
            db,
            "support_mobile",
            m.as_str(),
            PER_MOBILE_PER_DAY,
            86_400,
            clock.now,
        )
        .await?;
    }
    let customer = match find(db, mobile.as_ref(), email.as_deref()).await? {
        Some(c) => customers::load(db, &c).await?,
        None => {
            let fields = CustomerInput {
                kind: CustomerKind::Person.code().into(),
                name,
                mobile: mobile.map(|m| m.as_str().to_string()).unwrap_or_default(),
                email: email.unwrap_or_default(),
                source: Source::Website.code().into(),
                ..CustomerInput::default()
            }
            .parse()?;
            customers::create_by_system(
                db,
                "support-form",
                CustomerWrite {
                    fields,
                    custom: Default::default(),
                    tags: vec![],
                    consents: Default::default(),
                },
            )
            .await?
        }
    };
    let token = random_token("");
    let t = tickets::open(
        db,
        Origin::Public,
        &customer,
        &ticket,
        None,
        Some(&sha256_hex(&token)),
        clock,
    )
    .await?;
    Ok((t.number, token))
}

/// A live customer with this mobile, else this e-mail (the oldest).
async fn find(db: &Db, mobile: Option<&Mobile>, email: Option<&str>) -> Result<Option<CustomerId>> {
    for (col, v) in [("mobile", mobile.map(Mobile::as_str)), ("email", email)] {
        let Some(v) = v else { continue };
        let row: Option<(String,)> = db
            .conn()
            .fetch_optional(
                Query::new(format!(
                    "SELECT id FROM customers WHERE {col} = $1 AND deleted_at IS NULL ORDER BY created_at, id LIMIT 1"
                ))
                .bind(v),
            )
            .await?;
        if let Some((id,)) = row {
            return Ok(Some(id.parse().map_err(Error::Other)?));
        }
    }
    Ok(None)
}

/// What the private link shows.
#[derive(Debug, Clone, Serialize)]
pub struct PublicView {
    pub number: i64,
    pub subject: String,
    pub status: Status,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// Replies to the customer and the customer's own messages, oldest
    /// first: (when, from the customer, text).
    pub messages: Vec<(Timestamp, bool, String)>,
}

async fn ticket_of(db: &Db, token: &str) -> Result<TicketId> {
    if !is_token(token) {
        return Err(Error::NotFound);
    }
    let row: Option<(String,)> = db
        .conn()
        .fetch_optional(
            Query::new("SELECT id FROM tickets WHERE public_token_hash = $1")
                .bind(sha256_hex(token)),
        )
        .await?;
    row.ok_or(Error::NotFound)?.0.parse().map_err(Error::Other)
}

pub async fn view(db: &Db, token: &str, now: Timestamp) -> Result<PublicView> {
    let id = ticket_of(db, token).await?;
    let t = tickets::load(db, &id, now).await?;
    let messages = handling::list_events(db, &id)
        .await?
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Reply => Some((e.at, false, e.body?)),
            EventKind::CustomerMessage => Some((e.at, true, e.body?)),
            _ => None,
        })
        .collect();
    Ok(PublicView {
        number: t.number,
        subject: t.subject,
        status: t.status,
        created_at: t.created_at,
        resolved_at: t.resolved_at,
        messages,
    })
}

/// The customer adds a message through the private link. A ticket waiting
/// on the customer is back in progress (its clock runs again); a resolved
/// one is reopened.
pub async fn message(db: &Db, token: &str, body: &str, clock: &Clock) -> Result<()> {
    let id = ticket_of(db, token).await?;
    let body = text::multiline(body, NOTE_MAX)
        .and_then(|b| b.ok_or(Problem::Required))
        .map_err(|p| FieldErrors::single("body", p))?;
    if too_many_links(&body) {
        return Err(Error::Invalid(FieldErrors::single(
            "body",
            Problem::Invalid {
                zh: "内容包含过多链接".into(),
                en: "the text holds too many links".into(),
            },
        )));
    }
    rate::hit(
        db,
        "support_message",
        id.as_str(),
        MESSAGES_PER_HOUR,
        3600,
        clock.now,
    )
    .await?;
    let t = tickets::load(db, &id, clock.now).await?;
    if t.status == Status::Closed {
        return Err(Error::Invalid(FieldErrors::single(
            "body",
            Problem::Invalid {
                zh: "工单已关闭，如有新问题请重新提交".into(),
                en: "the ticket is closed; please file a new one".into(),
            },
        )));
    }
    let mut tx = db.begin().await?;
    handling::event(
        &mut tx,
        &id,
        clock.now,
        None,
        EventKind::CustomerMessage,
        None,
        Some(Channel::Web),
        Some(&body),
        json!({}),
    )
    .await?;
    if matches!(t.status, Status::Waiting | Status::Resolved) {
        handling::change_status(&mut tx, db, None, &t, Status::Open, None, clock).await?;
    }
    if let Some(a) = &t.assignee_id {
        crate::notifications::notify(
            &mut tx,
            a,
            clock.now,
            "customer_message",
            &id,
            json!({"number": t.number, "subject": t.subject}),
        )
        .await?;
    }
    tx.commit().await
}
