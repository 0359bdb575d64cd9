//! Weights of the fast forward: the memory-mapped E5S1 file, Q4_0 blocks
//! dequantised by row, the word table left quantised in the mapping, and
//! linear layers in f32 or int8 with per-row scales.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{Device, Tensor};

use super::kernels::{self, Kernel, QuantRows};
use crate::error::{Error, Result};
use crate::model::e5s1::{self, E5s1Header, Q4_0_BLOCK_BYTES, Q4_0_BLOCK_WEIGHTS, TensorDType};
use crate::model::encoder::{ParamSource, RawParam};
use crate::model::source;

/// An E5S1 weights file mapped into memory, its header parsed and checked.
pub struct MappedE5s1 {
    pub path: PathBuf,
    map: memmap2::Mmap,
    pub header: E5s1Header,
}

impl MappedE5s1 {
    pub fn open(path: &Path) -> Result<Arc<Self>> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the map is read-only and nothing in this process writes the
        // file. Another process truncating it while it is mapped would make a
        // read fault (SIGBUS) rather than read out of bounds; the model cache
        // is written once, by `fetch-model`, and not changed afterwards. Every
        // read below is bounds-checked against the header parsed from the map.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let header = e5s1::parse(&map).map_err(|e| source::corrupt(path, e.0))?;
        Ok(Arc::new(MappedE5s1 {
            path: path.to_path_buf(),
            map,
            header,
        }))
    }

    /// The bytes and type of tensor `name`, checked to hold `elements` values.
    fn tensor(&self, name: &str, elements: usize) -> Result<(TensorDType, &[u8])> {
        let (entry, data) = self
            .header
            .data(&self.map, name)
            .map_err(|e| source::corrupt(&self.path, e.0))?;
        if entry.elements != elements {
            return Err(source::corrupt(
                &self.path,
                format!(
                    "tensor {name} has {} elements, expected {elements}",
                    entry.elements
                ),
            ));
        }
        Ok((entry.dtype, data))
    }
}

/// Dequantises Q4_0 blocks into `out` (32 values per 18-byte block: an f16
/// scale, then 16 bytes whose low nibbles are values 0..16 and high nibbles
/// 16..32, each stored plus 8).
pub fn dequantize_q4_0(blocks: &[u8], out: &mut [f32]) {
    for (block, out) in blocks
        .chunks_exact(Q4_0_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(Q4_0_BLOCK_WEIGHTS))
    {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        for (j, &b) in block[2..].iter().enumerate() {
            out[j] = ((b & 0x0f) as i32 - 8) as f32 * d;
            out[j + 16] = ((b >> 4) as i32 - 8) as f32 * d;
        }
    }
}

/// The E5S1 file's tensors as dense f32 parameters.
pub struct E5s1Params(pub Arc<MappedE5s1>);

impl ParamSource for E5s1Params {
    fn param(&self, name: &str, shape: &[usize]) -> Result<RawParam> {
        let elements: usize = shape.iter().product();
        let (dtype, data) = self.0.tensor(name, elements)?;
        let values = match dtype {
            TensorDType::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            TensorDType::Q4_0 => {
                let mut v = vec![0f32; elements];
                dequantize_q4_0(data, &mut v);
                v
            }
        };
        Ok(RawParam::Dense(Tensor::from_vec(
            values,
            shape,
            &Device::Cpu,
        )?))
    }
}

/// A parameter as a flat f32 vector.
pub fn param_f32(src: &dyn ParamSource, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let t = match src.param(name, shape)? {
        RawParam::Dense(t) => t,
        RawParam::Quantized(q) => q.dequantize(&Device::Cpu)?,
    };
    Ok(t.to_dtype(candle_core::DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// The word-embedding table, left in its Q4_0 blocks inside the mapped file:
/// a row is dequantised when a token needs it, so only the pages of rows in
/// use are ever read (about 54 MB on disk for 250k × 384 instead of 384 MB
/// of f32). Dequantising gives the very values the f32 encoder holds.
pub struct WordTable {
    file: Arc<MappedE5s1>,
    rows: usize,
    hidden: usize,
}

impl WordTable {
    pub fn open(file: Arc<MappedE5s1>) -> Result<Self> {
        let (rows, hidden) = (file.header.config.vocab, file.header.config.hidden);
        let (dtype, _) = file.tensor("emb.word", rows * hidden)?;
        if dtype != TensorDType::Q4_0 {
            return Err(source::corrupt(
                &file.path,
                "emb.word is not stored in Q4_0",
            ));
        }
        Ok(WordTable { file, rows, hidden })
    }

    /// Writes row `id` into `out` ([hidden]).
    pub fn row(&self, id: usize, out: &mut [f32]) -> Result<()> {
        if id >= self.rows {
            return Err(Error::InvalidInput(format!(
                "token id {id} is outside the vocabulary of {} rows",
                self.rows
            )));
        }
        let (_, data) = self.file.tensor("emb.word", self.rows * self.hidden)?;
        let row_bytes = self.hidden / Q4_0_BLOCK_WEIGHTS * Q4_0_BLOCK_BYTES;
        dequantize_q4_0(&data[id * row_bytes..(id + 1) * row_bytes], out);
        Ok(())
    }
}

/// How linear weights are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinearFormat {
    F32,
    Int8,
}

enum Weight {
    F32(Vec<f32>),
    Int8(QuantRows),
}

/// `y = x · Wᵀ + b`.
pub struct Linear {
    weight: Weight,
    bias: Vec<f32>,
    out_dim: usize,
    in_dim: usize,
}

impl Linear {
    pub fn new(
        w: Vec<f32>,
        bias: Vec<f32>,
        out_dim: usize,
        in_dim: usize,
        format: LinearFormat,
    ) -> Self {
        let weight = match format {
            LinearFormat::F32 => Weight::F32(w),
            LinearFormat::Int8 => Weight::Int8(QuantRows::quantize(&w, out_dim, in_dim)),
        };
        Linear {
            weight,
            bias,
            out_dim,
            in_dim,
        }
    }

    pub fn load(
        src: &dyn ParamSource,
        name: &str,
        out_dim: usize,
        in_dim: usize,
        format: LinearFormat,
    ) -> Result<Self> {
        let w = param_f32(src, &format!("{name}.w"), &[out_dim, in_dim])?;
        let b = param_f32(src, &format!("{name}.b"), &[out_dim])?;
        Ok(Linear::new(w, b, out_dim, in_dim, format))
    }

    pub fn bytes(&self) -> usize {
        4 * self.bias.len()
            + match &self.weight {
                Weight::F32(w) => 4 * w.len(),
                Weight::Int8(q) => q.bytes(),
            }
    }

    /// `out` ([tokens, out_dim], resized) from `x` ([tokens, in_dim]); the
    /// tokens are split between two threads of rayon's pool.
    pub fn forward(
        &self,
        kernel: Kernel,
        x: &[f32],
        tokens: usize,
        out: &mut Vec<f32>,
        quant: &mut QuantRows,
    ) {
        out.clear();
        out.resize(tokens * self.out_dim, 0.0);
        if let Weight::Int8(_) = self.weight {
            quant.requantize(x, tokens, self.in_dim);
        }
        let quant = &*quant;
        // Split at a multiple of four rows (the f32 kernel's block).
        let mid = if tokens >= 8 {
            tokens.div_ceil(8) * 4
        } else {
            tokens
        };
        let (out_a, out_b) = out.split_at_mut(mid * self.out_dim);
        let run = |from: usize, n: usize, out: &mut [f32]| {
            if n == 0 {
                return;
            }
            match &self.weight {
                Weight::F32(w) => kernels::matmul_f32(
                    kernel,
                    &x[from * self.in_dim..(from + n) * self.in_dim],
                    n,
                    self.in_dim,
                    w,
                    self.out_dim,
                    &self.bias,
                    0..self.out_dim,
                    out,
                ),
                Weight::Int8(w) => kernels::matmul_i8(
                    kernel,
                    quant,
                    from..from + n,
                    w,
                    &self.bias,
                    0..self.out_dim,
                    out,
                ),
            }
        };
        if mid == tokens {
            run(0, tokens, out_a);
        } else {
            rayon::join(|| run(0, mid, out_a), || run(mid, tokens - mid, out_b));
        }
    }
}

/// Layer normalisation.
pub struct Norm {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub eps: f32,
}

impl Norm {
    /// Normalises one row in place.
    pub fn apply(&self, row: &mut [f32]) {
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + self.eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
            *v = (*v - mean) * inv * w + b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_blocks_dequantise_like_candle() {
        // One block: scale 0.5, nibbles 0..15 low and 15..0 high.
        let mut block = half::f16::from_f32(0.5).to_le_bytes().to_vec();
        for j in 0..16u8 {
            block.push(j | ((15 - j) << 4));
        }
        let mut ours = vec![0f32; 32];
        dequantize_q4_0(&block, &mut ours);
        let q = candle_core::quantized::ggml_file::qtensor_from_ggml(
            candle_core::quantized::GgmlDType::Q4_0,
            &block,
            vec![32],
            &Device::Cpu,
        )
        .unwrap();
        let theirs = q
            .dequantize(&Device::Cpu)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours[0], -4.0);
        assert_eq!(ours[16], 3.5);
    }

    #[test]
    fn norm_gives_zero_mean_unit_variance() {
        let norm = Norm {
            weight: vec![1.0; 4],
            bias: vec![0.0; 4],
            eps: 1e-12,
        };
        let mut row = [1.0, 2.0, 3.0, 4.0];
        norm.apply(&mut row);
        let mean: f32 = row.iter().sum::<f32>() / 4.0;
        let var: f32 = row.iter().map(|v| v * v).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5);
    }
}
