//! Custom fields defined by an admin (text, number, date, choice) and the
//! validation of their values on a customer.

use crate::code_enum;
use crate::{text, FieldErrors, Problem};
use serde_json::{Map, Value};

code_enum! {
    /// The type of a custom field.
    pub enum FieldKind {
        Text = "text", "文本", "Text";
        Number = "number", "数字", "Number";
        Date = "date", "日期", "Date";
        Choice = "choice", "选项", "Choice";
    }
}

/// What validation needs to know of a field definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    pub key: String,
    pub kind: FieldKind,
    pub options: Vec<String>,
    pub required: bool,
}

/// A field key: starts with a lower-case letter, then letters, digits or `_`.
pub fn parse_key(raw: &str) -> Result<String, Problem> {
    let k = raw.trim();
    let ok = (1..=40).contains(&k.len())
        && k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(k.to_string())
    } else {
        Err(Problem::Invalid {
            zh: "字段键应以小写字母开头，只含小写字母、数字和下划线，最多 40 位".into(),
            en: "must start with a lower-case letter and hold only a-z, 0-9 and _ (at most 40)"
                .into(),
        })
    }
}

/// Parses choice options: one per line or comma-separated, blanks dropped.
pub fn parse_options(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for o in raw
        .split(['\n', ',', '，'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !out.iter().any(|x| x == o) {
            out.push(o.chars().take(100).collect());
        }
    }
    out
}

fn parse_value(rule: &FieldRule, v: &Value) -> Result<Option<Value>, Problem> {
    let as_text = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            return Err(Problem::Invalid {
                zh: "值的类型不正确".into(),
                en: "has the wrong type".into(),
            })
        }
    };
    if as_text.trim().is_empty() {
        return Ok(None);
    }
    match rule.kind {
        FieldKind::Text => Ok(text::multiline(&as_text, 2000)?.map(Value::String)),
        FieldKind::Number => {
            let t = as_text.trim();
            let n: f64 = t.parse().map_err(|_| Problem::InvalidNumber)?;
            if !n.is_finite() {
                return Err(Problem::InvalidNumber);
            }
            match t.parse::<i64>() {
                Ok(i) => Ok(Some(Value::from(i))),
                Err(_) => Ok(serde_json::Number::from_f64(n).map(Value::Number)),
            }
        }
        FieldKind::Date => {
            Ok(text::date(&as_text)?.map(|d| Value::String(d.format("%Y-%m-%d").to_string())))
        }
        FieldKind::Choice => {
            let t = as_text.trim();
            if rule.options.iter().any(|o| o == t) {
                Ok(Some(Value::String(t.to_string())))
            } else {
                Err(Problem::InvalidChoice {
                    allowed: rule.options.clone(),
                })
            }
        }
    }
}

/// Validates custom values against the active field rules. Unknown keys are
/// refused; required fields must have a value; values are normalised
/// (numbers as JSON numbers, dates as YYYY-MM-DD). Errors name `custom.KEY`.
pub fn validate(
    rules: &[FieldRule],
    values: &Map<String, Value>,
) -> Result<Map<String, Value>, FieldErrors> {
    let mut e = FieldErrors::new();
    let mut out = Map::new();
    for k in values.keys() {
        if !rules.iter().any(|r| &r.key == k) {
            e.add(format!("custom.{k}"), Problem::NotFound);
        }
    }
    for rule in rules {
        let field = format!("custom.{}", rule.key);
        match values.get(&rule.key).map(|v| parse_value(rule, v)) {
            Some(Ok(Some(v))) => {
                out.insert(rule.key.clone(), v);
            }
            Some(Err(p)) => e.add(field, p),
            Some(Ok(None)) | None if rule.required => e.add(field, Problem::Required),
            _ => {}
        }
    }
    e.into_result().map(|()| out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Vec<FieldRule> {
        vec![
            FieldRule {
                key: "industry".into(),
                kind: FieldKind::Choice,
                options: vec!["零售".into(), "制造".into()],
                required: true,
            },
            FieldRule {
                key: "staff".into(),
                kind: FieldKind::Number,
                options: vec![],
                required: false,
            },
            FieldRule {
                key: "since".into(),
                kind: FieldKind::Date,
                options: vec![],
                required: false,
            },
        ]
    }

    #[test]
    fn valid_values_are_normalised() {
        let v = json!({"industry": "零售", "staff": "42", "since": "2020-01-31"});
        let out = validate(&rules(), v.as_object().unwrap()).unwrap();
        assert_eq!(out["staff"], json!(42));
        assert_eq!(out["industry"], json!("零售"));
    }

    #[test]
    fn problems_are_named() {
        let v = json!({"staff": "many", "since": "31/01/2020", "colour": "red"});
        let e = validate(&rules(), v.as_object().unwrap()).unwrap_err();
        assert_eq!(e.get("custom.industry"), Some(&Problem::Required));
        assert_eq!(e.get("custom.staff"), Some(&Problem::InvalidNumber));
        assert_eq!(e.get("custom.since"), Some(&Problem::InvalidDate));
        assert_eq!(e.get("custom.colour"), Some(&Problem::NotFound));
    }

    #[test]
    fn keys_and_options() {
        assert!(parse_key("industry_2").is_ok());
        assert!(parse_key("2x").is_err());
        assert!(parse_key("Name").is_err());
        assert_eq!(parse_options("a, b，c\n a\n\n"), vec!["a", "b", "c"]);
    }
}
