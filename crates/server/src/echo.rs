//! Bounded echoes of client input: an error message or a log line quotes at most
//! [`MAX_ECHO_CHARS`] characters of what a client sent, then says how long it was, so a
//! 200 KB argument costs neither a 200 KB response nor a 200 KB log line.
//!
//! ```
//! use server::echo::quote;
//!
//! assert_eq!(quote("nope").to_string(), "`nope`");
//! let long = "x".repeat(200_000);
//! assert_eq!(
//!     quote(&long).to_string(),
//!     format!("`{}…` (200000 characters)", "x".repeat(64))
//! );
//! ```

use std::{borrow::Cow, fmt};

/// Most characters of a client's input that a message or log line repeats.
pub const MAX_ECHO_CHARS: usize = 64;

/// Longest error message of a library's that is sent to a client, in characters: a net
/// under messages built by parsers and deserialisers that quote input without a bound.
pub const MAX_MESSAGE_CHARS: usize = 512;

/// `value` between backticks: whole when it is at most [`MAX_ECHO_CHARS`] characters, else
/// its first [`MAX_ECHO_CHARS`] characters, an ellipsis and its length. Control characters
/// are escaped, so an echo cannot break a log line.
pub fn quote(value: &str) -> Quoted<'_> {
    Quoted(value)
}

/// The [`Display`](fmt::Display) of [`quote`].
#[derive(Debug, Clone, Copy)]
pub struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`")?;
        write_escaped(f, self.0.chars().take(MAX_ECHO_CHARS))?;
        let len = self.0.chars().count();
        if len > MAX_ECHO_CHARS {
            write!(f, "…` ({len} characters)")
        } else {
            f.write_str("`")
        }
    }
}

fn write_escaped(f: &mut fmt::Formatter<'_>, chars: impl Iterator<Item = char>) -> fmt::Result {
    for c in chars {
        if c.is_control() {
            write!(f, "{}", c.escape_default())?;
        } else {
            write!(f, "{c}")?;
        }
    }
    Ok(())
}

/// `message` with every double-quoted part longer than [`MAX_ECHO_CHARS`] cut to that many
/// characters (an ellipsis and the part's length follow it), and the whole cut to
/// [`MAX_MESSAGE_CHARS`]. For messages this crate did not build: parsers and deserialisers
/// quote a value whole (`Expected input type "Int", found "ZZZ…"`).
pub fn bound_message(message: &str) -> Cow<'_, str> {
    let shortened = shorten_quoted(message);
    let len = shortened.chars().count();
    if len <= MAX_MESSAGE_CHARS {
        return shortened;
    }
    let keep = MAX_MESSAGE_CHARS - 64;
    let head: String = shortened.chars().take(keep).collect();
    format!("{head}… (message shortened from {len} characters)").into()
}

/// Cuts each `"…"` part (backslash escapes included) to [`MAX_ECHO_CHARS`] characters.
fn shorten_quoted(message: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut rest = message;
    let mut changed = false;
    while let Some(open) = rest.find('"') {
        let (before, from_quote) = rest.split_at(open);
        let inner_start = &from_quote[1..];
        let mut end = None;
        let mut escaped = false;
        for (at, c) in inner_start.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(at);
                    break;
                }
                _ => {}
            }
        }
        let inner = &inner_start[..end.unwrap_or(inner_start.len())];
        out.push_str(before);
        out.push('"');
        let chars = inner.chars().count();
        if chars > MAX_ECHO_CHARS {
            changed = true;
            out.extend(inner.chars().take(MAX_ECHO_CHARS));
            out.push('…');
            out.push('"');
            out.push_str(&format!(" ({chars} characters)"));
        } else {
            out.push_str(inner);
            if end.is_some() {
                out.push('"');
            }
        }
        rest = match end {
            Some(at) => &inner_start[at + 1..],
            None => "",
        };
    }
    if !changed {
        return message.into();
    }
    out.push_str(rest);
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_quoted_whole() {
        assert_eq!(quote("1 OR 1=1").to_string(), "`1 OR 1=1`");
        assert_eq!(quote("").to_string(), "``");
    }

    #[test]
    fn long_input_is_cut_and_its_length_stated() {
        let long = "é".repeat(65);
        let quoted = quote(&long).to_string();
        assert_eq!(
            quoted,
            format!("`{}…` (65 characters)", "é".repeat(MAX_ECHO_CHARS))
        );
    }

    #[test]
    fn exactly_the_limit_is_not_cut() {
        let edge = "a".repeat(MAX_ECHO_CHARS);
        assert_eq!(quote(&edge).to_string(), format!("`{edge}`"));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(quote("a\nb\u{0}").to_string(), "`a\\nb\\u{0}`");
    }

    #[test]
    fn long_quoted_parts_are_cut_and_short_ones_kept() {
        let short = r#"Invalid value for argument "first", expected type "Int""#;
        assert!(matches!(bound_message(short), Cow::Borrowed(_)));
        let long = format!(
            r#"Expected input type "Int", found "{}"."#,
            "Z".repeat(200_000)
        );
        assert_eq!(
            bound_message(&long),
            format!(
                r#"Expected input type "Int", found "{}…" (200000 characters)."#,
                "Z".repeat(MAX_ECHO_CHARS)
            )
        );
    }

    #[test]
    fn escaped_quotes_stay_inside_their_part() {
        let inner = format!(r#"a\"{}"#, "b".repeat(100));
        let message = format!(r#"found "{inner}" here"#);
        let bounded = bound_message(&message);
        assert!(bounded.ends_with("(103 characters) here"), "{bounded}");
        let unclosed = format!(r#"found "{}"#, "c".repeat(100));
        assert!(bound_message(&unclosed).ends_with("(100 characters)"));
    }

    #[test]
    fn long_messages_are_shortened() {
        let long = "word ".repeat(40_000);
        let bounded = bound_message(&long);
        assert!(bounded.chars().count() <= MAX_MESSAGE_CHARS, "{bounded}");
        assert!(bounded.ends_with("(message shortened from 200000 characters)"));
    }
}
