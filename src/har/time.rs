//! RFC 3339 timestamps as browsers write `startedDateTime`: Chrome `…T10:00:00.123Z`, Firefox
//! `…T12:00:00.123+02:00`, Safari with more fractional digits. Parsed by hand because
//! `humantime` accepts only UTC (`Z`) and we must honour offsets.

/// Milliseconds since the Unix epoch, or `None` when `s` is not a timestamp we accept.
/// Accepts `T`, `t` or a space between date and time, any number of fractional digits
/// (truncated to milliseconds), `Z`, `±HH:MM`, `±HHMM` or no offset (read as UTC).
/// Years 1970–9999 only, so the result always formats back as RFC 3339.
pub fn parse_rfc3339_ms(s: &str) -> Option<u64> {
    let b = s.trim().as_bytes();
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = digits(b, 17, 2)?;
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let (millis, rest) = fraction(&b[19..])?;
    let offset_s = offset_seconds(rest)?;
    let days = days_from_civil(year, month, day);
    let local_s = days * 86_400 + hour * 3_600 + minute * 60 + second;
    let utc_ms = (local_s - offset_s) * 1_000 + millis;
    u64::try_from(utc_ms).ok()
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = b.get(at..at + n)?;
    part.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn expect(b: &[u8], at: usize, c: u8) -> Option<()> {
    (b.get(at) == Some(&c)).then_some(())
}

/// The milliseconds of an optional `.fraction`, and what follows it.
fn fraction(b: &[u8]) -> Option<(i64, &[u8])> {
    let Some(rest) = b.strip_prefix(b".") else {
        return Some((0, b));
    };
    let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let millis = rest[..n]
        .iter()
        .chain(std::iter::repeat(&b'0'))
        .take(3)
        .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
    Some((millis, &rest[n..]))
}

/// Seconds east of UTC.
fn offset_seconds(b: &[u8]) -> Option<i64> {
    let sign = match b.first() {
        None => return Some(0),
        Some(b'Z' | b'z') if b.len() == 1 => return Some(0),
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    let (h, m) = match b.len() {
        6 if b[3] == b':' => (digits(b, 1, 2)?, digits(b, 4, 2)?),
        5 => (digits(b, 1, 2)?, digits(b, 3, 2)?),
        3 => (digits(b, 1, 2)?, 0),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 3_600 + m * 60))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_utc_with_millis() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.500Z"), Some(1_500));
        assert_eq!(
            parse_rfc3339_ms("2024-05-01T10:00:00.123Z"),
            Some(1_714_557_600_123)
        );
    }

    #[test]
    fn firefox_offset_is_subtracted() {
        assert_eq!(
            parse_rfc3339_ms("2024-05-01T12:00:00.123+02:00"),
            Some(1_714_557_600_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2024-05-01T05:30:00.123-0430"),
            Some(1_714_557_600_123)
        );
    }

    #[test]
    fn long_fractions_truncate_to_millis() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00.123999Z"), Some(123));
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00.5Z"), Some(500));
    }

    #[test]
    fn missing_offset_reads_as_utc() {
        assert_eq!(parse_rfc3339_ms("1970-01-02 00:00:00"), Some(86_400_000));
    }

    #[test]
    fn leap_day_is_valid_only_in_leap_years() {
        assert!(parse_rfc3339_ms("2024-02-29T00:00:00Z").is_some());
        assert!(parse_rfc3339_ms("2023-02-29T00:00:00Z").is_none());
    }

    #[test]
    fn garbage_and_out_of_range_are_rejected() {
        for s in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00+25:00",
            "2024-05-01T10:00:00Zjunk",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+01:00",
            "2024-05-01T10:00:0",
            "２０２４-05-01T10:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_ms(s), None, "{s}");
        }
    }
}
