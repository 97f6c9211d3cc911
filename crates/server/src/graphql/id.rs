//! GraphQL `ID`s: the row's integer id as a string.

use async_graphql::ID;

use crate::{
    echo::quote,
    error::{AppError, AppResult},
};

/// The GraphQL id of row `id`.
pub fn to_id(id: i64) -> ID {
    ID(id.to_string())
}

/// Parses an `ID` argument; `field` names it in the error.
pub fn parse(field: &'static str, id: &ID) -> AppResult<i64> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::bad_input(field, format!("{} is not a valid id", quote(id))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_id_parses() {
        assert_eq!(parse("id", &ID::from("17")).unwrap(), 17);
    }

    #[test]
    fn sql_looking_id_is_bad_input() {
        let err = parse("id", &ID::from("1 OR 1=1")).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(err.to_string().contains("1 OR 1=1"));
    }

    #[test]
    fn a_long_id_is_quoted_bounded() {
        let err = parse("id", &ID::from("9".repeat(200_000))).unwrap_err();
        let message = err.to_string();
        assert!(message.len() < 200, "{message:.300}");
        assert!(message.contains("(200000 characters)"), "{message}");
    }

    #[test]
    fn zero_and_negative_ids_are_bad_input() {
        assert!(parse("id", &ID::from("0")).is_err());
        assert!(parse("id", &ID::from("-3")).is_err());
    }
}
