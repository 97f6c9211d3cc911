//! Whether work is admitted: every refusal with [`LoadError::Overloaded`] is decided here.
//!
//! Requests are admitted or refused whole at the door, before they run; the loads of an
//! admitted request are never refused. A standalone load (a loader outside any request) is
//! judged on its own, and an open-loop overload refuses new work that cannot start at once.
//!
//! | file | what it decides |
//! |---|---|
//! | `shedder.rs` | `LoadShedder`: the one entry point; admits requests and loads, sheds at dispatch |
//! | `door.rs` | `DoorLaw`: how many requests are admitted at once |
//! | `admission.rs` | `Pressure`: whether a standalone load may wait for its batch |
//! | `overload.rs` | `OverloadMode`: a queue that keeps growing, and new work shed while it lasts |
//!
//! [`LoadError::Overloaded`]: crate::LoadError::Overloaded

mod admission;
mod door;
mod overload;
mod shedder;

pub(crate) use admission::Pressure;
pub(crate) use door::DoorLaw;
pub(crate) use shedder::{DoorPlace, LoadShedder};
