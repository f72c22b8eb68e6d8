//! What the API sends and takes: JSON shapes of the archive's records, with
//! phone numbers masked for roles that may not see them.

use kehu_domain::customer::{
    ConsentChannel, ConsentStatus, ContactInput, ContactRole, CustomerInput, CustomerKind,
    GenderCode, Grade, Source,
};
use kehu_domain::ids::{ContactId, CustomerId, TeamId, UserId};
use kehu_domain::mobile::Mobile;
use kehu_domain::name::{salutation, Gender};
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_store::contacts::Contact;
use kehu_store::customers::{Customer, CustomerWrite};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A phone number as this principal may see it: (text, masked?).
pub fn phone_for(p: &Principal, m: &Option<Mobile>) -> (Option<String>, bool) {
    match m {
        None => (None, false),
        Some(m) => {
            let (shown, masked) = p.role.phone_access().show(m);
            (Some(shown), masked)
        }
    }
}

/// A customer as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    pub id: CustomerId,
    /// The id in the system the customer was imported from (read-only).
    pub external_id: Option<String>,
    pub kind: CustomerKind,
    pub name: String,
    /// 王先生, 李总: surname with title or gender.
    pub salutation: String,
    pub gender: Option<GenderCode>,
    pub title: Option<String>,
    /// Masked (138****5678) for roles that may not see numbers.
    pub mobile: Option<String>,
    pub mobile_masked: bool,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub company: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    pub source: Option<Source>,
    pub referred_by: Option<CustomerId>,
    pub referred_by_name: Option<String>,
    pub birthday: Option<String>,
    pub grade: Option<Grade>,
    pub notes: Option<String>,
    pub owner_id: Option<UserId>,
    pub owner_name: Option<String>,
    pub team_id: Option<TeamId>,
    pub team_name: Option<String>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub custom_fields: Map<String, Value>,
    /// Consent per channel (`phone`, `sms`, `wechat`, `email`): `granted` or `withdrawn`; absent means not asked.
    pub consents: BTreeMap<ConsentChannel, ConsentStatus>,
    pub last_contact_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

impl CustomerView {
    pub fn new(p: &Principal, c: &Customer) -> CustomerView {
        let f = &c.fields;
        let (mobile, mobile_masked) = phone_for(p, &f.mobile);
        let gender = f.gender.map(|g| match g {
            GenderCode::Male => Gender::Male,
            GenderCode::Female => Gender::Female,
        });
        CustomerView {
            id: c.id.clone(),
            external_id: c.external_id.clone(),
            kind: f.kind,
            name: f.name.clone(),
            salutation: salutation(&f.name, gender, f.title.as_deref()),
            gender: f.gender,
            title: f.title.clone(),
            mobile,
            mobile_masked,
            email: f.email.clone(),
            wechat: f.wechat.clone(),
            company: f.company.clone(),
            city: f.city.clone(),
            address: f.address.clone(),
            source: f.source,
            referred_by: f.referred_by.clone(),
            referred_by_name: c.referred_by_name.clone(),
            birthday: f.birthday.map(|d| d.format("%Y-%m-%d").to_string()),
            grade: f.grade,
            notes: f.notes.clone(),
            owner_id: f.owner_id.clone(),
            owner_name: c.owner_name.clone(),
            team_id: c.team_id.clone(),
            team_name: c.team_name.clone(),
            tags: c.tags.iter().map(|t| t.name.clone()).collect(),
            custom_fields: c.custom.clone(),
            consents: c.consents.clone(),
            last_contact_at: c.last_contact_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
            deleted_at: c.deleted_at,
        }
    }
}

/// Absent: leave as is. `null`: clear. A value: set. Numbers are taken as
/// their text (a mobile number sent as a JSON number still parses).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch {
    #[default]
    Keep,
    Clear,
    Set(String),
}

impl<'de> Deserialize<'de> for Patch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Patch::Clear,
            Value::String(s) => Patch::Set(s),
            Value::Number(n) => Patch::Set(n.to_string()),
            Value::Bool(b) => Patch::Set(b.to_string()),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected a string, got {other}"
                )))
            }
        })
    }
}

impl Patch {
    fn apply(&self, target: &mut String) {
        match self {
            Patch::Keep => {}
            Patch::Clear => target.clear(),
            Patch::Set(s) => *target = s.clone(),
        }
    }
}

/// The body of `POST /api/v1/customers` and `PATCH /api/v1/customers/{id}`.
/// On PATCH, absent fields stay as they are and `null` clears a field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    /// `person` or `organization` (required on create).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "person")]
    pub kind: Patch,
    /// Required on create.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "欧阳娜娜")]
    pub name: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "female")]
    pub gender: Patch,
    /// Title for the salutation (总, 经理, 小姐...).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub title: Patch,
    /// 11-digit mainland mobile (+86 and separators allowed) or +country number.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "13812345678")]
    pub mobile: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub wechat: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub company: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub city: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub address: Patch,
    /// referral, event, media, social, competitor, walk_in, website, exhibition, cold_call, other.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub source: Patch,
    /// Id of the customer who referred this one.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub referred_by: Patch,
    /// YYYY-MM-DD.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub birthday: Patch,
    /// A, B or C.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub grade: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch,
    /// The responsible user; only managers (in their team) and admins may give a customer to someone else.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub owner_id: Patch,
    /// Replaces the tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Custom field values by key; on PATCH merged, `null` removes a value.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
    /// Consent per channel; on PATCH merged, `null` removes a record.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub consents: Option<BTreeMap<String, Option<String>>>,
    /// On create: create it even when it looks like an existing customer
    /// (same mobile, e-mail, or name and organisation); otherwise such a
    /// create answers 409 listing them. Ignored on PATCH.
    #[serde(default)]
    pub allow_duplicate: bool,
}

impl CustomerBody {
    fn overlay(&self, i: &mut CustomerInput) {
        self.kind.apply(&mut i.kind);
        self.name.apply(&mut i.name);
        self.gender.apply(&mut i.gender);
        self.title.apply(&mut i.title);
        self.mobile.apply(&mut i.mobile);
        self.email.apply(&mut i.email);
        self.wechat.apply(&mut i.wechat);
        self.company.apply(&mut i.company);
        self.city.apply(&mut i.city);
        self.address.apply(&mut i.address);
        self.source.apply(&mut i.source);
        self.referred_by.apply(&mut i.referred_by);
        self.birthday.apply(&mut i.birthday);
        self.grade.apply(&mut i.grade);
        self.notes.apply(&mut i.notes);
        self.owner_id.apply(&mut i.owner_id);
    }

    /// The full record to write: this body over `current` (empty on create).
    pub fn to_write(
        &self,
        current: Option<&Customer>,
    ) -> Result<CustomerWrite, kehu_domain::FieldErrors> {
        let mut input = current.map(|c| c.fields.to_input()).unwrap_or_default();
        self.overlay(&mut input);
        let mut errors = kehu_domain::FieldErrors::new();
        let fields = input.parse();
        let mut custom = current.map(|c| c.custom.clone()).unwrap_or_default();
        if let Some(m) = &self.custom_fields {
            for (k, v) in m {
                if v.is_null() {
                    custom.remove(k);
                } else {
                    custom.insert(k.clone(), v.clone());
                }
            }
        }
        let mut consents = current.map(|c| c.consents.clone()).unwrap_or_default();
        if let Some(m) = &self.consents {
            for (ch, st) in m {
                match (
                    ConsentChannel::parse(ch),
                    st.as_deref().map(ConsentStatus::parse),
                ) {
                    (Ok(ch), None) => {
                        consents.remove(&ch);
                    }
                    (Ok(ch), Some(Ok(st))) => {
                        consents.insert(ch, st);
                    }
                    (Err(p), _) | (_, Some(Err(p))) => errors.add(format!("consents.{ch}"), p),
                }
            }
        }
        let tags = match &self.tags {
            Some(t) => t.clone(),
            None => current
                .map(|c| c.tags.iter().map(|t| t.name.clone()).collect())
                .unwrap_or_default(),
        };
        match fields {
            Ok(fields) if errors.is_empty() => Ok(CustomerWrite {
                fields,
                custom,
                tags,
                consents,
            }),
            Ok(_) => Err(errors),
            Err(mut fe) => {
                fe.0.extend(errors.0);
                Err(fe)
            }
        }
    }
}

/// A contact as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    pub id: ContactId,
    pub customer_id: CustomerId,
    pub name: String,
    pub position: Option<String>,
    pub role: ContactRole,
    pub mobile: Option<String>,
    pub mobile_masked: bool,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub birthday: Option<String>,
    pub preferences: Option<String>,
    pub notes: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ContactView {
    pub fn new(p: &Principal, c: &Contact) -> ContactView {
        let f = &c.fields;
        let (mobile, mobile_masked) = phone_for(p, &f.mobile);
        ContactView {
            id: c.id.clone(),
            customer_id: c.customer_id.clone(),
            name: f.name.clone(),
            position: f.position.clone(),
            role: f.role,
            mobile,
            mobile_masked,
            email: f.email.clone(),
            wechat: f.wechat.clone(),
            birthday: f.birthday.map(|d| d.format("%Y-%m-%d").to_string()),
            preferences: f.preferences.clone(),
            notes: f.notes.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The body of contact create (all of `name`) and update (PATCH semantics).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub position: Patch,
    /// decision_maker, influencer, user, gatekeeper, other.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub mobile: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub wechat: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub birthday: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub preferences: Patch,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch,
}

impl ContactBody {
    pub fn to_input(&self, current: Option<&Contact>) -> ContactInput {
        let mut i = current.map(|c| c.fields.to_input()).unwrap_or_default();
        self.name.apply(&mut i.name);
        self.position.apply(&mut i.position);
        self.role.apply(&mut i.role);
        self.mobile.apply(&mut i.mobile);
        self.email.apply(&mut i.email);
        self.wechat.apply(&mut i.wechat);
        self.birthday.apply(&mut i.birthday);
        self.preferences.apply(&mut i.preferences);
        self.notes.apply(&mut i.notes);
        i
    }
}
