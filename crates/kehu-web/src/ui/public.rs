//! Public pages (no login): the support desk at `/support`, a ticket's
//! private link, and the satisfaction survey.
//!
//! Nobody signs in here, so every form carries its own double-submit CSRF
//! token (the `kehu_public_csrf` cookie, repeated in a hidden field). The
//! support form also keeps robots out: a honeypot field people never see,
//! and a stamp of when the form was rendered, bound to the CSRF cookie by
//! a SHA-256 digest, so that a form sent back within seconds, or with an
//! old or forged stamp, is refused. The store adds rate limits.
//!
//! A private link shows one ticket, or one survey, and nothing else; an
//! unknown link gets a 404 that says nothing more. Those pages ask not to
//! be indexed and send no referrer.

use crate::auth::{self, ClientIp, LANG_COOKIE};
use crate::i18n::Tr;
use crate::state::AppState;
use crate::ui::form::Errors;
use crate::ui::page::render;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use chrono_tz::Tz;
use kehu_domain::survey::Satisfaction;
use kehu_domain::ticket::{Purpose, Status, DESCRIPTION_MAX, NOTE_MAX, SUBJECT_MAX};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Lang};
use kehu_store::support::{self, PublicDraft};
use kehu_store::surveys::{self, AnswerDraft, Public};
use kehu_store::tickets::Clock;
use kehu_store::Error as StoreError;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// (key, zh-CN, English) texts of these pages.
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("public.brand", "客户服务中心", "Customer service"),
    ("public.support.title", "意见与投诉", "Feedback and complaints"),
    (
        "public.support.intro",
        "请告诉我们发生了什么。提交后您会得到一个专属链接，可以随时查看处理进度、补充说明。",
        "Tell us what happened. After you send this you get a private link where you can follow our progress and add to your message.",
    ),
    ("public.support.about_you", "您的联系方式", "How to reach you"),
    ("public.support.about_it", "您的问题", "Your message"),
    ("public.f.name", "您的称呼", "Your name"),
    ("public.f.mobile", "手机号", "Mobile number"),
    ("public.f.email", "邮箱", "E-mail"),
    (
        "public.f.contact_hint",
        "手机号和邮箱至少填写一项，仅用于联系您。",
        "Leave at least a mobile number or an e-mail address; we use it only to reach you.",
    ),
    ("public.f.subject", "标题", "Subject"),
    ("public.f.description", "详细说明", "Details"),
    (
        "public.f.description_hint",
        "时间、地点、经过，以及您希望我们怎么做。",
        "When and where it happened, what happened, and what you would like us to do.",
    ),
    ("public.f.purpose", "您希望我们", "What would you like?"),
    ("public.purpose.suggestion", "建议", "A suggestion"),
    (
        "public.purpose.suggestion_hint",
        "整体还不错，希望我们做得更好",
        "Things are fine, but could be better",
    ),
    ("public.purpose.criticism", "批评", "Criticism"),
    (
        "public.purpose.criticism_hint",
        "对服务或产品不满意，希望我们重视",
        "You are unhappy with our service or product and want us to listen",
    ),
    ("public.purpose.accusation", "投诉控告", "A formal complaint"),
    (
        "public.purpose.accusation_hint",
        "问题严重，要求严肃处理并给出明确答复",
        "Something serious went wrong and you want it dealt with and a clear answer",
    ),
    ("public.f.product", "相关产品或服务（选填）", "Product or service concerned (optional)"),
    ("public.honeypot", "请勿填写此项", "Leave this field empty"),
    ("public.support.submit", "提交", "Send"),
    (
        "public.support.privacy",
        "我们只用您留下的信息处理这次反馈。",
        "We use what you tell us only to handle this request.",
    ),
    (
        "public.csrf",
        "页面已过期，请再提交一次。",
        "This page had expired; please send it again.",
    ),
    (
        "public.too_fast",
        "提交得太快了，请稍等几秒后再提交。",
        "That was very quick; please wait a few seconds and send it again.",
    ),
    (
        "public.stale",
        "表单已过期，请检查内容后再提交一次。",
        "The form had expired; please check it and send it again.",
    ),
    (
        "public.spam",
        "提交未通过检查，请再提交一次。",
        "The form did not pass our checks; please send it again.",
    ),
    (
        "public.rate_limited.title",
        "提交过于频繁",
        "Too many requests",
    ),
    (
        "public.rate_limited",
        "您提交得太频繁了，请约 {} 分钟后再试。如情况紧急，请致电客服。",
        "You have sent too many requests; please try again in about {} minutes. If it is urgent, please call us.",
    ),
    (
        "public.not_found.title",
        "链接无效",
        "Link not valid",
    ),
    (
        "public.not_found",
        "此链接无效或已失效，请核对链接是否完整。",
        "This link is not valid. Please check that you copied all of it.",
    ),
    ("public.internal.title", "暂时无法处理", "Something went wrong"),
    (
        "public.internal",
        "系统繁忙，请稍后再试。",
        "Something went wrong on our side; please try again later.",
    ),
    ("public.new_request", "提交新的反馈", "Send a new request"),
    ("public.ticket.title", "反馈处理进度", "Your request"),
    ("public.ticket.number", "工单号", "Reference"),
    ("public.ticket.subject", "标题", "Subject"),
    ("public.ticket.status", "状态", "Status"),
    ("public.ticket.created", "提交时间", "Sent"),
    ("public.ticket.resolved", "解决时间", "Resolved"),
    (
        "public.ticket.keep_link",
        "请收藏本页链接，凭它查看处理进度、补充说明；请勿转发给他人。",
        "Bookmark this page: its link lets you follow your request and add to it. Do not share it.",
    ),
    ("public.ticket.messages", "沟通记录", "Messages"),
    (
        "public.ticket.no_messages",
        "我们已收到您的反馈，会尽快与您联系。",
        "We have your request and will be in touch soon.",
    ),
    ("public.ticket.you", "我", "You"),
    ("public.ticket.staff", "客服", "Customer service"),
    ("public.ticket.add", "补充说明", "Add a message"),
    ("public.ticket.send", "发送", "Send"),
    (
        "public.ticket.closed",
        "此工单已关闭。如有新的问题，请提交新的反馈。",
        "This request is closed. If something else comes up, please send a new one.",
    ),
    ("public.survey.title", "服务满意度调查", "How did we do?"),
    (
        "public.survey.intro",
        "感谢您的信任！请花一分钟评价我们这次的服务。",
        "Thank you for your trust. Please take a minute to rate our service.",
    ),
    ("public.survey.about", "关于工单", "About request"),
    (
        "public.survey.satisfaction",
        "您对这次服务满意吗？",
        "How satisfied are you with our service?",
    ),
    (
        "public.survey.nps",
        "您有多大可能向亲友推荐我们？（选填）",
        "How likely are you to recommend us to a friend? (optional)",
    ),
    ("public.survey.nps_low", "0 = 完全不可能", "0 = not at all likely"),
    ("public.survey.nps_high", "10 = 非常可能", "10 = extremely likely"),
    ("public.survey.comment", "还有什么想告诉我们的？（选填）", "Anything else to tell us? (optional)"),
    ("public.survey.submit", "提交评价", "Send"),
    ("public.survey.thanks.title", "感谢您的评价", "Thank you"),
    (
        "public.survey.thanks",
        "感谢您的评价！您的意见将帮助我们改进服务。",
        "Thank you for your answer! It helps us serve you better.",
    ),
    ("public.survey.answered.title", "已经评价过了", "Already answered"),
    (
        "public.survey.answered",
        "这份问卷已经填写过了，感谢您的参与。",
        "This survey was already answered. Thank you for taking part.",
    ),
    ("public.survey.expired.title", "问卷已过期", "Survey closed"),
    (
        "public.survey.expired",
        "这份问卷已经过期，无法再填写。感谢您的关注。",
        "This survey has closed and can no longer be answered. Thank you all the same.",
    ),
];

/// The double-submit token of the public forms.
pub const CSRF_COOKIE: &str = "kehu_public_csrf";
/// How long the token's cookie lasts.
const CSRF_DAYS: i64 = 7;
/// A support form sent back sooner than this after it was rendered was
/// filled in by a robot.
pub const MIN_FILL_MILLIS: i64 = 3_000;
/// A support form older than this is stale.
pub const MAX_FORM_AGE_MILLIS: i64 = 2 * 3600 * 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/support", get(support_form).post(support_submit))
        .route("/support/t/{token}", get(ticket_page).post(ticket_message))
        .route("/survey/{token}", get(survey_page).post(survey_submit))
}

// ------------------------------------------------------------ shared parts

/// The language of a public page: `?lang=` (remembered in the language
/// cookie, so that the link needs no form and no referrer), else the
/// cookie, else zh-CN.
fn page_lang(state: &AppState, jar: CookieJar, query: &Option<String>) -> (CookieJar, Lang) {
    let asked = query.as_deref().and_then(|q| {
        q.split('&')
            .find_map(|p| p.strip_prefix("lang="))
            .filter(|v| !v.is_empty())
    });
    match asked {
        Some(tag) => {
            let lang = Lang::from_tag(tag);
            let jar = jar.add(auth::cookie(
                state,
                LANG_COOKIE,
                lang.code().to_string(),
                365,
            ));
            (jar, lang)
        }
        None => {
            let lang = auth::ui_lang(&jar);
            (jar, lang)
        }
    }
}

fn csrf_of(jar: &CookieJar) -> Option<String> {
    jar.get(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() >= 32)
}

/// The token of this browser (a new one when it has none), with the cookie
/// that carries it.
fn csrf_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let token = csrf_of(&jar).unwrap_or_else(new_token);
    let jar = jar.add(auth::cookie(state, CSRF_COOKIE, token.clone(), CSRF_DAYS));
    (jar, token)
}

/// The posted token matches the cookie: the form came from this site.
fn csrf_ok(jar: &CookieJar, sent: &str) -> bool {
    csrf_of(jar).is_some_and(|c| auth::ct_eq(&c, sent))
}

fn new_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A time in the business time zone, to the minute.
fn local(t: &Timestamp, tz: Tz) -> String {
    t.utc()
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Asks that a private link be kept out of search engines and referrers.
fn private(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex, nofollow"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn with_status(mut r: Response, status: StatusCode) -> Response {
    *r.status_mut() = status;
    r
}

/// A page that only says something: a thank-you, a refusal, an error.
#[derive(Template)]
#[template(path = "public_notice.html")]
struct NoticePage {
    tr: Tr,
    /// A private link's page: not indexed, no referrer.
    private: bool,
    /// An id for the message, so that tests and styles can find it.
    id: &'static str,
    title: &'static str,
    message: String,
    /// Offer to file a new request.
    new_request: bool,
}

fn notice(
    lang: Lang,
    status: StatusCode,
    id: &'static str,
    title: &str,
    message: &str,
    is_private: bool,
) -> Response {
    let tr = Tr(lang);
    let r = with_status(
        render(&NoticePage {
            tr,
            private: is_private,
            id,
            title: tr.t(title),
            message: tr.t(message).to_string(),
            new_request: id != "survey-thanks",
        }),
        status,
    );
    if is_private {
        private(r)
    } else {
        r
    }
}

/// The answer to an unknown (or ill-formed) private link: it says nothing
/// about what exists.
fn not_found(lang: Lang) -> Response {
    notice(
        lang,
        StatusCode::NOT_FOUND,
        "not-found",
        "public.not_found.title",
        "public.not_found",
        true,
    )
}

fn rate_limited(lang: Lang, retry_after_secs: u64, is_private: bool) -> Response {
    let tr = Tr(lang);
    let minutes = retry_after_secs.div_ceil(60).max(1);
    let mut r = with_status(
        render(&NoticePage {
            tr,
            private: is_private,
            id: "rate-limited",
            title: tr.t("public.rate_limited.title"),
            message: tr
                .t("public.rate_limited")
                .replace("{}", &minutes.to_string()),
            new_request: false,
        }),
        StatusCode::TOO_MANY_REQUESTS,
    );
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    if is_private {
        private(r)
    } else {
        r
    }
}

fn internal(lang: Lang, e: StoreError, is_private: bool) -> Response {
    tracing::error!(error = %e, "public page failed");
    notice(
        lang,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal-error",
        "public.internal.title",
        "public.internal",
        is_private,
    )
}

/// Messages for fields a form does not show, to list above it.
fn other_errors(fe: &FieldErrors, shown: &[&str], lang: Lang) -> Vec<String> {
    fe.views(lang)
        .into_iter()
        .filter(|v| !shown.contains(&v.field.as_str()))
        .map(|v| v.message)
        .collect()
}

// ------------------------------------------------------------ support desk

/// The support form as posted (and shown again).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SupportForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// When the form was rendered and its digest: `MILLIS.HEX`.
    #[serde(default)]
    rendered_at: String,
    /// The honeypot: hidden from people, so it must stay empty.
    #[serde(default)]
    website: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    product: String,
}

impl SupportForm {
    fn draft(&self) -> PublicDraft {
        PublicDraft {
            name: self.name.clone(),
            mobile: self.mobile.clone(),
            email: self.email.clone(),
            subject: self.subject.clone(),
            description: self.description.clone(),
            purpose: self.purpose.trim().to_string(),
            category: String::new(),
            product: self.product.clone(),
        }
    }
}

/// The fields the support form shows errors beside.
const SUPPORT_FIELDS: &[&str] = &[
    "name",
    "mobile",
    "email",
    "subject",
    "description",
    "purpose",
    "product",
];

pub struct Choice {
    pub value: String,
    pub label: &'static str,
    pub hint: &'static str,
}

#[derive(Template)]
#[template(path = "public_support.html")]
struct SupportPage {
    tr: Tr,
    private: bool,
    csrf: String,
    rendered_at: String,
    f: SupportForm,
    purposes: Vec<Choice>,
    errors: Errors,
    others: Vec<String>,
    alert: Option<&'static str>,
    subject_max: usize,
    description_max: usize,
}

/// The server's key for stamps ([`support::form_key`]), read once.
static FORM_KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn load_form_key(state: &AppState) {
    if FORM_KEY.get().is_none() {
        match support::form_key(&state.db).await {
            Ok(k) => {
                let _ = FORM_KEY.set(k);
            }
            Err(e) => tracing::error!(error = %e, "reading the form key failed"),
        }
    }
}

/// The digest that binds a render time to this browser's CSRF token,
/// under the server's key.
fn stamp_digest(csrf: &str, millis: i64) -> String {
    let key = FORM_KEY.get().map(String::as_str).unwrap_or("");
    Sha256::digest(format!("kehu-support-form\n{key}\n{csrf}\n{millis}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hidden `rendered_at` value of a form rendered now.
fn stamp(csrf: &str, now: Timestamp) -> String {
    let ms = now.millis();
    format!("{ms}.{}", stamp_digest(csrf, ms))
}

#[derive(Debug, PartialEq, Eq)]
enum Gate {
    Pass,
    /// Sent back too soon after it was rendered.
    TooFast,
    /// Forged, garbled, from another browser, or too old.
    Stale,
}

fn gate(csrf: &str, rendered_at: &str, now: Timestamp) -> Gate {
    let Some((ms, digest)) = rendered_at.trim().split_once('.') else {
        return Gate::Stale;
    };
    let Ok(ms) = ms.parse::<i64>() else {
        return Gate::Stale;
    };
    if !auth::ct_eq(digest, &stamp_digest(csrf, ms)) {
        return Gate::Stale;
    }
    let age = now.millis().saturating_sub(ms);
    if !(0..=MAX_FORM_AGE_MILLIS).contains(&age) {
        Gate::Stale
    } else if age < MIN_FILL_MILLIS {
        Gate::TooFast
    } else {
        Gate::Pass
    }
}

fn support_page(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    f: SupportForm,
    fe: &FieldErrors,
    alert: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let tr = Tr(lang);
    let (jar, csrf) = csrf_token(state, jar);
    let purposes = Purpose::ALL
        .iter()
        .map(|p| {
            let code = p.code();
            Choice {
                value: code.to_string(),
                label: tr.t(&format!("public.purpose.{code}")),
                hint: tr.t(&format!("public.purpose.{code}_hint")),
            }
        })
        .collect();
    let page = SupportPage {
        tr,
        private: false,
        rendered_at: stamp(&csrf, Timestamp::now()),
        csrf,
        f: SupportForm {
            // A person whose browser filled the hidden field can send
            // the form again.
            website: String::new(),
            ..f
        },
        purposes,
        errors: Errors::from(fe, lang),
        others: other_errors(fe, SUPPORT_FIELDS, lang),
        alert,
        subject_max: SUBJECT_MAX,
        description_max: DESCRIPTION_MAX,
    };
    (jar, with_status(render(&page), status)).into_response()
}

/// `GET /support`: the form.
pub async fn support_form(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(q): RawQuery,
) -> Response {
    load_form_key(&state).await;
    let (jar, lang) = page_lang(&state, jar, &q);
    support_page(
        &state,
        jar,
        lang,
        SupportForm::default(),
        &FieldErrors::new(),
        None,
        StatusCode::OK,
    )
}

/// `POST /support`: files the request and goes to its private link.
pub async fn support_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    Form(f): Form<SupportForm>,
) -> Response {
    load_form_key(&state).await;
    let lang = auth::ui_lang(&jar);
    let none = FieldErrors::new();
    let Some(csrf) = csrf_of(&jar).filter(|c| auth::ct_eq(c, &f.csrf)) else {
        return support_page(
            &state,
            jar,
            lang,
            f,
            &none,
            Some("public.csrf"),
            StatusCode::FORBIDDEN,
        );
    };
    if !f.website.trim().is_empty() {
        tracing::info!(ip, "support form: honeypot filled");
        return support_page(
            &state,
            jar,
            lang,
            f,
            &none,
            Some("public.spam"),
            StatusCode::BAD_REQUEST,
        );
    }
    match gate(&csrf, &f.rendered_at, Timestamp::now()) {
        Gate::Pass => {}
        Gate::TooFast => {
            tracing::info!(ip, "support form: sent too fast");
            return support_page(
                &state,
                jar,
                lang,
                f,
                &none,
                Some("public.too_fast"),
                StatusCode::BAD_REQUEST,
            );
        }
        Gate::Stale => {
            return support_page(
                &state,
                jar,
                lang,
                f,
                &none,
                Some("public.stale"),
                StatusCode::BAD_REQUEST,
            );
        }
    }
    let draft = f.draft();
    let clock = Clock::wall(state.config.timezone);
    match support::file(&state.db, &draft, &ip, &clock).await {
        Ok((_, token)) => Redirect::to(&format!("/support/t/{token}")).into_response(),
        Err(StoreError::Invalid(fe)) => support_page(
            &state,
            jar,
            lang,
            f,
            &fe,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(StoreError::RateLimited { retry_after_secs }) => {
            rate_limited(lang, retry_after_secs, false)
        }
        Err(e) => internal(lang, e, false),
    }
}

// ------------------------------------------------------------ private link

pub struct Message {
    pub at: String,
    pub mine: bool,
    pub text: String,
}

#[derive(Template)]
#[template(path = "public_ticket.html")]
struct TicketPage {
    tr: Tr,
    private: bool,
    csrf: String,
    token: String,
    number: i64,
    subject: String,
    status_code: &'static str,
    status_label: &'static str,
    created: String,
    resolved: Option<String>,
    messages: Vec<Message>,
    closed: bool,
    body: String,
    body_max: usize,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MessageForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    body: String,
}

/// The private page of the ticket behind `token`, with `body` in the
/// message box and `error` beside it.
async fn ticket_view(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    token: &str,
    body: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let v = match support::view(&state.db, token, Timestamp::now()).await {
        Ok(v) => v,
        Err(StoreError::NotFound) => return (jar, not_found(lang)).into_response(),
        Err(e) => return internal(lang, e, true),
    };
    let tz = state.config.timezone;
    let (jar, csrf) = csrf_token(state, jar);
    let page = TicketPage {
        tr: Tr(lang),
        private: true,
        csrf,
        token: token.to_string(),
        number: v.number,
        subject: v.subject,
        status_code: v.status.code(),
        status_label: v.status.label(lang),
        created: local(&v.created_at, tz),
        resolved: v.resolved_at.as_ref().map(|t| local(t, tz)),
        messages: v
            .messages
            .into_iter()
            .map(|(at, mine, text)| Message {
                at: local(&at, tz),
                mine,
                text,
            })
            .collect(),
        closed: v.status == Status::Closed,
        body,
        body_max: NOTE_MAX,
        error,
    };
    private((jar, with_status(render(&page), status)).into_response())
}

/// `GET /support/t/{token}`: the ticket's status and messages.
pub async fn ticket_page(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(q): RawQuery,
    Path(token): Path<String>,
) -> Response {
    let (jar, lang) = page_lang(&state, jar, &q);
    ticket_view(
        &state,
        jar,
        lang,
        &token,
        String::new(),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /support/t/{token}`: the customer adds a message.
pub async fn ticket_message(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
    Form(f): Form<MessageForm>,
) -> Response {
    let lang = auth::ui_lang(&jar);
    let tr = Tr(lang);
    if !csrf_ok(&jar, &f.csrf) {
        let error = Some(tr.t("public.csrf").to_string());
        return ticket_view(
            &state,
            jar,
            lang,
            &token,
            f.body,
            error,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let clock = Clock::wall(state.config.timezone);
    match support::message(&state.db, &token, &f.body, &clock).await {
        Ok(()) => private(Redirect::to(&format!("/support/t/{token}")).into_response()),
        Err(StoreError::Invalid(fe)) => {
            let error = Some(
                fe.views(lang)
                    .into_iter()
                    .map(|v| v.message)
                    .collect::<Vec<_>>()
                    .join("；"),
            );
            ticket_view(
                &state,
                jar,
                lang,
                &token,
                f.body,
                error,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(StoreError::RateLimited { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60).max(1);
            let error = Some(
                tr.t("public.rate_limited")
                    .replace("{}", &minutes.to_string()),
            );
            let mut r = ticket_view(
                &state,
                jar,
                lang,
                &token,
                f.body,
                error,
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(StoreError::NotFound) => not_found(lang),
        Err(e) => internal(lang, e, true),
    }
}

// ------------------------------------------------------------ survey

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SurveyForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    satisfaction: String,
    #[serde(default)]
    nps: String,
    #[serde(default)]
    comment: String,
}

#[derive(Template)]
#[template(path = "public_survey.html")]
struct SurveyPage {
    tr: Tr,
    private: bool,
    csrf: String,
    token: String,
    ticket_number: Option<i64>,
    levels: Vec<Choice>,
    scores: Vec<String>,
    f: SurveyForm,
    errors: Errors,
    others: Vec<String>,
    alert: Option<&'static str>,
}

#[allow(clippy::too_many_arguments)]
fn survey_form_page(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    token: &str,
    ticket_number: Option<i64>,
    f: SurveyForm,
    fe: &FieldErrors,
    alert: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let page = SurveyPage {
        tr: Tr(lang),
        private: true,
        csrf,
        token: token.to_string(),
        ticket_number,
        levels: Satisfaction::ALL
            .iter()
            .map(|s| Choice {
                value: s.level().to_string(),
                label: s.label(lang),
                hint: "",
            })
            .collect(),
        scores: (0..=10).map(|n: u8| n.to_string()).collect(),
        f,
        errors: Errors::from(fe, lang),
        others: other_errors(fe, &["satisfaction", "nps", "comment"], lang),
        alert,
    };
    private((jar, with_status(render(&page), status)).into_response())
}

fn answered(lang: Lang, status: StatusCode) -> Response {
    notice(
        lang,
        status,
        "survey-answered",
        "public.survey.answered.title",
        "public.survey.answered",
        true,
    )
}

fn expired(lang: Lang) -> Response {
    notice(
        lang,
        StatusCode::GONE,
        "survey-expired",
        "public.survey.expired.title",
        "public.survey.expired",
        true,
    )
}

/// `GET /survey/{token}`: the survey, or why it cannot be answered.
pub async fn survey_page(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(q): RawQuery,
    Path(token): Path<String>,
) -> Response {
    let (jar, lang) = page_lang(&state, jar, &q);
    match surveys::open(&state.db, &token, Timestamp::now()).await {
        Ok(Public::Open { ticket_number }) => survey_form_page(
            &state,
            jar,
            lang,
            &token,
            ticket_number,
            SurveyForm::default(),
            &FieldErrors::new(),
            None,
            StatusCode::OK,
        ),
        Ok(Public::Answered) => (jar, answered(lang, StatusCode::OK)).into_response(),
        Ok(Public::Expired) => (jar, expired(lang)).into_response(),
        Err(StoreError::NotFound) => (jar, not_found(lang)).into_response(),
        Err(e) => internal(lang, e, true),
    }
}

/// `POST /survey/{token}`: records the one answer.
pub async fn survey_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
    Form(f): Form<SurveyForm>,
) -> Response {
    let lang = auth::ui_lang(&jar);
    let now = Timestamp::now();
    let ticket_number = match surveys::open(&state.db, &token, now).await {
        Ok(Public::Open { ticket_number }) => ticket_number,
        Ok(Public::Answered) => return answered(lang, StatusCode::CONFLICT),
        Ok(Public::Expired) => return expired(lang),
        Err(StoreError::NotFound) => return not_found(lang),
        Err(e) => return internal(lang, e, true),
    };
    if !csrf_ok(&jar, &f.csrf) {
        return survey_form_page(
            &state,
            jar,
            lang,
            &token,
            ticket_number,
            f,
            &FieldErrors::new(),
            Some("public.csrf"),
            StatusCode::FORBIDDEN,
        );
    }
    let draft = AnswerDraft {
        satisfaction: f.satisfaction.clone(),
        nps: f.nps.clone(),
        comment: f.comment.clone(),
    };
    match surveys::answer(&state.db, &token, &draft, now).await {
        Ok(()) => notice(
            lang,
            StatusCode::OK,
            "survey-thanks",
            "public.survey.thanks.title",
            "public.survey.thanks",
            true,
        ),
        // Answered (or expired) since the check above.
        Err(StoreError::Invalid(fe)) if fe.get("survey").is_some() => {
            answered(lang, StatusCode::CONFLICT)
        }
        Err(StoreError::Invalid(fe)) => survey_form_page(
            &state,
            jar,
            lang,
            &token,
            ticket_number,
            f,
            &fe,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(StoreError::NotFound) => not_found(lang),
        Err(e) => internal(lang, e, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_stamp_is_bound_to_the_token_and_ages() {
        let csrf = "a".repeat(43);
        let t0 = Timestamp::now();
        let s = stamp(&csrf, t0);
        let at = |ms: i64| Timestamp::from_millis(t0.millis() + ms).unwrap();
        assert_eq!(gate(&csrf, &s, at(0)), Gate::TooFast);
        assert_eq!(gate(&csrf, &s, at(MIN_FILL_MILLIS - 1)), Gate::TooFast);
        assert_eq!(gate(&csrf, &s, at(MIN_FILL_MILLIS)), Gate::Pass);
        assert_eq!(gate(&csrf, &s, at(MAX_FORM_AGE_MILLIS)), Gate::Pass);
        assert_eq!(gate(&csrf, &s, at(MAX_FORM_AGE_MILLIS + 1)), Gate::Stale);
        assert_eq!(gate(&csrf, &s, at(-1)), Gate::Stale, "from the future");
        // Another browser's token, a changed time, garbage.
        assert_eq!(gate(&"b".repeat(43), &s, at(5000)), Gate::Stale);
        let (ms, digest) = s.split_once('.').unwrap();
        let older = format!("{}.{digest}", ms.parse::<i64>().unwrap() - 60_000);
        assert_eq!(gate(&csrf, &older, at(5000)), Gate::Stale);
        // Extreme times with a correct digest (anyone can compute one for
        // their own token) are stale, not an overflow.
        for ms in [i64::MIN, i64::MAX, -1] {
            let s = format!("{ms}.{}", stamp_digest(&csrf, ms));
            assert_eq!(gate(&csrf, &s, at(5000)), Gate::Stale, "{ms}");
        }
        for bad in ["", "123", "x.y", ".", "1.2.3"] {
            assert_eq!(gate(&csrf, bad, at(5000)), Gate::Stale, "{bad:?}");
        }
    }

    #[test]
    fn every_purpose_has_texts() {
        for p in Purpose::ALL {
            for suffix in ["", "_hint"] {
                let key = format!("public.purpose.{}{suffix}", p.code());
                assert!(
                    crate::i18n::lookup(&key, Lang::En).is_some(),
                    "{key} missing"
                );
            }
        }
    }
}
