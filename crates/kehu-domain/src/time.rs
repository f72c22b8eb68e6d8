//! Instants are kept in UTC as milliseconds since the epoch in both
//! databases (one portable column type, ordered correctly by both); they are
//! shown in the business time zone.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_millis(Utc::now().timestamp_millis()).expect("now is in range")
    }

    pub fn from_millis(ms: i64) -> Option<Self> {
        DateTime::from_timestamp_millis(ms).map(Self)
    }

    pub fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    pub fn utc(self) -> DateTime<Utc> {
        self.0
    }

    pub fn rfc3339(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, false)
    }

    pub fn minus_days(self, days: i64) -> Self {
        Self(self.0 - chrono::Duration::days(days))
    }

    pub fn plus_days(self, days: i64) -> Self {
        Self(self.0 + chrono::Duration::days(days))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(d: DateTime<Utc>) -> Self {
        Self::from_millis(d.timestamp_millis()).expect("in range")
    }
}

impl TryFrom<i64> for Timestamp {
    type Error = String;
    fn try_from(ms: i64) -> Result<Self, String> {
        Self::from_millis(ms).ok_or_else(|| format!("timestamp out of range: {ms}"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|d| Timestamp::from(d.with_timezone(&Utc)))
            .map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .into()
    }
}
impl utoipa::ToSchema for Timestamp {}

/// A time as people write it in files and forms, read in the business time
/// zone `zone` unless it carries an offset: `2024-03-05`, `2024/3/5 14:30`,
/// `2024年3月5日 14:30:15`, `2024.03.05T14:30`, or RFC 3339. A date alone is
/// midnight of that day.
pub fn parse_local(raw: &str, zone: chrono_tz::Tz) -> Result<Timestamp, crate::Problem> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone};
    let s = crate::text::half_width(raw);
    let s = s.trim();
    if s.is_empty() {
        return Err(crate::Problem::Required);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(Timestamp::from(d.with_timezone(&Utc)));
    }
    let s: String = s
        .replace(['/', '.', '年', '月'], "-")
        .replace(['日', 'T'], " ");
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let local = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .ok_or(crate::Problem::InvalidDate)?;
    zone.from_local_datetime(&local)
        .earliest()
        .map(|t| Timestamp::from(t.with_timezone(&Utc)))
        .ok_or(crate::Problem::InvalidDate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_as_written_in_files() {
        let sh = chrono_tz::Asia::Shanghai;
        let t = |s: &str| parse_local(s, sh).map(Timestamp::rfc3339);
        assert_eq!(
            t("2024-03-05 14:30").unwrap(),
            "2024-03-05T06:30:00.000+00:00"
        );
        assert_eq!(
            t("2024/3/5 14:30:15").unwrap(),
            "2024-03-05T06:30:15.000+00:00"
        );
        assert_eq!(
            t("2024年3月5日 14:30").unwrap(),
            "2024-03-05T06:30:00.000+00:00"
        );
        assert_eq!(
            t("２０２４.03.05").unwrap(),
            "2024-03-04T16:00:00.000+00:00"
        );
        assert_eq!(
            t("2024-03-05T14:30:00+00:00").unwrap(),
            "2024-03-05T14:30:00.000+00:00"
        );
        assert_eq!(t(""), Err(crate::Problem::Required));
        assert_eq!(t("2024-02-30"), Err(crate::Problem::InvalidDate));
        assert_eq!(t("昨天"), Err(crate::Problem::InvalidDate));
        assert_eq!(t("2024-03-05 25:00"), Err(crate::Problem::InvalidDate));
    }

    #[test]
    fn round_trips_through_millis_and_json() {
        let t = Timestamp::from_millis(1_700_000_000_123).unwrap();
        assert_eq!(Timestamp::try_from(t.millis()).unwrap(), t);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2023-11-14T22:13:20.123+00:00\"");
        let back: Timestamp = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        let other: Timestamp = serde_json::from_str("\"2023-11-15T06:13:20.123+08:00\"").unwrap();
        assert_eq!(other, t);
    }
}
