//! Administration pages (users, custom fields, recycle bin, audit log) and
//! the signed-in user's own account page (password, API tokens).

use crate::auth::{self as web_auth, CsrfForm, WebUser, SESSION_COOKIE};
use crate::state::AppState;
use crate::ui::customers::Opt;
use crate::ui::form::{Errors, Posted};
use crate::ui::page::{render, Chrome, PageError, PageResult};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use kehu_domain::custom_field::FieldKind;
use kehu_domain::ids::{CustomerId, UserId};
use kehu_domain::role::Role;
use kehu_domain::FieldErrors;
use kehu_store::audit::{self, AuditEntry};
use kehu_store::auth::{self, ApiToken, NewUser, User, UserPatch};
use kehu_store::customers::{self, Filter, Sort, RECYCLE_DAYS};
use kehu_store::fields::{self, FieldDef, FieldInput};
use kehu_store::Error as StoreError;
use serde::Deserialize;

fn admin_only(u: &WebUser) -> Result<(), PageError> {
    if u.principal.role.is_admin() {
        Ok(())
    } else {
        Err(PageError::forbidden(u.lang))
    }
}

fn with_status(mut r: Response, status: StatusCode) -> Response {
    *r.status_mut() = status;
    r
}

// ---------------------------------------------------------------- users

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<User>,
    roles: Vec<Opt>,
    values: Posted,
    errors: Errors,
}

fn grantable(u: &WebUser) -> Vec<Opt> {
    Role::ALL
        .iter()
        .filter(|r| u.principal.role.can_grant(**r))
        .map(|r| Opt {
            value: r.code().into(),
            label: r.label(u.lang).into(),
        })
        .collect()
}

async fn users_page(
    s: &AppState,
    u: &WebUser,
    values: Posted,
    errors: Errors,
) -> Result<Response, PageError> {
    let users = auth::users(&s.db).await.page(u.lang)?;
    Ok(render(&UsersPage {
        chrome: Chrome::new(u, "users", s.config.timezone),
        users,
        roles: grantable(u),
        values,
        errors,
    }))
}

pub async fn users(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    admin_only(&u)?;
    let mut v = Posted::default();
    v.0.insert("role".into(), "agent".into());
    users_page(&s, &u, v, Errors::default()).await
}

pub async fn create_user(
    State(s): State<AppState>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    admin_only(&u)?;
    let p = Posted::new(pairs);
    let n = NewUser {
        login: p.get("login"),
        name: p.get("name"),
        role: p.get("role"),
        team: p.get("team"),
        password: p.get("password"),
    };
    match auth::create_user(&s.db, Some(&u.principal), &n).await {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(StoreError::Invalid(e)) => {
            let mut p = p;
            p.0.remove("password");
            Ok(with_status(
                users_page(&s, &u, p, Errors::from(&e, u.lang)).await?,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    chrome: Chrome,
    user: User,
    roles: Vec<Opt>,
    managers: Vec<Opt>,
    values: Posted,
    errors: Errors,
}

async fn user_page(
    s: &AppState,
    u: &WebUser,
    user: User,
    values: Posted,
    errors: Errors,
) -> Result<Response, PageError> {
    let managers = auth::users(&s.db)
        .await
        .page(u.lang)?
        .into_iter()
        .filter(|m| m.id != user.id && m.active)
        .map(|m| Opt {
            value: m.id.to_string(),
            label: format!("{} ({})", m.name, m.login),
        })
        .collect();
    let mut roles = grantable(u);
    if !roles.iter().any(|r| r.value == user.role.code()) {
        roles.push(Opt {
            value: user.role.code().into(),
            label: user.role.label(u.lang).into(),
        });
    }
    Ok(render(&UserPage {
        chrome: Chrome::new(u, "users", s.config.timezone),
        user,
        roles,
        managers,
        values,
        errors,
    }))
}

fn user_values(user: &User) -> Posted {
    let mut v = Posted::default();
    v.0.insert("name".into(), user.name.clone());
    v.0.insert("role".into(), user.role.code().into());
    v.0.insert("team".into(), user.team_name.clone().unwrap_or_default());
    v.0.insert(
        "manager_id".into(),
        user.manager_id
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    );
    if user.active {
        v.0.insert("active".into(), "on".into());
    }
    if user.can_export {
        v.0.insert("can_export".into(), "on".into());
    }
    v
}

pub async fn user(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    admin_only(&u)?;
    let id: UserId = id.parse().map_err(|_| PageError::not_found(u.lang))?;
    let user = auth::user(&s.db, &id).await.page(u.lang)?;
    let values = user_values(&user);
    user_page(&s, &u, user, values, Errors::default()).await
}

pub async fn update_user(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    admin_only(&u)?;
    let id: UserId = id.parse().map_err(|_| PageError::not_found(u.lang))?;
    let user = auth::user(&s.db, &id).await.page(u.lang)?;
    let p = Posted::new(pairs);
    let manager = p.get("manager_id");
    let manager_id = if manager.trim().is_empty() {
        Some(None)
    } else {
        match manager.parse() {
            Ok(m) => Some(Some(m)),
            Err(_) => {
                let e = FieldErrors::single("manager_id", kehu_domain::Problem::NotFound);
                return Ok(with_status(
                    user_page(&s, &u, user, p, Errors::from(&e, u.lang)).await?,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ));
            }
        }
    };
    let password = Some(p.get("password")).filter(|pw| !pw.is_empty());
    let patch = UserPatch {
        name: Some(p.get("name")),
        role: Some(p.get("role")),
        team: Some(p.get("team")),
        manager_id,
        active: Some(p.0.contains_key("active")),
        can_export: Some(p.0.contains_key("can_export")),
        password,
    };
    match auth::update_user(&s.db, &u.principal, &id, &patch).await {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(StoreError::Invalid(e)) => Ok(with_status(
            user_page(&s, &u, user, p, Errors::from(&e, u.lang)).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

// ---------------------------------------------------------------- custom fields

#[derive(Template)]
#[template(path = "admin_fields.html")]
struct FieldsPage {
    chrome: Chrome,
    fields: Vec<FieldDef>,
    kinds: Vec<Opt>,
    values: Posted,
    errors: Errors,
    editing: Option<FieldDef>,
}

async fn fields_page(
    s: &AppState,
    u: &WebUser,
    editing: Option<FieldDef>,
    values: Posted,
    errors: Errors,
) -> Result<Response, PageError> {
    let list = fields::all(&s.db).await.page(u.lang)?;
    let kinds = FieldKind::ALL
        .iter()
        .map(|k| Opt {
            value: k.code().into(),
            label: k.label(u.lang).into(),
        })
        .collect();
    Ok(render(&FieldsPage {
        chrome: Chrome::new(u, "fields", s.config.timezone),
        fields: list,
        kinds,
        values,
        errors,
        editing,
    }))
}

fn field_input(p: &Posted) -> FieldInput {
    FieldInput {
        key: p.get("key"),
        label: p.get("label"),
        kind: p.get("kind"),
        options: p.get("options"),
        required: p.0.contains_key("required"),
        position: p.get("position").trim().parse().unwrap_or(0),
        active: p.0.contains_key("active"),
    }
}

pub async fn field_list(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    admin_only(&u)?;
    let mut v = Posted::default();
    v.0.insert("active".into(), "on".into());
    v.0.insert("kind".into(), "text".into());
    fields_page(&s, &u, None, v, Errors::default()).await
}

pub async fn field_create(
    State(s): State<AppState>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    admin_only(&u)?;
    let p = Posted::new(pairs);
    match fields::create(&s.db, &u.principal, &field_input(&p)).await {
        Ok(_) => Ok(Redirect::to("/admin/fields").into_response()),
        Err(StoreError::Invalid(e)) => Ok(with_status(
            fields_page(&s, &u, None, p, Errors::from(&e, u.lang)).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

pub async fn field_edit(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    admin_only(&u)?;
    let f = fields::get(&s.db, &id).await.page(u.lang)?;
    let mut v = Posted::default();
    v.0.insert("label".into(), f.label.clone());
    v.0.insert("options".into(), f.options.join("\n"));
    v.0.insert("position".into(), f.position.to_string());
    if f.required {
        v.0.insert("required".into(), "on".into());
    }
    if f.active {
        v.0.insert("active".into(), "on".into());
    }
    fields_page(&s, &u, Some(f), v, Errors::default()).await
}

pub async fn field_update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    admin_only(&u)?;
    let f = fields::get(&s.db, &id).await.page(u.lang)?;
    let p = Posted::new(pairs);
    match fields::update(&s.db, &u.principal, &id, &field_input(&p)).await {
        Ok(_) => Ok(Redirect::to("/admin/fields").into_response()),
        Err(StoreError::Invalid(e)) => Ok(with_status(
            fields_page(&s, &u, Some(f), p, Errors::from(&e, u.lang)).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

// ---------------------------------------------------------------- recycle bin

pub struct BinRow {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub deleted: String,
    pub days_left: i64,
}

#[derive(Template)]
#[template(path = "recycle_bin.html")]
struct BinPage {
    chrome: Chrome,
    rows: Vec<BinRow>,
    days: i64,
}

pub async fn recycle_bin(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    admin_only(&u)?;
    let filter = Filter {
        deleted: true,
        ..Default::default()
    };
    let page = customers::list(
        &s.db,
        &u.principal,
        &filter,
        Sort::RecentlyUpdated,
        200,
        None,
        None,
    )
    .await
    .page(u.lang)?;
    let chrome = Chrome::new(&u, "recycle", s.config.timezone);
    let now = kehu_domain::time::Timestamp::now().millis();
    let rows = page
        .items
        .iter()
        .map(|c| {
            let deleted = c.deleted_at.unwrap_or(c.updated_at);
            BinRow {
                id: c.id.to_string(),
                name: c.fields.name.clone(),
                owner: c.owner_name.clone().unwrap_or_default(),
                deleted: chrome.time(&deleted),
                days_left: (RECYCLE_DAYS - (now - deleted.millis()) / 86_400_000).max(0),
            }
        })
        .collect();
    Ok(render(&BinPage {
        chrome,
        rows,
        days: RECYCLE_DAYS,
    }))
}

pub async fn restore(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, _): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id: CustomerId = id.parse().map_err(|_| PageError::not_found(u.lang))?;
    customers::restore(&s.db, &u.principal, &id)
        .await
        .page(u.lang)?;
    Ok(Redirect::to(&format!("/customers/{id}")).into_response())
}

// ---------------------------------------------------------------- audit log

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    entity: String,
    #[serde(default)]
    action: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditEntry>,
    q: AuditQuery,
}

impl AuditPage {
    fn value(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Null => "—".into(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

pub async fn audit_log(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    admin_only(&u)?;
    let some = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let filter = audit::Filter {
        entity: some(&q.entity),
        action: some(&q.action),
        ..Default::default()
    };
    let entries = audit::list(&s.db, &filter, 200).await.page(u.lang)?;
    Ok(render(&AuditPage {
        chrome: Chrome::new(&u, "audit", s.config.timezone),
        entries,
        q,
    }))
}

// ---------------------------------------------------------------- account

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    login: String,
    tokens: Vec<ApiToken>,
    new_secret: Option<String>,
    errors: Errors,
    saved: bool,
}

async fn account_page(
    s: &AppState,
    u: &WebUser,
    new_secret: Option<String>,
    errors: Errors,
    saved: bool,
) -> Result<Response, PageError> {
    let tokens = auth::tokens(&s.db, &u.principal.user_id)
        .await
        .page(u.lang)?;
    Ok(render(&AccountPage {
        chrome: Chrome::new(u, "account", s.config.timezone),
        login: u.user.login.clone(),
        tokens,
        new_secret,
        errors,
        saved,
    }))
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn account(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    account_page(&s, &u, None, Errors::default(), q.saved.is_some()).await
}

pub async fn change_password(
    State(s): State<AppState>,
    jar: CookieJar,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = Posted::new(pairs);
    match auth::change_own_password(
        &s.db,
        &u.principal,
        &p.get("current_password"),
        &p.get("new_password"),
    )
    .await
    {
        Ok(session) => {
            let jar = jar.add(web_auth::cookie(
                &s,
                SESSION_COOKIE,
                session.token,
                auth::SESSION_IDLE_DAYS,
            ));
            Ok((jar, Redirect::to("/account?saved=1")).into_response())
        }
        Err(StoreError::Invalid(e)) => Ok(with_status(
            account_page(&s, &u, None, Errors::from(&e, u.lang), false).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

pub async fn create_token(
    State(s): State<AppState>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = Posted::new(pairs);
    match auth::create_token(
        &s.db,
        &(&u.principal).into(),
        &u.principal.user_id,
        &p.get("name"),
    )
    .await
    {
        Ok((_, secret)) => account_page(&s, &u, Some(secret), Errors::default(), false).await,
        Err(StoreError::Invalid(e)) => Ok(with_status(
            account_page(&s, &u, None, Errors::from(&e, u.lang), false).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

pub async fn revoke_token(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, _): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    auth::revoke_token(&s.db, &u.principal, &id)
        .await
        .page(u.lang)?;
    Ok(Redirect::to("/account").into_response())
}
