//! The seeds an evaluation draws from every family: one range, or several disjoint ones
//! (two held-out ranges judged as one sample, for tighter figures).

use std::{fmt, ops::Range};

use serde::{Deserialize, Serialize};

use crate::SimError;

/// Seeds from this one on are held out: never used to choose a rule or a constant.
pub const HELD_OUT_START: u64 = 1000;

/// Disjoint, non-empty seed ranges, in ascending order.
///
/// ```
/// use loader_sim::eval::Seeds;
///
/// let seeds = Seeds::new(vec![2000..2016, 1000..1016]).unwrap();
/// assert_eq!(seeds.len(), 32);
/// assert_eq!(seeds.to_string(), "1000..1016, 2000..2016");
/// assert!(Seeds::new(vec![1000..1016, 1010..1020]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Range<u64>>", into = "Vec<Range<u64>>")]
pub struct Seeds(Vec<Range<u64>>);

impl Seeds {
    /// The seeds of `ranges`, sorted. An empty range, or two that share a seed, is an error:
    /// a scenario drawn twice would weigh twice in every figure.
    pub fn new(mut ranges: Vec<Range<u64>>) -> Result<Self, SimError> {
        if ranges.is_empty() {
            return Err(SimError::Invalid("no seed range".into()));
        }
        if let Some(r) = ranges.iter().find(|r| r.is_empty()) {
            return Err(SimError::Invalid(format!(
                "seed range {}..{} is empty",
                r.start, r.end
            )));
        }
        ranges.sort_by_key(|r| r.start);
        if let Some(w) = ranges.windows(2).find(|w| w[1].start < w[0].end) {
            return Err(SimError::Invalid(format!(
                "seed ranges {}..{} and {}..{} overlap",
                w[0].start, w[0].end, w[1].start, w[1].end
            )));
        }
        Ok(Self(ranges))
    }

    /// The ranges, in ascending order.
    pub fn ranges(&self) -> &[Range<u64>] {
        &self.0
    }

    /// Every seed, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().flat_map(Clone::clone)
    }

    /// How many seeds.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|r| r.end - r.start).sum()
    }

    /// Never true: [`Seeds::new`] (and so reading JSON) refuses empty ranges.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TryFrom<Vec<Range<u64>>> for Seeds {
    type Error = SimError;

    fn try_from(ranges: Vec<Range<u64>>) -> Result<Self, SimError> {
        Self::new(ranges)
    }
}

impl From<Seeds> for Vec<Range<u64>> {
    fn from(seeds: Seeds) -> Self {
        seeds.0
    }
}

impl From<Range<u64>> for Seeds {
    /// One range. Panics if it is empty.
    fn from(range: Range<u64>) -> Self {
        Self::new(vec![range]).expect("a non-empty seed range")
    }
}

impl fmt::Display for Seeds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}..{}", r.start, r.end)?;
        }
        Ok(())
    }
}

/// Which seed range figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeedRange {
    /// Every seed below [`HELD_OUT_START`]: the range to tune on.
    Tuning,
    /// Every seed at or above [`HELD_OUT_START`]: the range to report.
    HeldOut,
    /// Both.
    Mixed,
}

impl SeedRange {
    /// The kind of `seeds`.
    pub fn of(seeds: &Seeds) -> Self {
        let ranges = seeds.ranges();
        if ranges.iter().all(|r| r.start >= HELD_OUT_START) {
            Self::HeldOut
        } else if ranges.iter().all(|r| r.end <= HELD_OUT_START) {
            Self::Tuning
        } else {
            Self::Mixed
        }
    }

    /// How reports name it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Tuning => "tuning range (seeds 0-999)",
            Self::HeldOut => "held-out range (seeds 1000 and up)",
            Self::Mixed => "MIXED tuning and held-out seeds",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_sorted_and_counted() {
        let seeds = Seeds::new(vec![2000..2002, 1000..1003]).unwrap();
        assert_eq!(
            seeds.iter().collect::<Vec<_>>(),
            [1000, 1001, 1002, 2000, 2001]
        );
        assert_eq!(seeds.len(), 5);
        assert_eq!(seeds.to_string(), "1000..1003, 2000..2002");
    }

    #[test]
    fn empty_or_overlapping_ranges_are_refused() {
        assert!(Seeds::new(vec![]).is_err());
        assert!(Seeds::new(std::iter::once(5..5).collect()).is_err());
        let err = Seeds::new(vec![1000..1016, 1015..1020]).unwrap_err();
        assert!(err.to_string().contains("overlap"), "{err}");
        // adjacent is fine
        assert_eq!(Seeds::new(vec![0..8, 8..16]).unwrap().len(), 16);
    }

    #[test]
    fn the_kind_needs_every_range() {
        let kind = |r: Vec<Range<u64>>| SeedRange::of(&Seeds::new(r).unwrap());
        assert_eq!(kind(vec![1000..1016, 2000..2016]), SeedRange::HeldOut);
        assert_eq!(SeedRange::of(&(0..88).into()), SeedRange::Tuning);
        assert_eq!(kind(vec![0..8, 1000..1016]), SeedRange::Mixed);
        assert_eq!(SeedRange::of(&(990..1010).into()), SeedRange::Mixed);
    }

    #[test]
    fn json_is_a_list_of_ranges() {
        let seeds = Seeds::new(vec![1000..1016, 2000..2016]).unwrap();
        let json = serde_json::to_string(&seeds).unwrap();
        assert_eq!(
            json,
            r#"[{"start":1000,"end":1016},{"start":2000,"end":2016}]"#
        );
        assert_eq!(serde_json::from_str::<Seeds>(&json).unwrap(), seeds);
        let overlapping = r#"[{"start":1000,"end":1016},{"start":1010,"end":1020}]"#;
        assert!(serde_json::from_str::<Seeds>(overlapping).is_err());
        assert!(serde_json::from_str::<Seeds>("[]").is_err());
    }
}
