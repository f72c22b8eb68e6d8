//! 工单: ticket queues, opening a ticket on a customer, the ticket page
//! that walks an agent through the handling method (each step with its
//! guide and the approved phrases for the ticket's channel), replies,
//! promises, solutions, compensation and resolution; the script library
//! (话术库); service settings (SLA targets, business hours, categories,
//! holiday calendar); notifications.

use crate::auth::{CsrfForm, WebUser};
use crate::state::AppState;
use crate::ui::form::{Errors, Posted};
use crate::ui::page::{invalid, render, Chrome, PageError, PageResult};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kehu_domain::business_time::parse_calendar;
use kehu_domain::ids::{CustomerId, TaskId, TicketId, UserId};
use kehu_domain::money::Fen;
use kehu_domain::ticket::{
    Channel, CompensationKind, EventKind, Method, Purpose, Resolution, Severity, SlaTarget, Status,
    Step, TicketDraft, TicketKind,
};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Lang, Problem};
use kehu_store::scripts::{self, ScriptDraft};
use kehu_store::sla::{self, Hours};
use kehu_store::tickets::handling::{self, CompensationDraft, EntryDraft};
use kehu_store::tickets::{self, Clock, Ticket};
use kehu_store::{auth, calendar, customers, notifications, surveys, tasks, Error as StoreError};
use serde::Deserialize;

/// (key, zh-CN, English) texts of these pages.
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.tickets", "工单", "Tickets"),
    ("nav.scripts", "话术库", "Scripts"),
    ("nav.service", "服务设置", "Service settings"),
    ("nav.notifications", "通知", "Notifications"),
    ("nav.insight", "服务分析", "Service insight"),
    ("insight.title", "服务分析", "Service insight"),
    ("insight.from", "开始日期", "From"),
    ("insight.to", "结束日期", "To"),
    ("insight.team", "小组", "Team"),
    ("insight.assignee", "处理人", "Assignee"),
    ("insight.all", "全部", "All"),
    ("insight.apply", "查看", "Show"),
    ("insight.export", "导出 Excel", "Export to Excel"),
    ("insight.voc_note", "高频词来自本期最新的工单与问卷留言（每类最多 5000 条），按提及该词的条数计。", "Words come from the period's newest tickets and survey comments (at most 5,000 of each), counted as the texts that mention them."),
    ("insight.texts", "条文本", "texts"),
    ("tickets.title", "工单", "Tickets"),
    ("tickets.q.mine", "我的", "Mine"),
    ("tickets.q.team", "本组", "My team"),
    ("tickets.q.breaching", "即将超时", "Breaching soon"),
    ("tickets.q.open", "全部未结", "All open"),
    ("tickets.q.all", "全部", "All"),
    ("tickets.none", "没有工单", "No tickets"),
    ("tickets.number", "编号", "No."),
    ("tickets.subject", "主题", "Subject"),
    ("tickets.customer", "客户", "Customer"),
    ("tickets.severity", "紧急程度", "Severity"),
    ("tickets.status", "状态", "Status"),
    ("tickets.assignee", "处理人", "Assignee"),
    ("tickets.next_due", "最近时限", "Next due"),
    ("tickets.any", "不限", "Any"),
    ("tickets.filter", "筛选", "Filter"),
    ("tickets.paused", "已暂停计时", "Clock paused"),
    ("tickets.breached", "已超时", "Breached"),
    ("tickets.new", "新建工单", "New ticket"),
    ("tickets.kind", "类型", "Kind"),
    ("tickets.description", "问题描述", "Description"),
    ("tickets.purpose", "投诉目的", "Purpose"),
    ("tickets.channel", "渠道", "Channel"),
    ("tickets.category", "类别", "Category"),
    ("tickets.product", "产品", "Product"),
    ("tickets.department", "责任部门", "Department"),
    ("tickets.unassigned", "未分派", "Unassigned"),
    ("tickets.default_assignee", "默认：客户负责人", "Default: the customer's owner"),
    ("tickets.create", "创建工单", "Open ticket"),
    ("tickets.method", "处理方法", "Method"),
    ("tickets.created", "创建时间", "Opened"),
    ("tickets.first_response_due", "首次响应时限", "First response due"),
    ("tickets.resolution_due", "解决时限", "Resolution due"),
    ("tickets.first_responded", "首次响应", "First response"),
    ("tickets.resolved", "解决时间", "Resolved"),
    ("tickets.promise", "承诺回复时间", "Promised reply"),
    ("tickets.promises", "承诺：已做 / 守约 / 失约", "Promises: made / kept / broken"),
    ("tickets.escalated", "已升级至", "Escalated to"),
    ("tickets.level", "级", "level"),
    ("tickets.steps", "处理步骤", "Handling steps"),
    ("tickets.scripts", "推荐话术", "Approved phrases"),
    ("tickets.step_note", "本步骤记录", "Notes on this step"),
    ("tickets.record_step", "记录此步骤", "Record step"),
    ("tickets.reply", "回复客户 / 内部备注", "Reply / internal note"),
    ("tickets.reply_kind", "记录类型", "Entry"),
    ("tickets.kind_reply", "回复客户", "Reply to customer"),
    ("tickets.kind_note", "内部备注", "Internal note"),
    ("tickets.body", "内容", "Text"),
    ("tickets.save", "保存", "Save"),
    ("tickets.set_promise", "设定承诺回复时间", "Promise a reply"),
    ("tickets.promise_hint", "无法立即解决时，告诉客户何时答复；到期前提醒，逾期将逐级上报。", "When it cannot be solved at once, tell the customer when you will reply; you are reminded before, and it escalates if missed."),
    ("tickets.note", "备注", "Note"),
    ("tickets.solutions", "解决方案", "Solutions"),
    ("tickets.offer", "提出方案", "Offer"),
    ("tickets.chosen", "客户已选择", "Chosen by the customer"),
    ("tickets.choose", "客户选择此方案", "Customer chose this"),
    ("tickets.compensation", "补偿", "Compensation"),
    ("tickets.comp_kind", "补偿方式", "Kind"),
    ("tickets.amount", "金额（元）", "Amount (yuan)"),
    ("tickets.add_comp", "记录补偿", "Record"),
    ("tickets.resolve", "解决工单", "Resolve"),
    ("tickets.immediate_fix", "应急方案（已为客户做了什么）", "Immediate fix (what was done for the customer)"),
    ("tickets.preventive_action", "预防措施（如何避免再次发生）", "Preventive action (how it will not happen again)"),
    ("tickets.history", "处理记录", "History"),
    ("tickets.status_actions", "状态", "Status"),
    ("tickets.to_waiting", "等待客户（暂停计时）", "Wait on customer (pause clock)"),
    ("tickets.to_open", "继续处理", "Resume"),
    ("tickets.reopen", "重新打开", "Reopen"),
    ("tickets.close", "关闭", "Close"),
    ("tickets.assign", "分派", "Assign"),
    ("tickets.edit", "修改工单信息", "Edit ticket"),
    ("tickets.tasks", "回访任务", "Follow-up tasks"),
    ("tickets.done", "完成", "Done"),
    ("tickets.surveys", "满意度调查", "Surveys"),
    ("tickets.send_survey", "发送满意度调查", "Send survey"),
    ("tickets.survey_link", "问卷链接（已放入待发消息）", "Survey link (queued for sending)"),
    ("tickets.not_answered", "未答复", "Not answered"),
    ("tickets.fix", "应急方案", "Immediate fix"),
    ("tickets.prevent", "预防措施", "Preventive action"),
    ("tickets.customer_tickets", "工单", "Tickets"),
    ("scripts.title", "话术库", "Script library"),
    ("scripts.explain", "各处理步骤的推荐话术；可按渠道区分，留空渠道表示通用。", "Approved phrases per handling step; a phrase may be for one channel, or for all when the channel is blank."),
    ("scripts.all_channels", "通用", "All channels"),
    ("scripts.add", "添加话术", "Add phrase"),
    ("scripts.delete", "删除", "Delete"),
    ("service.title", "服务设置", "Service settings"),
    ("service.sla", "服务时限（工作时间，分钟）", "Service-level targets (business minutes)"),
    ("service.first_response", "首次响应", "First response"),
    ("service.resolution", "解决", "Resolution"),
    ("service.hours", "工作时间（周一至周五，节假日除外，调休上班日照常）", "Business hours (Monday to Friday, less holidays, plus make-up working days)"),
    ("service.zone", "时区", "Time zone"),
    ("service.categories", "工单类别与处理方法", "Ticket categories and methods"),
    ("service.active", "启用", "Active"),
    ("service.add_category", "添加类别", "Add category"),
    ("service.calendar", "节假日日历", "Holiday calendar"),
    ("service.calendar_hint", "CSV，每行 日期,类型：holiday（休）或 workday（班）。文件中出现的年份将整体替换。", "CSV lines date,kind: holiday (休) or workday (班). Each year in the file replaces that year."),
    ("service.calendar_load", "载入日历", "Load calendar"),
    ("service.loaded", "已载入", "Loaded"),
    ("service.saved", "已保存", "Saved"),
    ("nav.outbox", "待发消息", "Outbox"),
    ("outbox.title", "待发消息", "Outbox"),
    ("outbox.explain", "发给客户、等待发送的消息（如满意度调查链接）。配置了 SMTP 时邮件会自动发出；其他渠道请通过集成接口或手工发送后标记为已发送。", "Messages to customers waiting to go out (such as survey links). With SMTP configured, e-mail goes by itself; other channels are sent by an integration, or by hand and then marked sent."),
    ("outbox.none", "没有待发消息", "Nothing waiting"),
    ("outbox.channel", "渠道", "Channel"),
    ("outbox.recipient", "收件人", "Recipient"),
    ("outbox.text", "内容", "Text"),
    ("outbox.mark_sent", "标记为已发送", "Mark sent"),
    ("outbox.error", "上次失败", "Last failure"),
    ("notifications.title", "通知", "Notifications"),
    ("notifications.none", "没有通知", "No notifications"),
    ("notifications.read_all", "全部标为已读", "Mark all read"),
    ("notifications.my_tasks", "我的待办", "My tasks"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets", get(list))
        .route("/tickets/new", get(new_form).post(create))
        .route("/tickets/{id}", get(show))
        .route("/tickets/{id}/entry", post(entry))
        .route("/tickets/{id}/status", post(status))
        .route("/tickets/{id}/promise", post(promise))
        .route("/tickets/{id}/assign", post(assign))
        .route("/tickets/{id}/edit", post(edit))
        .route("/tickets/{id}/solutions", post(offer))
        .route("/tickets/{id}/solutions/{sid}/choose", post(choose))
        .route("/tickets/{id}/compensations", post(compensate))
        .route("/tickets/{id}/resolve", post(resolve))
        .route("/tickets/{id}/survey", post(send_survey))
        .route("/tasks/{id}/done", post(task_done))
        .route("/scripts", get(scripts_page).post(script_create))
        .route("/scripts/{id}", post(script_update))
        .route("/scripts/{id}/delete", post(script_delete))
        .route("/admin/service", get(service_page))
        .route("/admin/service/sla", post(service_sla))
        .route("/admin/service/categories", post(service_category))
        .route("/admin/service/calendar", post(service_calendar))
        .route("/admin/outbox", get(outbox_page))
        .route("/admin/outbox/{id}/sent", post(outbox_sent))
        .route("/notifications", get(notifications_page))
        .route("/notifications/read", post(notifications_read))
}

type Answer = Result<Response, PageError>;

fn parse_id<T: std::str::FromStr>(raw: &str, lang: Lang) -> Result<T, PageError> {
    raw.parse().map_err(|_| PageError::not_found(lang))
}

fn clock(s: &AppState) -> Clock {
    Clock::wall(s.config.timezone)
}

/// A choice in a select or radio list.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn opts<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    current: &str,
) -> Vec<Opt> {
    all.iter()
        .map(|v| Opt {
            value: code(*v).to_string(),
            label: label(*v).to_string(),
            selected: code(*v) == current,
        })
        .collect()
}

// ---------------------------------------------------------------- queues

/// A ticket as a row of a queue.
pub struct Row {
    pub id: String,
    pub number: i64,
    pub subject: String,
    pub customer_id: String,
    pub customer_name: String,
    pub severity: &'static str,
    pub severity_code: &'static str,
    pub status: &'static str,
    pub assignee: String,
    pub next_due: String,
    pub paused: bool,
    pub breached: bool,
}

pub fn row(t: &Ticket, chrome: &Chrome) -> Row {
    let lang = chrome.tr.lang();
    let next = [
        t.first_response_due_at
            .filter(|_| t.first_responded_at.is_none()),
        t.resolution_due_at,
    ]
    .into_iter()
    .flatten()
    .min();
    Row {
        id: t.id.to_string(),
        number: t.number,
        subject: t.subject.clone(),
        customer_id: t.customer_id.to_string(),
        customer_name: t.customer_name.clone(),
        severity: t.severity.label(lang),
        severity_code: t.severity.code(),
        status: t.status.label(lang),
        assignee: t.assignee_name.clone().unwrap_or_default(),
        next_due: if t.is_open() {
            chrome.time_opt(&next)
        } else {
            String::new()
        },
        paused: t.paused_at.is_some(),
        breached: t.first_response_breached || t.resolution_breached,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    queue: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    page: i64,
}

#[derive(Template)]
#[template(path = "tickets.html")]
struct ListPage {
    chrome: Chrome,
    queues: Vec<Opt>,
    statuses: Vec<Opt>,
    severities: Vec<Opt>,
    categories: Vec<Opt>,
    queue: String,
    rows: Vec<Row>,
    page: i64,
    more: bool,
    filter_qs: String,
}

const PAGE: i64 = 50;

pub async fn list(State(s): State<AppState>, u: WebUser, Query(q): Query<ListQuery>) -> Answer {
    let lang = u.lang;
    let queue = if q.queue.is_empty() {
        "mine".to_string()
    } else {
        q.queue.clone()
    };
    let params = crate::api::tickets::ListParams {
        queue: Some(queue.clone()),
        customer_id: None,
        status: Some(q.status.clone()),
        severity: Some(q.severity.clone()),
        category: Some(q.category.clone()),
        limit: Some(PAGE + 1),
        offset: Some(q.page.max(0) * PAGE),
    };
    let f = crate::api::tickets::filter(&params)
        .map_err(|e| PageError::field_errors(axum::http::StatusCode::BAD_REQUEST, &e, lang))?;
    let mut list = tickets::list(&s.db, &u.principal, &f, Timestamp::now())
        .await
        .page(lang)?;
    let more = list.len() as i64 > PAGE;
    list.truncate(PAGE as usize);
    let chrome = Chrome::new(&u, "tickets", s.config.timezone);
    let rows = list.iter().map(|t| row(t, &chrome)).collect();
    let queues = ["mine", "team", "breaching", "open", "all"]
        .iter()
        .map(|c| Opt {
            value: c.to_string(),
            label: chrome.tr.t(&format!("tickets.q.{c}")).to_string(),
            selected: *c == queue,
        })
        .collect();
    let categories = tickets::categories(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .map(|c| Opt {
            selected: c.name == q.category,
            value: c.name.clone(),
            label: c.name,
        })
        .collect();
    let filter_qs = format!(
        "queue={}&status={}&severity={}&category={}",
        crate::auth::urlencode(&queue),
        crate::auth::urlencode(&q.status),
        crate::auth::urlencode(&q.severity),
        crate::auth::urlencode(&q.category)
    );
    Ok(render(&ListPage {
        queues,
        statuses: opts(Status::ALL, Status::code, |v| v.label(lang), &q.status),
        severities: opts(
            Severity::ALL,
            Severity::code,
            |v| v.label(lang),
            &q.severity,
        ),
        categories,
        queue,
        rows,
        page: q.page.max(0),
        more,
        filter_qs,
        chrome,
    }))
}

// ---------------------------------------------------------------- new

#[derive(Template)]
#[template(path = "ticket_new.html")]
struct NewPage {
    chrome: Chrome,
    customer_id: String,
    customer_name: String,
    values: Posted,
    errors: Errors,
    kinds: Vec<Opt>,
    purposes: Vec<Opt>,
    severities: Vec<Opt>,
    channels: Vec<Opt>,
    categories: Vec<Opt>,
    assignees: Vec<Opt>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    customer: String,
}

/// Users a ticket on this customer may go to.
async fn assignees(
    s: &AppState,
    c: &customers::Customer,
    current: Option<&UserId>,
) -> Result<Vec<Opt>, StoreError> {
    Ok(auth::users(&s.db)
        .await?
        .into_iter()
        .filter(|u| {
            u.active && u.role.can_write_customers() && u.principal().can_read(&c.placement())
        })
        .map(|u| Opt {
            selected: Some(&u.id) == current,
            value: u.id.to_string(),
            label: u.name,
        })
        .collect())
}

async fn new_page(
    s: &AppState,
    u: &WebUser,
    customer: &CustomerId,
    values: Posted,
    errors: Errors,
) -> Result<NewPage, PageError> {
    let lang = u.lang;
    let c = customers::get(&s.db, &u.principal, customer)
        .await
        .page(lang)?;
    let v = |k: &str, d: &str| {
        let x = values.get(k);
        if x.is_empty() {
            d.to_string()
        } else {
            x
        }
    };
    let categories = tickets::categories(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .filter(|c| c.active)
        .map(|c| Opt {
            selected: c.name == values.get("category"),
            label: format!("{}（{}）", c.name, c.method.label(lang)),
            value: c.name,
        })
        .collect();
    let chosen: Option<UserId> = values.get("assignee_id").parse().ok();
    Ok(NewPage {
        chrome: Chrome::new(u, "tickets", s.config.timezone),
        customer_id: c.id.to_string(),
        customer_name: c.fields.name.clone(),
        kinds: opts(
            TicketKind::ALL,
            TicketKind::code,
            |x| x.label(lang),
            &v("kind", "complaint"),
        ),
        purposes: opts(
            Purpose::ALL,
            Purpose::code,
            |x| x.label(lang),
            &v("purpose", "criticism"),
        ),
        severities: opts(
            Severity::ALL,
            Severity::code,
            |x| x.label(lang),
            &v("severity", "normal"),
        ),
        channels: opts(
            Channel::ALL,
            Channel::code,
            |x| x.label(lang),
            &v("channel", "phone"),
        ),
        categories,
        assignees: assignees(s, &c, chosen.as_ref()).await.page(lang)?,
        values,
        errors,
    })
}

pub async fn new_form(State(s): State<AppState>, u: WebUser, Query(q): Query<NewQuery>) -> Answer {
    let id: CustomerId = parse_id(&q.customer, u.lang)?;
    Ok(render(
        &new_page(&s, &u, &id, Posted::default(), Errors::default()).await?,
    ))
}

pub async fn create(
    State(s): State<AppState>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Answer {
    let p = Posted::new(pairs);
    let lang = u.lang;
    let customer: CustomerId = parse_id(&p.get("customer_id"), lang)?;
    let draft = TicketDraft {
        subject: p.get("subject"),
        description: p.get("description"),
        purpose: p.get("purpose"),
        severity: p.get("severity"),
        channel: p.get("channel"),
        kind: p.get("kind"),
        category: p.get("category"),
        product: p.get("product"),
        department: p.get("department"),
    };
    let assignee: Option<UserId> = p.get("assignee_id").parse().ok();
    let result = match draft.check() {
        Ok(t) => {
            tickets::create(
                &s.db,
                &u.principal,
                &customer,
                &t,
                assignee.as_ref(),
                &clock(&s),
            )
            .await
        }
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(t) => Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response()),
        Err(StoreError::Invalid(e)) => {
            let errors = Errors::from(&e, lang);
            Ok(invalid(&new_page(&s, &u, &customer, p, errors).await?))
        }
        Err(e) => Err(PageError::from_store(e, lang)),
    }
}

// ---------------------------------------------------------------- ticket page

pub struct StepView {
    pub code: &'static str,
    pub label: &'static str,
    pub guide: &'static str,
    pub notes: Vec<(String, String, String)>,
    pub phrases: Vec<String>,
}

pub struct EventView {
    pub time: String,
    pub who: String,
    pub kind: &'static str,
    pub kind_code: &'static str,
    pub step: &'static str,
    pub body: String,
    pub detail: String,
}

pub struct SolutionView {
    pub id: String,
    pub body: String,
    pub by: String,
    pub time: String,
    pub chosen: bool,
}

pub struct CompView {
    pub kind: &'static str,
    pub amount: String,
    pub note: String,
    pub time: String,
}

pub struct TaskView {
    pub id: String,
    pub title: String,
    pub due: String,
    pub done: bool,
}

pub struct SurveyView {
    pub sent: String,
    pub answer: String,
    pub comment: String,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct ShowPage {
    chrome: Chrome,
    t: Ticket,
    kind: &'static str,
    status: &'static str,
    severity: &'static str,
    purpose: &'static str,
    channel: &'static str,
    method: &'static str,
    created: String,
    fr_due: String,
    res_due: String,
    responded: String,
    resolved: String,
    promised: String,
    paused: String,
    steps: Vec<StepView>,
    events: Vec<EventView>,
    solutions: Vec<SolutionView>,
    compensations: Vec<CompView>,
    comp_total: String,
    comp_kinds: Vec<Opt>,
    tasks: Vec<TaskView>,
    surveys: Vec<SurveyView>,
    survey_link: String,
    assignees: Vec<Opt>,
    edit_categories: Vec<Opt>,
    edit_purposes: Vec<Opt>,
    edit_severities: Vec<Opt>,
    can_write: bool,
    is_open: bool,
    can_wait: bool,
    can_resume: bool,
    can_reopen: bool,
    can_close: bool,
    /// Which form the errors belong to, the values sent and the errors.
    form: &'static str,
    values: Posted,
    errors: Errors,
    promise_default: String,
}

#[derive(Default)]
struct Shown {
    form: &'static str,
    values: Posted,
    errors: Errors,
    survey_link: String,
}

fn event_detail(e: &handling::Event, chrome: &Chrome) -> String {
    let lang = chrome.tr.lang();
    let ts = |k: &str| {
        e.data[k]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| chrome.time(&Timestamp::from(d.with_timezone(&chrono::Utc))))
            .unwrap_or_default()
    };
    match e.kind {
        EventKind::Promise
        | EventKind::PromiseKept
        | EventKind::PromiseBroken
        | EventKind::Reminder => ts("promised_at"),
        EventKind::Escalated => format!("{} {}", e.data["level"], chrome.tr.t("tickets.level")),
        EventKind::Compensation => {
            let kind = e.data["kind"]
                .as_str()
                .and_then(|k| CompensationKind::parse(k).ok());
            let amount = e.data["amount_fen"]
                .as_i64()
                .map(|f| Fen(f).to_yuan_string())
                .unwrap_or_default();
            format!("{} ¥{amount}", kind.map(|k| k.label(lang)).unwrap_or(""))
        }
        EventKind::Resolved => e.data["preventive_action"]
            .as_str()
            .map(|p| format!("{}：{p}", chrome.tr.t("tickets.prevent")))
            .unwrap_or_default(),
        EventKind::SurveyAnswered => {
            let sat = e.data["satisfaction"]
                .as_str()
                .and_then(|x| kehu_domain::survey::Satisfaction::parse(x).ok())
                .map(|x| x.label(lang))
                .unwrap_or("");
            match e.data["nps"].as_i64() {
                Some(n) => format!("{sat} · NPS {n}"),
                None => sat.to_string(),
            }
        }
        _ => String::new(),
    }
}

async fn show_page(
    s: &AppState,
    u: &WebUser,
    id: &TicketId,
    shown: Shown,
) -> Result<ShowPage, PageError> {
    let lang = u.lang;
    let now = Timestamp::now();
    let t = tickets::get(&s.db, &u.principal, id, now)
        .await
        .page(lang)?;
    let c = customers::get(&s.db, &u.principal, &t.customer_id)
        .await
        .page(lang)?;
    let chrome = Chrome::new(u, "tickets", s.config.timezone);
    let events = handling::events(&s.db, &u.principal, id).await.page(lang)?;
    let all_scripts = scripts::list(&s.db).await.page(lang)?;
    let steps = t
        .method
        .steps()
        .iter()
        .map(|st| StepView {
            code: st.code(),
            label: st.label(lang),
            guide: st.guide(lang),
            notes: events
                .iter()
                .filter(|e| e.kind == EventKind::Step && e.step == Some(*st))
                .map(|e| {
                    (
                        chrome.time(&e.at),
                        e.user_name.clone().unwrap_or_default(),
                        e.body.clone().unwrap_or_default(),
                    )
                })
                .collect(),
            phrases: scripts::for_step(&all_scripts, *st, t.channel)
                .into_iter()
                .map(|p| p.body.clone())
                .collect(),
        })
        .collect();
    let event_views = events
        .iter()
        .rev()
        .map(|e| EventView {
            time: chrome.time(&e.at),
            who: e
                .user_name
                .clone()
                .unwrap_or_else(|| lang.pick("系统", "System").to_string()),
            kind: e.kind.label(lang),
            kind_code: e.kind.code(),
            step: e.step.map(|x| x.label(lang)).unwrap_or(""),
            body: e.body.clone().unwrap_or_default(),
            detail: event_detail(e, &chrome),
        })
        .collect();
    let solutions = handling::solutions(&s.db, &u.principal, id)
        .await
        .page(lang)?
        .into_iter()
        .map(|x| SolutionView {
            id: x.id,
            body: x.body,
            by: x.offered_by_name.unwrap_or_default(),
            time: chrome.time(&x.offered_at),
            chosen: x.chosen,
        })
        .collect();
    let comps = handling::compensations(&s.db, &u.principal, id)
        .await
        .page(lang)?;
    let total: i64 = comps.iter().map(|c| c.amount_fen).sum();
    let compensations = comps
        .into_iter()
        .map(|x| CompView {
            kind: x.kind.label(lang),
            amount: Fen(x.amount_fen).to_yuan_string(),
            note: x.note.unwrap_or_default(),
            time: chrome.time(&x.created_at),
        })
        .collect();
    let tasks = tasks::of_ticket(&s.db, id)
        .await
        .page(lang)?
        .into_iter()
        .map(|k| TaskView {
            id: k.id.to_string(),
            title: k.title,
            due: chrome.time(&k.due_at),
            done: k.done_at.is_some(),
        })
        .collect();
    let surveys = surveys::for_ticket(&s.db, id)
        .await
        .page(lang)?
        .into_iter()
        .map(|v| SurveyView {
            sent: chrome.time(&v.created_at),
            answer: match (v.satisfaction, v.nps) {
                (Some(x), Some(n)) => format!("{} · NPS {n}", x.label(lang)),
                (Some(x), None) => x.label(lang).to_string(),
                _ => chrome.tr.t("tickets.not_answered").to_string(),
            },
            comment: v.comment.unwrap_or_default(),
        })
        .collect();
    let can_write = u.principal.can_write(&c.placement());
    let promise_default = (chrono::Utc::now() + chrono::Duration::hours(4))
        .with_timezone(&s.config.timezone)
        .format("%Y-%m-%dT%H:00")
        .to_string();
    Ok(ShowPage {
        kind: t.kind.label(lang),
        status: t.status.label(lang),
        severity: t.severity.label(lang),
        purpose: t.purpose.label(lang),
        channel: t.channel.label(lang),
        method: t.method.label(lang),
        created: chrome.time(&t.created_at),
        fr_due: chrome.time_opt(&t.first_response_due_at),
        res_due: chrome.time_opt(&t.resolution_due_at),
        responded: chrome.time_opt(&t.first_responded_at),
        resolved: chrome.time_opt(&t.resolved_at),
        promised: chrome.time_opt(&t.promised_at),
        paused: chrome.time_opt(&t.paused_at),
        steps,
        events: event_views,
        solutions,
        compensations,
        comp_total: Fen(total).to_yuan_string(),
        comp_kinds: opts(
            CompensationKind::ALL,
            CompensationKind::code,
            |x| x.label(lang),
            &shown.values.get("kind"),
        ),
        tasks,
        surveys,
        survey_link: shown.survey_link,
        assignees: assignees(s, &c, t.assignee_id.as_ref()).await.page(lang)?,
        edit_categories: tickets::categories(&s.db)
            .await
            .page(lang)?
            .into_iter()
            .filter(|x| x.active || t.category.as_deref() == Some(x.name.as_str()))
            .map(|x| Opt {
                selected: t.category.as_deref() == Some(x.name.as_str()),
                value: x.name.clone(),
                label: x.name,
            })
            .collect(),
        edit_purposes: opts(
            Purpose::ALL,
            Purpose::code,
            |x| x.label(lang),
            t.purpose.code(),
        ),
        edit_severities: opts(
            Severity::ALL,
            Severity::code,
            |x| x.label(lang),
            t.severity.code(),
        ),
        can_write,
        is_open: t.is_open(),
        can_wait: t.status.can_move_to(Status::Waiting),
        can_resume: t.status == Status::Waiting,
        can_reopen: t.status == Status::Resolved,
        can_close: t.status.can_move_to(Status::Closed),
        form: shown.form,
        values: shown.values,
        errors: shown.errors,
        promise_default,
        chrome,
        t,
    })
}

pub async fn show(State(s): State<AppState>, u: WebUser, Path(id): Path<String>) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    Ok(render(&show_page(&s, &u, &id, Shown::default()).await?))
}

/// The answer to a form on the ticket page: back to the page (at `anchor`)
/// when done, the page with the form's errors when refused.
async fn after(
    s: &AppState,
    u: &WebUser,
    id: &TicketId,
    form: &'static str,
    values: Posted,
    r: Result<(), StoreError>,
) -> Answer {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/tickets/{id}#{form}")).into_response()),
        Err(StoreError::Invalid(e)) => {
            let errors = Errors::from(&e, u.lang);
            Ok(invalid(
                &show_page(
                    s,
                    u,
                    id,
                    Shown {
                        form,
                        values,
                        errors,
                        ..Default::default()
                    },
                )
                .await?,
            ))
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

type TicketForm = CsrfForm<Vec<(String, String)>>;

pub async fn entry(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let d = EntryDraft {
        kind: p.get("kind"),
        step: p.get("step"),
        channel: p.get("channel"),
        body: p.get("body"),
    };
    let form = if d.kind == "step" { "steps" } else { "reply" };
    let r = handling::record(&s.db, &u.principal, &id, &d, &clock(&s))
        .await
        .map(|_| ());
    after(&s, &u, &id, form, p, r).await
}

pub async fn status(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let r = match Status::parse(&p.get("status")) {
        Ok(to) => handling::set_status(&s.db, &u.principal, &id, to, &p.get("note"), &clock(&s))
            .await
            .map(|_| ()),
        Err(e) => Err(StoreError::Invalid(FieldErrors::single("status", e))),
    };
    after(&s, &u, &id, "status", p, r).await
}

pub async fn promise(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let r = match kehu_domain::time::parse_local(
        &p.get("promised_at").replace('T', " "),
        s.config.timezone,
    ) {
        Ok(at) => handling::promise(&s.db, &u.principal, &id, at, &p.get("note"), &clock(&s))
            .await
            .map(|_| ()),
        Err(_) => Err(StoreError::Invalid(FieldErrors::single(
            "promised_at",
            Problem::InvalidDate,
        ))),
    };
    after(&s, &u, &id, "promise", p, r).await
}

pub async fn assign(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let raw = p.get("assignee_id");
    let r = if raw.trim().is_empty() {
        handling::assign(&s.db, &u.principal, &id, None, &clock(&s))
            .await
            .map(|_| ())
    } else {
        match raw.parse::<UserId>() {
            Ok(a) => handling::assign(&s.db, &u.principal, &id, Some(&a), &clock(&s))
                .await
                .map(|_| ()),
            Err(_) => Err(StoreError::Invalid(FieldErrors::single(
                "assignee_id",
                Problem::NotFound,
            ))),
        }
    };
    after(&s, &u, &id, "assign", p, r).await
}

pub async fn edit(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let patch = handling::TicketPatch {
        subject: Some(p.get("subject")),
        category: Some(p.get("category")),
        product: Some(p.get("product")),
        department: Some(p.get("department")),
        purpose: Some(p.get("purpose")),
        severity: Some(p.get("severity")),
    };
    let r = handling::update(&s.db, &u.principal, &id, &patch, &clock(&s))
        .await
        .map(|_| ());
    after(&s, &u, &id, "edit", p, r).await
}

pub async fn offer(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let r = handling::offer_solution(&s.db, &u.principal, &id, &p.get("body"), &clock(&s))
        .await
        .map(|_| ());
    after(&s, &u, &id, "solutions", p, r).await
}

pub async fn choose(
    State(s): State<AppState>,
    Path((id, sid)): Path<(String, String)>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    let r = handling::choose_solution(&s.db, &u.principal, &id, &sid, &clock(&s))
        .await
        .map(|_| ());
    after(&s, &u, &id, "solutions", Posted::new(pairs), r).await
}

pub async fn compensate(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let d = CompensationDraft {
        kind: p.get("kind"),
        amount: p.get("amount"),
        amount_fen: None,
        note: p.get("note"),
    };
    let r = handling::compensate(&s.db, &u.principal, &id, &d, &clock(&s))
        .await
        .map(|_| ());
    after(&s, &u, &id, "compensation", p, r).await
}

pub async fn resolve(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let t = tickets::get(&s.db, &u.principal, &id, Timestamp::now())
        .await
        .page(u.lang)?;
    let r = match Resolution::check(t.kind, &p.get("immediate_fix"), &p.get("preventive_action")) {
        Ok(res) => handling::resolve(&s.db, &u.principal, &id, &res, &clock(&s))
            .await
            .map(|_| ()),
        Err(e) => Err(StoreError::Invalid(e)),
    };
    after(&s, &u, &id, "resolve", p, r).await
}

pub async fn send_survey(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, _): TicketForm,
) -> Answer {
    let id: TicketId = parse_id(&id, u.lang)?;
    let token = surveys::send_for_ticket(&s.db, &u.principal, &id, Timestamp::now())
        .await
        .page(u.lang)?;
    let shown = Shown {
        form: "surveys",
        survey_link: surveys::link_path(&token),
        ..Default::default()
    };
    Ok(render(&show_page(&s, &u, &id, shown).await?))
}

pub async fn task_done(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let id: TaskId = parse_id(&id, u.lang)?;
    tasks::complete(&s.db, &u.principal, &id, Timestamp::now())
        .await
        .page(u.lang)?;
    let back = Posted::new(pairs).get("back");
    // Only a path of this site.
    let back = if back.starts_with('/') && !back.starts_with("//") {
        back
    } else {
        "/notifications".into()
    };
    Ok(Redirect::to(&back).into_response())
}

// ---------------------------------------------------------------- scripts

pub struct ScriptRow {
    pub id: String,
    pub channel: String,
    pub channel_code: String,
    pub body: String,
}

pub struct StepScripts {
    pub method: &'static str,
    pub code: &'static str,
    pub label: &'static str,
    pub rows: Vec<ScriptRow>,
}

#[derive(Template)]
#[template(path = "scripts.html")]
struct ScriptsPage {
    chrome: Chrome,
    groups: Vec<StepScripts>,
    can_edit: bool,
    steps: Vec<Opt>,
    channels: Vec<Opt>,
    values: Posted,
    errors: Errors,
}

async fn scripts_view(
    s: &AppState,
    u: &WebUser,
    values: Posted,
    errors: Errors,
) -> Result<ScriptsPage, PageError> {
    let lang = u.lang;
    let all = scripts::list(&s.db).await.page(lang)?;
    let mut groups = vec![];
    for m in Method::ALL {
        for st in m.steps() {
            // Listen belongs to both methods; show it once, under the first.
            if groups.iter().any(|g: &StepScripts| g.code == st.code()) {
                continue;
            }
            groups.push(StepScripts {
                method: m.label(lang),
                code: st.code(),
                label: st.label(lang),
                rows: all
                    .iter()
                    .filter(|x| x.step == *st)
                    .map(|x| ScriptRow {
                        id: x.id.clone(),
                        channel: x
                            .channel
                            .map(|c| c.label(lang))
                            .unwrap_or(lang.pick("通用", "All channels"))
                            .to_string(),
                        channel_code: x.channel.map(|c| c.code().to_string()).unwrap_or_default(),
                        body: x.body.clone(),
                    })
                    .collect(),
            });
        }
    }
    let mut channels = vec![Opt {
        value: String::new(),
        label: lang.pick("通用", "All channels").into(),
        selected: values.get("channel").is_empty(),
    }];
    channels.extend(opts(
        Channel::ALL,
        Channel::code,
        |x| x.label(lang),
        &values.get("channel"),
    ));
    Ok(ScriptsPage {
        chrome: Chrome::new(u, "scripts", s.config.timezone),
        groups,
        can_edit: u.principal.role.can_reassign(),
        steps: opts(
            Step::ALL,
            Step::code,
            |x| x.label(lang),
            &values.get("step"),
        ),
        channels,
        values,
        errors,
    })
}

pub async fn scripts_page(State(s): State<AppState>, u: WebUser) -> Answer {
    Ok(render(
        &scripts_view(&s, &u, Posted::default(), Errors::default()).await?,
    ))
}

fn script_draft(p: &Posted) -> ScriptDraft {
    ScriptDraft {
        step: p.get("step"),
        channel: p.get("channel"),
        body: p.get("body"),
    }
}

async fn script_answer(s: &AppState, u: &WebUser, p: Posted, r: Result<(), StoreError>) -> Answer {
    match r {
        Ok(()) => Ok(Redirect::to("/scripts").into_response()),
        Err(StoreError::Invalid(e)) => {
            let errors = Errors::from(&e, u.lang);
            Ok(invalid(&scripts_view(s, u, p, errors).await?))
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

pub async fn script_create(State(s): State<AppState>, CsrfForm(u, pairs): TicketForm) -> Answer {
    let p = Posted::new(pairs);
    let r = scripts::create(&s.db, &u.principal, &script_draft(&p))
        .await
        .map(|_| ());
    script_answer(&s, &u, p, r).await
}

pub async fn script_update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): TicketForm,
) -> Answer {
    let p = Posted::new(pairs);
    let r = scripts::update(&s.db, &u.principal, &id, &script_draft(&p)).await;
    script_answer(&s, &u, p, r).await
}

pub async fn script_delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, _): TicketForm,
) -> Answer {
    let r = scripts::delete(&s.db, &u.principal, &id).await;
    script_answer(&s, &u, Posted::default(), r).await
}

// ---------------------------------------------------------------- service settings

pub struct TargetRow {
    pub code: &'static str,
    pub label: &'static str,
    pub first: String,
    pub resolution: String,
}

pub struct CategoryRow {
    pub name: String,
    pub methods: Vec<Opt>,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    chrome: Chrome,
    targets: Vec<TargetRow>,
    hours: String,
    zone: String,
    categories: Vec<CategoryRow>,
    methods: Vec<Opt>,
    days: Vec<(String, &'static str)>,
    form: &'static str,
    values: Posted,
    errors: Errors,
    saved: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: String,
}

async fn service_view(
    s: &AppState,
    u: &WebUser,
    form: &'static str,
    values: Posted,
    errors: Errors,
    saved: bool,
) -> Result<ServicePage, PageError> {
    let lang = u.lang;
    if !u.principal.role.is_admin() {
        return Err(PageError::forbidden(lang));
    }
    let kept = |k: &str, v: String| {
        if form == "sla" && !values.get(k).is_empty() {
            values.get(k)
        } else {
            v
        }
    };
    let targets = sla::targets(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .rev()
        .map(|(sev, t)| TargetRow {
            code: sev.code(),
            label: sev.label(lang),
            first: kept(
                &format!("{}.first", sev.code()),
                t.first_response_minutes.to_string(),
            ),
            resolution: kept(
                &format!("{}.resolution", sev.code()),
                t.resolution_minutes.to_string(),
            ),
        })
        .collect();
    let hours = kept("business_hours", sla::hours(&s.db).await.page(lang)?.text());
    let categories = tickets::categories(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .map(|c| CategoryRow {
            methods: opts(
                Method::ALL,
                Method::code,
                |x| x.label(lang),
                c.method.code(),
            ),
            name: c.name,
            active: c.active,
        })
        .collect();
    let days = calendar::days(&s.db)
        .await
        .page(lang)?
        .into_iter()
        .rev()
        .take(400)
        .rev()
        .map(|(d, k)| (d.format("%Y-%m-%d").to_string(), k.label(lang)))
        .collect();
    Ok(ServicePage {
        chrome: Chrome::new(u, "service", s.config.timezone),
        targets,
        hours,
        zone: s.config.timezone.name().to_string(),
        categories,
        methods: opts(Method::ALL, Method::code, |x| x.label(lang), "lscpa"),
        days,
        form,
        values,
        errors,
        saved,
    })
}

pub async fn service_page(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<SavedQuery>,
) -> Answer {
    Ok(render(
        &service_view(
            &s,
            &u,
            "",
            Posted::default(),
            Errors::default(),
            !q.saved.is_empty(),
        )
        .await?,
    ))
}

async fn service_answer(
    s: &AppState,
    u: &WebUser,
    form: &'static str,
    p: Posted,
    r: Result<(), StoreError>,
) -> Answer {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/admin/service?saved=1#{form}")).into_response()),
        Err(StoreError::Invalid(e)) => {
            let errors = Errors::from(&e, u.lang);
            Ok(invalid(&service_view(s, u, form, p, errors, false).await?))
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

pub async fn service_sla(State(s): State<AppState>, CsrfForm(u, pairs): TicketForm) -> Answer {
    let p = Posted::new(pairs);
    if !u.principal.role.is_admin() {
        return Err(PageError::forbidden(u.lang));
    }
    let mut e = FieldErrors::new();
    let mut targets = vec![];
    for sev in Severity::ALL {
        let num = |k: &str, e: &mut FieldErrors| {
            let field = format!("{}.{k}", sev.code());
            e.take(
                &field,
                p.get(&field)
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| Problem::InvalidNumber),
            )
        };
        let (f, r) = (num("first", &mut e), num("resolution", &mut e));
        if let (Some(f), Some(r)) = (f, r) {
            match SlaTarget::new(f, r) {
                Ok(t) => targets.push((*sev, t)),
                Err(_) => e.add(
                    format!("{}.first", sev.code()),
                    Problem::Invalid {
                        zh: "时限须为正数，且首次响应不长于解决".into(),
                        en: "targets must be positive, the first response no later than the resolution".into(),
                    },
                ),
            }
        }
    }
    let hours = match Hours::parse(&p.get("business_hours")) {
        Ok(h) => Some(h),
        Err(fe) => {
            e.0.extend(fe.0);
            None
        }
    };
    let r = async {
        e.into_result()?;
        for (sev, t) in targets {
            sla::set_target(&s.db, &u.principal, sev, t).await?;
        }
        if let Some(h) = hours {
            sla::set_hours(&s.db, &u.principal, h).await?;
        }
        Ok::<(), StoreError>(())
    }
    .await;
    service_answer(&s, &u, "sla", p, r).await
}

pub async fn service_category(State(s): State<AppState>, CsrfForm(u, pairs): TicketForm) -> Answer {
    let p = Posted::new(pairs);
    let r = match Method::parse(&p.get("method")) {
        Ok(m) => {
            tickets::save_category(
                &s.db,
                &u.principal,
                &p.get("name"),
                m,
                p.get("active") == "on",
            )
            .await
        }
        Err(e) => Err(StoreError::Invalid(FieldErrors::single("method", e))),
    };
    service_answer(&s, &u, "categories", p, r).await
}

pub async fn service_calendar(State(s): State<AppState>, CsrfForm(u, pairs): TicketForm) -> Answer {
    let p = Posted::new(pairs);
    if !u.principal.role.is_admin() {
        return Err(PageError::forbidden(u.lang));
    }
    let r = match parse_calendar(&p.get("calendar")) {
        Ok(days) if days.is_empty() => Err(StoreError::Invalid(FieldErrors::single(
            "calendar",
            Problem::Required,
        ))),
        Ok(days) => calendar::import(&s.db, &kehu_store::audit::Actor::from(&u.principal), &days)
            .await
            .map(|_| ()),
        Err(e) => Err(StoreError::Invalid(e)),
    };
    service_answer(&s, &u, "calendar", p, r).await
}

// ---------------------------------------------------------------- notifications

pub struct NoteView {
    pub time: String,
    pub text: String,
    pub ticket: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    chrome: Chrome,
    notes: Vec<NoteView>,
    tasks: Vec<(String, String, String, String)>,
}

fn note_text(n: &notifications::Notification, lang: Lang) -> String {
    let number = n.data["number"].as_i64().unwrap_or_default();
    let subject = n.data["subject"].as_str().unwrap_or("");
    match n.kind.as_str() {
        "assigned" => format!(
            "{} {number} {subject}",
            lang.pick("分派给您的工单", "Ticket assigned to you:")
        ),
        "promise_due" => format!(
            "{} {number} {subject}",
            lang.pick(
                "承诺回复时间即将到期：工单",
                "Promised reply due soon: ticket"
            )
        ),
        "escalated" => format!(
            "{} {number} {subject}（{}{}）",
            lang.pick("工单已升级给您：", "Ticket escalated to you:"),
            n.data["level"],
            lang.pick("级", " level")
        ),
        "customer_message" => format!(
            "{} {number} {subject}",
            lang.pick("客户留言：工单", "Customer message on ticket")
        ),
        other => format!("{other} {number} {subject}"),
    }
}

pub async fn notifications_page(State(s): State<AppState>, u: WebUser) -> Answer {
    let lang = u.lang;
    let chrome = Chrome::new(&u, "notifications", s.config.timezone);
    let notes = notifications::list(&s.db, &u.principal.user_id, 200)
        .await
        .page(lang)?
        .into_iter()
        .map(|n| NoteView {
            time: chrome.time(&n.at),
            text: note_text(&n, lang),
            ticket: n.ticket_id.map(|t| t.to_string()).unwrap_or_default(),
            unread: n.read_at.is_none(),
        })
        .collect();
    let tasks = tasks::mine(&s.db, &u.principal, 200)
        .await
        .page(lang)?
        .into_iter()
        .map(|k| {
            (
                k.id.to_string(),
                k.title,
                chrome.time(&k.due_at),
                k.ticket_id.map(|t| t.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    Ok(render(&NotificationsPage {
        chrome,
        notes,
        tasks,
    }))
}

pub async fn notifications_read(State(s): State<AppState>, CsrfForm(u, _): TicketForm) -> Answer {
    notifications::mark_read(&s.db, &u.principal.user_id, Timestamp::now())
        .await
        .page(u.lang)?;
    Ok(Redirect::to("/notifications").into_response())
}

// ---------------------------------------------------------------- outbox

pub struct OutboxRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub created: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    chrome: Chrome,
    rows: Vec<OutboxRow>,
}

pub async fn outbox_page(State(s): State<AppState>, u: WebUser) -> Answer {
    let lang = u.lang;
    let chrome = Chrome::new(&u, "outbox", s.config.timezone);
    let base = s.config.public_url.clone().unwrap_or_default();
    let rows = kehu_store::outbox::pending(&s.db, &u.principal, 500)
        .await
        .page(lang)?
        .into_iter()
        .map(|m| OutboxRow {
            text: m.text(&base),
            id: m.id,
            channel: m.channel,
            recipient: m.recipient.unwrap_or_default(),
            subject: m.subject,
            created: chrome.time(&m.created_at),
            error: m.last_error.unwrap_or_default(),
        })
        .collect();
    Ok(render(&OutboxPage { chrome, rows }))
}

pub async fn outbox_sent(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, _): TicketForm,
) -> Answer {
    kehu_store::outbox::mark_sent(&s.db, &u.principal, &id, Timestamp::now())
        .await
        .page(u.lang)?;
    Ok(Redirect::to("/admin/outbox").into_response())
}
