//! A classifier trained on a slice of BANKING77 (real data nobody on the
//! project wrote) reaches a stated accuracy on a slice of the test split, and
//! with its nearest training examples turns down intents it never saw.

use std::collections::BTreeSet;

use intentdesk::data::{Dataset, Example, shared_data_dir};
use intentdesk::eval::metrics::figures;
use intentdesk::eval::{EvalOptions, evaluate};
use intentdesk::model::EmbeddingModel;
use intentdesk::model::calibration::{ThresholdGoal, choose_thresholds};
use intentdesk::model::labels::held_out_classes;
use intentdesk::model::prediction::{Scores, Thresholds, decide};
use intentdesk::model::train::{TrainOptions, Trained};

use super::common::{self, encoder};

/// Rows of the categories ranked `skip..skip + intents` (sorted), at most
/// `per_intent` each.
fn ranked_slice(data: &Dataset, skip: usize, intents: usize, per_intent: usize) -> Vec<Example> {
    let keep: BTreeSet<String> = data
        .examples
        .iter()
        .map(|e| e.label.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .skip(skip)
        .take(intents)
        .collect();
    let mut counts = std::collections::HashMap::new();
    data.examples
        .iter()
        .filter(|e| keep.contains(&e.label))
        .filter(|e| {
            let c = counts.entry(e.label.clone()).or_insert(0usize);
            *c += 1;
            *c <= per_intent
        })
        .cloned()
        .collect()
}

/// The first `intents` categories (sorted), at most `per_intent` rows each.
pub fn slice(data: &Dataset, intents: usize, per_intent: usize) -> Dataset {
    Dataset {
        examples: ranked_slice(data, 0, intents, per_intent),
        source: format!("{} (slice)", data.source),
    }
}

/// A frozen-encoder head trained on `train_part`, calibrated on `held_out`.
fn frozen_probe(model: &EmbeddingModel, train_part: &Dataset, held_out: &Dataset) -> Trained {
    let opts = TrainOptions {
        tune_layers: 0,
        probe_epochs: 60,
        probe_lr: 1e-2,
        progress: false,
        ..Default::default()
    };
    common::train_on(model, train_part, held_out, &opts).unwrap()
}

#[test]
fn banking77_slice_reaches_the_stated_accuracy() {
    let dir = shared_data_dir().join("banking77");
    let train_all =
        Dataset::load(&dir.join("train.csv"), None).expect("../shared/data/banking77/train.csv");
    let test_all = Dataset::load(&dir.join("test.csv"), None).unwrap();
    // 20 intents, 30 training rows each (600), all 40 test rows each (800).
    let train_slice = slice(&train_all, 20, 30);
    let test_slice = slice(&test_all, 20, 40);
    assert_eq!(test_slice.len(), 800);
    let (train_part, held_out) = train_slice.hold_out(0.15, 1);
    let model = encoder();
    let trained = frozen_probe(model, &train_part, &held_out);
    // The artifact round-trips: saved and loaded, it predicts the same.
    let dir = tempfile::tempdir().unwrap();
    trained
        .classifier
        .save(dir.path(), &trained.tuned_tensors)
        .unwrap();
    let loaded = intentdesk::model::Classifier::load(dir.path(), model).unwrap();
    let texts = [
        "my card still has not arrived",
        "how do I activate my new card?",
    ];
    assert_eq!(
        trained.classifier.predict(model, &texts).unwrap(),
        loaded.predict(model, &texts).unwrap()
    );
    // Evaluated as the commands do: the saved directory on its own encoder.
    let intent_model = intentdesk::model::IntentModel::single(
        common::load(intentdesk::model::Precision::F32),
        loaded,
    );
    let report = evaluate(
        &intent_model,
        &test_slice,
        &EvalOptions {
            latency_samples: 5,
            progress: false,
        },
    )
    .unwrap();
    let acc = report.figures.accuracy;
    eprintln!(
        "BANKING77 slice: accuracy {acc:.4}, macro-F1 {:.4}, ECE {:.4}",
        report.figures.macro_f1, report.ece
    );
    // Stated in the README: a frozen-encoder head on this slice reaches >= 85 %.
    assert!(acc >= 0.85, "accuracy {acc:.4} below the stated 0.85");
    assert!(report.ece < 0.15, "calibration error {:.4}", report.ece);
}

/// Rows of the intents ranked `skip..skip + intents` (sorted), at most
/// `per_intent` each, relabelled as out of scope.
fn unseen(data: &Dataset, skip: usize, intents: usize, per_intent: usize) -> Vec<Example> {
    ranked_slice(data, skip, intents, per_intent)
        .into_iter()
        .map(|e| Example {
            label: "oos".into(),
            ..e
        })
        .collect()
}

/// BANKING77 split as CLINC150 is: in scope, 10 intents with 30 training
/// rows each (a seeded fifth held out); out of scope, other intents for the
/// held-out rows (10 intents) and for the test rows (10 more), so thresholds
/// cannot learn the test's strangers. Test: `per_test_intent` rows of each of
/// the 20 intents. Returns (training, held-out, test) rows.
fn with_unseen_intents(per_test_intent: usize) -> (Dataset, Dataset, Dataset) {
    let dir = shared_data_dir().join("banking77");
    let train_all = Dataset::load(&dir.join("train.csv"), None).unwrap();
    let test_all = Dataset::load(&dir.join("test.csv"), None).unwrap();
    let (train_part, mut held_out) = slice(&train_all, 10, 30).hold_out(0.2, 3);
    held_out.examples.extend(unseen(&train_all, 10, 10, 6));
    let mut test = slice(&test_all, 10, per_test_intent);
    test.examples
        .extend(unseen(&test_all, 20, 10, per_test_intent));
    (train_part, held_out, test)
}

/// In-scope accuracy and out-of-scope recall on `data` of `scores` (one per
/// row) under `t`, as `eval` counts them.
fn in_scope_and_recall(
    scores: &[Scores],
    data: &Dataset,
    labels: &[String],
    t: &Thresholds,
) -> (f64, f64) {
    let gold: Vec<String> = data.examples.iter().map(|e| e.label.clone()).collect();
    let predicted: Vec<String> = scores
        .iter()
        .map(|s| decide(s, labels, Some("oos"), t).intent)
        .collect();
    let rows: Vec<usize> = (0..gold.len()).collect();
    let (f, _) = figures(&gold, &predicted, &rows, Some("oos"));
    (f.in_scope_accuracy.unwrap(), f.oos_recall.unwrap())
}

#[test]
fn nearest_training_examples_help_turn_down_unseen_intents() {
    let (train_part, held_out, test) = with_unseen_intents(40);
    let model = encoder();
    let trained = frozen_probe(model, &train_part, &held_out);
    // Every training row is kept as an exemplar, and saved with the artifact.
    assert_eq!(trained.classifier.exemplar_count(), train_part.len());
    let saved = tempfile::tempdir().unwrap();
    trained
        .classifier
        .save(saved.path(), &trained.tuned_tensors)
        .unwrap();
    let loaded = intentdesk::model::Classifier::load(saved.path(), model).unwrap();
    assert_eq!(loaded.exemplar_count(), train_part.len());
    let own = loaded
        .score(model, &[train_part.examples[0].text.as_str()])
        .unwrap();
    let near = own[0]
        .neighbor_similarity
        .expect("a nearest-example similarity");
    assert!(
        near > 0.99,
        "a training sentence is its own nearest example: {near}"
    );
    // Exemplars of the wrong width are refused with the tensor named.
    let broken = tempfile::tempdir().unwrap();
    let weights = saved
        .path()
        .join(intentdesk::model::classifier::WEIGHTS_FILE);
    let mut tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu).unwrap();
    tensors.insert(
        "exemplars".into(),
        candle_core::Tensor::zeros((3, 7), candle_core::DType::F16, &candle_core::Device::Cpu)
            .unwrap(),
    );
    candle_core::safetensors::save(
        &tensors,
        broken
            .path()
            .join(intentdesk::model::classifier::WEIGHTS_FILE),
    )
    .unwrap();
    std::fs::copy(
        saved.path().join(intentdesk::model::classifier::META_FILE),
        broken.path().join(intentdesk::model::classifier::META_FILE),
    )
    .unwrap();
    let err = intentdesk::model::Classifier::load(broken.path(), model)
        .err()
        .expect("wrong-width exemplars refused")
        .to_string();
    assert!(err.contains("exemplars") && err.contains("[3, 7]"), "{err}");

    let labels = loaded.labels().to_vec();
    let texts: Vec<&str> = test.examples.iter().map(|e| e.text.as_str()).collect();
    let test_scores = loaded.score(model, &texts).unwrap();
    let with_gate = in_scope_and_recall(&test_scores, &test, &labels, &loaded.meta.thresholds);
    // The thresholds the same held-out rows give without nearest examples.
    let blind = |scores: Vec<Scores>| -> Vec<Scores> {
        scores
            .into_iter()
            .map(|s| Scores {
                neighbor_similarity: None,
                ..s
            })
            .collect()
    };
    let held_texts: Vec<&str> = held_out.examples.iter().map(|e| e.text.as_str()).collect();
    let held_gold: Vec<String> = held_out.examples.iter().map(|e| e.label.clone()).collect();
    let blind_t = choose_thresholds(
        &blind(loaded.score(model, &held_texts).unwrap()),
        &held_out_classes(&held_gold, &labels, None).unwrap(),
        None,
        ThresholdGoal::default(),
    );
    let without = in_scope_and_recall(&blind(test_scores), &test, &labels, &blind_t);
    eprintln!(
        "unseen intents: with nearest examples {:?} in-scope {:.4} oos recall {:.4}; without {:?} in-scope {:.4} oos recall {:.4}",
        loaded.meta.thresholds, with_gate.0, with_gate.1, blind_t, without.0, without.1
    );
    // Measured: 91.5 % balanced with nearest examples (an evidence gate was
    // chosen), 89.1 % without. Stated: at least 88 %, and no worse than
    // without them.
    let score = |(a, r): (f64, f64)| (a + r) / 2.0;
    assert!(
        score(with_gate) >= 0.88,
        "balanced score {:.4} below the stated 0.88",
        score(with_gate)
    );
    assert!(
        score(with_gate) >= score(without),
        "nearest examples made it worse: {:.4} < {:.4}",
        score(with_gate),
        score(without)
    );
}

/// How well nearest-example similarity tells in-scope rows from unseen
/// intents' rows: the area under its ROC curve (the chance an in-scope row
/// scores above an unseen one) and the gap between the two groups' means.
fn nearest_separation(scores: &[Scores], data: &Dataset) -> (f64, f64) {
    let near = |oos: bool| -> Vec<f64> {
        scores
            .iter()
            .zip(&data.examples)
            .filter(|(_, e)| (e.label == "oos") == oos)
            .map(|(s, _)| s.neighbor_similarity.expect("exemplars kept") as f64)
            .collect()
    };
    let (inside, outside) = (near(false), near(true));
    let mut wins = 0f64;
    for a in &inside {
        for b in &outside {
            wins += if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            };
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    (
        wins / (inside.len() * outside.len()) as f64,
        mean(&inside) - mean(&outside),
    )
}

#[test]
fn contrastive_tuning_separates_unseen_intents_by_nearest_example() {
    let (train_part, held_out, test) = with_unseen_intents(20);
    let texts: Vec<&str> = test.examples.iter().map(|e| e.text.as_str()).collect();
    let model = encoder();
    let tuned = |contrastive: f64| -> (f64, f64) {
        let opts = TrainOptions {
            tune_layers: 1,
            probe_epochs: 30,
            epochs: 3,
            contrastive,
            progress: false,
            ..Default::default()
        };
        let trained = common::train_on(model, &train_part, &held_out, &opts).unwrap();
        nearest_separation(&trained.classifier.score(model, &texts).unwrap(), &test)
    };
    // Settings that make no sense are refused before any work.
    for (weight, temperature) in [(-1.0, 0.1), (1.0, 0.0), (f64::NAN, 0.1)] {
        let opts = TrainOptions {
            contrastive: weight,
            contrastive_temperature: temperature,
            progress: false,
            ..Default::default()
        };
        let err = common::train_on(model, &train_part, &held_out, &opts)
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("contrastive"), "{err}");
    }
    let (plain, contrastive) = (tuned(0.0), tuned(1.0));
    eprintln!(
        "nearest-example similarity, in scope vs unseen intents (AUROC, gap of means): cross-entropy {plain:.4?}, with the contrastive term {contrastive:.4?}"
    );
    // Measured: AUROC 0.965 -> 0.969, gap 0.069 -> 0.123. Stated: the gap
    // grows by at least 40 %, and the AUROC stays at 0.95 or more.
    assert!(
        contrastive.1 >= 1.4 * plain.1,
        "the contrastive term did not push unseen intents away: gap {:.4} vs {:.4}",
        contrastive.1,
        plain.1
    );
    assert!(contrastive.0 >= 0.95, "AUROC {:.4}", contrastive.0);
}
