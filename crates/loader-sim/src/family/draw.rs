//! A number drawn by seed: fixed, uniform, log-uniform, integer or a choice, optionally
//! relative to the backend's capacity.

use rand::{Rng, rngs::StdRng};
use serde::Serialize;

/// How a family's parameter is drawn.
///
/// Written in TOML as a plain number (fixed) or a table with exactly one of `uniform`,
/// `log_uniform`, `int`, `log_int` (each `[lo, hi]`, bounds included) or `choice` (a list),
/// and optionally `per = "capacity"` or `per = "capacity_rps"`: the value drawn is then a
/// multiple of the backend's capacity (its largest over the run) or of its nominal request
/// throughput at the time the value applies (see [`nominal_rps`](super::nominal_rps)).
///
/// ```
/// use loader_sim::family::Draw;
/// let d: Draw = toml::from_str::<toml::Table>("x = { log_uniform = [1, 200] }").unwrap()["x"]
///     .clone()
///     .try_into()
///     .unwrap();
/// assert_eq!(d.range(), (1.0, 200.0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draw {
    /// The distribution.
    pub dist: Dist,
    /// What the drawn number multiplies; `None`: it is the value itself.
    pub per: Option<Basis>,
}

/// A distribution over numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dist {
    /// Always this number.
    Fixed(f64),
    /// Uniform over `[lo, hi]`.
    Uniform(f64, f64),
    /// Log-uniform over `[lo, hi]` (`0 < lo`): each factor of 2 is as likely.
    LogUniform(f64, f64),
    /// A uniform integer in `[lo, hi]`.
    Int(i64, i64),
    /// An integer in `[lo, hi]` (`1 <= lo`), log-uniform: 1-2 is as likely as 100-200.
    LogInt(i64, i64),
    /// One of these numbers, each as likely.
    Choice(Vec<f64>),
}

/// What a relative draw multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The backend's largest capacity over the run (calls).
    Capacity,
    /// The backend's nominal request throughput at the time the value applies (requests/s).
    CapacityRps,
}

impl Draw {
    /// A fixed number.
    pub fn fixed(value: f64) -> Self {
        Self {
            dist: Dist::Fixed(value),
            per: None,
        }
    }

    /// The smallest and largest number the distribution can give (before `per`).
    pub fn range(&self) -> (f64, f64) {
        match &self.dist {
            Dist::Fixed(v) => (*v, *v),
            Dist::Uniform(lo, hi) | Dist::LogUniform(lo, hi) => (*lo, *hi),
            Dist::Int(lo, hi) | Dist::LogInt(lo, hi) => (*lo as f64, *hi as f64),
            Dist::Choice(c) => (
                c.iter().copied().fold(f64::INFINITY, f64::min),
                c.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
        }
    }

    /// Draws one number (before `per`). Exactly one draw from `rng`, whatever the
    /// distribution, so that changing one parameter's distribution leaves the others' draws
    /// alone.
    pub fn sample(&self, rng: &mut StdRng) -> f64 {
        let u: f64 = rng.random();
        match &self.dist {
            Dist::Fixed(v) => *v,
            Dist::Uniform(lo, hi) => lo + u * (hi - lo),
            Dist::LogUniform(lo, hi) => (lo.ln() + u * (hi.ln() - lo.ln())).exp().clamp(*lo, *hi),
            Dist::Int(lo, hi) => {
                let n = (hi - lo + 1) as f64;
                (*lo + ((u * n).floor() as i64).min(hi - lo)) as f64
            }
            Dist::LogInt(lo, hi) => {
                let (a, b) = ((*lo as f64).ln(), ((*hi + 1) as f64).ln());
                ((a + u * (b - a)).exp().floor() as i64).clamp(*lo, *hi) as f64
            }
            Dist::Choice(c) => c[((u * c.len() as f64).floor() as usize).min(c.len() - 1)],
        }
    }

    fn check(&self) -> Result<(), String> {
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        match &self.dist {
            Dist::Fixed(v) if !v.is_finite() => Err("must be finite".into()),
            Dist::Uniform(lo, hi) if !(finite(&[*lo, *hi]) && lo <= hi) => Err(format!(
                "uniform = [{lo}, {hi}]: needs lo <= hi, both finite"
            )),
            Dist::LogUniform(lo, hi) if !(finite(&[*lo, *hi]) && 0.0 < *lo && lo <= hi) => Err(
                format!("log_uniform = [{lo}, {hi}]: needs 0 < lo <= hi, both finite"),
            ),
            Dist::Int(lo, hi) if lo > hi => Err(format!("int = [{lo}, {hi}]: needs lo <= hi")),
            Dist::LogInt(lo, hi) if !(1 <= *lo && lo <= hi) => {
                Err(format!("log_int = [{lo}, {hi}]: needs 1 <= lo <= hi"))
            }
            Dist::Choice(c) if c.is_empty() || !finite(c) => {
                Err("choice needs at least one finite number".into())
            }
            _ => Ok(()),
        }
    }
}

const KINDS: &str = "a number, or a table with one of uniform, log_uniform, int, log_int \
                     ([lo, hi]) or choice ([a, b, ...]), and optionally per = \"capacity\" \
                     or \"capacity_rps\"";

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn pair(v: &toml::Value) -> Option<(f64, f64)> {
    match v.as_array()?.as_slice() {
        [a, b] => Some((number(a)?, number(b)?)),
        _ => None,
    }
}

fn int_pair(v: &toml::Value) -> Option<(i64, i64)> {
    match v.as_array()?.as_slice() {
        [toml::Value::Integer(a), toml::Value::Integer(b)] => Some((*a, *b)),
        _ => None,
    }
}

impl TryFrom<toml::Value> for Draw {
    type Error = String;

    fn try_from(value: toml::Value) -> Result<Self, String> {
        if let Some(v) = number(&value) {
            let draw = Draw::fixed(v);
            draw.check()?;
            return Ok(draw);
        }
        let Some(table) = value.as_table() else {
            return Err(format!("expected {KINDS}, got {value}"));
        };
        let per = match table.get("per").map(|p| p.as_str()) {
            None => None,
            Some(Some("capacity")) => Some(Basis::Capacity),
            Some(Some("capacity_rps")) => Some(Basis::CapacityRps),
            Some(_) => {
                return Err("per must be \"capacity\" or \"capacity_rps\"".into());
            }
        };
        let kinds: Vec<(&String, &toml::Value)> =
            table.iter().filter(|(k, _)| k.as_str() != "per").collect();
        let [(kind, arg)] = kinds.as_slice() else {
            return Err(format!("expected {KINDS}, got {value}"));
        };
        let bad = || format!("{kind} = {arg}: expected {KINDS}");
        let dist = match kind.as_str() {
            "uniform" => pair(arg).map(|(a, b)| Dist::Uniform(a, b)),
            "log_uniform" => pair(arg).map(|(a, b)| Dist::LogUniform(a, b)),
            "int" => int_pair(arg).map(|(a, b)| Dist::Int(a, b)),
            "log_int" => int_pair(arg).map(|(a, b)| Dist::LogInt(a, b)),
            "choice" => arg
                .as_array()
                .and_then(|a| a.iter().map(number).collect::<Option<Vec<f64>>>())
                .map(Dist::Choice),
            _ => None,
        }
        .ok_or_else(bad)?;
        let draw = Draw { dist, per };
        draw.check()?;
        Ok(draw)
    }
}

impl<'de> serde::Deserialize<'de> for Draw {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(d)?;
        Draw::try_from(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn parse(text: &str) -> Result<Draw, String> {
        let t: toml::Table = toml::from_str(&format!("x = {text}")).map_err(|e| e.to_string())?;
        Draw::try_from(t["x"].clone())
    }

    #[test]
    fn every_kind_parses_and_draws_within_its_range() {
        let mut rng = StdRng::seed_from_u64(1);
        for text in [
            "4",
            "0.5",
            "{ uniform = [0.1, 2] }",
            "{ log_uniform = [1, 200] }",
            "{ int = [3, 6] }",
            "{ log_int = [1, 200] }",
            "{ choice = [1, 4, 16] }",
            "{ uniform = [4, 10], per = \"capacity\" }",
        ] {
            let d = parse(text).unwrap();
            let (lo, hi) = d.range();
            for _ in 0..2000 {
                let v = d.sample(&mut rng);
                assert!(lo <= v && v <= hi, "{text}: {v} outside [{lo}, {hi}]");
            }
        }
    }

    #[test]
    fn integer_draws_reach_both_bounds() {
        let mut rng = StdRng::seed_from_u64(2);
        for text in ["{ int = [3, 6] }", "{ log_int = [1, 8] }"] {
            let d = parse(text).unwrap();
            let seen: std::collections::BTreeSet<i64> =
                (0..5000).map(|_| d.sample(&mut rng) as i64).collect();
            let (lo, hi) = d.range();
            assert_eq!(seen.first().copied(), Some(lo as i64), "{text}");
            assert_eq!(seen.last().copied(), Some(hi as i64), "{text}");
        }
    }

    #[test]
    fn bad_draws_are_rejected_with_the_reason() {
        assert!(
            parse("{ uniform = [2, 1] }")
                .unwrap_err()
                .contains("lo <= hi")
        );
        assert!(parse("{ log_uniform = [0, 1] }").is_err());
        assert!(
            parse("{ normal = [0, 1] }")
                .unwrap_err()
                .contains("uniform")
        );
        assert!(parse("{ uniform = [0, 1], int = [0, 1] }").is_err());
        assert!(parse("{ int = [0.5, 1] }").is_err());
        assert!(parse("{ uniform = [0, 1], per = \"clients\" }").is_err());
        assert!(parse("\"four\"").is_err());
    }
}
