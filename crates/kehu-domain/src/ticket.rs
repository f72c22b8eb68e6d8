//! Complaints and service requests (工单): their vocabulary, the life of a
//! ticket, the handling methods of the service handbooks (LSCPA and CLEAR)
//! and the service-level targets per severity.

use crate::code_enum;
use crate::{text, FieldErrors, Lang, Problem};

code_enum! {
    /// How the customer reached the business.
    pub enum Channel {
        Phone = "phone", "电话", "Phone";
        Wechat = "wechat", "微信", "WeChat";
        Email = "email", "邮件", "E-mail";
        Web = "web", "网页表单", "Web form";
        Visit = "visit", "来访", "Visit";
    }
}

code_enum! {
    /// A complaint (投诉) or another service request.
    pub enum TicketKind {
        Complaint = "complaint", "投诉", "Complaint";
        Request = "request", "服务请求", "Service request";
    }
}

code_enum! {
    /// How urgent the matter is; it sets the service-level targets.
    pub enum Severity {
        Low = "low", "低", "Low";
        Normal = "normal", "普通", "Normal";
        High = "high", "高", "High";
        Urgent = "urgent", "紧急", "Urgent";
    }
}

code_enum! {
    /// What the customer wants from the complaint (投诉目的).
    pub enum Purpose {
        /// 建议性: "good as it is, better if ..." — often said with praise.
        Suggestion = "suggestion", "建议性", "Suggestion";
        /// 批评性: displeased but calm; wants to be heard.
        Criticism = "criticism", "批评性", "Criticism";
        /// 控告性: angry, and demands a commitment.
        Accusation = "accusation", "控告性", "Accusation";
    }
}

code_enum! {
    /// Where a ticket stands.
    pub enum Status {
        New = "new", "新建", "New";
        Open = "open", "处理中", "In progress";
        /// Waiting on the customer: the service-level clock stops.
        Waiting = "waiting", "等待客户", "Waiting on customer";
        Resolved = "resolved", "已解决", "Resolved";
        Closed = "closed", "已关闭", "Closed";
    }
}

impl Status {
    /// Still being worked on: counts in queues and against the targets.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Open | Status::Waiting)
    }

    /// Whether a ticket may go from `self` to `next` (resolving has its own
    /// step, which records the fix; see [`Resolution`]).
    pub fn can_move_to(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (New, Open)
                | (New, Waiting)
                | (Open, Waiting)
                | (Waiting, Open)
                | (New | Open | Waiting, Resolved)
                | (Resolved, Open)
                | (Resolved, Closed)
        )
    }
}

code_enum! {
    /// A complaint-handling method from the handbooks.
    pub enum Method {
        /// Listen, Share, Clarify, Present, Ask for action.
        Lscpa = "lscpa", "LSCPA 处理法", "LSCPA";
        /// Control, Listen, Establish empathy, Apologize, Resolve (客户愤怒清空法).
        Clear = "clear", "CLEAR 处理法", "CLEAR";
    }
}

code_enum! {
    /// A step of a handling method.
    pub enum Step {
        Listen = "listen", "聆听", "Listen";
        Share = "share", "分担", "Share";
        Clarify = "clarify", "澄清", "Clarify";
        Present = "present", "提出方案", "Present";
        AskForAction = "ask_for_action", "要求行动", "Ask for action";
        Control = "control", "控制情绪", "Control";
        Empathize = "establish_empathy", "建立共鸣", "Establish empathy";
        Apologize = "apologize", "道歉", "Apologize";
        Resolve = "resolve", "解决", "Resolve";
    }
}

impl Method {
    /// The steps in the order they are taken.
    pub fn steps(self) -> &'static [Step] {
        match self {
            Method::Lscpa => &[
                Step::Listen,
                Step::Share,
                Step::Clarify,
                Step::Present,
                Step::AskForAction,
            ],
            Method::Clear => &[
                Step::Control,
                Step::Listen,
                Step::Empathize,
                Step::Apologize,
                Step::Resolve,
            ],
        }
    }

    pub fn has(self, s: Step) -> bool {
        self.steps().contains(&s)
    }
}

impl Step {
    /// What the agent does in this step.
    pub fn guide(self, lang: Lang) -> &'static str {
        match self {
            Step::Listen => lang.pick(
                "细心聆听客户的抱怨，让客户把话说完，不打断、不辩解。",
                "Listen closely and let the customer finish; do not interrupt or argue.",
            ),
            Step::Share => lang.pick(
                "分担客户的感受，对客户的遭遇表示同情和理解。",
                "Share the customer's feelings: show that you understand what happened to them.",
            ),
            Step::Clarify => lang.pick(
                "澄清事实：查清事情的来龙去脉，为提出方案收集足够的信息。",
                "Clarify the facts: find out what happened and gather what a solution needs.",
            ),
            Step::Present => lang.pick(
                "提出几种解决方案，或询问客户希望如何处理，并记录客户的选择。",
                "Present several solutions, or ask how the customer wants it handled; record their choice.",
            ),
            Step::AskForAction => lang.pick(
                "要求行动：确认处理方案，总结双方将要采取的行动，确保客户已经理解。",
                "Ask for action: confirm the solution, sum up what each side will do, check the customer understood.",
            ),
            Step::Control => lang.pick(
                "控制自己的情绪：可以不同意投诉的内容，但要认可客户投诉的方式。",
                "Control your own emotions: you may disagree with the complaint but accept how it is made.",
            ),
            Step::Empathize => lang.pick(
                "建立共鸣：站在客户的立场换位思考，真诚地表达理解。",
                "Establish empathy: take the customer's point of view and say so sincerely.",
            ),
            Step::Apologize => lang.pick(
                "真诚道歉，不推卸责任；道歉时不要说“但是”。",
                "Apologise sincerely without shifting blame, and without a \"but\".",
            ),
            Step::Resolve => lang.pick(
                "提出应急方案解决眼前的问题，并提出杜绝类似事件的预防措施。",
                "Resolve: an immediate fix for this problem and a preventive action so it does not recur.",
            ),
        }
    }
}

code_enum! {
    /// What a customer was given to make up for a failure.
    pub enum CompensationKind {
        Refund = "refund", "退款", "Refund";
        Replacement = "replacement", "换货", "Replacement";
        Repair = "repair", "免费维修", "Free repair";
        Voucher = "voucher", "代金券", "Voucher";
        Gift = "gift", "礼品", "Gift";
        Cash = "cash", "现金补偿", "Cash";
        Service = "service", "增值服务", "Extra service";
        Other = "other", "其他", "Other";
    }
}

code_enum! {
    /// What happened on a ticket, as its history shows it.
    pub enum EventKind {
        Created = "created", "创建工单", "Opened";
        Assigned = "assigned", "分派", "Assigned";
        Step = "step", "处理步骤", "Handling step";
        Reply = "reply", "回复客户", "Reply to customer";
        Note = "note", "内部备注", "Internal note";
        CustomerMessage = "customer_message", "客户留言", "Customer message";
        Waiting = "waiting", "等待客户", "Waiting on customer";
        Resumed = "resumed", "恢复处理", "Resumed";
        Promise = "promise", "承诺回复", "Reply promised";
        PromiseKept = "promise_kept", "按时回复", "Promise kept";
        PromiseBroken = "promise_broken", "承诺失约", "Promise broken";
        Reminder = "reminder", "到期提醒", "Reminder";
        Escalated = "escalated", "升级", "Escalated";
        Solution = "solution", "提出方案", "Solution offered";
        Choice = "choice", "客户选择方案", "Customer chose";
        Compensation = "compensation", "补偿", "Compensation";
        Resolved = "resolved", "已解决", "Resolved";
        Reopened = "reopened", "重新打开", "Reopened";
        Closed = "closed", "已关闭", "Closed";
        Changed = "changed", "修改", "Changed";
        SurveySent = "survey_sent", "发送满意度调查", "Survey sent";
        SurveyAnswered = "survey_answered", "客户评价", "Survey answered";
    }
}

/// Service-level targets of one severity, in business minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct SlaTarget {
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
}

impl SlaTarget {
    /// Both targets positive and the first response due no later than the
    /// resolution; at most a working year (2,000 hours).
    pub fn new(
        first_response_minutes: i64,
        resolution_minutes: i64,
    ) -> Result<SlaTarget, FieldErrors> {
        let mut e = FieldErrors::new();
        let limit = 2000 * 60;
        for (field, v) in [
            ("first_response_minutes", first_response_minutes),
            ("resolution_minutes", resolution_minutes),
        ] {
            if !(1..=limit).contains(&v) {
                e.add(
                    field,
                    Problem::Invalid {
                        zh: format!("须在 1 到 {limit} 分钟之间"),
                        en: format!("must be between 1 and {limit} minutes"),
                    },
                );
            }
        }
        if e.is_empty() && first_response_minutes > resolution_minutes {
            e.add(
                "first_response_minutes",
                Problem::Invalid {
                    zh: "首次响应时限不能长于解决时限".into(),
                    en: "the first response cannot be due after the resolution".into(),
                },
            );
        }
        e.into_result()?;
        Ok(SlaTarget {
            first_response_minutes,
            resolution_minutes,
        })
    }
}

impl Severity {
    /// The default targets: urgent 1 h / 8 h, high 2 h / 16 h, normal 4 h /
    /// 24 h, low 8 h / 40 h of business time.
    pub fn default_target(self) -> SlaTarget {
        let (f, r) = match self {
            Severity::Urgent => (1, 8),
            Severity::High => (2, 16),
            Severity::Normal => (4, 24),
            Severity::Low => (8, 40),
        };
        SlaTarget {
            first_response_minutes: f * 60,
            resolution_minutes: r * 60,
        }
    }
}

/// Limits of ticket texts, in characters.
pub const SUBJECT_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 20_000;
pub const NOTE_MAX: usize = 10_000;

/// A new ticket as sent (API, UI or the public form).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct TicketDraft {
    pub subject: String,
    pub description: String,
    pub purpose: String,
    pub severity: String,
    pub channel: String,
    /// `complaint` (default) or `request`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub department: String,
}

/// A checked new ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub kind: TicketKind,
    pub subject: String,
    pub description: String,
    pub purpose: Purpose,
    pub severity: Severity,
    pub channel: Channel,
    pub category: Option<String>,
    pub product: Option<String>,
    pub department: Option<String>,
}

impl TicketDraft {
    /// Checks every field, reporting each bad one.
    pub fn check(&self) -> Result<NewTicket, FieldErrors> {
        let mut e = FieldErrors::new();
        let kind = if self.kind.trim().is_empty() {
            Some(TicketKind::Complaint)
        } else {
            e.take("kind", TicketKind::parse(&self.kind))
        };
        let subject = e.take("subject", text::required(&self.subject, SUBJECT_MAX));
        let description = e.take(
            "description",
            text::multiline(&self.description, DESCRIPTION_MAX)
                .and_then(|d| d.ok_or(Problem::Required)),
        );
        let purpose = e.take("purpose", required_choice(&self.purpose, Purpose::parse));
        let severity = e.take("severity", required_choice(&self.severity, Severity::parse));
        let channel = e.take("channel", required_choice(&self.channel, Channel::parse));
        let category = e.take("category", text::optional(&self.category, 100));
        let product = e.take("product", text::optional(&self.product, 200));
        let department = e.take("department", text::optional(&self.department, 100));
        e.into_result()?;
        Ok(NewTicket {
            kind: kind.expect("checked"),
            subject: subject.expect("checked"),
            description: description.expect("checked"),
            purpose: purpose.expect("checked"),
            severity: severity.expect("checked"),
            channel: channel.expect("checked"),
            category: category.expect("checked"),
            product: product.expect("checked"),
            department: department.expect("checked"),
        })
    }
}

fn required_choice<T>(raw: &str, parse: fn(&str) -> Result<T, Problem>) -> Result<T, Problem> {
    if raw.trim().is_empty() {
        Err(Problem::Required)
    } else {
        parse(raw)
    }
}

/// How a ticket was resolved: the immediate fix (应急方案) and the action
/// that keeps it from happening again (预防措施). A complaint needs both.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub immediate_fix: String,
    pub preventive_action: Option<String>,
}

impl Resolution {
    pub fn check(kind: TicketKind, fix: &str, preventive: &str) -> Result<Resolution, FieldErrors> {
        let mut e = FieldErrors::new();
        let fix = e.take(
            "immediate_fix",
            text::multiline(fix, NOTE_MAX).and_then(|d| d.ok_or(Problem::Required)),
        );
        let preventive = e.take(
            "preventive_action",
            text::multiline(preventive, NOTE_MAX).and_then(|p| match (p, kind) {
                (None, TicketKind::Complaint) => Err(Problem::Required),
                (p, _) => Ok(p),
            }),
        );
        e.into_result()?;
        Ok(Resolution {
            immediate_fix: fix.expect("checked"),
            preventive_action: preventive.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_has_five_steps_in_handbook_order() {
        let codes = |m: Method| m.steps().iter().map(|s| s.code()).collect::<Vec<_>>();
        assert_eq!(
            codes(Method::Lscpa),
            ["listen", "share", "clarify", "present", "ask_for_action"]
        );
        assert_eq!(
            codes(Method::Clear),
            [
                "control",
                "listen",
                "establish_empathy",
                "apologize",
                "resolve"
            ]
        );
        assert!(!Method::Lscpa.has(Step::Apologize));
        assert!(Method::Clear.has(Step::Listen));
    }

    #[test]
    fn status_moves() {
        assert!(Status::New.can_move_to(Status::Waiting));
        assert!(Status::Waiting.can_move_to(Status::Open));
        assert!(Status::Resolved.can_move_to(Status::Open));
        assert!(!Status::Closed.can_move_to(Status::Open));
        assert!(!Status::Open.can_move_to(Status::New));
        assert!(!Status::New.can_move_to(Status::Closed));
        assert!(!Status::Open.can_move_to(Status::Open));
        assert!(Status::Waiting.is_open() && !Status::Resolved.is_open());
    }

    #[test]
    fn default_targets_are_the_documented_hours() {
        let h = |s: Severity| {
            let t = s.default_target();
            (t.first_response_minutes / 60, t.resolution_minutes / 60)
        };
        assert_eq!(h(Severity::Urgent), (1, 8));
        assert_eq!(h(Severity::High), (2, 16));
        assert_eq!(h(Severity::Normal), (4, 24));
        assert_eq!(h(Severity::Low), (8, 40));
        assert!(SlaTarget::new(0, 10).is_err());
        assert!(SlaTarget::new(120, 60).is_err());
        assert!(SlaTarget::new(60, 60).is_ok());
    }

    #[test]
    fn drafts_report_every_bad_field_and_accept_chinese_labels() {
        let bad = TicketDraft {
            subject: " ".into(),
            purpose: "angry".into(),
            severity: "".into(),
            channel: "fax".into(),
            ..Default::default()
        };
        let e = bad.check().unwrap_err();
        for f in ["subject", "description", "purpose", "severity", "channel"] {
            assert!(e.get(f).is_some(), "{f} not reported");
        }
        assert_eq!(e.get("severity"), Some(&Problem::Required));
        let ok = TicketDraft {
            subject: "洗衣机漏水".into(),
            description: "第二次上门维修后仍然漏水\n很生气".into(),
            purpose: "控告性".into(),
            severity: "urgent".into(),
            channel: "电话".into(),
            ..Default::default()
        }
        .check()
        .unwrap();
        assert_eq!(ok.purpose, Purpose::Accusation);
        assert_eq!(ok.channel, Channel::Phone);
        assert_eq!(ok.kind, TicketKind::Complaint);
    }

    #[test]
    fn a_complaint_needs_a_preventive_action_a_request_does_not() {
        let e = Resolution::check(TicketKind::Complaint, "换新机", " ").unwrap_err();
        assert_eq!(e.get("preventive_action"), Some(&Problem::Required));
        let r = Resolution::check(TicketKind::Request, "已寄出说明书", "").unwrap();
        assert_eq!(r.preventive_action, None);
        assert!(Resolution::check(TicketKind::Request, "", "").is_err());
    }
}
