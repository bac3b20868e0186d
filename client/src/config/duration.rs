//! Go duration strings (`2m`, `30s`, `1h30m`, `500ms`, `1.5h`) → whole seconds.
//!
//! Flyte's Go config keys (`pkceConfig.timeout`, `deviceFlowConfig.*`) use `time.Duration`
//! syntax. A bare integer (`30`) is also accepted and means seconds. Results are rounded *up*
//! to whole seconds so that `500ms` never becomes a zero poll interval.

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Parses a Go duration (or bare integer seconds) into whole seconds, rounding up.
pub(crate) fn parse_secs(raw: &str) -> Result<u64, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s
            .parse::<u64>()
            .map_err(|_| "duration is too large".to_string());
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.starts_with('-') {
        return Err("a duration cannot be negative".into());
    }
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after_dot.len());
            frac_part = &after_dot[..frac_len];
            rest = &after_dot[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(format!("expected a number in duration {s:?}"));
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = unit_nanos(&rest[..unit_len]).ok_or_else(|| {
            format!("missing or unknown unit in duration {s:?} (use ns, us, ms, s, m, h)")
        })?;
        rest = &rest[unit_len..];
        nanos = add_term(nanos, int_part, frac_part, unit).ok_or("duration is too large")?;
    }
    let secs = nanos.div_ceil(NANOS_PER_SEC);
    u64::try_from(secs).map_err(|_| "duration is too large".to_string())
}

/// A duration given on the command line (`--min-valid 90`, `5m`, `1m30s`): the same syntax
/// as the config file's duration keys, so one value works in both places.
pub fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    parse_secs(raw)
        .map(std::time::Duration::from_secs)
        .map_err(|why| format!("invalid duration `{}`: {why}", raw.trim()))
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3600 * NANOS_PER_SEC,
        _ => return None,
    })
}

fn add_term(total: u128, int_part: &str, frac_part: &str, unit: u128) -> Option<u128> {
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let mut sum = int.checked_mul(unit)?;
    // Digits beyond 18 are below a nanosecond for any unit here; ignore them.
    let frac_digits = &frac_part[..frac_part.len().min(18)];
    if !frac_digits.is_empty() {
        let frac: u128 = frac_digits.parse().ok()?;
        let scale = 10u128.checked_pow(u32::try_from(frac_digits.len()).ok()?)?;
        sum = sum.checked_add(frac.checked_mul(unit)? / scale)?;
    }
    total.checked_add(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_secs("2m"), Ok(120));
        assert_eq!(parse_secs("30s"), Ok(30));
        assert_eq!(parse_secs("1h30m"), Ok(5400));
        assert_eq!(parse_secs("1.5h"), Ok(5400));
        assert_eq!(parse_secs("500ms"), Ok(1));
        assert_eq!(parse_secs("1500ms"), Ok(2));
        assert_eq!(parse_secs("10m0s"), Ok(600));
        assert_eq!(parse_secs("1µs"), Ok(1));
        assert_eq!(parse_secs("0s"), Ok(0));
        assert_eq!(parse_secs("+5s"), Ok(5));
        assert_eq!(parse_secs(" 45 "), Ok(45));
        assert_eq!(parse_secs("0"), Ok(0));
    }

    #[test]
    fn bad_durations() {
        for bad in [
            "", "s", "5x", "1h30", "-5s", "abc", "1..5s", "5 s", "1e3s", ".",
        ] {
            assert!(parse_secs(bad).is_err(), "{bad:?}");
        }
        assert!(parse_secs("99999999999999999999h").is_err());
    }
}
