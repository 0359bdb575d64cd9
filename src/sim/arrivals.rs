//! Arrival schedules as data: a rate per 15-minute interval (a daily profile
//! with its peak, or a constant rate), a non-homogeneous Poisson process
//! drawn from it, the first message of each conversation drawn from the
//! pool by intent mix, and the replay of a trace file.

use std::path::Path;

use super::SimError;
use super::core::{Arrival, INTERVAL_S};
use super::params::Params;
use super::random::Stream;

/// Conversations per hour in each 15-minute interval of one day, peak included.
pub fn day_rates(params: &Params, with_peak: bool) -> Vec<f64> {
    let a = &params.arrivals;
    let total: f64 = a.hourly_profile.iter().sum();
    let (start, end) = params.peak_window_s();
    (0..96)
        .map(|k| {
            let per_hour = a.conversations_per_day * a.hourly_profile[k / 4] / total;
            let t = k as f64 * INTERVAL_S;
            if with_peak && t >= start && t < end {
                per_hour * a.peak_multiplier
            } else {
                per_hour
            }
        })
        .collect()
}

/// How first messages are drawn: intents by weight, then a message of that intent.
#[derive(Debug, Clone)]
pub struct Mix {
    /// Cumulative weights, one per intent with messages.
    cumulative: Vec<f64>,
    /// Pool items of each of those intents.
    items: Vec<Vec<u32>>,
}

impl Mix {
    /// `weights[class]` (None: the pool's own mix, every message equally likely).
    pub fn new(labels: &[u16], weights: Option<&[f64]>) -> Result<Mix, SimError> {
        let classes = labels
            .iter()
            .map(|&l| usize::from(l) + 1)
            .max()
            .unwrap_or(0);
        let mut items = vec![Vec::new(); classes];
        for (i, &l) in labels.iter().enumerate() {
            items[usize::from(l)].push(i as u32);
        }
        let (mut cumulative, mut kept, mut sum) = (Vec::new(), Vec::new(), 0.0);
        for (class, list) in items.into_iter().enumerate() {
            let w = match weights {
                Some(w) => w.get(class).copied().unwrap_or(0.0),
                None => list.len() as f64,
            };
            if w > 0.0 && !list.is_empty() {
                sum += w;
                cumulative.push(sum);
                kept.push(list);
            }
        }
        if kept.is_empty() {
            return Err(SimError::Config {
                key: "pool.intent_mix".into(),
                reason: "no intent with a positive weight has messages in the pool".into(),
            });
        }
        Ok(Mix {
            cumulative,
            items: kept,
        })
    }

    /// The pool message for arrival `i`.
    pub fn draw(&self, stream: &Stream, i: u64) -> u32 {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let u = stream.uniform(2 * i) * total;
        let k = self
            .cumulative
            .partition_point(|&c| c <= u)
            .min(self.items.len() - 1);
        let list = &self.items[k];
        let j = (stream.uniform(2 * i + 1) * list.len() as f64) as usize;
        list[j.min(list.len() - 1)]
    }
}

/// A Poisson process with a piecewise-constant rate (per hour, per
/// interval). Exponential gaps restart at each boundary, which is exact
/// for a memoryless process.
pub fn poisson(rates_per_hour: &[f64], mix: &Mix, seed: u64) -> Vec<Arrival> {
    let gaps = Stream::new(seed, "arrivals");
    let messages = Stream::new(seed, "messages");
    let mut out = Vec::new();
    let mut draw = 0u64;
    for (k, &rate) in rates_per_hour.iter().enumerate() {
        if rate <= 0.0 {
            continue;
        }
        let end = (k + 1) as f64 * INTERVAL_S;
        let mut t = k as f64 * INTERVAL_S;
        loop {
            t += gaps.exponential(draw, 3600.0 / rate);
            draw += 1;
            if t >= end {
                break;
            }
            let item = mix.draw(&messages, out.len() as u64);
            out.push(Arrival { t, item });
        }
    }
    out
}

/// One row of a trace file.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    /// Seconds from midnight.
    pub t: f64,
    pub text: String,
    pub intent: Option<String>,
}

/// Reads a trace: CSV or TSV with a header naming `timestamp` and `text`
/// (optional `lang`, ignored, and `intent`). A timestamp is `HH:MM[:SS]` or
/// RFC 3339; only its time of day (UTC) is used.
pub fn read_trace(path: &Path) -> Result<Vec<TraceRow>, SimError> {
    let err = |line: usize, reason: String| SimError::Trace {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(0, format!("cannot read: {e}")))?;
    let delimiter = if text.lines().next().is_some_and(|l| l.contains('\t')) {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| err(1, e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(ts), Some(tx)) = (col("timestamp"), col("text")) else {
        return Err(err(
            1,
            "the header must name `timestamp` and `text` columns".into(),
        ));
    };
    let intent_col = col("intent");
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| err(line, e.to_string()))?;
        let stamp = record.get(ts).unwrap_or("").trim();
        let t = time_of_day(stamp).ok_or_else(|| {
            err(
                line,
                format!("timestamp {stamp:?} is neither HH:MM[:SS] nor RFC 3339"),
            )
        })?;
        let text = record.get(tx).unwrap_or("").trim().to_string();
        if text.is_empty() {
            return Err(err(line, "empty text".into()));
        }
        let intent = intent_col
            .and_then(|c| record.get(c))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        rows.push(TraceRow { t, text, intent });
    }
    if rows.is_empty() {
        return Err(err(0, "no rows".into()));
    }
    rows.sort_by(|a, b| a.t.total_cmp(&b.t));
    Ok(rows)
}

fn time_of_day(stamp: &str) -> Option<f64> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(stamp) {
        use chrono::Timelike;
        let utc = dt.with_timezone(&chrono::Utc);
        return Some(
            f64::from(utc.num_seconds_from_midnight()) + f64::from(utc.nanosecond()) / 1e9,
        );
    }
    let parts: Vec<&str> = stamp.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let h: u32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let s: f64 = parts.get(2).map_or(Some(0.0), |s| s.parse().ok())?;
    (h < 24 && m < 60 && (0.0..60.0).contains(&s)).then(|| f64::from(h * 3600 + m * 60) + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_counts_follow_the_rates() {
        let labels = vec![0u16; 10];
        let mix = Mix::new(&labels, None).unwrap();
        // 400/h for 4 intervals, then nothing, then 4000/h.
        let rates = [400.0, 400.0, 400.0, 400.0, 0.0, 4000.0];
        let a = poisson(&rates, &mix, 1);
        let in_first_hour = a.iter().filter(|x| x.t < 3600.0).count();
        assert!((340..=460).contains(&in_first_hour), "{in_first_hour}");
        assert!(!a.iter().any(|x| (3600.0..4500.0).contains(&x.t)));
        let last = a.iter().filter(|x| x.t >= 4500.0).count();
        assert!((900..=1100).contains(&last), "{last}");
        assert!(a.windows(2).all(|w| w[0].t <= w[1].t));
        assert_eq!(a, poisson(&rates, &mix, 1));
        assert_ne!(a, poisson(&rates, &mix, 2));
    }

    #[test]
    fn the_mix_weights_intents() {
        let labels = [0u16, 0, 0, 1, 2];
        let mix = Mix::new(&labels, Some(&[1.0, 3.0, 0.0])).unwrap();
        let s = Stream::new(3, "messages");
        let n = 40_000;
        let ones = (0..n).filter(|&i| mix.draw(&s, i) == 3).count() as f64 / n as f64;
        assert!((ones - 0.75).abs() < 0.01, "{ones}");
        assert!((0..n).all(|i| mix.draw(&s, i) != 4));
        assert!(Mix::new(&labels, Some(&[0.0, 0.0, 0.0])).is_err());
    }

    #[test]
    fn traces_are_read_with_times_of_day() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "timestamp,text,lang\n09:00:30,where is my deposit,en\n2026-12-01T08:15:00Z,hi,en\n",
        )
        .unwrap();
        let rows = read_trace(&path).unwrap();
        assert_eq!(rows[0].t, 8.0 * 3600.0 + 900.0);
        assert_eq!(rows[1].text, "where is my deposit");
        std::fs::write(&path, "timestamp,text\nnoon,hi\n").unwrap();
        let e = read_trace(&path).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("noon"), "{e}");
    }
}
