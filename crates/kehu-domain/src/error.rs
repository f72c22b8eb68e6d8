//! Validation errors that name the field and say what is wrong in both
//! languages, so the UI can show them beside the field and the API can list
//! them in a problem document.

use crate::Lang;
use serde::Serialize;

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Required,
    TooLong { max: usize },
    ControlCharacters,
    InvalidMobile,
    InvalidEmail,
    InvalidDate,
    InvalidNumber,
    InvalidAmount,
    InvalidChoice { allowed: Vec<String> },
    InvalidLogin,
    WeakPassword { min: usize },
    NotFound,
    Taken,
    NotAllowed,
    Invalid { zh: String, en: String },
}

impl Problem {
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Required => "required",
            Problem::TooLong { .. } => "too_long",
            Problem::ControlCharacters => "control_characters",
            Problem::InvalidMobile => "invalid_mobile",
            Problem::InvalidEmail => "invalid_email",
            Problem::InvalidDate => "invalid_date",
            Problem::InvalidNumber => "invalid_number",
            Problem::InvalidAmount => "invalid_amount",
            Problem::InvalidChoice { .. } => "invalid_choice",
            Problem::InvalidLogin => "invalid_login",
            Problem::WeakPassword { .. } => "weak_password",
            Problem::NotFound => "not_found",
            Problem::Taken => "taken",
            Problem::NotAllowed => "not_allowed",
            Problem::Invalid { .. } => "invalid",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Problem::Required, Lang::ZhCn) => "必填".into(),
            (Problem::Required, Lang::En) => "is required".into(),
            (Problem::TooLong { max }, Lang::ZhCn) => format!("不能超过 {max} 个字符"),
            (Problem::TooLong { max }, Lang::En) => format!("must be at most {max} characters"),
            (Problem::ControlCharacters, Lang::ZhCn) => "包含不可见的控制字符".into(),
            (Problem::ControlCharacters, Lang::En) => "contains control characters".into(),
            (Problem::InvalidMobile, Lang::ZhCn) => {
                "手机号格式不正确，应为 11 位数字（如 13812345678）或带国家码的号码".into()
            }
            (Problem::InvalidMobile, Lang::En) => {
                "is not a valid mobile number (11 digits such as 13812345678, or +country code)"
                    .into()
            }
            (Problem::InvalidEmail, Lang::ZhCn) => "邮箱格式不正确".into(),
            (Problem::InvalidEmail, Lang::En) => "is not a valid e-mail address".into(),
            (Problem::InvalidDate, Lang::ZhCn) => {
                "日期格式不对：应写作 2024-05-17、2024/5/17 或 2024年5月17日".into()
            }
            (Problem::InvalidDate, Lang::En) => {
                "must be a date such as 2024-05-17, 2024/5/17 or 2024年5月17日".into()
            }
            (Problem::InvalidNumber, Lang::ZhCn) => "应为数字".into(),
            (Problem::InvalidNumber, Lang::En) => "must be a number".into(),
            (Problem::InvalidAmount, Lang::ZhCn) => {
                "金额格式不正确，应以元为单位、最多两位小数（如 1234.56）".into()
            }
            (Problem::InvalidAmount, Lang::En) => {
                "must be an amount in yuan with at most two decimals (such as 1234.56)".into()
            }
            (Problem::InvalidChoice { allowed }, Lang::ZhCn) => {
                format!("取值无效，可选：{}", allowed.join("、"))
            }
            (Problem::InvalidChoice { allowed }, Lang::En) => {
                format!("must be one of: {}", allowed.join(", "))
            }
            (Problem::InvalidLogin, Lang::ZhCn) => {
                "登录名应为 2-32 位小写字母、数字、点、下划线或连字符".into()
            }
            (Problem::InvalidLogin, Lang::En) => {
                "must be 2-32 lowercase letters, digits, '.', '_' or '-'".into()
            }
            (Problem::WeakPassword { min }, Lang::ZhCn) => format!("密码至少 {min} 个字符"),
            (Problem::WeakPassword { min }, Lang::En) => {
                format!("password must be at least {min} characters")
            }
            (Problem::NotFound, Lang::ZhCn) => "不存在".into(),
            (Problem::NotFound, Lang::En) => "does not exist".into(),
            (Problem::Taken, Lang::ZhCn) => "已被使用".into(),
            (Problem::Taken, Lang::En) => "is already taken".into(),
            (Problem::NotAllowed, Lang::ZhCn) => "无权设置此值".into(),
            (Problem::NotAllowed, Lang::En) => "you may not set this value".into(),
            (Problem::Invalid { zh, .. }, Lang::ZhCn) => zh.clone(),
            (Problem::Invalid { en, .. }, Lang::En) => en.clone(),
        }
    }
}

/// A problem with a named field (`mobile`, `custom.industry`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub problem: Problem,
}

/// The serialisable form of a field error, as sent in problem documents.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldErrorView {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// All problems found in one input. Parsing collects every error rather than
/// stopping at the first, so a form shows them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, problem: Problem) -> Self {
        let mut e = Self::new();
        e.add(field, problem);
        e
    }

    pub fn add(&mut self, field: impl Into<String>, problem: Problem) {
        self.0.push(FieldError {
            field: field.into(),
            problem,
        });
    }

    /// Keeps the value when it parsed, records the problem when it did not.
    pub fn take<T>(&mut self, field: &str, r: Result<T, Problem>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(p) => {
                self.add(field, p);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&Problem> {
        self.0.iter().find(|e| e.field == field).map(|e| &e.problem)
    }

    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    pub fn views(&self, lang: Lang) -> Vec<FieldErrorView> {
        self.0
            .iter()
            .map(|e| FieldErrorView {
                field: e.field.clone(),
                code: e.problem.code(),
                message: e.problem.message(lang),
            })
            .collect()
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.problem.message(Lang::En)))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}
