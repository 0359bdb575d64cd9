//! A classifier trained on a slice of BANKING77 (real data nobody on the
//! project wrote) reaches a stated accuracy on a slice of the test split.

use std::collections::BTreeSet;

use intentdesk::data::{Dataset, shared_data_dir};
use intentdesk::eval::{EvalOptions, evaluate};
use intentdesk::model::train::{TrainOptions, train};

use super::common::{self, encoder};

/// The first `intents` categories (sorted), at most `per_intent` rows each.
pub fn slice(data: &Dataset, intents: usize, per_intent: usize) -> Dataset {
    let keep: BTreeSet<String> = data.examples.iter().map(|e| e.label.clone()).collect::<BTreeSet<_>>().into_iter().take(intents).collect();
    let mut counts = std::collections::HashMap::new();
    let examples = data
        .examples
        .iter()
        .filter(|e| keep.contains(&e.label))
        .filter(|e| {
            let c = counts.entry(e.label.clone()).or_insert(0usize);
            *c += 1;
            *c <= per_intent
        })
        .cloned()
        .collect();
    Dataset {
        examples,
        source: format!("{} (slice)", data.source),
    }
}

#[test]
fn banking77_slice_reaches_the_stated_accuracy() {
    let dir = shared_data_dir().join("banking77");
    let train_all = Dataset::load(&dir.join("train.csv"), None).expect("../shared/data/banking77/train.csv");
    let test_all = Dataset::load(&dir.join("test.csv"), None).unwrap();
    // 20 intents, 30 training rows each (600), all 40 test rows each (800).
    let train_slice = slice(&train_all, 20, 30);
    let test_slice = slice(&test_all, 20, 40);
    assert_eq!(test_slice.len(), 800);
    let (train_part, held_out) = train_slice.hold_out(0.15, 1);
    let opts = TrainOptions {
        tune_layers: 0,
        probe_epochs: 60,
        probe_lr: 1e-2,
        progress: false,
        ..Default::default()
    };
    let model = encoder();
    let trained = train(model, &train_part.labelled(), &held_out.labelled(), &opts, train_part.sha256(), None).unwrap();
    // The artifact round-trips: saved and loaded, it predicts the same.
    let dir = tempfile::tempdir().unwrap();
    trained.classifier.save(dir.path(), &trained.tuned_tensors).unwrap();
    let loaded = intentdesk::model::Classifier::load(dir.path(), model).unwrap();
    let texts = ["my card still has not arrived", "how do I activate my new card?"];
    assert_eq!(
        trained.classifier.predict(model, &texts).unwrap(),
        loaded.predict(model, &texts).unwrap()
    );
    // Evaluated as the commands do: the saved directory on its own encoder.
    let intent_model = intentdesk::model::IntentModel::single(common::load(intentdesk::model::Precision::F32), loaded);
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
    eprintln!("BANKING77 slice: accuracy {acc:.4}, macro-F1 {:.4}, ECE {:.4}", report.figures.macro_f1, report.ece);
    // Stated in the README: a frozen-encoder head on this slice reaches >= 85 %.
    assert!(acc >= 0.85, "accuracy {acc:.4} below the stated 0.85");
    assert!(report.ece < 0.15, "calibration error {:.4}", report.ece);
}
