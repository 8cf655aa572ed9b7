//! Decoding of venue JSON field values into exact engine types: decimal numbers (JSON numbers or
//! strings) into fixed-point integers, ISO-8601 UTC timestamps into unix milliseconds, and the
//! Gamma habit of JSON arrays encoded inside a string (`"[\"Up\", \"Down\"]"`).
//!
//! Invariants: no f64 arithmetic ever touches a value. A JSON number is turned back into its
//! shortest decimal text (serde_json prints the shortest string that round-trips the parsed
//! double, i.e. the literal the venue sent, e.g. `0.07`) and that text is parsed exactly by
//! [`crate::fixed::parse_fixed`]; anything with more digits than the scale, an exponent, a sign
//! where none is allowed, or a non-UTC timestamp is refused (`None`), never rounded.

use serde_json::Value;

use crate::fixed::parse_fixed;

/// `value × 10^scale` of a JSON number or decimal string, exactly; `None` when it is neither or
/// not representable at that scale.
pub fn fixed(value: &Value, scale: u32) -> Option<i64> {
    match value {
        Value::Number(n) => parse_fixed(n.to_string().as_bytes(), scale).ok(),
        Value::String(s) => parse_fixed(s.trim().as_bytes(), scale).ok(),
        _ => None,
    }
}

/// A non-negative integer given as a JSON integer or an integer string.
pub fn unsigned(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            // Integral floats such as `5.0`.
            parse_fixed(n.to_string().as_bytes(), 0)
                .ok()
                .and_then(|v| u64::try_from(v).ok())
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON boolean (Gamma never sends them as strings; a string is refused).
pub fn boolean(value: &Value) -> Option<bool> {
    value.as_bool()
}

/// An array of strings given either as a JSON array or as a string holding one (`clobTokenIds`,
/// `outcomes`, `outcomePrices`).
pub fn string_array(value: &Value) -> Option<Vec<String>> {
    let parsed;
    let array = match value {
        Value::Array(a) => a,
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).ok()?;
            parsed.as_array()?
        }
        _ => return None,
    };
    array
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

/// Unix milliseconds of an ISO-8601 UTC timestamp: `YYYY-MM-DD[T| ]HH:MM:SS[.fff...]` followed by
/// `Z`, `+00`, `+00:00` or `+0000`. Fraction digits beyond milliseconds are truncated (only
/// listing times carry them). Other offsets are refused (the venue sends UTC).
pub fn iso_utc_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            part.iter()
                .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0')),
        )
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"T ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = b.get(19..)?;
    let mut millis = 0i64;
    if let Some((b'.', frac)) = rest.split_first() {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, &d) in frac.iter().take(digits).enumerate() {
            let d = i64::from(d - b'0');
            if i < 3 {
                millis = millis * 10 + d;
            }
        }
        for _ in digits..3 {
            millis *= 10;
        }
        rest = frac.get(digits..)?;
    }
    if !matches!(rest, b"Z" | b"+00" | b"+00:00" | b"+0000") {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso_utc_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(iso_utc_ms("2026-06-08T00:00:00Z"), Some(1_780_876_800_000));
        assert_eq!(iso_utc_ms("2026-06-07T23:55:00Z"), Some(1_780_876_500_000));
        assert_eq!(
            iso_utc_ms("2026-06-07T00:02:58.730402Z"),
            Some(1_780_790_578_730)
        );
        assert_eq!(
            iso_utc_ms("2026-06-08 00:00:16+00"),
            Some(1_780_876_816_000)
        );
        assert_eq!(
            iso_utc_ms("2024-02-29T12:00:00+00:00"),
            Some(1_709_208_000_000)
        );
        assert_eq!(iso_utc_ms("2023-02-29T12:00:00Z"), None);
        assert_eq!(iso_utc_ms("2026-06-08T00:00:00+02:00"), None);
        assert_eq!(iso_utc_ms("2026-06-08T00:00:00"), None);
        assert_eq!(iso_utc_ms("2026-06-08T24:00:00Z"), None);
        assert_eq!(iso_utc_ms("2026-06-08T00:00:00.Z"), None);
        assert_eq!(iso_utc_ms(""), None);
    }

    #[test]
    fn numbers_are_exact() {
        let v: Value =
            serde_json::from_str("[0.07, 0.072, 0.001, 5, \"0.2\", 1e-7, -0.01]").expect("json");
        let a = v.as_array().expect("array");
        assert_eq!(fixed(&a[0], 6), Some(70_000));
        assert_eq!(fixed(&a[1], 6), Some(72_000));
        assert_eq!(fixed(&a[2], 6), Some(1_000));
        assert_eq!(fixed(&a[3], 6), Some(5_000_000));
        assert_eq!(fixed(&a[4], 6), Some(200_000));
        assert_eq!(fixed(&a[5], 6), None);
        assert_eq!(fixed(&a[6], 6), Some(-10_000));
        assert_eq!(unsigned(&a[3]), Some(5));
        assert_eq!(unsigned(&a[0]), None);
    }

    #[test]
    fn arrays_in_strings() {
        let v = Value::String("[\"Up\", \"Down\"]".into());
        assert_eq!(string_array(&v), Some(vec!["Up".into(), "Down".into()]));
        assert_eq!(string_array(&Value::String("[1, 2]".into())), None);
        assert_eq!(string_array(&Value::String("not json".into())), None);
    }
}
