//! Opaque pagination cursors: base64 of `<kind>:<id>`, so clients cannot build or reuse
//! them across lists of different kinds.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    echo::quote,
    error::{AppError, AppResult},
};

/// The kind of cursors in `users(after:)`.
pub const USER: &str = "user";
/// The kind of cursors in `posts(after:)`.
pub const POST: &str = "post";

/// Encodes the cursor of row `id` in a list of `kind` (`"user"`, `"post"`).
pub fn encode(kind: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

/// Decodes a cursor made by [`encode`] for the same `kind`; anything else is bad input.
pub fn decode(kind: &str, cursor: &str) -> AppResult<i64> {
    let invalid =
        || AppError::bad_input("after", format!("{} is not a {kind} cursor", quote(cursor)));
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (prefix, id) = text.split_once(':').ok_or_else(invalid)?;
    if prefix != kind {
        return Err(invalid());
    }
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        assert_eq!(decode("user", &encode("user", 42)).unwrap(), 42);
    }

    #[test]
    fn cursor_is_opaque() {
        assert!(!encode("post", 7).contains("post"));
    }

    #[test]
    fn cursor_of_another_kind_is_bad_input() {
        let err = decode("user", &encode("post", 1)).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }

    #[test]
    fn a_long_cursor_is_quoted_bounded() {
        let message = decode("user", &"A".repeat(200_000))
            .unwrap_err()
            .to_string();
        assert!(message.len() < 200, "{message:.300}");
    }

    #[test]
    fn garbage_cursor_is_bad_input() {
        for bad in ["", "!!!", "dXNlcjp4", "dXNlcjotMQ"] {
            assert_eq!(
                decode("user", bad).unwrap_err().code(),
                "BAD_USER_INPUT",
                "{bad}"
            );
        }
    }
}
