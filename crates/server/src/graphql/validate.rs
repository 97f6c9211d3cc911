//! Input rules for mutations and filters: each returns the cleaned value or a
//! `BAD_USER_INPUT` error naming the field and the rule it broke. A message quotes at most
//! a short prefix of the input ([`quote`]).

use crate::{
    echo::quote,
    error::{AppError, AppResult},
};

/// Longest user name, in characters.
pub const MAX_NAME: usize = 100;
/// Longest post title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest post or comment body, in characters.
pub const MAX_BODY: usize = 10_000;
/// Longest tag name.
pub const MAX_TAG: usize = 32;
/// Most tags on one post.
pub const MAX_TAGS_PER_POST: usize = 10;

/// Trimmed text of 1..=`max` characters without control characters.
pub fn text(field: &'static str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    let len = value.chars().count();
    if len > max {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {max} characters, got {len}"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AppError::bad_input(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_string())
}

/// An e-mail address: `local@domain.tld`, at most 254 characters, stored lowercase.
pub fn email(value: &str) -> AppResult<String> {
    let value = text("email", value, 254)?.to_lowercase();
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(value)
    } else {
        Err(AppError::bad_input(
            "email",
            format!("{} is not an e-mail address", quote(&value)),
        ))
    }
}

/// A tag name: 1..=32 of `a-z`, `0-9`, `-`; input is trimmed and lowercased.
pub fn tag_name(value: &str) -> AppResult<String> {
    let value = value.trim().to_lowercase();
    let ok = !value.is_empty()
        && value.len() <= MAX_TAG
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(value)
    } else {
        Err(AppError::bad_input(
            "tag",
            format!(
                "{} is not a tag name (1 to {MAX_TAG} of a-z, 0-9 and -)",
                quote(&value)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed() {
        assert_eq!(text("name", "  Ada  ", MAX_NAME).unwrap(), "Ada");
    }

    #[test]
    fn empty_text_is_bad_input() {
        let err = text("title", "   ", MAX_TITLE).unwrap_err();
        assert_eq!(err.to_string(), "invalid `title`: must not be empty");
    }

    #[test]
    fn long_text_says_the_limit() {
        let err = text("name", &"x".repeat(101), MAX_NAME).unwrap_err();
        assert!(err.to_string().contains("at most 100 characters, got 101"));
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(text("body", "a\u{0}b", MAX_BODY).is_err());
        assert!(text("body", "line\nline", MAX_BODY).is_ok());
    }

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(email("Ada@Example.ORG").unwrap(), "ada@example.org");
        for bad in [
            "ada",
            "ada@",
            "@x.org",
            "a@b",
            "a b@x.org",
            "a@@x.org",
            "a@x.",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_validator_quotes_a_long_input_bounded() {
        let long = format!("{}\u{0}", "Q".repeat(200_000));
        let errors = [
            text("body", &long, MAX_BODY).unwrap_err(),
            text("title", &format!("{}\u{0}", "Q".repeat(100)), MAX_TITLE).unwrap_err(),
            email(&format!("{}@", "Q".repeat(200))).unwrap_err(),
            tag_name(&long).unwrap_err(),
        ];
        for err in errors {
            let message = err.to_string();
            assert!(
                message.len() < 300,
                "{} bytes: {message:.300}",
                message.len()
            );
        }
        let err = tag_name(&"q".repeat(200_000)).unwrap_err().to_string();
        assert!(err.contains("(200000 characters)"), "{err:.300}");
    }

    #[test]
    fn tag_names_are_normalised() {
        assert_eq!(tag_name(" Rust ").unwrap(), "rust");
        assert!(tag_name("no spaces").is_err());
        assert!(tag_name("'; DROP TABLE tags; --").is_err());
        assert!(tag_name(&"a".repeat(33)).is_err());
    }
}
