//! [`QueryGroup`]: which keys may share a batch call.

use std::{fmt, sync::Arc};

/// The identity of a family of similar requests: only keys of the same group are batched
/// together, and each group keeps its own statistics and learned costs.
///
/// A group is a string such as `"posts.by_author{published=true}[id,title]"`: resource,
/// relation, filter and selected columns, in a canonical order, so identical shapes from
/// different callers coalesce and different ones never mix.
///
/// ```
/// use loader_core::QueryGroup;
/// let a = QueryGroup::new("users.by_id");
/// let b = QueryGroup::from("users.by_id");
/// assert_eq!(a, b);
/// assert_eq!(a.as_str(), "users.by_id");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct QueryGroup(Arc<str>);

impl QueryGroup {
    /// Creates a group from its canonical name.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self(name.into())
    }

    /// The canonical name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a shared string (cheap to clone into errors and spans).
    pub fn name(&self) -> Arc<str> {
        self.0.clone()
    }
}

impl From<&str> for QueryGroup {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for QueryGroup {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl fmt::Debug for QueryGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueryGroup({:?})", &*self.0)
    }
}

impl fmt::Display for QueryGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
