//! Users, teams, passwords, sessions and API tokens.
//!
//! Passwords are hashed with argon2id. Session and API tokens are 256-bit
//! random values given to the client once; only their SHA-256 is stored, so
//! a copy of the database does not let anyone sign in. Sessions live in the
//! database, so that logging out, changing a password or deactivating a user
//! ends every session at once, on every app server.

use crate::audit::{self, Actor, Entry};
use crate::db::{Query, Tx};
use crate::{Db, Error, Result};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kehu_domain::ids::{TeamId, TokenId, UserId};
use kehu_domain::role::{Principal, Role};
use kehu_domain::time::Timestamp;
use kehu_domain::{text, FieldErrors, Problem};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const MIN_PASSWORD: usize = 10;
/// How long a session lasts without use.
pub const SESSION_IDLE_DAYS: i64 = 7;
/// Failed logins allowed per login name, and per address, in the window.
pub const MAX_FAILS_PER_LOGIN: i64 = 5;
pub const MAX_FAILS_PER_IP: i64 = 20;
pub const FAIL_WINDOW_SECS: i64 = 15 * 60;

pub(crate) fn random_token(prefix: &str) -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(b))
}

/// Whether `s` has the shape of a [`random_token`] without prefix (43
/// characters of base64url); anything else is not one of ours.
pub(crate) fn is_token(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(crate) fn sha256_hex(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with default parameters")
        .to_string()
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A precomputed hash to verify against when the login does not exist, so
/// that the answer takes as long as for a real user.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("no such user, no such password"))
}

pub fn parse_login(raw: &str) -> Result<String, Problem> {
    let l = raw.trim().to_lowercase();
    let ok = (2..=32).contains(&l.len())
        && l.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
    if ok {
        Ok(l)
    } else {
        Err(Problem::InvalidLogin)
    }
}

pub fn check_password(p: &str) -> Result<(), Problem> {
    if p.chars().count() < MIN_PASSWORD {
        Err(Problem::WeakPassword { min: MIN_PASSWORD })
    } else if p.len() > 1024 {
        Err(Problem::TooLong { max: 1024 })
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------- teams

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Team {
    pub id: String,
    pub name: String,
}

pub async fn teams(db: &Db) -> Result<Vec<Team>> {
    db.conn()
        .fetch_all(Query::new("SELECT id, name FROM teams ORDER BY name"))
        .await
}

/// Finds a team by name, creating it when new.
pub async fn team_by_name_or_create(tx: &mut Tx, actor: &Actor, raw: &str) -> Result<TeamId> {
    let name = text::required(raw, 50).map_err(|p| FieldErrors::single("team", p))?;
    if let Some(t) = tx
        .fetch_optional::<Team>(
            Query::new("SELECT id, name FROM teams WHERE name = $1").bind(&name),
        )
        .await?
    {
        return t.id.parse().map_err(Error::Other);
    }
    let id = TeamId::new();
    tx.execute(
        Query::new("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(&name)
            .bind(Timestamp::now()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        Entry {
            action: "create",
            entity: "team",
            entity_id: id.as_str(),
            customer_id: None,
            changes: audit::created(json!({"name": name}).as_object().unwrap()),
        },
    )
    .await?;
    Ok(id)
}

// ---------------------------------------------------------------- users

#[derive(Debug, Clone, sqlx::FromRow)]
struct UserRow {
    id: String,
    login: String,
    name: String,
    role: String,
    team_id: Option<String>,
    team_name: Option<String>,
    manager_id: Option<String>,
    active: bool,
    can_export: bool,
    created_at: i64,
}

/// A user as shown to admins (never with the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<TeamId>,
    pub team_name: Option<String>,
    pub manager_id: Option<UserId>,
    pub active: bool,
    /// Granted the export of customer lists (owners and admins may export
    /// regardless).
    pub can_export: bool,
    pub created_at: Timestamp,
}

impl User {
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.id.clone(),
            login: self.login.clone(),
            name: self.name.clone(),
            role: self.role,
            team_id: self.team_id.clone(),
            export_granted: self.can_export,
        }
    }
}

impl TryFrom<UserRow> for User {
    type Error = Error;
    fn try_from(r: UserRow) -> Result<User> {
        Ok(User {
            id: r.id.parse().map_err(Error::Other)?,
            login: r.login,
            name: r.name,
            role: Role::parse(&r.role).map_err(|_| Error::Other(format!("bad role {}", r.role)))?,
            team_id: r
                .team_id
                .map(|t| t.parse())
                .transpose()
                .map_err(Error::Other)?,
            team_name: r.team_name,
            manager_id: r
                .manager_id
                .map(|t| t.parse())
                .transpose()
                .map_err(Error::Other)?,
            active: r.active,
            can_export: r.can_export,
            created_at: Timestamp::from_millis(r.created_at).unwrap_or_else(Timestamp::now),
        })
    }
}

const USER_SELECT: &str = "SELECT u.id, u.login, u.name, u.role, u.team_id, t.name AS team_name, u.manager_id, u.active, u.can_export, u.created_at \
     FROM users u LEFT JOIN teams t ON t.id = u.team_id";

pub async fn users(db: &Db) -> Result<Vec<User>> {
    let rows: Vec<UserRow> = db
        .conn()
        .fetch_all(Query::new(format!(
            "{USER_SELECT} ORDER BY u.active DESC, u.login"
        )))
        .await?;
    rows.into_iter().map(User::try_from).collect()
}

pub async fn user(db: &Db, id: &UserId) -> Result<User> {
    let row: UserRow = db
        .conn()
        .fetch_one(Query::new(format!("{USER_SELECT} WHERE u.id = $1")).bind(id))
        .await?;
    row.try_into()
}

pub async fn user_by_login(db: &Db, login: &str) -> Result<User> {
    let row: UserRow = db
        .conn()
        .fetch_one(
            Query::new(format!("{USER_SELECT} WHERE u.login = $1"))
                .bind(login.trim().to_lowercase()),
        )
        .await?;
    row.try_into()
}

async fn user_in_tx(tx: &mut Tx, id: &UserId) -> Result<User> {
    let row: UserRow = tx
        .fetch_one(Query::new(format!("{USER_SELECT} WHERE u.id = $1")).bind(id))
        .await?;
    row.try_into()
}

/// A new user as requested (raw text, parsed here).
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    pub role: String,
    pub team: String,
    pub password: String,
}

fn user_snapshot(u: &User) -> serde_json::Map<String, serde_json::Value> {
    json!({
        "login": u.login, "name": u.name, "role": u.role.code(),
        "team": u.team_name, "manager_id": u.manager_id, "active": u.active,
        "can_export": u.can_export,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// Creates a user. `by` is `None` for the CLI (which may create any role).
pub async fn create_user(db: &Db, by: Option<&Principal>, n: &NewUser) -> Result<User> {
    let mut e = FieldErrors::new();
    let login = e.take("login", parse_login(&n.login));
    let name = if n.name.trim().is_empty() {
        login.clone()
    } else {
        e.take("name", text::required(&n.name, 50))
    };
    let role = e.take("role", Role::parse(&n.role));
    e.take("password", check_password(&n.password));
    if let (Some(p), Some(r)) = (by, role) {
        if !p.role.can_grant(r) {
            e.add("role", Problem::NotAllowed);
        }
    }
    let team = e.take("team", text::optional(&n.team, 50));
    e.clone().into_result()?;
    let (login, name, role, team) = (login.unwrap(), name.unwrap(), role.unwrap(), team.unwrap());
    let actor = by.map(Actor::from).unwrap_or_else(|| Actor::system("cli"));
    let mut tx = db.begin().await?;
    if tx
        .scalar(Query::new("SELECT COUNT(*) FROM users WHERE login = $1").bind(&login))
        .await?
        > 0
    {
        return Err(FieldErrors::single("login", Problem::Taken).into());
    }
    let team_id = match &team {
        Some(t) => Some(team_by_name_or_create(&mut tx, &actor, t).await?),
        None => None,
    };
    let id = UserId::new();
    let now = Timestamp::now();
    tx.execute(
        Query::new(
            "INSERT INTO users (id, login, name, role, team_id, password_hash, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&id)
        .bind(&login)
        .bind(&name)
        .bind(role.code())
        .bind(team_id.as_ref())
        .bind(hash_password(&n.password))
        .bind(true)
        .bind(now),
    )
    .await?;
    let u = user_in_tx(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        &actor,
        Entry {
            action: "create",
            entity: "user",
            entity_id: id.as_str(),
            customer_id: None,
            changes: audit::created(&user_snapshot(&u)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(u)
}

/// Changes to a user, by an admin. `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<String>,
    /// `Some("")` removes the user from their team.
    pub team: Option<String>,
    pub manager_id: Option<Option<UserId>>,
    pub active: Option<bool>,
    /// Grant or withdraw the export of customer lists.
    pub can_export: Option<bool>,
    pub password: Option<String>,
}

pub async fn update_user(db: &Db, by: &Principal, id: &UserId, p: &UserPatch) -> Result<User> {
    if !by.role.is_admin() {
        return Err(Error::Forbidden);
    }
    let mut tx = db.begin().await?;
    let before = user_in_tx(&mut tx, id).await?;
    // Only an owner may change an owner.
    if before.role == Role::Owner && by.role != Role::Owner {
        return Err(Error::Forbidden);
    }
    let mut e = FieldErrors::new();
    let name = p
        .name
        .as_deref()
        .and_then(|n| e.take("name", text::required(n, 50)));
    let role = p
        .role
        .as_deref()
        .and_then(|r| e.take("role", Role::parse(r)));
    if let Some(r) = role {
        if !by.role.can_grant(r) {
            e.add("role", Problem::NotAllowed);
        }
    }
    if let Some(pw) = &p.password {
        e.take("password", check_password(pw));
    }
    if let Some(Some(m)) = &p.manager_id {
        if m == id
            || tx
                .scalar(Query::new("SELECT COUNT(*) FROM users WHERE id = $1").bind(m))
                .await?
                == 0
        {
            e.add("manager_id", Problem::NotFound);
        }
    }
    if p.active == Some(false) && id == &by.user_id {
        e.add(
            "active",
            Problem::Invalid {
                zh: "不能停用自己的账号".into(),
                en: "you cannot deactivate yourself".into(),
            },
        );
    }
    e.into_result()?;
    let actor = Actor::from(by);
    let team_id = match p.team.as_deref().map(str::trim) {
        None => before.team_id.clone(),
        Some("") => None,
        Some(t) => Some(team_by_name_or_create(&mut tx, &actor, t).await?),
    };
    let manager = match &p.manager_id {
        None => before.manager_id.clone(),
        Some(m) => m.clone(),
    };
    let now = Timestamp::now();
    tx.execute(
        Query::new("UPDATE users SET name = $2, role = $3, team_id = $4, manager_id = $5, active = $6, updated_at = $7, can_export = $8 WHERE id = $1")
            .bind(id)
            .bind(name.unwrap_or(before.name.clone()))
            .bind(role.unwrap_or(before.role).code())
            .bind(team_id.as_ref())
            .bind(manager.as_ref())
            .bind(p.active.unwrap_or(before.active))
            .bind(now)
            .bind(p.can_export.unwrap_or(before.can_export)),
    )
    .await?;
    if let Some(pw) = &p.password {
        tx.execute(
            Query::new("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(id)
                .bind(hash_password(pw)),
        )
        .await?;
    }
    let after = user_in_tx(&mut tx, id).await?;
    let mut changes = audit::diff(&user_snapshot(&before), &user_snapshot(&after));
    if p.password.is_some() {
        changes.push(audit::Change {
            field: "password".into(),
            old: json!("***"),
            new: json!("***"),
        });
    }
    // A change of role, team, activity or password ends the user's sessions.
    if changes
        .iter()
        .any(|c| ["role", "team", "active", "password"].contains(&c.field.as_str()))
    {
        end_sessions(&mut tx, id).await?;
    }
    if !after.active {
        tx.execute(
            Query::new(
                "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now),
        )
        .await?;
    }
    audit::record(
        &mut tx,
        &actor,
        Entry {
            action: "update",
            entity: "user",
            entity_id: id.as_str(),
            customer_id: None,
            changes,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// A user changes their own password; every session of theirs ends and a
/// new one is returned for the caller.
pub async fn change_own_password(
    db: &Db,
    p: &Principal,
    current: &str,
    new: &str,
) -> Result<NewSession> {
    let hash: String = db
        .conn()
        .fetch_one::<(String,)>(
            Query::new("SELECT password_hash FROM users WHERE id = $1").bind(&p.user_id),
        )
        .await?
        .0;
    let mut e = FieldErrors::new();
    if !verify_password(current, &hash) {
        e.add(
            "current_password",
            Problem::Invalid {
                zh: "当前密码不正确".into(),
                en: "is not your current password".into(),
            },
        );
    }
    e.take("new_password", check_password(new));
    e.into_result()?;
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(&p.user_id)
            .bind(hash_password(new))
            .bind(Timestamp::now()),
    )
    .await?;
    end_sessions(&mut tx, &p.user_id).await?;
    audit::record(
        &mut tx,
        &Actor::from(p),
        Entry {
            action: "password",
            entity: "user",
            entity_id: p.user_id.as_str(),
            customer_id: None,
            changes: vec![],
        },
    )
    .await?;
    let s = insert_session(&mut tx, &p.user_id).await?;
    tx.commit().await?;
    Ok(s)
}

/// Sets a password from the CLI (resetting a forgotten one).
pub async fn set_password(db: &Db, login: &str, password: &str) -> Result<()> {
    check_password(password).map_err(|p| FieldErrors::single("password", p))?;
    let u = user_by_login(db, login).await?;
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(&u.id)
            .bind(hash_password(password))
            .bind(Timestamp::now()),
    )
    .await?;
    end_sessions(&mut tx, &u.id).await?;
    audit::record(
        &mut tx,
        &Actor::system("cli"),
        Entry {
            action: "password",
            entity: "user",
            entity_id: u.id.as_str(),
            customer_id: None,
            changes: vec![],
        },
    )
    .await?;
    tx.commit().await
}

// ---------------------------------------------------------------- login and sessions

/// A session just created: `token` goes into the cookie and is not stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
}

async fn insert_session(tx: &mut Tx, user: &UserId) -> Result<NewSession> {
    let token = random_token("");
    let csrf = random_token("");
    let now = Timestamp::now();
    tx.execute(
        Query::new("INSERT INTO sessions (id, user_id, csrf, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $4)")
            .bind(sha256_hex(&token))
            .bind(user)
            .bind(&csrf)
            .bind(now)
            .bind(now.millis() + SESSION_IDLE_DAYS * 86_400_000),
    )
    .await?;
    Ok(NewSession { token, csrf })
}

async fn end_sessions(tx: &mut Tx, user: &UserId) -> Result<()> {
    tx.execute(Query::new("DELETE FROM sessions WHERE user_id = $1").bind(user))
        .await?;
    Ok(())
}

/// Checks a login and password, with rate limiting per login and per
/// address. Every attempt is recorded.
pub async fn login(db: &Db, login: &str, password: &str, ip: &str) -> Result<(User, NewSession)> {
    let login = login.trim().to_lowercase();
    let now = Timestamp::now();
    let since = now.millis() - FAIL_WINDOW_SECS * 1000;
    let by_login = db
        .conn()
        .scalar(
            Query::new(
                "SELECT COUNT(*) FROM login_attempts WHERE login = $1 AND at > $2 AND ok = $3",
            )
            .bind(&login)
            .bind(since)
            .bind(false),
        )
        .await?;
    let by_ip = db
        .conn()
        .scalar(
            Query::new("SELECT COUNT(*) FROM login_attempts WHERE ip = $1 AND at > $2 AND ok = $3")
                .bind(ip)
                .bind(since)
                .bind(false),
        )
        .await?;
    if by_login >= MAX_FAILS_PER_LOGIN || by_ip >= MAX_FAILS_PER_IP {
        return Err(Error::RateLimited {
            retry_after_secs: FAIL_WINDOW_SECS as u64,
        });
    }
    let row: Option<(String, String, bool)> = db
        .conn()
        .fetch_optional(
            Query::new("SELECT id, password_hash, active FROM users WHERE login = $1").bind(&login),
        )
        .await?;
    let ok = match &row {
        Some((_, hash, active)) => verify_password(password, hash) && *active,
        None => {
            verify_password(password, dummy_hash());
            false
        }
    };
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new("INSERT INTO login_attempts (login, ip, at, ok) VALUES ($1, $2, $3, $4)")
            .bind(&login)
            .bind(ip)
            .bind(now)
            .bind(ok),
    )
    .await?;
    if !ok {
        tx.commit().await?;
        return Err(Error::BadCredentials);
    }
    let id: UserId = row
        .expect("ok implies a row")
        .0
        .parse()
        .map_err(Error::Other)?;
    let s = insert_session(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        &Actor {
            user_id: Some(id.clone()),
            login: login.clone(),
        },
        Entry {
            action: "login",
            entity: "user",
            entity_id: id.as_str(),
            customer_id: None,
            changes: vec![audit::Change {
                field: "ip".into(),
                old: serde_json::Value::Null,
                new: json!(ip),
            }],
        },
    )
    .await?;
    // Old attempts are of no further use.
    tx.execute(
        Query::new("DELETE FROM login_attempts WHERE at < $1").bind(now.millis() - 86_400_000),
    )
    .await?;
    tx.commit().await?;
    let u = user(db, &id).await?;
    Ok((u, s))
}

/// The user behind a session cookie, if the session is live and the user
/// active; returns the session's CSRF token too. Extends the session.
pub async fn session_user(db: &Db, token: &str) -> Result<Option<(User, String)>> {
    let id = sha256_hex(token);
    let now = Timestamp::now();
    let row: Option<(String, String, i64, i64)> = db
        .conn()
        .fetch_optional(
            Query::new(
                "SELECT user_id, csrf, expires_at, last_seen_at FROM sessions WHERE id = $1",
            )
            .bind(&id),
        )
        .await?;
    let Some((user_id, csrf, expires_at, last_seen)) = row else {
        return Ok(None);
    };
    if expires_at < now.millis() {
        db.conn()
            .execute(Query::new("DELETE FROM sessions WHERE id = $1").bind(&id))
            .await?;
        return Ok(None);
    }
    let u = user(db, &user_id.parse().map_err(Error::Other)?).await?;
    if !u.active {
        return Ok(None);
    }
    // Touch at most once a minute to keep reads cheap.
    if now.millis() - last_seen > 60_000 {
        db.conn()
            .execute(
                Query::new("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1")
                    .bind(&id)
                    .bind(now)
                    .bind(now.millis() + SESSION_IDLE_DAYS * 86_400_000),
            )
            .await?;
    }
    Ok(Some((u, csrf)))
}

pub async fn logout(db: &Db, token: &str) -> Result<()> {
    db.conn()
        .execute(Query::new("DELETE FROM sessions WHERE id = $1").bind(sha256_hex(token)))
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- API tokens

#[derive(Debug, Clone, sqlx::FromRow)]
struct TokenRow {
    id: String,
    name: String,
    prefix: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// An API token as listed (the secret itself is shown only at creation).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// The first characters of the token, to tell tokens apart.
    pub prefix: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        ApiToken {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            created_at: Timestamp::from_millis(r.created_at).unwrap_or_else(Timestamp::now),
            last_used_at: r.last_used_at.and_then(Timestamp::from_millis),
            revoked_at: r.revoked_at.and_then(Timestamp::from_millis),
        }
    }
}

/// Creates a token for a user; returns the listing and the secret.
pub async fn create_token(
    db: &Db,
    actor: &Actor,
    user: &UserId,
    name: &str,
) -> Result<(ApiToken, String)> {
    let name = text::optional(name, 100)
        .map_err(|p| FieldErrors::single("name", p))?
        .unwrap_or_else(|| "api".into());
    let secret = random_token("kehu_");
    let id = TokenId::new();
    let now = Timestamp::now();
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new("INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(user)
            .bind(&name)
            .bind(sha256_hex(&secret))
            .bind(&secret[..9])
            .bind(now),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Entry {
            action: "create",
            entity: "api_token",
            entity_id: id.as_str(),
            customer_id: None,
            changes: audit::created(json!({"user_id": user, "name": name}).as_object().unwrap()),
        },
    )
    .await?;
    tx.commit().await?;
    let t = ApiToken {
        id: id.to_string(),
        name,
        prefix: secret[..9].to_string(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    Ok((t, secret))
}

pub async fn tokens(db: &Db, user: &UserId) -> Result<Vec<ApiToken>> {
    let rows: Vec<TokenRow> = db
        .conn()
        .fetch_all(Query::new("SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC").bind(user))
        .await?;
    Ok(rows.into_iter().map(ApiToken::from).collect())
}

/// Revokes one of the user's tokens (admins may revoke anyone's).
pub async fn revoke_token(db: &Db, by: &Principal, id: &str) -> Result<()> {
    let owner: Option<(String,)> = db
        .conn()
        .fetch_optional(Query::new("SELECT user_id FROM api_tokens WHERE id = $1").bind(id))
        .await?;
    match owner {
        Some((u,)) if u == by.user_id.as_str() || by.role.is_admin() => {}
        _ => return Err(Error::NotFound),
    }
    let mut tx = db.begin().await?;
    tx.execute(
        Query::new("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(Timestamp::now()),
    )
    .await?;
    audit::record(
        &mut tx,
        &Actor::from(by),
        Entry {
            action: "revoke",
            entity: "api_token",
            entity_id: id,
            customer_id: None,
            changes: vec![],
        },
    )
    .await?;
    tx.commit().await
}

/// The active user behind a bearer token, if the token is live.
pub async fn token_user(db: &Db, secret: &str) -> Result<Option<User>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        token_id: String,
        last_used_at: Option<i64>,
        #[sqlx(flatten)]
        user: UserRow,
    }
    let sql = USER_SELECT.replacen("SELECT ", "SELECT k.id AS token_id, k.last_used_at, ", 1);
    let row: Option<Row> = db
        .conn()
        .fetch_optional(
            Query::new(format!(
                "{sql} JOIN api_tokens k ON k.user_id = u.id WHERE k.token_hash = $1 AND k.revoked_at IS NULL"
            ))
            .bind(sha256_hex(secret)),
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let u: User = row.user.try_into()?;
    if !u.active {
        return Ok(None);
    }
    // The time of last use is kept to the minute: a busy client does not
    // turn every request into a write.
    let now = Timestamp::now();
    if row
        .last_used_at
        .is_none_or(|t| now.millis() - t >= TOKEN_USE_RESOLUTION_MS)
    {
        db.conn()
            .execute(
                Query::new("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                    .bind(&row.token_id)
                    .bind(now),
            )
            .await?;
    }
    Ok(Some(u))
}

/// How finely a token's last use is recorded.
const TOKEN_USE_RESOLUTION_MS: i64 = 60_000;
