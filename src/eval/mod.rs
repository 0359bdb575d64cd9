//! The offline evaluation harness: runs a classifier over a labelled dataset
//! and reports accuracy, macro-F1, per-intent precision/recall/F1 with the
//! intents each is confused with, out-of-scope precision/recall/F1,
//! calibration error, latency, and all of it by language.

pub mod metrics;
pub mod plot;

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use crate::data::Dataset;
use crate::error::Result;
use crate::model::IntentModel;
use crate::model::calibration::{ReliabilityBin, ece, reliability};
use crate::model::prediction::{Prediction, is_oos_label};
pub use metrics::{Figures, PerIntent};

/// Settings of one evaluation run.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Rows timed one at a time for the single-message latency figures.
    pub latency_samples: usize,
    pub progress: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            latency_samples: 200,
            progress: true,
        }
    }
}

/// Latency and throughput figures.
#[derive(Debug, Clone, Serialize)]
pub struct Speed {
    /// Single-message latency (batch of one), milliseconds.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub samples: usize,
    /// Messages per second when classified in batches of 32.
    pub batch_throughput_per_s: f64,
}

/// The evaluation report (the JSON written by `eval --report`).
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub data: String,
    pub model: String,
    pub rows: usize,
    #[serde(flatten)]
    pub figures: Figures,
    /// Expected calibration error of the top-1 confidence on in-scope rows.
    pub ece: f64,
    pub per_intent: BTreeMap<String, PerIntent>,
    pub by_language: BTreeMap<String, Figures>,
    pub latency: Speed,
    pub reliability: Vec<ReliabilityBin>,
    /// Labels in matrix order, then counts[gold][predicted].
    pub confusion_labels: Vec<String>,
    pub confusion: Vec<Vec<u32>>,
}

/// Runs `model` over `data`.
pub fn evaluate(model: &IntentModel, data: &Dataset, opts: &EvalOptions) -> Result<EvalReport> {
    let texts: Vec<&str> = data.examples.iter().map(|e| e.text.as_str()).collect();
    let progress =
        crate::progress::Progress::new(texts.len() as u64, "evaluating", opts.progress, false);
    // Batched predictions (the batch throughput figure).
    let started = Instant::now();
    let scores = model.score_all(&texts, &progress)?;
    let batch_secs = started.elapsed().as_secs_f64();
    let predictions: Vec<Prediction> = scores.iter().map(|s| model.decide(s)).collect();
    let probs: Vec<Vec<f32>> = scores.into_iter().map(|s| s.probs).collect();
    let mut latency = single_message_latency(model, &texts, opts.latency_samples)?;
    latency.batch_throughput_per_s = texts.len() as f64 / batch_secs.max(1e-9);

    let labels = Labelled::new(model, data, &predictions);
    let oos = labels.has_oos.then_some(labels.oos_name.as_str());
    let all_rows: Vec<usize> = (0..labels.gold.len()).collect();
    let (figures, per_intent) = metrics::figures(&labels.gold, &labels.predicted, &all_rows, oos);
    let mut by_language = BTreeMap::new();
    for lang in data.languages() {
        let rows: Vec<usize> = (0..labels.gold.len())
            .filter(|&i| data.examples[i].lang.as_deref() == Some(lang.as_str()))
            .collect();
        let (f, _) = metrics::figures(&labels.gold, &labels.predicted, &rows, oos);
        by_language.insert(lang, f);
    }
    let (cal_probs, cal_y) = labels.calibration_rows(model, &probs);
    let (confusion_labels, confusion) = metrics::confusion(&labels.gold, &labels.predicted);
    Ok(EvalReport {
        data: data.source.clone(),
        model: model.dir().display().to_string(),
        rows: labels.gold.len(),
        figures,
        ece: ece(&cal_probs, &cal_y) as f64,
        per_intent,
        by_language,
        latency,
        reliability: reliability(&cal_probs, &cal_y, 10),
        confusion_labels,
        confusion,
    })
}

/// Single-message latency on `samples` evenly spaced rows (throughput left at 0).
fn single_message_latency(model: &IntentModel, texts: &[&str], samples: usize) -> Result<Speed> {
    let samples = samples.min(texts.len());
    let mut latencies = Vec::with_capacity(samples);
    for s in 0..samples {
        let text = texts[s * texts.len() / samples.max(1)];
        let t = Instant::now();
        model.predict(&[text])?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok(Speed {
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        mean_ms: latencies.iter().sum::<f64>() / latencies.len().max(1) as f64,
        samples,
        batch_throughput_per_s: 0.0,
    })
}

/// Gold and predicted labels of every row, out-of-scope names unified to the classifier's.
struct Labelled {
    gold: Vec<String>,
    predicted: Vec<String>,
    oos_name: String,
    /// Whether the data has out-of-scope rows (else the top in-scope intent is scored).
    has_oos: bool,
}

impl Labelled {
    fn new(model: &IntentModel, data: &Dataset, predictions: &[Prediction]) -> Labelled {
        let oos_name = model
            .oos_label()
            .map(str::to_string)
            .unwrap_or_else(|| crate::model::prediction::DEFAULT_OOS_LABEL.to_string());
        let gold: Vec<String> = data
            .examples
            .iter()
            .map(|e| {
                if is_oos_label(&e.label) {
                    oos_name.clone()
                } else {
                    e.label.clone()
                }
            })
            .collect();
        let has_oos = gold.contains(&oos_name);
        let predicted = predictions
            .iter()
            .map(|p| {
                if has_oos {
                    p.intent.clone()
                } else {
                    p.top.first().map(|s| s.intent.clone()).unwrap_or_default()
                }
            })
            .collect();
        Labelled {
            gold,
            predicted,
            oos_name,
            has_oos,
        }
    }

    /// Calibration rows: in-scope rows whose label the model knows, with their probabilities.
    fn calibration_rows(
        &self,
        model: &IntentModel,
        probs: &[Vec<f32>],
    ) -> (Vec<Vec<f32>>, Vec<usize>) {
        let label_index: BTreeMap<&str, usize> = model
            .labels()
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        self.gold
            .iter()
            .zip(probs)
            .filter(|(g, _)| **g != self.oos_name)
            .filter_map(|(g, p)| label_index.get(g.as_str()).map(|&y| (p.clone(), y)))
            .unzip()
    }
}
