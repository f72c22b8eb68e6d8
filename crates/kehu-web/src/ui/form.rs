//! Reading posted forms whose field names are partly dynamic (custom
//! fields `custom.KEY`, consents `consent.CHANNEL`), and showing values and
//! errors back beside each field.

use kehu_domain::customer::{ConsentChannel, ConsentStatus, CustomerInput};
use kehu_domain::{FieldErrors, Lang};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// A posted form as name → value (the last value of a repeated name wins).
#[derive(Debug, Default, Clone)]
pub struct Posted(pub HashMap<String, String>);

impl Posted {
    pub fn new(pairs: Vec<(String, String)>) -> Posted {
        Posted(pairs.into_iter().collect())
    }

    pub fn get(&self, k: &str) -> String {
        self.0.get(k).cloned().unwrap_or_default()
    }

    pub fn customer_input(&self) -> CustomerInput {
        CustomerInput {
            kind: self.get("kind"),
            name: self.get("name"),
            gender: self.get("gender"),
            title: self.get("title"),
            mobile: self.get("mobile"),
            email: self.get("email"),
            wechat: self.get("wechat"),
            company: self.get("company"),
            city: self.get("city"),
            address: self.get("address"),
            source: self.get("source"),
            referred_by: self.get("referred_by"),
            birthday: self.get("birthday"),
            grade: self.get("grade"),
            notes: self.get("notes"),
            owner_id: self.get("owner_id"),
        }
    }

    /// `custom.KEY` fields; blanks are left out (no value).
    pub fn custom(&self) -> Map<String, Value> {
        self.0
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("custom.").map(|key| (key.to_string(), v)))
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k, Value::String(v.clone())))
            .collect()
    }

    /// `consent.CHANNEL` fields; unknown values are reported.
    pub fn consents(&self, errors: &mut FieldErrors) -> BTreeMap<ConsentChannel, ConsentStatus> {
        let mut out = BTreeMap::new();
        for ch in ConsentChannel::ALL {
            let v = self.get(&format!("consent.{}", ch.code()));
            if v.trim().is_empty() {
                continue;
            }
            match ConsentStatus::parse(&v) {
                Ok(s) => {
                    out.insert(*ch, s);
                }
                Err(p) => errors.add(format!("consent.{}", ch.code()), p),
            }
        }
        out
    }
}

/// Field errors by field name, in the user's language, for templates.
#[derive(Debug, Default, Clone)]
pub struct Errors(pub HashMap<String, String>);

impl Errors {
    pub fn from(e: &FieldErrors, lang: Lang) -> Errors {
        Errors(
            e.views(lang)
                .into_iter()
                .map(|v| (v.field, v.message))
                .collect(),
        )
    }

    pub fn get(&self, field: &str) -> Option<&String> {
        self.0.get(field)
    }

    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
}
