//! The inference-only forward of the E5 (XLM-R BERT) encoder on our own
//! kernels: a batch's tokens packed into one matrix with no padding,
//! attention run per message, fused bias + GELU and layer norms, buffers
//! reused between layers, and the word table left in its Q4_0 blocks in the
//! memory-mapped weights file (only the rows a batch needs are dequantised).
//! Training keeps the candle encoder ([`super::encoder`]); a parity test
//! holds this forward to it.
//!
//! - [`kernels`]: f32 and int8 matrix kernels, chosen by CPU feature
//! - [`weights`]: Q4_0 blocks, the word table, linear layers in f32 or int8
//! - [`member`]: [`FastMember`], tokenizer + this encoder + the classifier head

pub mod kernels;
pub mod member;
pub mod weights;

use std::sync::Arc;

use candle_core::Tensor;

use super::encoder::ParamSource;
use super::shape::EncoderConfig;
use crate::error::Result;
pub use kernels::Kernel;
pub use member::FastMember;
use weights::{Linear, Norm, WordTable, param_f32};
pub use weights::{LinearFormat, MappedE5s1};

/// Environment variable choosing the inference forward: `candle` (the
/// training encoder, f32, the default until this forward's parity and
/// accuracy tests have been seen to pass on a release build), `f32` (this
/// forward with f32 weights) or `int8`.
pub const FORWARD_ENV: &str = "INTENTDESK_FORWARD";

/// Which forward serves predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    Int8,
    F32,
    Candle,
}

impl Forward {
    /// The forward [`FORWARD_ENV`] names; unset, candle. An unknown name is an error.
    pub fn from_env() -> Result<Forward> {
        match std::env::var(FORWARD_ENV) {
            Err(_) => Ok(Forward::Candle),
            Ok(v) => match v.to_ascii_lowercase().as_str() {
                "candle" | "" => Ok(Forward::Candle),
                "int8" | "i8" => Ok(Forward::Int8),
                "f32" => Ok(Forward::F32),
                other => Err(crate::error::Error::InvalidInput(format!(
                    "{FORWARD_ENV}={other:?}: use int8, f32 or candle"
                ))),
            },
        }
    }
}

/// One transformer layer with the three input projections fused into one matrix.
struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    ff_in: Linear,
    ff_out: Linear,
    out_norm: Norm,
}

impl Layer {
    fn load(
        src: &dyn ParamSource,
        l: usize,
        c: &EncoderConfig,
        format: LinearFormat,
    ) -> Result<Self> {
        let (h, f) = (c.hidden, c.intermediate);
        let p = |part: &str| format!("l{l}.{part}");
        let mut qkv_w = Vec::with_capacity(3 * h * h);
        let mut qkv_b = Vec::with_capacity(3 * h);
        for part in ["q", "k", "v"] {
            qkv_w.extend(param_f32(src, &format!("{}.w", p(part)), &[h, h])?);
            qkv_b.extend(param_f32(src, &format!("{}.b", p(part)), &[h])?);
        }
        let norm = |part: &str| -> Result<Norm> {
            Ok(Norm {
                weight: param_f32(src, &format!("{}.w", p(part)), &[h])?,
                bias: param_f32(src, &format!("{}.b", p(part)), &[h])?,
                eps: c.layer_norm_eps as f32,
            })
        };
        Ok(Layer {
            qkv: Linear::new(qkv_w, qkv_b, 3 * h, h, format),
            attn_out: Linear::load(src, &p("ao"), h, h, format)?,
            attn_norm: norm("aln")?,
            ff_in: Linear::load(src, &p("fi"), f, h, format)?,
            ff_out: Linear::load(src, &p("fo"), h, f, format)?,
            out_norm: norm("oln")?,
        })
    }

    fn bytes(&self) -> usize {
        [&self.qkv, &self.attn_out, &self.ff_in, &self.ff_out]
            .iter()
            .map(|l| l.bytes())
            .sum()
    }
}

/// Scratch buffers of one forward, kept between calls.
#[derive(Default)]
struct Scratch {
    qkv: Vec<f32>,
    context: Vec<f32>,
    hidden2: Vec<f32>,
    ff: Vec<f32>,
    quant: kernels::QuantRows,
}

/// The encoder for inference.
pub struct FastEncoder {
    config: EncoderConfig,
    word: WordTable,
    position: Vec<f32>,
    token_type_zero: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
    kernel: Kernel,
    scratch: std::sync::Mutex<Scratch>,
}

impl FastEncoder {
    /// Builds the encoder from the mapped E5S1 `file`, with the layers listed in `tuned` taken from `tuned_src`
    /// instead (a classifier's fine-tuned top layers).
    pub fn load(
        file: Arc<MappedE5s1>,
        tuned: &[usize],
        tuned_src: &dyn ParamSource,
        format: LinearFormat,
    ) -> Result<Self> {
        let c = file.header.config.clone();
        let word = WordTable::open(file.clone())?;
        let base = weights::E5s1Params(file);
        let h = c.hidden;
        let types = param_f32(&base, "emb.type", &[c.type_vocab, h])?;
        let layers = (0..c.layers)
            .map(|l| {
                let src: &dyn ParamSource = if tuned.contains(&l) { tuned_src } else { &base };
                Layer::load(src, l, &c, format)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FastEncoder {
            word,
            position: param_f32(&base, "emb.pos", &[c.max_positions, h])?,
            token_type_zero: types[..h].to_vec(),
            emb_norm: Norm {
                weight: param_f32(&base, "emb.ln.w", &[h])?,
                bias: param_f32(&base, "emb.ln.b", &[h])?,
                eps: c.layer_norm_eps as f32,
            },
            layers,
            kernel: Kernel::selected(),
            scratch: Default::default(),
            config: c,
        })
    }

    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Forces a kernel (tests and benches compare them).
    pub fn set_kernel(&mut self, kernel: Kernel) {
        self.kernel = kernel;
    }

    /// Bytes of the layer weights held in memory (the word table stays in
    /// the mapped file).
    pub fn layer_bytes(&self) -> usize {
        self.layers.iter().map(Layer::bytes).sum()
    }

    /// Mean-pooled last hidden states of each row of token ids: [rows, hidden].
    pub fn pooled(&self, rows: &[Vec<u32>]) -> Result<Tensor> {
        let h = self.config.hidden;
        let x = self.hidden_states(rows)?;
        let mut pooled = vec![0f32; rows.len() * h];
        let mut start = 0;
        for (r, row) in rows.iter().enumerate() {
            let out = &mut pooled[r * h..(r + 1) * h];
            for t in start..start + row.len() {
                for (o, v) in out.iter_mut().zip(&x[t * h..(t + 1) * h]) {
                    *o += v;
                }
            }
            let n = row.len().max(1) as f32;
            out.iter_mut().for_each(|v| *v /= n);
            start += row.len();
        }
        Ok(Tensor::from_vec(
            pooled,
            (rows.len(), h),
            &candle_core::Device::Cpu,
        )?)
    }

    /// Last hidden states of all tokens of all rows, packed: [Σ len, hidden].
    pub fn hidden_states(&self, rows: &[Vec<u32>]) -> Result<Vec<f32>> {
        let c = &self.config;
        if let Some(long) = rows.iter().find(|r| r.len() > c.max_positions) {
            return Err(crate::error::Error::InvalidInput(format!(
                "{} tokens exceed the encoder's {} positions",
                long.len(),
                c.max_positions
            )));
        }
        let x = self.embed(rows)?;
        let lengths: Vec<usize> = rows.iter().map(Vec::len).collect();
        let mut scratch = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        let scratch: &mut Scratch = &mut scratch;
        let mut x = x;
        // One hand-over to rayon's pool for the whole forward: the joins
        // inside then run on its workers, with no thread beyond the pool's.
        rayon::scope(|_| {
            for layer in &self.layers {
                self.layer_forward(layer, &mut x, &lengths, scratch);
            }
        });
        Ok(x)
    }

    /// Word + position + token-type embeddings, layer-normed: [Σ len, hidden].
    fn embed(&self, rows: &[Vec<u32>]) -> Result<Vec<f32>> {
        let h = self.config.hidden;
        let total: usize = rows.iter().map(Vec::len).sum();
        let mut x = vec![0f32; total * h];
        let mut t = 0;
        for row in rows {
            for (p, &id) in row.iter().enumerate() {
                let out = &mut x[t * h..(t + 1) * h];
                self.word.row(id as usize, out)?;
                let pos = &self.position[p * h..(p + 1) * h];
                for ((o, a), b) in out.iter_mut().zip(pos).zip(&self.token_type_zero) {
                    *o += a + b;
                }
                self.emb_norm.apply(out);
                t += 1;
            }
        }
        Ok(x)
    }

    fn layer_forward(&self, layer: &Layer, x: &mut Vec<f32>, lengths: &[usize], s: &mut Scratch) {
        let h = self.config.hidden;
        let tokens = x.len() / h;
        let k = self.kernel;
        layer.qkv.forward(k, x, tokens, &mut s.qkv, &mut s.quant);
        s.context.resize(tokens * h, 0.0);
        attention(&s.qkv, lengths, self.config.heads, h, &mut s.context);
        layer
            .attn_out
            .forward(k, &s.context, tokens, &mut s.hidden2, &mut s.quant);
        // Residual + layer norm, in place.
        for (row, res) in s.hidden2.chunks_exact_mut(h).zip(x.chunks_exact(h)) {
            row.iter_mut().zip(res).for_each(|(a, b)| *a += b);
            layer.attn_norm.apply(row);
        }
        layer
            .ff_in
            .forward(k, &s.hidden2, tokens, &mut s.ff, &mut s.quant);
        gelu_in_place(&mut s.ff);
        layer.ff_out.forward(k, &s.ff, tokens, x, &mut s.quant);
        for (row, res) in x.chunks_exact_mut(h).zip(s.hidden2.chunks_exact(h)) {
            row.iter_mut().zip(res).for_each(|(a, b)| *a += b);
            layer.out_norm.apply(row);
        }
    }
}

/// Self-attention of each message over its own tokens only: `qkv` is
/// [tokens, 3·hidden] (queries, keys, values), `out` [tokens, hidden].
fn attention(qkv: &[f32], lengths: &[usize], heads: usize, h: usize, out: &mut [f32]) {
    let dh = h / heads;
    let scale = 1.0 / (dh as f32).sqrt();
    let work = |start: usize, len: usize, out: &mut [f32]| {
        let mut scores = vec![0f32; len];
        for head in 0..heads {
            let off = head * dh;
            for i in 0..len {
                let q = &qkv[(start + i) * 3 * h + off..][..dh];
                let mut max = f32::NEG_INFINITY;
                for (j, s) in scores.iter_mut().enumerate() {
                    let key = &qkv[(start + j) * 3 * h + h + off..][..dh];
                    *s = kernels::dot_f32(q, key) * scale;
                    max = max.max(*s);
                }
                let mut sum = 0.0;
                for s in scores.iter_mut() {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                let o = &mut out[i * h + off..][..dh];
                o.fill(0.0);
                for (j, &p) in scores.iter().enumerate() {
                    let v = &qkv[(start + j) * 3 * h + 2 * h + off..][..dh];
                    let p = p / sum;
                    o.iter_mut().zip(v).for_each(|(a, b)| *a += p * b);
                }
            }
        }
    };
    // Messages in parallel: each writes only its own rows of `out`.
    let mut jobs = Vec::with_capacity(lengths.len());
    let mut rest = out;
    let mut start = 0;
    for &len in lengths {
        let (mine, tail) = rest.split_at_mut(len * h);
        jobs.push((start, len, mine));
        rest = tail;
        start += len;
    }
    use rayon::prelude::*;
    jobs.into_par_iter()
        .with_min_len(1)
        .for_each(|(start, len, out)| work(start, len, out));
}

/// GELU with the exact erf form (as BERT and candle's `gelu_erf`).
fn gelu_in_place(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf to about 1.5e-7 (Abramowitz & Stegun 7.1.26), fast enough for
/// every feed-forward activation.
fn erf(x: f32) -> f32 {
    let ax = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * ax);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let r = 1.0 - poly * (-ax * ax).exp();
    if x < 0.0 { -r } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (2.0, 0.995_322_3),
            (3.0, 0.999_977_9),
            (-1.5, -0.966_105_1),
        ] {
            assert!(
                (erf(x) - want).abs() < 3e-7,
                "erf({x}) = {} not {want}",
                erf(x)
            );
        }
    }

    #[test]
    fn attention_keeps_messages_apart() {
        // Two messages of one token: each attends only to itself, so its
        // context is its own value vector.
        let (h, heads) = (4, 2);
        let mut qkv = vec![0f32; 2 * 3 * h];
        for t in 0..2 {
            for c in 0..h {
                qkv[t * 3 * h + 2 * h + c] = (t * 10 + c) as f32;
                qkv[t * 3 * h + c] = 1.0;
                qkv[t * 3 * h + h + c] = 5.0 * t as f32;
            }
        }
        let mut out = vec![0f32; 2 * h];
        attention(&qkv, &[1, 1], heads, h, &mut out);
        assert_eq!(out, vec![0., 1., 2., 3., 10., 11., 12., 13.]);
    }
}
