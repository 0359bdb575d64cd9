//! Shared helpers: the real encoder, loaded once per test binary, and
//! training on a dataset's rows.

use std::sync::OnceLock;

use intentdesk::data::Dataset;
use intentdesk::error::Result;
use intentdesk::model::train::{TrainOptions, Trained, train};
use intentdesk::model::{EmbeddingModel, EncoderOptions, EncoderSource, Precision};

/// The default encoder (f32), loaded once.
pub fn encoder() -> &'static EmbeddingModel {
    static MODEL: OnceLock<EmbeddingModel> = OnceLock::new();
    MODEL.get_or_init(|| load(Precision::F32))
}

/// Loads the default encoder at `precision`; fails with the fix if it is missing.
pub fn load(precision: Precision) -> EmbeddingModel {
    EmbeddingModel::load(&EncoderOptions {
        precision,
        ..EncoderOptions::from_env()
    })
    .unwrap_or_else(|e| {
        panic!("{e}\n(the README's test command runs `intentdesk fetch-model` first)")
    })
}

/// The English all-MiniLM-L6-v2 encoder from the cache, loaded once.
pub fn minilm() -> &'static EmbeddingModel {
    static MODEL: OnceLock<EmbeddingModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        EmbeddingModel::load(&EncoderOptions {
            source: EncoderSource::Dir(minilm_dir()),
            ..EncoderOptions::from_env()
        })
        .unwrap_or_else(|e| panic!("{e}\n(the README's test command runs `intentdesk fetch-model --encoder all-minilm-l6-v2` first)"))
    })
}

/// Where `fetch-model --encoder all-minilm-l6-v2` puts MiniLM.
pub fn minilm_dir() -> std::path::PathBuf {
    intentdesk::model::source::default_cache_dir().join(intentdesk::model::source::MINILM_DIR)
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Trains on `train_part`, calibrated on `held_out`, as `intentdesk train` does.
pub fn train_on(
    model: &EmbeddingModel,
    train_part: &Dataset,
    held_out: &Dataset,
    opts: &TrainOptions,
) -> Result<Trained> {
    train(
        model,
        &train_part.labelled(),
        &held_out.labelled(),
        opts,
        train_part.sha256(),
        None,
    )
}
