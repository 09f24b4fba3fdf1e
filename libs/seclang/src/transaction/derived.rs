//! Variables computed only when a rule (or macro) reads them: the clock
//! (`TIME*`, `DURATION`), `REMOTE_HOST`, the `Authorization` header's
//! `AUTH_TYPE` and `REMOTE_USER`, and `FULL_REQUEST` / `FULL_REQUEST_LENGTH`.
//! Nothing here runs for a transaction whose rules do not name them (the
//! one cost every transaction pays is the monotonic clock read for DURATION
//! in [`Transaction::new`]).

use super::vars::{Key, Target};
use super::{Bytes, Transaction};
use crate::variables::VarKind;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Year, month (1-12) and day (1-31) of a day counted from 1970-01-01
/// (proleptic Gregorian calendar; Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The wall clock, seconds since 1970 (UTC), read anew for each `TIME*`
/// value as ModSecurity v3 does. (Taking it once per transaction would cost
/// every transaction a clock read, and caching the first read would need a
/// cell in the transaction: interior mutability there makes the hot `&self`
/// paths measurably slower.)
fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The value of a `TIME*` variable at `epoch` (seconds since 1970, UTC), in
/// Coraza's formats: TIME `hh:mm:ss`; TIME_HOUR, TIME_MIN, TIME_SEC two
/// digits; TIME_DAY 1-31 and TIME_MON 1-12 without padding; TIME_WDAY 0-6
/// with 0 = Sunday; TIME_YEAR four digits; TIME_EPOCH seconds.
pub(crate) fn time_value(kind: VarKind, epoch: i64) -> Option<String> {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let (y, mo, d) = civil_from_days(days);
    Some(match kind {
        VarKind::Time => format!("{h:02}:{mi:02}:{s:02}"),
        VarKind::TimeEpoch => epoch.to_string(),
        VarKind::TimeDay => d.to_string(),
        VarKind::TimeHour => format!("{h:02}"),
        VarKind::TimeMin => format!("{mi:02}"),
        VarKind::TimeSec => format!("{s:02}"),
        VarKind::TimeMon => mo.to_string(),
        // 1970-01-01 was a Thursday.
        VarKind::TimeWday => (days + 4).rem_euclid(7).to_string(),
        VarKind::TimeYear => format!("{y:04}"),
        _ => return None,
    })
}

impl Transaction<'_> {
    /// Appends the value of a derived variable to `out` (nothing for any
    /// other variable). Cold and out of line: the CRS reads none of these,
    /// so the hot target resolution stays as small as before.
    #[cold]
    #[inline(never)]
    pub(crate) fn derived_into(&self, kind: VarKind, out: &mut Vec<Target<'_>>) {
        use VarKind::*;
        let value: Option<Vec<u8>> = match kind {
            Time | TimeEpoch | TimeDay | TimeHour | TimeMin | TimeSec | TimeMon | TimeWday
            | TimeYear => time_value(kind, now_epoch()).map(String::into_bytes),
            Duration => Some(self.started.elapsed().as_micros().to_string().into_bytes()),
            RemoteHost => self.scalars.get(&RemoteAddr).map(|v| v.to_vec()),
            AuthType => self.authorization().and_then(|a| {
                let scheme = a.split(|&c| c == b' ').next().unwrap_or(&[]);
                (!scheme.is_empty()).then(|| scheme.to_vec())
            }),
            RemoteUser => self.authorization().and_then(|a| basic_user(&a)),
            FullRequest => Some(self.full_request()),
            FullRequestLength => Some(self.full_request_length().to_string().into_bytes()),
            _ => None,
        };
        if let Some(v) = value {
            out.push(Target {
                kind,
                key: Key::None,
                value: Rc::from(v),
            });
        }
    }

    /// The first `Authorization` request header.
    fn authorization(&self) -> Option<Bytes> {
        self.colls
            .get(&VarKind::RequestHeaders)?
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(b"authorization"))
            .map(|(_, v)| v.clone())
    }

    /// The request headers as `Name: value` lines.
    fn header_lines(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.colls
            .get(&VarKind::RequestHeaders)
            .into_iter()
            .flatten()
            .map(|(n, v)| (&n[..], &v[..]))
    }

    /// FULL_REQUEST: the request line, `\n`, each header as `Name: value\n`,
    /// a blank line (`\n`), then the request body as received so far.
    fn full_request(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.full_request_length());
        if let Some(line) = self.scalars.get(&VarKind::RequestLine) {
            out.extend_from_slice(line);
        }
        out.push(b'\n');
        for (n, v) in self.header_lines() {
            out.extend_from_slice(n);
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.request_body);
        out
    }

    /// The length of [`Self::full_request`], without building it.
    fn full_request_length(&self) -> usize {
        let line = self
            .scalars
            .get(&VarKind::RequestLine)
            .map_or(0, |l| l.len());
        let headers: usize = self
            .header_lines()
            .map(|(n, v)| n.len() + v.len() + 3)
            .sum();
        line + 1 + headers + 1 + self.request_body.len()
    }
}

/// REMOTE_USER as ModSecurity v3 derives it: from `Basic <base64>` (the
/// scheme as written), the decoded credentials' part before the first `:`;
/// none for other schemes, undecodable credentials or no `:`.
fn basic_user(auth: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let b64 = auth.strip_prefix(b"Basic ")?;
    let creds = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let colon = creds.iter().position(|&c| c == b':')?;
    Some(creds[..colon].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_fields() {
        // 2026-12-07 00:36:30 UTC, a Monday.
        let t = 1_796_603_790;
        let v = |k| time_value(k, t).unwrap();
        assert_eq!(v(VarKind::Time), "00:36:30");
        assert_eq!(v(VarKind::TimeYear), "2026");
        assert_eq!(v(VarKind::TimeMon), "12");
        assert_eq!(v(VarKind::TimeDay), "7");
        assert_eq!(v(VarKind::TimeWday), "1");
        assert_eq!(v(VarKind::TimeHour), "00");
        // 1970-01-01 (Thursday), 2000-02-29 (Tuesday), 2024-03-01 (Friday) 23:59:59.
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(time_value(VarKind::TimeWday, 0).unwrap(), "4");
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(time_value(VarKind::TimeWday, 11_016 * 86_400).unwrap(), "2");
        let t = 1_709_337_599;
        assert_eq!(time_value(VarKind::Time, t).unwrap(), "23:59:59");
        assert_eq!(time_value(VarKind::TimeMon, t).unwrap(), "3");
        assert_eq!(time_value(VarKind::TimeDay, t).unwrap(), "1");
        assert_eq!(time_value(VarKind::TimeWday, t).unwrap(), "5");
    }

    #[test]
    fn basic_credentials() {
        assert_eq!(basic_user(b"Basic dXNlcjpwYXNz").unwrap(), b"user");
        assert_eq!(basic_user(b"Basic OnBhc3M=").unwrap(), b"");
        assert!(basic_user(b"Basic dXNlcg==").is_none());
        assert!(basic_user(b"Bearer dXNlcjpwYXNz").is_none());
        assert!(basic_user(b"Basic !!!").is_none());
    }
}
