//! The encoder's shape (hidden size, layers, heads...), read from an E5S1
//! header or a Hugging Face `config.json`, and the tensor names it implies.

use serde::{Deserialize, Serialize};

/// Shape of a BERT-family encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f64,
}

/// The subset of a Hugging Face BERT `config.json` the encoder needs.
#[derive(Debug, Deserialize)]
struct HfBertConfig {
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    vocab_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    hidden_act: Option<String>,
    #[serde(default)]
    position_embedding_type: Option<String>,
    #[serde(default)]
    model_type: Option<String>,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

impl EncoderConfig {
    /// Reads a Hugging Face BERT `config.json`; refuses architectures this
    /// encoder would silently compute wrongly (XLM-R offsets, relative positions,
    /// other activations).
    pub fn from_hf_json(text: &str) -> Result<Self, String> {
        let hf: HfBertConfig =
            serde_json::from_str(text).map_err(|e| format!("not a BERT config.json: {e}"))?;
        if let Some(act) = &hf.hidden_act
            && act != "gelu"
        {
            return Err(format!(
                "hidden_act {act:?} is not supported (only \"gelu\")"
            ));
        }
        if let Some(p) = &hf.position_embedding_type
            && p != "absolute"
        {
            return Err(format!("position_embedding_type {p:?} is not supported"));
        }
        if let Some(m) = &hf.model_type
            && m != "bert"
        {
            return Err(format!("model_type {m:?} is not a BERT encoder"));
        }
        let config = EncoderConfig {
            hidden: hf.hidden_size,
            layers: hf.num_hidden_layers,
            heads: hf.num_attention_heads,
            intermediate: hf.intermediate_size,
            vocab: hf.vocab_size,
            max_positions: hf.max_position_embeddings,
            type_vocab: hf.type_vocab_size,
            layer_norm_eps: hf.layer_norm_eps,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the numbers fit together.
    pub fn validate(&self) -> Result<(), String> {
        if self.hidden == 0 || self.heads == 0 || !self.hidden.is_multiple_of(self.heads) {
            return Err(format!(
                "hidden size {} is not divisible by the head count {}",
                self.hidden, self.heads
            ));
        }
        if self.layers == 0 || self.layers > 128 {
            return Err(format!("layer count {} is not plausible", self.layers));
        }
        if self.max_positions < 2 {
            return Err(format!(
                "max positions {} is not plausible",
                self.max_positions
            ));
        }
        Ok(())
    }

    /// Size of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    /// Every tensor the encoder reads, by E5S1 name, with its shape.
    pub fn expected_tensors(&self) -> Vec<(String, Vec<usize>)> {
        let (h, f) = (self.hidden, self.intermediate);
        let mut out = vec![
            ("emb.word".to_string(), vec![self.vocab, h]),
            ("emb.pos".to_string(), vec![self.max_positions, h]),
            ("emb.type".to_string(), vec![self.type_vocab, h]),
            ("emb.ln.w".to_string(), vec![h]),
            ("emb.ln.b".to_string(), vec![h]),
        ];
        for l in 0..self.layers {
            for (part, out_dim, in_dim) in [
                ("q", h, h),
                ("k", h, h),
                ("v", h, h),
                ("ao", h, h),
                ("fi", f, h),
                ("fo", h, f),
            ] {
                out.push((format!("l{l}.{part}.w"), vec![out_dim, in_dim]));
                out.push((format!("l{l}.{part}.b"), vec![out_dim]));
            }
            for norm in ["aln", "oln"] {
                out.push((format!("l{l}.{norm}.w"), vec![h]));
                out.push((format!("l{l}.{norm}.b"), vec![h]));
            }
        }
        out
    }
}

/// The Hugging Face `BertModel` name of an E5S1 tensor name.
pub fn hf_name(e5s1: &str) -> String {
    let fixed = match e5s1 {
        "emb.word" => Some("embeddings.word_embeddings.weight"),
        "emb.pos" => Some("embeddings.position_embeddings.weight"),
        "emb.type" => Some("embeddings.token_type_embeddings.weight"),
        "emb.ln.w" => Some("embeddings.LayerNorm.weight"),
        "emb.ln.b" => Some("embeddings.LayerNorm.bias"),
        _ => None,
    };
    if let Some(name) = fixed {
        return name.to_string();
    }
    // lN.part.{w,b}
    let mut it = e5s1.splitn(3, '.');
    let (layer, part, kind) = (
        it.next().unwrap_or_default().trim_start_matches('l'),
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
    );
    let module = match part {
        "q" => "attention.self.query",
        "k" => "attention.self.key",
        "v" => "attention.self.value",
        "ao" => "attention.output.dense",
        "aln" => "attention.output.LayerNorm",
        "fi" => "intermediate.dense",
        "fo" => "output.dense",
        "oln" => "output.LayerNorm",
        other => other,
    };
    let suffix = if kind == "w" { "weight" } else { "bias" };
    format!("encoder.layer.{layer}.{module}.{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_names_to_hugging_face() {
        assert_eq!(hf_name("emb.word"), "embeddings.word_embeddings.weight");
        assert_eq!(
            hf_name("l3.q.w"),
            "encoder.layer.3.attention.self.query.weight"
        );
        assert_eq!(
            hf_name("l11.oln.b"),
            "encoder.layer.11.output.LayerNorm.bias"
        );
        assert_eq!(
            hf_name("l0.fi.b"),
            "encoder.layer.0.intermediate.dense.bias"
        );
    }

    #[test]
    fn reads_a_minilm_config() {
        let json = r#"{"architectures":["BertModel"],"hidden_act":"gelu","hidden_size":384,
            "intermediate_size":1536,"layer_norm_eps":1e-12,"max_position_embeddings":512,
            "model_type":"bert","num_attention_heads":12,"num_hidden_layers":6,
            "type_vocab_size":2,"vocab_size":30522,"position_embedding_type":"absolute"}"#;
        let c = EncoderConfig::from_hf_json(json).unwrap();
        assert_eq!((c.hidden, c.layers, c.vocab), (384, 6, 30522));
        assert_eq!(c.expected_tensors().len(), 5 + 6 * 16);
    }

    #[test]
    fn refuses_other_architectures() {
        let json = r#"{"hidden_act":"silu","hidden_size":8,"intermediate_size":8,
            "max_position_embeddings":8,"num_attention_heads":2,"num_hidden_layers":1,"vocab_size":8}"#;
        assert!(
            EncoderConfig::from_hf_json(json)
                .unwrap_err()
                .contains("silu")
        );
        assert!(EncoderConfig::from_hf_json("{").is_err());
    }
}
