//! Where a key enters the engine: what the user implements, the handle a request loads
//! through, its per-request cache, and the request it belongs to.
//!
//! A resolver calls [`Loader::load`]: the key is answered from the request's cache, or
//! admitted (`shed/`), added to its group's open batch (`batch/`), and awaited until the
//! batch's task (`dispatch/`) publishes the answer.
//!
//! | file | what it holds |
//! |---|---|
//! | `batch_fn.rs` | [`BatchFn`]: keys in, map of values out; what a user implements |
//! | `group.rs` | [`QueryGroup`]: which keys may share a batch call |
//! | `loader.rs` | [`Loader`]: the typed handle (`load`, `load_many`, `prime`, `clear`) |
//! | `cache.rs` | `RequestCache`: a loader's per-request memo |
//! | `request.rs` | [`RequestScope`]: a request admitted at the door, whose loads are served whole |
//! | `activity.rs` | [`Tracked`]: tells the engine when a request has registered every key it can |

mod activity;
mod batch_fn;
mod cache;
mod group;
mod loader;
mod request;

pub use activity::Tracked;
pub use batch_fn::BatchFn;
pub use group::QueryGroup;
pub use loader::Loader;
pub use request::RequestScope;

pub(crate) use activity::Activity;
pub(crate) use cache::RequestCache;
pub(crate) use loader::until_deadline;
pub(crate) use request::ScopeState;
