//! [`schedule`]: the order in which modes run. Rounds alternate direction (A B, B A, A B,
//! ...), so a drift of the machine's load over time, or an order effect within a round,
//! does not always favour the same mode.

use crate::e2e::Mode;

/// One run of one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Round number, from 1.
    pub round: usize,
    /// The mode.
    pub mode: Mode,
}

/// Every run of `rounds` rounds of `modes`: forward in odd rounds, backward in even ones.
///
/// ```
/// use bench::{e2e::Mode, overhead::schedule};
///
/// let order: Vec<Mode> = schedule(&[Mode::Adaptive, Mode::AsyncGraphql], 2)
///     .iter()
///     .map(|s| s.mode)
///     .collect();
/// assert_eq!(order, [Mode::Adaptive, Mode::AsyncGraphql, Mode::AsyncGraphql, Mode::Adaptive]);
/// ```
pub fn schedule(modes: &[Mode], rounds: usize) -> Vec<Slot> {
    (1..=rounds)
        .flat_map(|round| {
            let forward = round % 2 == 1;
            let ordered: Vec<Mode> = if forward {
                modes.to_vec()
            } else {
                modes.iter().rev().copied().collect()
            };
            ordered.into_iter().map(move |mode| Slot { round, mode })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_runs_once_per_round() {
        let modes = [Mode::Adaptive, Mode::Fixed(8), Mode::AsyncGraphql];
        let slots = schedule(&modes, 3);
        assert_eq!(slots.len(), 9);
        for round in 1..=3 {
            let mut ran: Vec<Mode> = slots
                .iter()
                .filter(|s| s.round == round)
                .map(|s| s.mode)
                .collect();
            assert_eq!(ran.len(), 3);
            ran.dedup();
            assert_eq!(ran.len(), 3, "round {round} repeats a mode");
        }
    }

    #[test]
    fn even_rounds_run_backwards() {
        let slots = schedule(&[Mode::Adaptive, Mode::AsyncGraphql], 3);
        let first: Vec<Mode> = slots.chunks(2).map(|round| round[0].mode).collect();
        assert_eq!(first, [Mode::Adaptive, Mode::AsyncGraphql, Mode::Adaptive]);
    }

    #[test]
    fn no_rounds_no_runs() {
        assert!(schedule(&[Mode::Adaptive], 0).is_empty());
    }
}
