//! The customer archive's vocabulary and the parsing of a customer record
//! from what a form or an API call sends.

use crate::code_enum;
use crate::ids::{CustomerId, UserId};
use crate::mobile::Mobile;
use crate::name::{pinyin_keys, PinyinKeys};
use crate::{text, FieldErrors, Problem};
use chrono::NaiveDate;

code_enum! {
    /// A person (B2C) or an organisation (B2B).
    pub enum CustomerKind {
        Person = "person", "个人", "Person";
        Organization = "organization", "企业", "Organisation";
    }
}

code_enum! {
    /// Where a customer came from.
    pub enum Source {
        Referral = "referral", "转介绍", "Referral";
        Event = "event", "活动", "Event";
        Media = "media", "媒体广告", "Media";
        Social = "social", "社交网络", "Social network";
        Competitor = "competitor", "竞争对手客户", "Competitor's customer";
        WalkIn = "walk_in", "自然到店", "Walk-in";
        Website = "website", "官网", "Website";
        Exhibition = "exhibition", "展会", "Trade show";
        ColdCall = "cold_call", "电话开发", "Cold call";
        Other = "other", "其他", "Other";
    }
}

code_enum! {
    /// Customer grade (filled by grading; editable by hand until then).
    pub enum Grade {
        A = "A", "A 类", "A";
        B = "B", "B 类", "B";
        C = "C", "C 类", "C";
    }
}

/// A grade set by hand, with why: the reason is required (2-500
/// characters) when a grade is set; `None` goes back to the computed grade.
pub struct GradeOverride;

impl GradeOverride {
    pub fn parse(
        grade: Option<&str>,
        reason: &str,
    ) -> Result<(Option<Grade>, String), FieldErrors> {
        let mut e = FieldErrors::new();
        let grade = match grade.map(str::trim).filter(|g| !g.is_empty()) {
            None => None,
            Some(g) => e.take("grade", Grade::parse(g)),
        };
        let reason = reason.trim().to_string();
        let chars = reason.chars().count();
        if grade.is_some() && chars < 2 {
            e.add(
                "reason",
                Problem::Invalid {
                    zh: "请写明手工调整等级的原因".into(),
                    en: "say why the grade is set by hand".into(),
                },
            );
        } else if chars > 500 {
            e.add("reason", Problem::TooLong { max: 500 });
        }
        e.into_result()?;
        Ok((grade, reason))
    }
}

code_enum! {
    /// Gender, as far as salutations go.
    pub enum GenderCode {
        Male = "male", "男", "Male";
        Female = "female", "女", "Female";
    }
}

code_enum! {
    /// A contact's role in the organisation's buying decision.
    pub enum ContactRole {
        DecisionMaker = "decision_maker", "关键人（决策者）", "Decision maker";
        Influencer = "influencer", "影响者", "Influencer";
        User = "user", "使用者", "User";
        Gatekeeper = "gatekeeper", "把关者", "Gatekeeper";
        Other = "other", "其他", "Other";
    }
}

code_enum! {
    /// How a contact with a customer happened.
    pub enum InteractionKind {
        Call = "call", "电话", "Call";
        Visit = "visit", "拜访", "Visit";
        Wechat = "wechat", "微信", "WeChat";
        Sms = "sms", "短信", "SMS";
        Email = "email", "邮件", "E-mail";
        Note = "note", "备注", "Note";
    }
}

code_enum! {
    /// A channel a customer may consent to be contacted on.
    pub enum ConsentChannel {
        Phone = "phone", "电话", "Phone";
        Sms = "sms", "短信", "SMS";
        Wechat = "wechat", "微信", "WeChat";
        Email = "email", "邮件", "E-mail";
    }
}

code_enum! {
    /// Consent on one channel. No record means not asked yet.
    pub enum ConsentStatus {
        Granted = "granted", "同意", "Granted";
        Withdrawn = "withdrawn", "已退订", "Withdrawn";
    }
}

/// A customer's fields as sent by a form or an API call, before parsing.
/// Every field is text so that a form can be shown again exactly as typed
/// when it has errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerInput {
    pub kind: String,
    pub name: String,
    pub gender: String,
    pub title: String,
    pub mobile: String,
    pub email: String,
    pub wechat: String,
    pub company: String,
    pub city: String,
    pub address: String,
    pub source: String,
    pub referred_by: String,
    pub birthday: String,
    pub grade: String,
    pub notes: String,
    pub owner_id: String,
}

/// A customer's own fields, parsed and valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFields {
    pub kind: CustomerKind,
    pub name: String,
    pub gender: Option<GenderCode>,
    pub title: Option<String>,
    pub mobile: Option<Mobile>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub company: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    pub source: Option<Source>,
    pub referred_by: Option<CustomerId>,
    pub birthday: Option<NaiveDate>,
    pub grade: Option<Grade>,
    pub notes: Option<String>,
    /// `None`: keep the owner the caller's rules give.
    pub owner_id: Option<UserId>,
}

fn optional_code<T>(
    raw: &str,
    parse: fn(&str) -> Result<T, Problem>,
) -> Result<Option<T>, Problem> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse(raw).map(Some)
    }
}

fn optional_id<T: std::str::FromStr>(raw: &str) -> Result<Option<T>, Problem> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        raw.trim().parse().map(Some).map_err(|_| Problem::NotFound)
    }
}

impl CustomerInput {
    /// Parses every field, collecting all problems.
    pub fn parse(&self) -> Result<CustomerFields, FieldErrors> {
        let mut e = FieldErrors::new();
        let kind = if self.kind.trim().is_empty() {
            e.add("kind", Problem::Required);
            None
        } else {
            e.take("kind", CustomerKind::parse(&self.kind))
        };
        let name = e.take("name", text::required(&self.name, 100));
        let gender = e.take("gender", optional_code(&self.gender, GenderCode::parse));
        let title = e.take("title", text::optional(&self.title, 20));
        let mobile = e.take("mobile", Mobile::parse_optional(&self.mobile));
        let email = e.take("email", text::email(&self.email));
        let wechat = e.take("wechat", text::optional(&self.wechat, 64));
        let company = e.take("company", text::optional(&self.company, 200));
        let city = e.take("city", text::optional(&self.city, 50));
        let address = e.take("address", text::multiline(&self.address, 300));
        let source = e.take("source", optional_code(&self.source, Source::parse));
        let referred_by = e.take("referred_by", optional_id(&self.referred_by));
        let birthday = e.take("birthday", text::date(&self.birthday));
        let grade = e.take("grade", optional_code(&self.grade, Grade::parse));
        let notes = e.take("notes", text::multiline(&self.notes, 5000));
        let owner_id = e.take("owner_id", optional_id(&self.owner_id));
        if let Some(Some(b)) = birthday {
            if b > chrono::Utc::now().date_naive() {
                e.add(
                    "birthday",
                    Problem::Invalid {
                        zh: "生日不能晚于今天".into(),
                        en: "cannot be in the future".into(),
                    },
                );
            }
        }
        match (
            kind,
            name,
            gender,
            title,
            mobile,
            email,
            wechat,
            company,
            city,
            address,
            source,
            referred_by,
            birthday,
            grade,
            notes,
            owner_id,
        ) {
            (
                Some(kind),
                Some(name),
                Some(gender),
                Some(title),
                Some(mobile),
                Some(email),
                Some(wechat),
                Some(company),
                Some(city),
                Some(address),
                Some(source),
                Some(referred_by),
                Some(birthday),
                Some(grade),
                Some(notes),
                Some(owner_id),
            ) if e.is_empty() => Ok(CustomerFields {
                kind,
                name,
                gender,
                title,
                mobile,
                email,
                wechat,
                company,
                city,
                address,
                source,
                referred_by,
                birthday,
                grade,
                notes,
                owner_id,
            }),
            _ => Err(e),
        }
    }
}

impl CustomerFields {
    /// The pinyin keys of the name, stored for search.
    pub fn pinyin(&self) -> PinyinKeys {
        pinyin_keys(&self.name)
    }

    /// Back to text form, for editing or for overlaying a partial update.
    pub fn to_input(&self) -> CustomerInput {
        fn s<T: ToString>(v: &Option<T>) -> String {
            v.as_ref().map(|x| x.to_string()).unwrap_or_default()
        }
        CustomerInput {
            kind: self.kind.code().into(),
            name: self.name.clone(),
            gender: self
                .gender
                .map(|g| g.code().to_string())
                .unwrap_or_default(),
            title: s(&self.title),
            mobile: s(&self.mobile),
            email: s(&self.email),
            wechat: s(&self.wechat),
            company: s(&self.company),
            city: s(&self.city),
            address: s(&self.address),
            source: self
                .source
                .map(|v| v.code().to_string())
                .unwrap_or_default(),
            referred_by: s(&self.referred_by),
            birthday: self
                .birthday
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            grade: self.grade.map(|v| v.code().to_string()).unwrap_or_default(),
            notes: s(&self.notes),
            owner_id: s(&self.owner_id),
        }
    }
}

/// A contact of an organisation, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactInput {
    pub name: String,
    pub position: String,
    pub role: String,
    pub mobile: String,
    pub email: String,
    pub wechat: String,
    pub birthday: String,
    pub preferences: String,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFields {
    pub name: String,
    pub position: Option<String>,
    pub role: ContactRole,
    pub mobile: Option<Mobile>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub preferences: Option<String>,
    pub notes: Option<String>,
}

impl ContactInput {
    pub fn parse(&self) -> Result<ContactFields, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = e.take("name", text::required(&self.name, 100));
        let position = e.take("position", text::optional(&self.position, 100));
        let role = if self.role.trim().is_empty() {
            Some(ContactRole::Other)
        } else {
            e.take("role", ContactRole::parse(&self.role))
        };
        let mobile = e.take("mobile", Mobile::parse_optional(&self.mobile));
        let email = e.take("email", text::email(&self.email));
        let wechat = e.take("wechat", text::optional(&self.wechat, 64));
        let birthday = e.take("birthday", text::date(&self.birthday));
        let preferences = e.take("preferences", text::multiline(&self.preferences, 2000));
        let notes = e.take("notes", text::multiline(&self.notes, 5000));
        match (
            name,
            position,
            role,
            mobile,
            email,
            wechat,
            birthday,
            preferences,
            notes,
        ) {
            (
                Some(name),
                Some(position),
                Some(role),
                Some(mobile),
                Some(email),
                Some(wechat),
                Some(birthday),
                Some(preferences),
                Some(notes),
            ) if e.is_empty() => Ok(ContactFields {
                name,
                position,
                role,
                mobile,
                email,
                wechat,
                birthday,
                preferences,
                notes,
            }),
            _ => Err(e),
        }
    }
}

impl ContactFields {
    pub fn to_input(&self) -> ContactInput {
        fn s<T: ToString>(v: &Option<T>) -> String {
            v.as_ref().map(|x| x.to_string()).unwrap_or_default()
        }
        ContactInput {
            name: self.name.clone(),
            position: s(&self.position),
            role: self.role.code().into(),
            mobile: s(&self.mobile),
            email: s(&self.email),
            wechat: s(&self.wechat),
            birthday: self
                .birthday
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            preferences: s(&self.preferences),
            notes: s(&self.notes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CustomerInput {
        CustomerInput {
            kind: "person".into(),
            name: " 欧阳娜娜 ".into(),
            mobile: "+86 138 1234 5678".into(),
            source: "转介绍".into(),
            ..Default::default()
        }
    }

    #[test]
    fn parses_and_normalises() {
        let f = input().parse().unwrap();
        assert_eq!(f.name, "欧阳娜娜");
        assert_eq!(f.mobile.unwrap().as_str(), "13812345678");
        assert_eq!(f.source, Some(Source::Referral));
        assert_eq!(f.kind, CustomerKind::Person);
    }

    #[test]
    fn collects_every_error() {
        let bad = CustomerInput {
            kind: "robot".into(),
            name: "".into(),
            mobile: "123".into(),
            email: "x@".into(),
            birthday: "2999-01-01".into(),
            ..Default::default()
        };
        let e = bad.parse().unwrap_err();
        for f in ["kind", "name", "mobile", "email", "birthday"] {
            assert!(e.get(f).is_some(), "{f} missing from {e}");
        }
    }

    #[test]
    fn round_trips_through_input() {
        let f = input().parse().unwrap();
        assert_eq!(f.to_input().parse().unwrap(), f);
    }

    #[test]
    fn contact_role_defaults_to_other() {
        let c = ContactInput {
            name: "李总".into(),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(c.role, ContactRole::Other);
        let e = ContactInput {
            name: "".into(),
            role: "boss".into(),
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        assert!(e.get("name").is_some() && e.get("role").is_some());
    }
}
