use sea_orm::{EntityTrait, Iterable, PrimaryKeyToColumn};

use crate::Error;

/// The single primary-key column of `E`, or [`Error::CompositePrimaryKey`].
pub(crate) fn single_primary_key<E: EntityTrait>() -> Result<E::Column, Error> {
    let mut keys = E::PrimaryKey::iter();
    match (keys.next(), keys.next()) {
        (Some(key), None) => Ok(key.into_column()),
        _ => Err(Error::CompositePrimaryKey {
            table: E::default().to_string(),
        }),
    }
}
