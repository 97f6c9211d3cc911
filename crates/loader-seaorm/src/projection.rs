use sea_orm::{EntityTrait, PartialModelTrait, QuerySelect, Select};

/// Which columns a batch function selects: the whole model, or a partial model's columns.
pub(crate) struct Projection<E: EntityTrait> {
    apply: fn(Select<E>) -> Select<E>,
    partial: Option<&'static str>,
}

impl<E: EntityTrait> Projection<E> {
    /// Every column of `E` (what `E::find()` selects).
    pub(crate) fn full() -> Self {
        Self {
            apply: |select| select,
            partial: None,
        }
    }

    /// Only the columns of partial model `P`.
    pub(crate) fn partial<P: PartialModelTrait>() -> Self {
        Self {
            apply: select_partial::<E, P>,
            partial: Some(std::any::type_name::<P>()),
        }
    }

    /// `E::find()` with this projection.
    pub(crate) fn select(&self) -> Select<E> {
        (self.apply)(E::find())
    }

    /// The partial model's type name, for the group.
    pub(crate) fn partial_name(&self) -> Option<&'static str> {
        self.partial
    }
}

fn select_partial<E: EntityTrait, P: PartialModelTrait>(select: Select<E>) -> Select<E> {
    P::select_cols(select.select_only())
}

impl<E: EntityTrait> Clone for Projection<E> {
    fn clone(&self) -> Self {
        Self {
            apply: self.apply,
            partial: self.partial,
        }
    }
}

impl<E: EntityTrait> std::fmt::Debug for Projection<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projection")
            .field("partial", &self.partial)
            .finish()
    }
}
