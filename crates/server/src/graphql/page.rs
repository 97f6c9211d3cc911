//! Page sizes: every list field takes `first`, checked against the configured maximum.

use async_graphql::Context;

use crate::{
    config::Limits,
    error::{AppError, AppResult},
};

/// Checks a `first` argument: at least 0, at most `Limits::max_page_size`.
pub fn first(ctx: &Context<'_>, first: i32) -> AppResult<u32> {
    let max = ctx
        .data_opt::<Limits>()
        .map(|l| l.max_page_size)
        .unwrap_or(100);
    check(first, max)
}

fn check(first: i32, max: u32) -> AppResult<u32> {
    match u32::try_from(first) {
        Ok(n) if n <= max => Ok(n),
        Ok(_) => Err(AppError::bad_input(
            "first",
            format!("must be at most {max}, got {first}"),
        )),
        Err(_) => Err(AppError::bad_input(
            "first",
            format!("must not be negative, got {first}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_within_bounds_is_accepted() {
        assert_eq!(check(0, 100).unwrap(), 0);
        assert_eq!(check(100, 100).unwrap(), 100);
    }

    #[test]
    fn first_above_the_maximum_is_bad_input() {
        let err = check(101, 100).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid `first`: must be at most 100, got 101"
        );
    }

    #[test]
    fn negative_first_is_bad_input() {
        assert_eq!(check(-1, 100).unwrap_err().code(), "BAD_USER_INPUT");
    }
}
