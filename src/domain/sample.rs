//! 抽查核验 (notice §三(五)1): how a stratified spot-check sample is sized and drawn —
//! reproducibly, from a seed and a frozen population, with ChaCha20 and integer arithmetic only
//! so that the same seed draws the same records on any machine and either database — the
//! result of checking one record, and the false rate with its 95 % Wilson interval.

use chacha20::ChaCha20Rng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

use super::OrgLevel;

/// A rate is kept in parts per million (2 % = 20,000): no floating point in the draw.
pub const PPM: u64 = 1_000_000;

/// What the drawer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleParams {
    /// The level whose nodes are the strata (each record falls in its ancestor at that level).
    pub by: OrgLevel,
    pub rate_ppm: u64,
    /// Per stratum, at least and at most (never more than the stratum holds).
    pub min: u64,
    pub max: u64,
    /// Risky records drawn with higher probability (weight 1 + number of risk marks).
    pub weighted: bool,
    pub seed: u64,
}

/// Read a rate as people write it: `0.02`, `2%`, `2％`, `2 %`. Refused unless 0 < rate ≤ 1.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim().replace([' ', '　'], "");
    let (number, percent) = match t.strip_suffix(['%', '％']) {
        Some(n) => (n.to_owned(), true),
        None => (t.clone(), false),
    };
    let Some(e8) = decimal_e8(&number) else {
        return Err(format!("“{text}”不是数字，请写成 0.02 或 2%"));
    };
    let ppm = if percent { e8 / 10_000 } else { e8 / 100 };
    if ppm == 0 {
        return Err("抽样比例须大于 0".into());
    }
    if ppm > PPM {
        return Err("抽样比例不能超过 100%".into());
    }
    Ok(ppm)
}

/// A non-negative decimal in hundred-millionths (`0.02` → 2,000,000); digits past the eighth
/// are dropped.
fn decimal_e8(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() > 6
    {
        return None;
    }
    let mut digits: String = frac.chars().take(8).collect();
    while digits.len() < 8 {
        digits.push('0');
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    Some(whole * 100_000_000 + digits.parse::<u64>().ok()?)
}

/// A rate for people: `2%`, `0.5%`.
pub fn rate_label(ppm: u64) -> String {
    let hundredths = ppm / 100; // 1/100 of a percent
    if hundredths.is_multiple_of(100) {
        format!("{}%", hundredths / 100)
    } else {
        let s = format!("{}.{:02}", hundredths / 100, hundredths % 100);
        format!("{}%", s.trim_end_matches('0'))
    }
}

impl SampleParams {
    /// Check the bounds; the message names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.rate_ppm == 0 || self.rate_ppm > PPM {
            return Err(("抽样比例", "抽样比例须大于 0 且不超过 100%".into()));
        }
        if self.max == 0 {
            return Err(("每层最多", "每层最多抽取数须大于 0".into()));
        }
        if self.min > self.max {
            return Err((
                "每层最少",
                format!("每层最少（{}）不能大于每层最多（{}）", self.min, self.max),
            ));
        }
        Ok(())
    }

    /// How many of a stratum of `population` records to draw: the rate rounded half up, raised
    /// to the minimum, capped at the maximum and at the stratum itself.
    pub fn stratum_size(&self, population: u64) -> u64 {
        let by_rate = (population * self.rate_ppm + PPM / 2) / PPM;
        by_rate.max(self.min).min(self.max).min(population)
    }
}

/// The levels a sample may be stratified by, as people write them.
pub fn parse_level(text: &str) -> Option<OrgLevel> {
    match text.trim() {
        "province" | "省" | "省级" => Some(OrgLevel::Province),
        "city" | "市" | "地市" | "地市级" | "市级" => Some(OrgLevel::City),
        "firm" | "律所" | "律所党组织" => Some(OrgLevel::Firm),
        _ => None,
    }
}

/// One record of the frozen population: its id and its draw weight (≥ 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub id: i64,
    pub weight: u32,
}

/// The generator of one stratum: ChaCha20 keyed by SHA-256 of the seed and the stratum's node
/// id, so each stratum's draw depends only on its own records.
fn stratum_rng(seed: u64, stratum: i64) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(b"dengji-sample-v1\n");
    h.update(seed.to_be_bytes());
    h.update(stratum.to_be_bytes());
    let key: [u8; 32] = h.finalize().into();
    ChaCha20Rng::from_seed(key)
}

/// A uniform integer in `0..n` (n > 0) by rejection, so no value is favoured.
fn below(rng: &mut ChaCha20Rng, n: u64) -> u64 {
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let v = rng.next_u64();
        if v < zone {
            return v % n;
        }
    }
}

/// Draw `k` units of one stratum without replacement, each next unit chosen with probability
/// proportional to its weight among those left (successive sampling; all weights 1 is simple
/// random sampling). `units` must be in a fixed order (the store gives them by id); the result
/// is the chosen units in the order drawn. Integer arithmetic only.
pub fn draw(seed: u64, stratum: i64, units: &[Unit], k: usize) -> Vec<Unit> {
    let mut rng = stratum_rng(seed, stratum);
    // Group by weight (few distinct weights), keeping each group in the given order.
    let mut weights: Vec<u32> = units.iter().map(|u| u.weight.max(1)).collect();
    weights.sort_unstable();
    weights.dedup();
    let mut groups: Vec<Vec<Unit>> = weights
        .iter()
        .map(|w| {
            units
                .iter()
                .filter(|u| u.weight.max(1) == *w)
                .copied()
                .collect()
        })
        .collect();
    let mut out = Vec::with_capacity(k.min(units.len()));
    while out.len() < k {
        let total: u64 = groups
            .iter()
            .zip(&weights)
            .map(|(g, w)| g.len() as u64 * u64::from(*w))
            .sum();
        if total == 0 {
            break;
        }
        let mut ticket = below(&mut rng, total);
        for (g, w) in groups.iter_mut().zip(&weights) {
            let span = g.len() as u64 * u64::from(*w);
            if ticket < span {
                let i = (ticket / u64::from(*w)) as usize;
                // Remove by swapping the last into its place: deterministic, O(1).
                out.push(g.swap_remove(i));
                break;
            }
            ticket -= span;
        }
    }
    out
}

/// A content digest kept in the frozen population: the first 16 hex digits of the full one.
pub fn short_digest(full: &str) -> &str {
    full.get(..16).unwrap_or(full)
}

/// The result of checking one sampled record against its sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Finding {
    /// 属实
    True,
    /// 不属实: fields found false; the record is returned and an accountability record opened.
    False,
}

impl Finding {
    pub const ALL: [Self; 2] = [Self::True, Self::False];

    pub fn code(self) -> &'static str {
        match self {
            Self::True => "true",
            Self::False => "false",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::True => "属实",
            Self::False => "不属实",
        }
    }
}

/// A proportion with its 95 % interval, in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub rate: f64,
    pub low: f64,
    pub high: f64,
}

const Z95: f64 = 1.959_963_984_540_054;

/// The false rate of `n` checked records of which `false_count` were false, with the Wilson
/// score interval (good for small n and rates near 0). `None` when nothing was checked.
pub fn wilson(false_count: u64, n: u64) -> Option<Estimate> {
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let p = false_count as f64 / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(Estimate {
        rate: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    })
}

/// One stratum's part in the weighted estimate: records in the stratum, records checked,
/// false among them.
#[derive(Debug, Clone, Copy)]
pub struct StratumTally {
    pub population: u64,
    pub checked: u64,
    pub false_count: u64,
}

/// The overall false rate weighted by stratum population (strata with no checked record left
/// out, their weight shared by the others), with a normal-approximation 95 % interval from the
/// stratified variance with the finite population correction.
pub fn stratified(strata: &[StratumTally]) -> Option<Estimate> {
    let covered: Vec<&StratumTally> = strata.iter().filter(|s| s.checked > 0).collect();
    let total: u64 = covered.iter().map(|s| s.population).sum();
    if total == 0 {
        return None;
    }
    let total = total as f64;
    let mut rate = 0.0;
    let mut var = 0.0;
    for s in covered {
        let w = s.population as f64 / total;
        let n = s.checked as f64;
        let p = s.false_count as f64 / n;
        rate += w * p;
        if s.checked > 1 {
            let fpc = 1.0 - n / s.population.max(1) as f64;
            var += w * w * p * (1.0 - p) / (n - 1.0) * fpc.max(0.0);
        }
    }
    let half = Z95 * var.sqrt();
    Some(Estimate {
        rate,
        low: (rate - half).max(0.0),
        high: (rate + half).min(1.0),
    })
}

/// A proportion as a percentage with one decimal: `2.5%`.
pub fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(n: i64) -> Vec<Unit> {
        (1..=n).map(|id| Unit { id, weight: 1 }).collect()
    }

    #[test]
    fn rates_read_as_written_and_bad_ones_are_refused() {
        assert_eq!(parse_rate("0.02"), Ok(20_000));
        assert_eq!(parse_rate("2%"), Ok(20_000));
        assert_eq!(parse_rate(" 2 ％"), Ok(20_000));
        assert_eq!(parse_rate("0.5%"), Ok(5_000));
        assert_eq!(parse_rate("1"), Ok(PPM));
        assert_eq!(parse_rate(".1"), Ok(100_000));
        assert!(parse_rate("0").unwrap_err().contains("大于 0"));
        assert!(parse_rate("1.5").unwrap_err().contains("100%"));
        assert!(parse_rate("120%").unwrap_err().contains("100%"));
        assert!(parse_rate("abc").unwrap_err().contains("不是数字"));
        assert!(parse_rate("-0.1").is_err());
        assert!(parse_rate("").is_err());
        assert_eq!(rate_label(20_000), "2%");
        assert_eq!(rate_label(5_000), "0.5%");
        assert_eq!(rate_label(125_000), "12.5%");
    }

    #[test]
    fn a_stratum_size_is_the_rate_within_its_bounds() {
        let p = SampleParams {
            by: OrgLevel::City,
            rate_ppm: 20_000,
            min: 5,
            max: 200,
            weighted: false,
            seed: 1,
        };
        assert_eq!(p.stratum_size(3_000), 60);
        assert_eq!(p.stratum_size(100), 5, "raised to the minimum");
        assert_eq!(p.stratum_size(3), 3, "never more than the stratum");
        assert_eq!(p.stratum_size(100_000), 200, "capped");
        assert_eq!(p.stratum_size(0), 0);
        assert!(p.validate().is_ok());
        let bad = SampleParams {
            min: 9,
            max: 3,
            ..p
        };
        assert_eq!(bad.validate().unwrap_err().0, "每层最少");
    }

    #[test]
    fn the_same_seed_draws_the_same_records_in_the_same_order() {
        let u = units(500);
        let a = draw(42, 7, &u, 20);
        assert_eq!(a, draw(42, 7, &u, 20));
        assert_eq!(a.len(), 20);
        let mut ids: Vec<i64> = a.iter().map(|x| x.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 20, "without replacement");
        assert_ne!(a, draw(43, 7, &u, 20), "another seed, another sample");
        assert_ne!(a, draw(42, 8, &u, 20), "each stratum its own stream");
        // Pinned: the draw must not change with a dependency update or on another machine.
        let first: Vec<i64> = draw(20181120, 1, &units(1000), 5)
            .iter()
            .map(|x| x.id)
            .collect();
        assert_eq!(first, PINNED);
    }

    const PINNED: [i64; 5] = [406, 428, 140, 152, 366];

    #[test]
    fn the_generator_is_the_standard_chacha20_stream() {
        // RFC 8439 keystream of the all-zero key and nonce begins 76 b8 e0 ad a0 f1 3d 90.
        let mut rng = ChaCha20Rng::from_seed([0; 32]);
        assert_eq!(rng.next_u32(), 0xade0_b876);
        assert_eq!(rng.next_u32(), 0x903d_f1a0);
    }

    #[test]
    fn asking_for_more_than_there_is_takes_everything_once() {
        let all = draw(1, 1, &units(5), 10);
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn heavier_records_are_drawn_more_often() {
        // 100 records, 10 of them with weight 4: over many seeds they are drawn far more often
        // than their 10 % share.
        let mut u = units(100);
        for x in u.iter_mut().take(10) {
            x.weight = 4;
        }
        let mut heavy = 0;
        for seed in 0..200 {
            heavy += draw(seed, 1, &u, 10).iter().filter(|x| x.id <= 10).count();
        }
        let share = heavy as f64 / 2000.0;
        assert!(share > 0.25, "heavy share {share}");
    }

    #[test]
    fn wilson_intervals_match_the_textbook() {
        // 1 false of 50: p = 2 %, Wilson 95 % ≈ [0.35 %, 10.5 %].
        let e = wilson(1, 50).unwrap();
        assert!((e.rate - 0.02).abs() < 1e-12);
        assert!((e.low - 0.00354).abs() < 1e-4, "{e:?}");
        assert!((e.high - 0.10496).abs() < 1e-4, "{e:?}");
        // None false of 20: the interval still has width.
        let z = wilson(0, 20).unwrap();
        assert_eq!(z.low, 0.0);
        assert!((z.high - 0.1611).abs() < 1e-3, "{z:?}");
        assert!(wilson(0, 0).is_none());
    }

    #[test]
    fn the_overall_rate_weights_each_stratum_by_its_population() {
        let e = stratified(&[
            StratumTally {
                population: 900,
                checked: 10,
                false_count: 0,
            },
            StratumTally {
                population: 100,
                checked: 10,
                false_count: 5,
            },
            StratumTally {
                population: 5_000,
                checked: 0,
                false_count: 0,
            },
        ])
        .unwrap();
        assert!((e.rate - 0.05).abs() < 1e-12, "{e:?}");
        assert!(e.low < e.rate && e.rate < e.high);
    }
}
