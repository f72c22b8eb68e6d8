//! Duplicate customers: why two records look like one customer, and how a
//! merge decides, field by field, which record's value survives.

use crate::code_enum;
use crate::customer::{ConsentChannel, ConsentStatus, CustomerInput};
use crate::{FieldErrors, Problem};
use std::collections::BTreeMap;

code_enum! {
    /// Why two customers look like the same one.
    pub enum DuplicateReason {
        Mobile = "mobile", "手机号相同", "Same mobile";
        Email = "email", "邮箱相同", "Same e-mail";
        Name = "name", "同名且同单位", "Same name and organisation";
    }
}

code_enum! {
    /// Which record of a merge a field's value comes from.
    pub enum Side {
        Survivor = "survivor", "保留的记录", "Surviving record";
        Merged = "merged", "被合并的记录", "Merged record";
    }
}

/// The customer's own fields a merge chooses between, named as in
/// [`CustomerInput`] and the audit log. Custom fields are `custom.KEY`,
/// consents `consent.CHANNEL`.
pub const MERGE_FIELDS: [&str; 16] = [
    "kind",
    "name",
    "gender",
    "title",
    "mobile",
    "email",
    "wechat",
    "company",
    "city",
    "address",
    "source",
    "referred_by",
    "birthday",
    "grade",
    "notes",
    "owner_id",
];

fn field_mut<'a>(i: &'a mut CustomerInput, name: &str) -> Option<&'a mut String> {
    Some(match name {
        "kind" => &mut i.kind,
        "name" => &mut i.name,
        "gender" => &mut i.gender,
        "title" => &mut i.title,
        "mobile" => &mut i.mobile,
        "email" => &mut i.email,
        "wechat" => &mut i.wechat,
        "company" => &mut i.company,
        "city" => &mut i.city,
        "address" => &mut i.address,
        "source" => &mut i.source,
        "referred_by" => &mut i.referred_by,
        "birthday" => &mut i.birthday,
        "grade" => &mut i.grade,
        "notes" => &mut i.notes,
        "owner_id" => &mut i.owner_id,
        _ => return None,
    })
}

/// The text of one of the [`MERGE_FIELDS`] of a customer.
pub fn field_text(i: &CustomerInput, name: &str) -> Option<String> {
    field_mut(&mut i.clone(), name).map(|s| s.clone())
}

/// Which side each field takes, by field name. A field without a choice
/// keeps the survivor's value, or takes the merged record's when the
/// survivor has none.
pub type Choices = BTreeMap<String, Side>;

/// Reads choices as sent (field → `survivor` or `merged`), naming each
/// unknown field or side as `choices.FIELD`.
pub fn parse_choices<'a>(
    raw: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Choices, FieldErrors> {
    let mut e = FieldErrors::new();
    let mut out = Choices::new();
    for (field, side) in raw {
        let known = MERGE_FIELDS.contains(&field)
            || field.strip_prefix("custom.").is_some_and(|k| !k.is_empty())
            || field
                .strip_prefix("consent.")
                .is_some_and(|c| ConsentChannel::parse(c).is_ok());
        if !known {
            e.add(
                format!("choices.{field}"),
                Problem::Invalid {
                    zh: "没有这个字段".into(),
                    en: "is not a field of a customer".into(),
                },
            );
            continue;
        }
        if let Some(s) = e.take(&format!("choices.{field}"), Side::parse(side)) {
            out.insert(field.to_string(), s);
        }
    }
    e.into_result()?;
    Ok(out)
}

/// The value a merged field takes, recording the side used in `used` when
/// the two records differ.
pub fn pick<T: PartialEq>(
    field: &str,
    survivor: Option<T>,
    merged: Option<T>,
    choices: &Choices,
    used: &mut Choices,
) -> Option<T> {
    if survivor == merged {
        return survivor;
    }
    let default = if survivor.is_some() {
        Side::Survivor
    } else {
        Side::Merged
    };
    let side = choices.get(field).copied().unwrap_or(default);
    used.insert(field.to_string(), side);
    match side {
        Side::Survivor => survivor,
        Side::Merged => merged,
    }
}

/// The consent a merged customer keeps on a channel: the choice, else a
/// withdrawal on either record (a refusal is never lost), else whichever
/// record has one.
pub fn pick_consent(
    channel: ConsentChannel,
    survivor: Option<ConsentStatus>,
    merged: Option<ConsentStatus>,
    choices: &Choices,
    used: &mut Choices,
) -> Option<ConsentStatus> {
    let field = format!("consent.{}", channel.code());
    let mut choices = std::borrow::Cow::Borrowed(choices);
    if !choices.contains_key(&field) && merged == Some(ConsentStatus::Withdrawn) {
        choices.to_mut().insert(field.clone(), Side::Merged);
    }
    pick(&field, survivor, merged, &choices, used)
}

/// The own fields of the merged customer, in text form, with the sides used
/// where the two records differ.
pub fn merge_input(
    survivor: &CustomerInput,
    merged: &CustomerInput,
    choices: &Choices,
    used: &mut Choices,
) -> CustomerInput {
    let mut out = survivor.clone();
    let mut other = merged.clone();
    let blank = |s: &String| Some(s.clone()).filter(|s| !s.trim().is_empty());
    for f in MERGE_FIELDS {
        let (Some(ours), Some(theirs)) = (field_mut(&mut out, f), field_mut(&mut other, f)) else {
            continue;
        };
        *ours = pick(f, blank(ours), blank(theirs), choices, used).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, mobile: &str, city: &str) -> CustomerInput {
        CustomerInput {
            kind: "person".into(),
            name: name.into(),
            mobile: mobile.into(),
            city: city.into(),
            ..Default::default()
        }
    }

    #[test]
    fn survivor_wins_unless_blank_or_chosen() {
        let s = input("张伟", "13812345678", "");
        let m = input("张 伟", "13912345678", "杭州");
        let mut used = Choices::new();
        let out = merge_input(&s, &m, &Choices::new(), &mut used);
        assert_eq!(
            (out.name.as_str(), out.mobile.as_str(), out.city.as_str()),
            ("张伟", "13812345678", "杭州")
        );
        assert_eq!(used.get("city"), Some(&Side::Merged));
        assert_eq!(used.get("name"), Some(&Side::Survivor));
        assert!(!used.contains_key("kind"), "equal values are not choices");

        let choices = parse_choices([("mobile", "merged"), ("city", "survivor")]).unwrap();
        let mut used = Choices::new();
        let out = merge_input(&s, &m, &choices, &mut used);
        assert_eq!(out.mobile, "13912345678");
        assert_eq!(out.city, "", "choosing a blank clears");
    }

    #[test]
    fn choices_name_real_fields_and_sides() {
        assert!(
            parse_choices([("custom.industry", "merged"), ("consent.sms", "survivor")]).is_ok()
        );
        let e = parse_choices([
            ("password", "merged"),
            ("name", "both"),
            ("consent.fax", "merged"),
        ])
        .unwrap_err();
        for f in ["choices.password", "choices.name", "choices.consent.fax"] {
            assert!(e.get(f).is_some(), "{f} missing from {e}");
        }
    }

    #[test]
    fn a_withdrawal_survives_unless_chosen_otherwise() {
        use ConsentStatus::{Granted, Withdrawn};
        let ch = ConsentChannel::Sms;
        let none = Choices::new();
        let mut used = Choices::new();
        assert_eq!(
            pick_consent(ch, Some(Granted), Some(Withdrawn), &none, &mut used),
            Some(Withdrawn)
        );
        assert_eq!(
            pick_consent(ch, Some(Withdrawn), Some(Granted), &none, &mut used),
            Some(Withdrawn)
        );
        assert_eq!(
            pick_consent(ch, None, Some(Granted), &none, &mut used),
            Some(Granted)
        );
        let chosen = parse_choices([("consent.sms", "survivor")]).unwrap();
        assert_eq!(
            pick_consent(ch, Some(Granted), Some(Withdrawn), &chosen, &mut used),
            Some(Granted)
        );
    }
}
