//! The BERT encoder on candle: embeddings, transformer layers, masked mean
//! pooling and L2 normalisation, with weights kept in Q4_0 or in f32.
//!
//! One implementation serves every source (E5S1 file, Hugging Face
//! safetensors): weights arrive through [`ParamSource`] by E5S1 name. Layers
//! can be copied into trainable variables so the top of the encoder can be
//! fine-tuned while the bottom stays frozen (and quantised).

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::VarMap;

use super::shape::EncoderConfig;
use crate::error::Result;

/// One weight as its source holds it.
pub enum RawParam {
    Dense(Tensor),
    Quantized(QTensor),
}

/// Where encoder weights come from, addressed by E5S1 tensor name.
pub trait ParamSource {
    /// The tensor `name` with the given shape.
    fn param(&self, name: &str, shape: &[usize]) -> Result<RawParam>;
}

/// A linear layer whose weight is quantised or dense (dense weights may be
/// trainable variables).
#[derive(Clone)]
pub struct Linear {
    weight: QMatMul,
    bias: Tensor,
}

impl Linear {
    fn load(src: &dyn ParamSource, name: &str, out_dim: usize, in_dim: usize) -> Result<Self> {
        let weight = match src.param(&format!("{name}.w"), &[out_dim, in_dim])? {
            RawParam::Dense(t) => QMatMul::Tensor(t),
            RawParam::Quantized(q) => QMatMul::from_qtensor(q)?,
        };
        let bias = dense(src, &format!("{name}.b"), &[out_dim])?;
        Ok(Linear { weight, bias })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = match &self.weight {
            // Dense weights: one 2-D matmul over all tokens. candle's QMatMul
            // would broadcast the weight over the batch, whose backward pass
            // materialises a [batch, out, in] gradient per matrix.
            QMatMul::Tensor(w) => {
                let dims = x.dims().to_vec();
                let (last, lead) = dims.split_last().expect("linear input has a shape");
                let rows: usize = lead.iter().product();
                let y = x.reshape((rows, *last))?.matmul(&w.t()?)?;
                let mut out_dims = lead.to_vec();
                out_dims.push(w.dim(0)?);
                y.reshape(out_dims)?
            }
            q => q.forward(x)?,
        };
        Ok(y.broadcast_add(&self.bias)?)
    }

    /// The weight as a dense f32 tensor.
    fn dense_weight(&self) -> Result<Tensor> {
        Ok(match &self.weight {
            QMatMul::QTensor(q) => q.dequantize(&q.device())?,
            QMatMul::Tensor(t) => t.clone(),
            QMatMul::TensorF16(t) => t.to_dtype(DType::F32)?,
        })
    }

    /// Bytes the weight occupies in memory.
    fn weight_bytes(&self) -> usize {
        match &self.weight {
            QMatMul::QTensor(q) => q.storage_size_in_bytes(),
            QMatMul::Tensor(t) | QMatMul::TensorF16(t) => {
                t.elem_count() * t.dtype().size_in_bytes()
            }
        }
    }

    fn trainable(&self, vars: &VarMap, name: &str) -> Result<Self> {
        Ok(Linear {
            weight: QMatMul::Tensor(new_var(vars, &format!("{name}.w"), &self.dense_weight()?)?),
            bias: new_var(vars, &format!("{name}.b"), &self.bias)?,
        })
    }
}

/// Registers `init` as a trainable variable and returns its tensor.
fn new_var(vars: &VarMap, name: &str, init: &Tensor) -> Result<Tensor> {
    let var = candle_core::Var::from_tensor(&init.to_dtype(DType::F32)?.contiguous()?)?;
    let tensor = var.as_tensor().clone();
    vars.data()
        .lock()
        .map_err(|_| {
            crate::error::Error::Internal(
                "the variable map of a trainable layer is poisoned".into(),
            )
        })?
        .insert(name.to_string(), var);
    Ok(tensor)
}

/// A parameter as a dense f32 tensor, dequantising if the source holds it quantised.
pub(crate) fn dense(src: &dyn ParamSource, name: &str, shape: &[usize]) -> Result<Tensor> {
    Ok(match src.param(name, shape)? {
        RawParam::Dense(t) => t,
        RawParam::Quantized(q) => q.dequantize(&q.device())?,
    })
}

/// Layer normalisation with learned scale and shift.
#[derive(Clone)]
struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl Norm {
    fn load(src: &dyn ParamSource, name: &str, hidden: usize, eps: f64) -> Result<Self> {
        Ok(Norm {
            weight: dense(src, &format!("{name}.w"), &[hidden])?,
            bias: dense(src, &format!("{name}.b"), &[hidden])?,
            eps: eps as f32,
        })
    }

    /// `train` selects the differentiable composition of basic ops; inference
    /// uses candle's fused kernel, which has no backward pass.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(if train {
            candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, self.eps)?
        } else {
            candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps)?
        })
    }

    fn trainable(&self, vars: &VarMap, name: &str) -> Result<Self> {
        Ok(Norm {
            weight: new_var(vars, &format!("{name}.w"), &self.weight)?,
            bias: new_var(vars, &format!("{name}.b"), &self.bias)?,
            eps: self.eps,
        })
    }
}

/// One transformer layer: self-attention and feed-forward, post-norm (BERT).
#[derive(Clone)]
pub struct EncoderLayer {
    q: Linear,
    k: Linear,
    v: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    ff_in: Linear,
    ff_out: Linear,
    out_norm: Norm,
    heads: usize,
}

/// The parts of a layer with their E5S1 suffixes, for saving and loading.
const LINEAR_PARTS: [&str; 6] = ["q", "k", "v", "ao", "fi", "fo"];

impl EncoderLayer {
    pub(crate) fn load(src: &dyn ParamSource, l: usize, c: &EncoderConfig) -> Result<Self> {
        let (h, f) = (c.hidden, c.intermediate);
        Ok(EncoderLayer {
            q: Linear::load(src, &format!("l{l}.q"), h, h)?,
            k: Linear::load(src, &format!("l{l}.k"), h, h)?,
            v: Linear::load(src, &format!("l{l}.v"), h, h)?,
            attn_out: Linear::load(src, &format!("l{l}.ao"), h, h)?,
            attn_norm: Norm::load(src, &format!("l{l}.aln"), h, c.layer_norm_eps)?,
            ff_in: Linear::load(src, &format!("l{l}.fi"), f, h)?,
            ff_out: Linear::load(src, &format!("l{l}.fo"), h, f)?,
            out_norm: Norm::load(src, &format!("l{l}.oln"), h, c.layer_norm_eps)?,
            heads: c.heads,
        })
    }

    /// `x`: [batch, seq, hidden]; `mask_bias`: [batch, 1, 1, seq], 0 for real
    /// tokens and a large negative number for padding.
    pub fn forward(&self, x: &Tensor, mask_bias: &Tensor, train: bool) -> Result<Tensor> {
        let (b, s, h) = x.dims3()?;
        let dh = h / self.heads;
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((b, s, self.heads, dh))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = split(self.q.forward(x)?)?;
        let k = split(self.k.forward(x)?)?;
        let v = split(self.v.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? * (1.0 / (dh as f64).sqrt()))?.broadcast_add(mask_bias)?;
        let probs = if train {
            candle_nn::ops::softmax(&scores, D::Minus1)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        };
        let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, s, h))?;
        let attended = self
            .attn_norm
            .forward(&(self.attn_out.forward(&context)? + x)?, train)?;
        let ff = self.ff_in.forward(&attended)?.gelu_erf()?;
        self.out_norm
            .forward(&(self.ff_out.forward(&ff)? + attended)?, train)
    }

    /// A dense, trainable copy of this layer whose variables are registered in
    /// `vars` under `l{index}.<part>.{w,b}` (E5S1 names).
    pub fn trainable(&self, vars: &VarMap, index: usize) -> Result<Self> {
        let p = |part: &str| format!("l{index}.{part}");
        Ok(EncoderLayer {
            q: self.q.trainable(vars, &p("q"))?,
            k: self.k.trainable(vars, &p("k"))?,
            v: self.v.trainable(vars, &p("v"))?,
            attn_out: self.attn_out.trainable(vars, &p("ao"))?,
            attn_norm: self.attn_norm.trainable(vars, &p("aln"))?,
            ff_in: self.ff_in.trainable(vars, &p("fi"))?,
            ff_out: self.ff_out.trainable(vars, &p("fo"))?,
            out_norm: self.out_norm.trainable(vars, &p("oln"))?,
            heads: self.heads,
        })
    }

    fn weight_bytes(&self) -> usize {
        [
            &self.q,
            &self.k,
            &self.v,
            &self.attn_out,
            &self.ff_in,
            &self.ff_out,
        ]
        .iter()
        .map(|l| l.weight_bytes())
        .sum()
    }
}

/// Token, position and token-type embeddings followed by layer norm.
struct Embeddings {
    word: QMatMul,
    position: Tensor,
    token_type_zero: Tensor,
    norm: Norm,
}

/// A BERT-family sentence encoder.
pub struct Encoder {
    config: EncoderConfig,
    embeddings: Embeddings,
    layers: Vec<EncoderLayer>,
    device: Device,
}

impl Encoder {
    /// Builds the encoder from its weights.
    pub fn load(src: &dyn ParamSource, config: &EncoderConfig, device: &Device) -> Result<Self> {
        let h = config.hidden;
        let word = match src.param("emb.word", &[config.vocab, h])? {
            RawParam::Dense(t) => QMatMul::Tensor(t),
            RawParam::Quantized(q) => QMatMul::QTensor(std::sync::Arc::new(q)),
        };
        let types = dense(src, "emb.type", &[config.type_vocab, h])?;
        let embeddings = Embeddings {
            word,
            position: dense(src, "emb.pos", &[config.max_positions, h])?,
            token_type_zero: types.get(0)?,
            norm: Norm::load(src, "emb.ln", h, config.layer_norm_eps)?,
        };
        let layers = (0..config.layers)
            .map(|l| EncoderLayer::load(src, l, config))
            .collect::<Result<Vec<_>>>()?;
        Ok(Encoder {
            config: config.clone(),
            embeddings,
            layers,
            device: device.clone(),
        })
    }

    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn layers(&self) -> &[EncoderLayer] {
        &self.layers
    }

    /// Bytes the weights occupy in memory (matrices and the word table; the
    /// small vectors are left out).
    pub fn weight_bytes(&self) -> usize {
        let word = match &self.embeddings.word {
            QMatMul::QTensor(q) => q.storage_size_in_bytes(),
            QMatMul::Tensor(t) | QMatMul::TensorF16(t) => {
                t.elem_count() * t.dtype().size_in_bytes()
            }
        };
        word + self
            .layers
            .iter()
            .map(EncoderLayer::weight_bytes)
            .sum::<usize>()
    }

    /// Embedding output for `ids` ([batch, seq], u32): [batch, seq, hidden].
    pub fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        let (_, s) = ids.dims2()?;
        if s > self.config.max_positions {
            return Err(crate::error::Error::InvalidInput(format!(
                "{s} tokens exceed the encoder's {} positions",
                self.config.max_positions
            )));
        }
        let words = self.embeddings.word.embedding(ids)?;
        let positions = self.embeddings.position.narrow(0, 0, s)?;
        let x = words
            .broadcast_add(&positions)?
            .broadcast_add(&self.embeddings.token_type_zero)?;
        self.embeddings.norm.forward(&x, false)
    }

    /// Runs layers `from..to` over `hidden`.
    pub fn run_layers(
        &self,
        hidden: &Tensor,
        mask_bias: &Tensor,
        from: usize,
        to: usize,
    ) -> Result<Tensor> {
        let mut x = hidden.clone();
        for layer in &self.layers[from..to] {
            x = layer.forward(&x, mask_bias, false)?;
        }
        Ok(x)
    }

    /// Last hidden states: [batch, seq, hidden].
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let x = self.embed(ids)?;
        self.run_layers(&x, &mask_bias(mask)?, 0, self.layers.len())
    }
}

/// Attention bias from a [batch, seq] mask of 1 (token) and 0 (padding):
/// [batch, 1, 1, seq] with 0 for tokens and -1e9 for padding.
pub fn mask_bias(mask: &Tensor) -> Result<Tensor> {
    let (b, s) = mask.dims2()?;
    Ok(((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((b, 1, 1, s))?)
}

/// Mean of the hidden states over real tokens only: [batch, hidden].
pub fn masked_mean(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // [b, s, 1]
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // [b, h]
    let counts = mask.sum(1)?.clamp(1.0, f64::MAX)?; // [b, 1]
    Ok(summed.broadcast_div(&counts)?)
}

/// Rows scaled to unit length.
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}

/// Names of the tensors of one layer, for saving fine-tuned layers.
pub fn layer_tensor_names(index: usize) -> Vec<String> {
    let mut names = Vec::new();
    for part in LINEAR_PARTS.iter().chain(["aln", "oln"].iter()) {
        names.push(format!("l{index}.{part}.w"));
        names.push(format!("l{index}.{part}.b"));
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_bias_blocks_padding_only() {
        let mask = Tensor::new(&[[1u32, 1, 0], [1, 0, 0]], &Device::Cpu).unwrap();
        let bias = mask_bias(&mask)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(bias[0], 0.0);
        assert_eq!(bias[1], 0.0);
        assert!(bias[2] < -1e8);
        assert!(bias[4] < -1e8 && bias[5] < -1e8);
    }

    #[test]
    fn masked_mean_ignores_padding() {
        // Padding rows hold huge values that must not leak into the mean.
        let hidden = Tensor::new(
            &[
                [[1f32, 2.], [3., 4.], [1000., 1000.]],
                [[5., 6.], [-1000., 7.], [9., 9.]],
            ],
            &Device::Cpu,
        )
        .unwrap();
        let mask = Tensor::new(&[[1f32, 1., 0.], [1., 0., 0.]], &Device::Cpu).unwrap();
        let mean = masked_mean(&hidden, &mask)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(mean, vec![vec![2.0, 3.0], vec![5.0, 6.0]]);
    }

    #[test]
    fn l2_normalize_gives_unit_rows() {
        let x = Tensor::new(&[[3f32, 4.], [0., 0.]], &Device::Cpu).unwrap();
        let n = l2_normalize(&x).unwrap().to_vec2::<f32>().unwrap();
        assert!((n[0][0] - 0.6).abs() < 1e-6 && (n[0][1] - 0.8).abs() < 1e-6);
        assert!(n[1].iter().all(|v| v.is_finite()));
    }
}
