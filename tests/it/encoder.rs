//! The real encoder: cross-lingual paraphrases, padding invariance, Q4 vs f32.

use super::common::{cosine, encoder, load};
use intentdesk::model::Precision;

#[test]
fn paraphrases_in_four_languages_land_closer_than_unrelated_sentences() {
    let model = encoder();
    // Same meaning (a deposit that did not arrive) in four languages, and
    // unrelated sentences in the same languages.
    let paraphrases = [
        "I sent bitcoin to my account but the deposit has not arrived",
        "비트코인을 입금했는데 아직 안 들어왔어요",
        "我转了比特币但是还没到账",
        "ビットコインを送金したのにまだ入金されていません",
    ];
    let unrelated = [
        "What is the weather like in Paris tomorrow?",
        "김치찌개 맛있게 끓이는 법 알려줘",
        "这本小说的结局太感人了",
        "週末に友達と映画を見に行きました",
    ];
    let all: Vec<&str> = paraphrases
        .iter()
        .chain(unrelated.iter())
        .copied()
        .collect();
    let e = model.embed_batch(&all).unwrap().to_vec2::<f32>().unwrap();
    for row in &e {
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-3,
            "embeddings are unit length, got {norm}"
        );
    }
    for i in 0..4 {
        for j in 0..4 {
            if i == j {
                continue;
            }
            let same = cosine(&e[i], &e[j]);
            let other = cosine(&e[i], &e[4 + j]);
            assert!(
                same > other + 0.03,
                "{:?} ~ {:?} = {same:.3} should beat {:?} = {other:.3}",
                all[i],
                all[j],
                all[4 + j]
            );
        }
    }
}

#[test]
fn a_batch_gives_the_same_embeddings_as_one_by_one() {
    // Padding and the attention mask must not change a sentence's embedding.
    let model = encoder();
    let texts = [
        "hi",
        "my withdrawal of 0.5 ETH has been pending for three hours, what is going on?",
    ];
    let batch = model.embed_batch(&texts).unwrap().to_vec2::<f32>().unwrap();
    for (i, t) in texts.iter().enumerate() {
        let alone = model.embed_batch(&[t]).unwrap().to_vec2::<f32>().unwrap();
        assert!(cosine(&alone[0], &batch[i]) > 0.9999, "{t}");
    }
}

#[test]
fn long_messages_are_truncated_not_rejected() {
    let model = encoder();
    let long = "출금이 안 돼요 ".repeat(500);
    let rows = model.tokenizer.encode(&[&long]).unwrap();
    assert_eq!(rows[0].len(), model.tokenizer.max_tokens());
    let e = model.embed_batch(&[&long]).unwrap();
    assert_eq!(e.dims(), &[1, 384]);
}

#[test]
fn quantised_and_dequantised_weights_agree() {
    let q4 = load(Precision::Q4);
    let texts = ["OTP 분실했어요", "where is my USDT deposit"];
    let a = q4.embed_batch(&texts).unwrap().to_vec2::<f32>().unwrap();
    let b = encoder()
        .embed_batch(&texts)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    for i in 0..2 {
        let c = cosine(&a[i], &b[i]);
        assert!(c > 0.99, "q4 vs f32 cosine {c}");
    }
    assert!(q4.encoder.weight_bytes() < encoder().encoder.weight_bytes() / 5);
}
