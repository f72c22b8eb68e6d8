//! Business time: the working hours of working days in the business time
//! zone, with official holidays and make-up working days (调休) loaded from a
//! calendar, and pauses (a ticket waiting on the customer stops the clock).
//! Service-level targets ("first response within 4 business hours") are
//! measured with it.

use crate::code_enum;
use crate::{FieldErrors, Problem};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeMap;

code_enum! {
    /// How a calendar entry changes a date: an official holiday (休) or a
    /// make-up working day on a weekend (班).
    pub enum DayKind {
        Holiday = "holiday", "休", "Holiday";
        Workday = "workday", "班", "Make-up workday";
    }
}

/// An instant range `[start, end)`; `end: None` is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
}

/// Working days and hours of a business.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    pub open: NaiveTime,
    pub close: NaiveTime,
    /// Holidays and make-up working days; other dates follow the week
    /// (Monday to Friday work).
    pub overrides: BTreeMap<NaiveDate, DayKind>,
}

/// No working time is found this far ahead (a calendar of only holidays).
const HORIZON_DAYS: u32 = 366 * 5;

impl Calendar {
    /// Monday to Friday, 09:00-18:00 in `tz`, no holidays yet.
    pub fn new(tz: Tz) -> Calendar {
        Calendar {
            tz,
            open: NaiveTime::from_hms_opt(9, 0, 0).expect("valid"),
            close: NaiveTime::from_hms_opt(18, 0, 0).expect("valid"),
            overrides: BTreeMap::new(),
        }
    }

    /// Sets the daily hours; the day must open before it closes.
    pub fn with_hours(mut self, open: NaiveTime, close: NaiveTime) -> Result<Calendar, Problem> {
        if open >= close {
            return Err(Problem::Invalid {
                zh: "上班时间必须早于下班时间".into(),
                en: "opening must be before closing".into(),
            });
        }
        self.open = open;
        self.close = close;
        Ok(self)
    }

    pub fn with_days(mut self, days: impl IntoIterator<Item = (NaiveDate, DayKind)>) -> Calendar {
        self.overrides.extend(days);
        self
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.overrides.get(&d) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The working hours of a date as UTC instants, if it is a working day.
    fn window(&self, d: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(d) {
            return None;
        }
        let open = self
            .tz
            .from_local_datetime(&d.and_time(self.open))
            .earliest()?
            .with_timezone(&Utc);
        let close = self
            .tz
            .from_local_datetime(&d.and_time(self.close))
            .latest()?
            .with_timezone(&Utc);
        (close > open).then_some((open, close))
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The stretches of working time of a date, less the pauses (sorted,
    /// merged, as from [`merge`]).
    fn free(
        &self,
        d: NaiveDate,
        pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let Some((mut s, e)) = self.window(d) else {
            return vec![];
        };
        let mut out = vec![];
        for &(ps, pe) in pauses {
            if pe <= s || ps >= e {
                continue;
            }
            if ps > s {
                out.push((s, ps));
            }
            s = s.max(pe);
            if s >= e {
                break;
            }
        }
        if s < e {
            out.push((s, e));
        }
        out
    }

    /// Business seconds in `[a, b)`, not counting pauses.
    pub fn business_seconds(&self, a: DateTime<Utc>, b: DateTime<Utc>, pauses: &[Pause]) -> i64 {
        if b <= a {
            return 0;
        }
        let pauses = merge(pauses, b);
        let mut total = 0;
        let mut d = self.local_date(a);
        let last = self.local_date(b);
        while d <= last {
            for (s, e) in self.free(d, &pauses) {
                let (s, e) = (s.max(a), e.min(b));
                if e > s {
                    total += (e - s).num_seconds();
                }
            }
            d = d.succ_opt().expect("date in range");
        }
        total
    }

    /// The instant at which `secs` business seconds will have passed since
    /// `start`, given the pauses. `None` while a pause is still running (the
    /// clock is stopped, so nothing is due) or when the calendar has no
    /// working time ahead.
    pub fn due(&self, start: DateTime<Utc>, secs: i64, pauses: &[Pause]) -> Option<DateTime<Utc>> {
        if pauses.iter().any(|p| p.end.is_none()) {
            return None;
        }
        if secs <= 0 {
            return Some(start);
        }
        let far = start + Duration::days(HORIZON_DAYS as i64 + 1);
        let pauses = merge(pauses, far);
        let mut remaining = secs;
        let mut d = self.local_date(start);
        for _ in 0..HORIZON_DAYS {
            for (s, e) in self.free(d, &pauses) {
                let s = s.max(start);
                if e <= s {
                    continue;
                }
                let available = (e - s).num_seconds();
                if remaining <= available {
                    return Some(s + Duration::seconds(remaining));
                }
                remaining -= available;
            }
            d = d.succ_opt()?;
        }
        None
    }
}

/// Pauses sorted and merged into disjoint ranges; a running pause counts
/// until `until`.
fn merge(pauses: &[Pause], until: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut v: Vec<(DateTime<Utc>, DateTime<Utc>)> = pauses
        .iter()
        .map(|p| (p.start, p.end.unwrap_or(until)))
        .filter(|(s, e)| e > s)
        .collect();
    v.sort();
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Reads a holiday calendar: CSV lines `date,kind` (a header line is
/// allowed), dates as YYYY-MM-DD or YYYY/MM/DD, kind `holiday`/`休` or
/// `workday`/`班`. Every bad line is reported as `line N`.
pub fn parse_calendar(text: &str) -> Result<Vec<(NaiveDate, DayKind)>, FieldErrors> {
    let mut out: BTreeMap<NaiveDate, (DayKind, usize)> = BTreeMap::new();
    let mut e = FieldErrors::new();
    for (i, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cells = line
            .split([',', '\t', ';'])
            .map(|c| c.trim().trim_matches('"'));
        let (date, kind) = (cells.next().unwrap_or(""), cells.next().unwrap_or(""));
        if n == 1 && date.eq_ignore_ascii_case("date") || date == "日期" {
            continue;
        }
        let field = format!("line {n}");
        let parsed_date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(date, "%Y/%m/%d"));
        match (parsed_date, DayKind::parse(kind)) {
            (Ok(d), Ok(k)) => {
                if let Some((_, first)) = out.insert(d, (k, n)) {
                    e.add(
                        field,
                        Problem::Invalid {
                            zh: format!("日期 {d} 与第 {first} 行重复"),
                            en: format!("{d} repeats line {first}"),
                        },
                    );
                }
            }
            (Err(_), _) => e.add(field, Problem::InvalidDate),
            (_, Err(p)) => e.add(field, p),
        }
    }
    e.into_result()?;
    Ok(out.into_iter().map(|(d, (k, _))| (d, k)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shanghai() -> Calendar {
        Calendar::new(chrono_tz::Asia::Shanghai)
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const HOUR: i64 = 3600;

    #[test]
    fn within_one_day_and_across_the_night() {
        let c = shanghai();
        // Tuesday 2026-11-24, 10:00 in Shanghai: 4 h later is 14:00.
        assert_eq!(
            c.due(at("2026-11-24T10:00:00+08:00"), 4 * HOUR, &[]),
            Some(at("2026-11-24T14:00:00+08:00"))
        );
        // 16:00 + 4 h: two today, two tomorrow from 09:00.
        assert_eq!(
            c.due(at("2026-11-24T16:00:00+08:00"), 4 * HOUR, &[]),
            Some(at("2026-11-25T11:00:00+08:00"))
        );
        // Created at night: the clock starts at 09:00.
        assert_eq!(
            c.due(at("2026-11-24T23:30:00+08:00"), HOUR, &[]),
            Some(at("2026-11-25T10:00:00+08:00"))
        );
        // Ending exactly at closing time stays on that day.
        assert_eq!(
            c.due(at("2026-11-24T09:00:00+08:00"), 9 * HOUR, &[]),
            Some(at("2026-11-24T18:00:00+08:00"))
        );
    }

    #[test]
    fn weekends_holidays_and_make_up_days() {
        // Friday 16:00 + 4 h → Monday 11:00.
        let c = shanghai();
        assert_eq!(
            c.due(at("2026-11-27T16:00:00+08:00"), 4 * HOUR, &[]),
            Some(at("2026-11-30T11:00:00+08:00"))
        );
        // National Day 2025: 1-8 Oct off, Sunday 28 Sep and Saturday 11 Oct worked.
        let days = parse_calendar("date,kind\n2025-09-28,班\n2025-10-01,休\n2025-10-02,休\n2025-10-03,休\n2025-10-06,休\n2025-10-07,休\n2025-10-08,holiday\n2025-10-11,workday\n").unwrap();
        let c = shanghai().with_days(days);
        assert!(c.is_working_day(date("2025-09-28")), "make-up Sunday");
        assert!(!c.is_working_day(date("2025-10-01")));
        // Tuesday 30 Sep 17:00 + 2 h: one hour that day, the next on Thursday 9 Oct.
        assert_eq!(
            c.due(at("2025-09-30T17:00:00+08:00"), 2 * HOUR, &[]),
            Some(at("2025-10-09T10:00:00+08:00"))
        );
        // The make-up Saturday counts.
        assert_eq!(
            c.due(at("2025-10-10T17:00:00+08:00"), 2 * HOUR, &[]),
            Some(at("2025-10-11T10:00:00+08:00"))
        );
        assert_eq!(
            c.business_seconds(
                at("2025-09-30T09:00:00+08:00"),
                at("2025-10-10T09:00:00+08:00"),
                &[]
            ),
            9 * HOUR * 2,
            "30 Sep and 9 Oct"
        );
    }

    #[test]
    fn pauses_stop_the_clock() {
        let c = shanghai();
        let start = at("2026-11-24T10:00:00+08:00");
        let waiting = Pause {
            start: at("2026-11-24T11:00:00+08:00"),
            end: Some(at("2026-11-24T13:00:00+08:00")),
        };
        assert_eq!(
            c.due(start, 4 * HOUR, &[waiting]),
            Some(at("2026-11-24T16:00:00+08:00"))
        );
        assert_eq!(
            c.business_seconds(start, at("2026-11-24T16:00:00+08:00"), &[waiting]),
            4 * HOUR
        );
        let open = Pause {
            start: at("2026-11-24T11:00:00+08:00"),
            end: None,
        };
        assert_eq!(
            c.due(start, 4 * HOUR, &[open]),
            None,
            "nothing is due while waiting on the customer"
        );
        assert_eq!(
            c.business_seconds(start, at("2026-11-24T16:00:00+08:00"), &[open]),
            HOUR
        );
    }

    #[test]
    fn calendar_files_report_every_bad_line() {
        let e = parse_calendar(
            "date,kind\n2026-02-30,休\n2026-10-01,vacation\n2026-10-02,休\n2026-10-02,班\n",
        )
        .unwrap_err();
        assert_eq!(e.get("line 2"), Some(&Problem::InvalidDate));
        assert!(matches!(
            e.get("line 3"),
            Some(Problem::InvalidChoice { .. })
        ));
        assert!(matches!(e.get("line 5"), Some(Problem::Invalid { .. })));
        assert!(e.get("line 4").is_none());
        let ok = parse_calendar("\u{feff}2026/10/01\tholiday\r\n# comment\n\n").unwrap();
        assert_eq!(ok, vec![(date("2026-10-01"), DayKind::Holiday)]);
        assert!(shanghai()
            .with_hours(
                NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
                NaiveTime::from_hms_opt(9, 0, 0).unwrap()
            )
            .is_err());
    }

    /// The reference: walk minute by minute.
    fn is_business_minute(c: &Calendar, t: DateTime<Utc>, pauses: &[Pause]) -> bool {
        let local = t.with_timezone(&c.tz);
        let time = local.time();
        c.is_working_day(local.date_naive())
            && time >= c.open
            && time < c.close
            && !pauses
                .iter()
                .any(|p| t >= p.start && p.end.is_none_or(|e| t < e))
    }

    fn reference_due(
        c: &Calendar,
        start: DateTime<Utc>,
        minutes: i64,
        pauses: &[Pause],
    ) -> DateTime<Utc> {
        if minutes == 0 {
            return start;
        }
        let mut t = start;
        let mut n = 0;
        loop {
            if is_business_minute(c, t, pauses) {
                n += 1;
                if n == minutes {
                    return t + Duration::minutes(1);
                }
            }
            t += Duration::minutes(1);
        }
    }

    fn reference_between(
        c: &Calendar,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
        pauses: &[Pause],
    ) -> i64 {
        let mut t = a;
        let mut n = 0;
        while t < b {
            if is_business_minute(c, t, pauses) {
                n += 60;
            }
            t += Duration::minutes(1);
        }
        n
    }

    fn base() -> DateTime<Utc> {
        at("2026-09-20T00:00:00+08:00")
    }

    prop_compose! {
        fn calendars()(
            tz in prop_oneof![Just(chrono_tz::Asia::Shanghai), Just(chrono_tz::Europe::Berlin)],
            open_h in 6u32..11, len_h in 1u32..12,
            days in proptest::collection::vec((0i64..60, any::<bool>()), 0..12),
        ) -> Calendar {
            let first = date("2026-09-20");
            let days = days.into_iter().map(|(d, holiday)| (first + Duration::days(d), if holiday { DayKind::Holiday } else { DayKind::Workday }));
            Calendar::new(tz)
                .with_hours(NaiveTime::from_hms_opt(open_h, 0, 0).unwrap(), NaiveTime::from_hms_opt((open_h + len_h).min(23), 30, 0).unwrap())
                .unwrap()
                .with_days(days)
        }
    }

    prop_compose! {
        fn pauses()(raw in proptest::collection::vec((0i64..40 * 1440, 1i64..3 * 1440), 0..3)) -> Vec<Pause> {
            raw.into_iter().map(|(s, len)| Pause { start: base() + Duration::minutes(s), end: Some(base() + Duration::minutes(s + len)) }).collect()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn due_matches_the_minute_by_minute_reference(c in calendars(), start in 0i64..30 * 1440, minutes in 0i64..2000, ps in pauses()) {
            let start = base() + Duration::minutes(start);
            prop_assert_eq!(c.due(start, minutes * 60, &ps), Some(reference_due(&c, start, minutes, &ps)));
        }

        #[test]
        fn elapsed_matches_the_reference(c in calendars(), a in 0i64..30 * 1440, len in 0i64..8 * 1440, ps in pauses()) {
            let a = base() + Duration::minutes(a);
            let b = a + Duration::minutes(len);
            prop_assert_eq!(c.business_seconds(a, b, &ps), reference_between(&c, a, b, &ps));
        }

        #[test]
        fn due_and_elapsed_agree(c in calendars(), start in 0i64..30 * 1440, secs in 0i64..100_000, ps in pauses()) {
            let start = base() + Duration::minutes(start);
            let due = c.due(start, secs, &ps).unwrap();
            prop_assert_eq!(c.business_seconds(start, due, &ps), secs);
        }
    }
}
