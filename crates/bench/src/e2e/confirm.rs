//! The confirmation: the modes the targets compare (adaptive, the best fixed limit,
//! async-graphql's DataLoader) run again at the most clients in alternating order (ABC CBA
//! ...), so that neither the order of the matrix (the first mode after seeding runs on a
//! colder cache) nor a drift of the machine favours one of them. Medians per mode and their
//! ratios to the baselines are what the targets are judged on.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::Mode;

/// One run of one mode in the confirmation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmCell {
    pub mode: Mode,
    /// Round (0-based); odd rounds run the modes in reverse order.
    pub round: usize,
    pub ok_per_s: f64,
    /// p99 of every response.
    pub p99_ms: f64,
    /// p99 of the responses without errors.
    pub ok_p99_ms: f64,
    pub overloaded: u64,
}

/// Every confirmation run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Confirmation {
    pub clients: usize,
    pub cells: Vec<ConfirmCell>,
}

/// The order of the modes in `round`: as given in even rounds, reversed in odd ones.
pub fn order(modes: &[Mode], round: usize) -> Vec<Mode> {
    let mut v = modes.to_vec();
    if round % 2 == 1 {
        v.reverse();
    }
    v
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl Confirmation {
    /// Median `(ok/s, p99 of all responses, p99 of the ok ones)` of a mode.
    pub fn medians(&self, mode: Mode) -> Option<(f64, f64, f64)> {
        let of = |f: fn(&ConfirmCell) -> f64| {
            median(
                self.cells
                    .iter()
                    .filter(|c| c.mode == mode)
                    .map(f)
                    .collect(),
            )
        };
        Some((of(|c| c.ok_per_s)?, of(|c| c.p99_ms)?, of(|c| c.ok_p99_ms)?))
    }

    /// Adaptive's ok/s over `mode`'s in each round where both ran: runs of the same round are
    /// next to each other in time, so a drift of the machine over the rounds cancels out.
    pub fn round_ratios(&self, mode: Mode) -> Vec<f64> {
        let ok = |m: Mode, round: usize| {
            self.cells
                .iter()
                .find(|c| c.mode == m && c.round == round)
                .map(|c| c.ok_per_s)
        };
        let rounds = self.cells.iter().map(|c| c.round + 1).max().unwrap_or(0);
        (0..rounds)
            .filter_map(|r| Some(ok(Mode::Adaptive, r)? / ok(mode, r)?.max(1e-9)))
            .collect()
    }

    /// The modes that ran, in the order they first ran.
    fn modes(&self) -> Vec<Mode> {
        let mut modes: Vec<Mode> = Vec::new();
        for c in &self.cells {
            if !modes.contains(&c.mode) {
                modes.push(c.mode);
            }
        }
        modes
    }

    /// The table of medians, with adaptive's ratios to every other mode.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let rounds = self.cells.iter().map(|c| c.round + 1).max().unwrap_or(0);
        let _ = writeln!(
            out,
            "\nconfirmation at {} clients: {rounds} rounds in alternating order, medians\n",
            self.clients
        );
        out.push_str("| mode | ok/s | p99 ms | ok p99 ms | runs (ok/s) | adaptive ok/s ratio | adaptive ok p99 ratio | adaptive ok/s ratio per round |\n");
        out.push_str("|---|---:|---:|---:|---|---:|---:|---|\n");
        let adaptive = self.medians(Mode::Adaptive);
        for mode in self.modes() {
            let Some((ok, p99, ok_p99)) = self.medians(mode) else {
                continue;
            };
            let runs: Vec<String> = self
                .cells
                .iter()
                .filter(|c| c.mode == mode)
                .map(|c| format!("{:.0}", c.ok_per_s))
                .collect();
            let (ratio, p99_ratio) = match (mode, adaptive) {
                (Mode::Adaptive, _) | (_, None) => ("-".to_string(), "-".to_string()),
                (_, Some((a_ok, _, a_p99))) => (
                    format!("{:.2}x", a_ok / ok.max(1e-9)),
                    format!("{:.2}x", a_p99 / ok_p99.max(1e-9)),
                ),
            };
            let per_round: Vec<String> = match mode {
                Mode::Adaptive => vec!["-".to_string()],
                _ => self
                    .round_ratios(mode)
                    .iter()
                    .map(|r| format!("{r:.2}"))
                    .collect(),
            };
            let _ = writeln!(
                out,
                "| {mode} | {ok:.1} | {p99:.1} | {ok_p99:.1} | {} | {ratio} | {p99_ratio} | {} |",
                runs.join(", "),
                per_round.join(", ")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(mode: Mode, round: usize, ok_per_s: f64, ok_p99_ms: f64) -> ConfirmCell {
        ConfirmCell {
            mode,
            round,
            ok_per_s,
            p99_ms: ok_p99_ms,
            ok_p99_ms,
            overloaded: 0,
        }
    }

    #[test]
    fn rounds_alternate_the_order() {
        let modes = [Mode::Adaptive, Mode::Fixed(4), Mode::AsyncGraphql];
        assert_eq!(order(&modes, 0), modes.to_vec());
        assert_eq!(
            order(&modes, 1),
            vec![Mode::AsyncGraphql, Mode::Fixed(4), Mode::Adaptive]
        );
        assert_eq!(order(&modes, 2), modes.to_vec());
    }

    #[test]
    fn medians_and_ratios_come_from_every_round() {
        let c = Confirmation {
            clients: 256,
            cells: vec![
                cell(Mode::Adaptive, 0, 1200.0, 300.0),
                cell(Mode::Fixed(4), 0, 1000.0, 400.0),
                cell(Mode::Fixed(4), 1, 1100.0, 360.0),
                cell(Mode::Adaptive, 1, 1400.0, 280.0),
            ],
        };
        assert_eq!(c.medians(Mode::Adaptive), Some((1300.0, 290.0, 290.0)));
        assert_eq!(c.medians(Mode::Fixed(4)), Some((1050.0, 380.0, 380.0)));
        assert_eq!(c.medians(Mode::None), None);
        let md = c.markdown();
        assert!(
            md.contains(
                "| fixed:4 | 1050.0 | 380.0 | 380.0 | 1000, 1100 | 1.24x | 0.76x | 1.20, 1.27 |"
            ),
            "{md}"
        );
        assert_eq!(c.round_ratios(Mode::AsyncGraphql), Vec::<f64>::new());
    }
}
