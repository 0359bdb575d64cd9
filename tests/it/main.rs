//! Integration tests, compiled as one binary. Index:
//!
//! - [`encoder`]: the real multilingual-e5-small: paraphrases in different
//!   languages land closer than unrelated sentences; Q4 and f32 agree.
//! - [`benchmark_slice`]: a classifier trained on a BANKING77 slice from
//!   `../shared/data` reaches a stated accuracy on a slice of its test split.
//! - [`conversation`]: multi-turn conversations through the policy with the
//!   real shipped model; the stale-catalog check; `classify` output fields.
//! - [`cli`]: the binary's errors for a missing or corrupt model name the
//!   file and the command that fixes it.
//!
//! Tests that need the encoder load the real weights from the model cache
//! (`INTENTDESK_MODEL_CACHE`, default `models/cache`); `intentdesk
//! fetch-model` puts them there (the README's test command runs it first).

mod benchmark_slice;
mod cli;
mod conversation;
mod common;
mod encoder;
