//! Tokenisation and batching: the `"query: "` prefix, truncation to the token
//! limit, padding to the longest sequence of a batch, and the attention mask.

use std::path::Path;

use candle_core::{Device, Tensor};
use tokenizers::{Tokenizer, TruncationParams};

use crate::error::{Error, Result};

/// Token ids of a batch, padded, with the mask that says which are real.
pub struct TokenBatch {
    /// [batch, seq] u32
    pub ids: Tensor,
    /// [batch, seq] f32: 1 for real tokens, 0 for padding
    pub mask: Tensor,
    /// Real length of each row.
    pub lengths: Vec<usize>,
}

/// A tokenizer configured for sentence embedding.
pub struct TextTokenizer {
    inner: Tokenizer,
    prefix: String,
    max_tokens: usize,
    pad_id: u32,
}

impl TextTokenizer {
    /// Loads `tokenizer.json`, overriding any padding or truncation it has
    /// built in (the MiniLM file pads to 128, for one).
    pub fn from_file(path: &Path, prefix: &str, max_tokens: usize) -> Result<Self> {
        let mut inner = Tokenizer::from_file(path).map_err(|e| Error::ModelFileCorrupt {
            path: path.to_path_buf(),
            reason: format!("not a readable tokenizer.json: {e}"),
            hint: format!("delete it and run `{}`", super::source::FETCH_COMMAND),
        })?;
        if max_tokens < 2 {
            return Err(Error::InvalidInput(format!(
                "token limit {max_tokens} is below 2"
            )));
        }
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let pad_id = ["<pad>", "[PAD]"]
            .iter()
            .find_map(|t| inner.token_to_id(t))
            .unwrap_or(0);
        Ok(TextTokenizer {
            inner,
            prefix: prefix.to_string(),
            max_tokens,
            pad_id,
        })
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Token ids of each text, prefix and special tokens included, truncated.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let inputs: Vec<String> = texts
            .iter()
            .map(|t| format!("{}{}", self.prefix, t))
            .collect();
        let encodings = self
            .inner
            .encode_batch(inputs, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    /// Pads token id rows to the longest and builds the mask.
    pub fn batch(&self, rows: &[Vec<u32>], device: &Device) -> Result<TokenBatch> {
        pad_batch(rows, self.pad_id, device)
    }
}

/// Pads rows of token ids with `pad_id` to the longest row and builds the mask.
pub fn pad_batch(rows: &[Vec<u32>], pad_id: u32, device: &Device) -> Result<TokenBatch> {
    let longest = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(rows.len() * longest);
    let mut mask = Vec::with_capacity(rows.len() * longest);
    for row in rows {
        ids.extend_from_slice(row);
        ids.extend(std::iter::repeat_n(pad_id, longest - row.len()));
        mask.extend(std::iter::repeat_n(1f32, row.len()));
        mask.extend(std::iter::repeat_n(0f32, longest - row.len()));
    }
    Ok(TokenBatch {
        ids: Tensor::from_vec(ids, (rows.len(), longest), device)?,
        mask: Tensor::from_vec(mask, (rows.len(), longest), device)?,
        lengths: rows.iter().map(Vec::len).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_the_longest_row_and_masks_the_padding() {
        let rows = vec![vec![0, 5, 6, 2], vec![0, 7, 2]];
        let b = pad_batch(&rows, 1, &Device::Cpu).unwrap();
        assert_eq!(
            b.ids.to_vec2::<u32>().unwrap(),
            vec![vec![0, 5, 6, 2], vec![0, 7, 2, 1]]
        );
        assert_eq!(
            b.mask.to_vec2::<f32>().unwrap(),
            vec![vec![1., 1., 1., 1.], vec![1., 1., 1., 0.]]
        );
        assert_eq!(b.lengths, vec![4, 3]);
    }

    #[test]
    fn an_empty_batch_has_a_valid_shape() {
        let b = pad_batch(&[], 0, &Device::Cpu).unwrap();
        assert_eq!(b.ids.dims(), &[0, 1]);
    }
}
