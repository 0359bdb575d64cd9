//! What the commands and the engine load from a model directory: one
//! classifier on its encoder, or an ensemble of classifiers each on its own
//! encoder ([`super::ensemble`]), each a [`Member`]. Either way: texts in, calibrated scores and
//! predictions out, with one set of labels and thresholds.

use std::path::{Path, PathBuf};

use super::classifier::Classifier;
use super::embed::{EmbeddingModel, EncoderOptions};
use super::ensemble::{self, ENSEMBLE_FILE, EnsembleMeta};
use super::fast::{FastMember, Forward};
use super::member::{Member, score_sorted};
use super::prediction::{Prediction, Scores, Thresholds, decide};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// A loaded model directory.
pub struct IntentModel {
    /// The candle members (empty when `fast` serves).
    members: Vec<Member>,
    /// One classifier on the fast forward (see [`super::fast`]).
    fast: Option<FastMember>,
    /// `Some` for an ensemble directory.
    ensemble: Option<EnsembleMeta>,
    dir: PathBuf,
}

impl IntentModel {
    /// One classifier on one encoder.
    pub fn single(encoder: EmbeddingModel, classifier: Classifier) -> Self {
        let dir = classifier.dir().to_path_buf();
        IntentModel {
            members: vec![Member {
                encoder,
                classifier,
            }],
            fast: None,
            ensemble: None,
            dir,
        }
    }

    /// One classifier on the fast forward.
    pub fn fast(member: FastMember) -> Self {
        let dir = member.classifier.dir().to_path_buf();
        IntentModel {
            members: Vec::new(),
            fast: Some(member),
            ensemble: None,
            dir,
        }
    }

    /// Loads `dir`. A classifier directory runs on the encoder `encoder`
    /// describes, on the fast forward when that encoder is an E5S1 file and
    /// `INTENTDESK_FORWARD` asks for it (`int8` or `f32`); an ensemble loads each
    /// member's own encoder (the one its metadata names, with `encoder`'s
    /// cache directory for the default one) on candle.
    pub fn load(dir: &Path, encoder: &EncoderOptions) -> Result<Self> {
        if !dir.join(ENSEMBLE_FILE).exists() {
            if let Some(format) = FastMember::format_for(Forward::from_env()?)
                && let Some(member) = FastMember::load(dir, encoder, format)?
            {
                return Ok(Self::fast(member));
            }
            let model = EmbeddingModel::load(encoder)?;
            let classifier = Classifier::load(dir, &model)?;
            return Ok(Self::single(model, classifier));
        }
        let meta = EnsembleMeta::load(dir)?;
        let mut members = Vec::with_capacity(meta.members.len());
        for member in &meta.members {
            let member_dir = dir.join(&member.dir);
            let loaded = Member::load(&member_dir, &encoder.cache_dir)?;
            if loaded.classifier.labels() != meta.labels.as_slice() {
                return Err(Error::ClassifierMismatch {
                    path: member_dir,
                    reason: "its labels differ from the ensemble's".into(),
                });
            }
            members.push(loaded);
        }
        Ok(IntentModel {
            members,
            fast: None,
            ensemble: Some(meta),
            dir: dir.to_path_buf(),
        })
    }

    /// The candle members (none when the fast forward serves).
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The fast forward's member, when it serves.
    pub fn fast_member(&self) -> Option<&FastMember> {
        self.fast.as_ref()
    }

    /// The single classifier (not an ensemble's members).
    fn head(&self) -> &Classifier {
        match &self.fast {
            Some(f) => &f.classifier,
            None => &self.members[0].classifier,
        }
    }

    pub fn is_ensemble(&self) -> bool {
        self.ensemble.is_some()
    }

    /// Where the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn labels(&self) -> &[String] {
        match &self.ensemble {
            Some(meta) => &meta.labels,
            None => self.head().labels(),
        }
    }

    pub fn oos_label(&self) -> Option<&str> {
        match &self.ensemble {
            Some(meta) => meta.oos_label.as_deref(),
            None => self.head().meta.oos_label.as_deref(),
        }
    }

    /// The catalog the model was trained on, if any.
    pub fn catalog_sha256(&self) -> Option<&str> {
        match &self.ensemble {
            Some(meta) => meta.catalog_sha256.as_deref(),
            None => self.head().meta.catalog_sha256.as_deref(),
        }
    }

    pub fn thresholds(&self) -> Thresholds {
        match &self.ensemble {
            Some(meta) => meta.thresholds,
            None => self.head().meta.thresholds,
        }
    }

    /// The encoders in use, for logs and reports.
    pub fn encoder_names(&self) -> Vec<String> {
        if let Some(f) = &self.fast {
            return vec![f.identity.source.clone()];
        }
        self.members
            .iter()
            .map(|m| m.encoder.identity.source.clone())
            .collect()
    }

    /// Calibrated scores of a batch of texts.
    pub fn score(&self, texts: &[&str]) -> Result<Vec<Scores>> {
        if let Some(f) = &self.fast {
            return f.score(texts);
        }
        let per_member = self
            .members
            .iter()
            .map(|m| m.classifier.score(&m.encoder, texts))
            .collect::<Result<Vec<_>>>()?;
        Ok(self.mix(per_member))
    }

    /// Scores of many texts in length-sorted batches, in input order;
    /// `progress` counts texts once per member.
    pub fn score_all(&self, texts: &[&str], progress: &Progress) -> Result<Vec<Scores>> {
        if let Some(f) = &self.fast {
            progress.set_length(texts.len() as u64);
            let scores = score_sorted(texts, &f.tokenizer, progress, |batch| f.score(batch))?;
            progress.finish();
            return Ok(scores);
        }
        progress.set_length((texts.len() * self.members.len()) as u64);
        let per_member = self
            .members
            .iter()
            .map(|m| m.score_all(texts, progress))
            .collect::<Result<Vec<_>>>()?;
        progress.finish();
        Ok(self.mix(per_member))
    }

    fn mix(&self, mut per_member: Vec<Vec<Scores>>) -> Vec<Scores> {
        let Some(meta) = &self.ensemble else {
            return per_member.remove(0);
        };
        let weights: Vec<f32> = meta.members.iter().map(|m| m.weight).collect();
        (0..per_member[0].len())
            .map(|row| {
                let scores: Vec<&Scores> = per_member.iter().map(|s| &s[row]).collect();
                ensemble::finish(ensemble::combine(&scores, &weights), meta.temperature)
            })
            .collect()
    }

    /// Predictions for a batch of texts.
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<Prediction>> {
        Ok(self.score(texts)?.iter().map(|s| self.decide(s)).collect())
    }

    /// Applies the labels and thresholds to scores.
    pub fn decide(&self, scores: &Scores) -> Prediction {
        let thresholds = self.thresholds();
        decide(scores, self.labels(), self.oos_label(), &thresholds)
    }

    /// Replaces the out-of-scope thresholds and writes the metadata to `out`
    /// (the weights are copied when `out` is another directory). `note`
    /// records where the new thresholds came from.
    pub fn save_thresholds(
        &mut self,
        thresholds: Thresholds,
        note: serde_json::Value,
        out: &Path,
    ) -> Result<()> {
        match &mut self.ensemble {
            None => {
                let classifier = match &mut self.fast {
                    Some(f) => &mut f.classifier,
                    None => &mut self.members[0].classifier,
                };
                classifier.meta.thresholds = thresholds;
                classifier.meta.training["recalibrated"] = note;
                classifier.save_meta(out, &self.dir)
            }
            Some(meta) => {
                meta.thresholds = thresholds;
                meta.training["recalibrated"] = note;
                if out != self.dir {
                    for member in &meta.members {
                        let from = self.dir.join(&member.dir);
                        let to = out.join(&member.dir);
                        copy_dir_files(&from, &to)?;
                    }
                }
                meta.save(out)
            }
        }
    }
}

/// Copies the files (not subdirectories) of `from` into `to`.
pub fn copy_dir_files(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for entry in std::fs::read_dir(from)
        .map_err(|e| Error::io(from, e))?
        .flatten()
    {
        let path = entry.path();
        if path.is_file() {
            let target = to.join(entry.file_name());
            std::fs::copy(&path, &target).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}
