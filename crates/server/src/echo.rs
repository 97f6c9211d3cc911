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

use std::fmt;

/// Most characters of a client's input that a message or log line repeats.
pub const MAX_ECHO_CHARS: usize = 64;

/// Longest error message sent to a client or logged, in characters: a net under messages
/// built by libraries (parsers, deserialisers) that quote input without a bound.
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

/// `message` when it has at most [`MAX_MESSAGE_CHARS`] characters; else its start, an
/// ellipsis and the full length. For messages this crate did not build.
pub fn bound_message(message: &str) -> std::borrow::Cow<'_, str> {
    let len = message.chars().count();
    if len <= MAX_MESSAGE_CHARS {
        return message.into();
    }
    let keep = MAX_MESSAGE_CHARS - 64;
    let head: String = message.chars().take(keep).collect();
    format!("{head}… (message shortened from {len} characters)").into()
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
    fn long_messages_are_shortened_and_short_ones_kept() {
        assert_eq!(bound_message("short"), "short");
        let long = format!("invalid value \"{}\"", "x".repeat(200_000));
        let bounded = bound_message(&long);
        assert!(bounded.chars().count() <= MAX_MESSAGE_CHARS, "{bounded}");
        assert!(bounded.ends_with("(message shortened from 200016 characters)"));
    }
}
