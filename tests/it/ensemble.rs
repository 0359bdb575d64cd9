//! An ensemble of two real encoders (multilingual-e5-small and
//! all-MiniLM-L6-v2) on a BANKING77 slice: members trained, combined on
//! held-out rows, saved, loaded back through the model directory as the
//! commands load it, and evaluated on a slice of the test split.

use intentdesk::data::{Dataset, shared_data_dir};
use intentdesk::eval::{EvalOptions, evaluate};
use intentdesk::model::calibration::ThresholdGoal;
use intentdesk::model::ensemble::{ENSEMBLE_FILE, assemble};
use intentdesk::model::train::TrainOptions;
use intentdesk::model::{EmbeddingModel, EncoderOptions, IntentModel};

use super::benchmark_slice::slice;
use super::common;

fn quiet() -> EvalOptions {
    EvalOptions {
        latency_samples: 3,
        progress: false,
    }
}

/// Trains a frozen-encoder member on `model` into `dir`.
fn member(model: &EmbeddingModel, train_part: &Dataset, held_out: &Dataset, dir: &std::path::Path) {
    let opts = TrainOptions {
        tune_layers: 0,
        probe_epochs: 60,
        progress: false,
        ..Default::default()
    };
    let trained = common::train_on(model, train_part, held_out, &opts).unwrap();
    trained
        .classifier
        .save(dir, &trained.tuned_tensors)
        .unwrap();
}

#[test]
fn an_ensemble_of_two_encoders_is_fitted_saved_loaded_and_evaluated() {
    let data = shared_data_dir().join("banking77");
    let train_all =
        Dataset::load(&data.join("train.csv"), None).expect("../shared/data/banking77/train.csv");
    let test_all = Dataset::load(&data.join("test.csv"), None).unwrap();
    let (train_part, held_out) = slice(&train_all, 20, 30).hold_out(0.15, 1);
    let test_slice = slice(&test_all, 20, 40);

    let dir = tempfile::tempdir().unwrap();
    member(
        common::encoder(),
        &train_part,
        &held_out,
        &dir.path().join("e5"),
    );
    member(
        common::minilm(),
        &train_part,
        &held_out,
        &dir.path().join("minilm"),
    );
    let names = vec!["e5".to_string(), "minilm".to_string()];
    let cache = intentdesk::model::source::default_cache_dir();
    let meta = assemble(
        dir.path(),
        &names,
        &cache,
        &held_out.labelled(),
        ThresholdGoal::default(),
        false,
    )
    .unwrap();
    assert_eq!(meta.members.len(), 2);
    let weight_sum: f32 = meta.members.iter().map(|m| m.weight).sum();
    assert!(
        (weight_sum - 1.0).abs() < 1e-5,
        "weights {:?}",
        meta.members
    );
    assert!(meta.temperature > 0.0);

    // Loaded by directory, as `eval`, `classify` and `serve` load it: each
    // member on its own encoder, whatever encoder the command line names.
    let ensemble = IntentModel::load(dir.path(), &EncoderOptions::from_env()).unwrap();
    assert!(ensemble.is_ensemble());
    assert_eq!(ensemble.members().len(), 2);
    assert_eq!(ensemble.labels(), meta.labels.as_slice());
    let report = evaluate(&ensemble, &test_slice, &quiet()).unwrap();
    let single = |name: &str| {
        let encoder = if name == "e5" {
            common::load(intentdesk::model::Precision::F32)
        } else {
            EmbeddingModel::load(&EncoderOptions {
                source: intentdesk::model::EncoderSource::Dir(common::minilm_dir()),
                ..EncoderOptions::from_env()
            })
            .unwrap()
        };
        let classifier =
            intentdesk::model::Classifier::load(&dir.path().join(name), &encoder).unwrap();
        evaluate(
            &IntentModel::single(encoder, classifier),
            &test_slice,
            &quiet(),
        )
        .unwrap()
        .figures
        .accuracy
    };
    let (e5, minilm) = (single("e5"), single("minilm"));
    let acc = report.figures.accuracy;
    eprintln!("BANKING77 slice: e5 {e5:.4}, MiniLM {minilm:.4}, ensemble {acc:.4}");
    // Stated in the README: the ensemble reaches >= 90 % on this slice and beats
    // its better member (two encoders trained on different corpora make
    // different mistakes; measured: e5 96.1 %, MiniLM 95.4 %, ensemble 96.9 %).
    assert!(
        acc >= 0.90,
        "ensemble accuracy {acc:.4} below the stated 0.90"
    );
    assert!(
        acc > e5.max(minilm),
        "the ensemble {acc:.4} does not beat its better member (e5 {e5:.4}, MiniLM {minilm:.4})"
    );
    assert!(report.ece < 0.15, "calibration error {:.4}", report.ece);

    // Batch and one-at-a-time predictions agree.
    let texts = [
        "my card still has not arrived",
        "how do I activate my new card?",
    ];
    let batch = ensemble.predict(&texts).unwrap();
    for (text, prediction) in texts.iter().zip(&batch) {
        let alone = ensemble.predict(&[text]).unwrap().remove(0);
        assert_eq!(alone.intent, prediction.intent);
        assert!((alone.confidence - prediction.confidence).abs() < 1e-4);
    }

    // A member whose directory is gone is named in the error.
    std::fs::remove_dir_all(dir.path().join("minilm")).unwrap();
    let err = IntentModel::load(dir.path(), &EncoderOptions::from_env())
        .err()
        .expect("a broken ensemble is refused");
    assert!(err.to_string().contains("minilm"), "{err}");
}

#[test]
fn a_corrupt_ensemble_file_is_reported_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(ENSEMBLE_FILE), "{ not json").unwrap();
    let err = IntentModel::load(dir.path(), &EncoderOptions::from_env())
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains(ENSEMBLE_FILE) && text.contains("corrupt"),
        "{text}"
    );
}
