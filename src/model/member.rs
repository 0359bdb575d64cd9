//! A classifier on the encoder it runs on: the unit a model directory holds once and an
//! ensemble several times ([`super::ensemble`], [`super::intent_model`]), and scoring many
//! texts in length-sorted batches.

use std::path::Path;

use super::classifier::Classifier;
use super::embed::{EmbeddingModel, EncoderOptions};
use super::prediction::Scores;
use super::source::EncoderSource;
use super::tokenize::TextTokenizer;
use crate::error::Result;
use crate::progress::Progress;

/// A classifier with the encoder it runs on.
pub struct Member {
    pub encoder: EmbeddingModel,
    pub classifier: Classifier,
}

impl Member {
    /// Loads the classifier in `dir` on the encoder its metadata names (the
    /// default encoder from `cache_dir`), with the precision, prefix and token
    /// limit it was trained with.
    pub fn load(dir: &Path, cache_dir: &Path) -> Result<Self> {
        let identity = Classifier::read_meta(dir)?.encoder;
        let opts = EncoderOptions {
            source: EncoderSource::from_description(&identity.source),
            cache_dir: cache_dir.to_path_buf(),
            precision: identity.precision,
            max_tokens: identity.max_tokens,
            prefix: Some(identity.prefix.clone()),
        };
        let encoder = EmbeddingModel::load(&opts)?;
        let classifier = Classifier::load(dir, &encoder)?;
        Ok(Member {
            encoder,
            classifier,
        })
    }

    /// Scores of many texts in length-sorted batches, in input order.
    pub fn score_all(&self, texts: &[&str], progress: &Progress) -> Result<Vec<Scores>> {
        score_sorted(texts, &self.encoder.tokenizer, progress, |batch| {
            self.classifier.score(&self.encoder, batch)
        })
    }
}

/// Scores of many texts in batches of [`super::embed::BULK_BATCH`] sorted by
/// token count (less padding for candle, even work for the fast forward), in
/// input order.
pub(super) fn score_sorted(
    texts: &[&str],
    tokenizer: &TextTokenizer,
    progress: &Progress,
    score: impl Fn(&[&str]) -> Result<Vec<Scores>>,
) -> Result<Vec<Scores>> {
    let lengths: Vec<usize> = tokenizer.encode(texts)?.iter().map(Vec::len).collect();
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    let mut out: Vec<Option<Scores>> = vec![None; texts.len()];
    for chunk in order.chunks(super::embed::BULK_BATCH) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        for (&i, scores) in chunk.iter().zip(score(&batch)?) {
            out[i] = Some(scores);
        }
        progress.inc(chunk.len() as u64);
    }
    Ok(out.into_iter().flatten().collect())
}
