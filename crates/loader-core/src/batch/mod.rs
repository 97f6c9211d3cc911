//! Where keys of one query group gather into batches, and how large a batch may grow.
//!
//! A load joins its group's open batch in the group's [`BatchWindow`] (deduplicated), or
//! opens a new one. The batch is sealed at a size that the group's cost model and the spread
//! over the permits decide; then its task (`dispatch/`) runs it.
//!
//! | file | what it decides |
//! |---|---|
//! | `group_state.rs` | `GroupState`: one group's queue counts, cost model and statistics |
//! | `window.rs` | `BatchWindow`: which open batch a key joins, and when a batch is sealed |
//! | `shared.rs` | `Batch`: one batch's keys, waiters and answer, shared with its task |
//! | `cost.rs` | `CostModel`: what a call of `n` keys costs, and the target batch size |
//! | `spread.rs` | `Spread`: the cap that spreads the keys in the engine over the permits |

mod cost;
mod group_state;
mod shared;
mod spread;
mod window;

pub(crate) use cost::CostModel;
pub(crate) use group_state::{GroupSettings, GroupState};
pub(crate) use shared::{AnswerOnDrop, Batch, BatchKeys, BatchResult, Waiter};
pub(crate) use spread::Spread;
pub(crate) use window::{BatchWindow, From, Joined};
