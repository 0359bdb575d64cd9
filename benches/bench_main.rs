//! Criterion benches of the intent engine at the batch sizes the server
//! uses: tokenisation, encoding (f32 and Q4 weights) at batch 1/8/32, and
//! classification end to end with the shipped default classifier.
//!
//! Run: `cargo bench --bench bench_main` (needs `intentdesk fetch-model`).
//! Results: `benches/RESULTS.md`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use intentdesk::model::{Classifier, EmbeddingModel, EncoderOptions, Precision};

/// Realistic chat messages in four languages, short and long.
const MESSAGES: [&str; 8] = [
    "입금했는데 아직 안 들어왔어요 TXID 0x3f5c...",
    "my withdrawal of 0.5 ETH has been pending for 3 hours, is there a problem with the network?",
    "OTP 앱을 지웠는데 로그인이 안돼요",
    "我的USDT充值还没到账，已经过了两个小时了",
    "出金が遅れています",
    "hi",
    "수수료가 얼마예요?",
    "someone called me pretending to be support and asked for my OTP code, is that you?",
];

fn batch(n: usize) -> Vec<&'static str> {
    MESSAGES.iter().cycle().take(n).copied().collect()
}

fn load(precision: Precision) -> EmbeddingModel {
    EmbeddingModel::load(&EncoderOptions {
        precision,
        ..Default::default()
    })
    .expect("run `intentdesk fetch-model` first")
}

fn benches(c: &mut Criterion) {
    let f32_model = load(Precision::F32);
    let q4_model = load(Precision::Q4);

    let mut group = c.benchmark_group("tokenize");
    for n in [1usize, 32] {
        let texts = batch(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &texts, |b, t| {
            b.iter(|| f32_model.tokenizer.encode(t).unwrap())
        });
    }
    group.finish();

    for (name, model) in [("encode_f32", &f32_model), ("encode_q4", &q4_model)] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        for n in [1usize, 8, 32] {
            let texts = batch(n);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &texts, |b, t| {
                b.iter(|| model.embed_batch(t).unwrap())
            });
        }
        group.finish();
    }

    match Classifier::load(std::path::Path::new("models/default"), &f32_model) {
        Ok(classifier) => {
            let mut group = c.benchmark_group("classify_f32");
            group.sample_size(10);
            for n in [1usize, 8, 32] {
                let texts = batch(n);
                group.throughput(Throughput::Elements(n as u64));
                group.bench_with_input(BenchmarkId::from_parameter(n), &texts, |b, t| {
                    b.iter(|| classifier.predict(&f32_model, t).unwrap())
                });
            }
            group.finish();
        }
        Err(e) => eprintln!("classify benches skipped: {e}"),
    }
}

criterion_group!(engine, benches);
criterion_main!(engine);
