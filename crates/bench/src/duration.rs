//! Durations on the command line: `30s`, `500ms`, `2m`, `1m30s`, or plain seconds (`20`).

use std::time::Duration;

/// Parses `30s`, `500ms`, `2m`, `1h`, `1m30s`, `1.5s` or a bare number of seconds.
///
/// ```
/// use std::time::Duration;
/// use bench::duration::parse_duration;
///
/// assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration; write e.g. 30s, 500ms or 2m".into());
    }
    if let Ok(secs) = text.parse::<f64>() {
        return seconds(secs, text);
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}`: a number needs a unit (ms, s, m, h)"))?;
        if number_len == 0 {
            return Err(format!(
                "`{text}` is not a duration; write e.g. 30s, 500ms or 2m"
            ));
        }
        let value: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("`{text}` has a malformed number"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("`{text}`: unknown unit `{unit}` (use ms, s, m, h)")),
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    seconds(total, text)
}

fn seconds(secs: f64, text: &str) -> Result<Duration, String> {
    if secs.is_finite() && secs >= 0.0 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(format!("`{text}` is not a non-negative duration"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_combine_and_bare_numbers_are_seconds() {
        assert_eq!(parse_duration("20"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn unknown_units_and_garbage_are_rejected_with_a_hint() {
        assert!(parse_duration("5d").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-3").is_err());
    }
}
