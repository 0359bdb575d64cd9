//! Criterion benches of the intent engine at the batch sizes the server
//! uses: tokenisation, encoding (f32 and Q4 weights) at batch 1/8/32,
//! classification end to end with the shipped default classifier, the fast
//! forward (f32 and int8, every kernel this CPU has) at batch 1/8/32, and
//! the int8 and f32 matrix kernels on the encoder's shapes.
//!
//! Run: `cargo bench --bench bench_main` (needs `intentdesk fetch-model`).
//! Results: `benches/RESULTS.md`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use intentdesk::model::fast::kernels::{QuantRows, matmul_f32, matmul_i8};
use intentdesk::model::fast::{FastMember, Kernel, LinearFormat};
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
        ..EncoderOptions::from_env()
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

/// The fast forward with the shipped classifier, pooled features only.
fn fast_benches(c: &mut Criterion) {
    let model_dir = std::path::Path::new("models/default");
    for (name, format) in [
        ("fast_f32", LinearFormat::F32),
        ("fast_int8", LinearFormat::Int8),
    ] {
        let mut member = FastMember::load(model_dir, &EncoderOptions::from_env(), format)
            .expect("run `intentdesk fetch-model` first")
            .expect("the default encoder is an E5S1 file");
        let kernels = match format {
            LinearFormat::F32 => vec![*Kernel::available().last().unwrap()],
            LinearFormat::Int8 => Kernel::available(),
        };
        for kernel in kernels {
            member.encoder.set_kernel(kernel);
            let mut group = c.benchmark_group(format!("{name}_{}", kernel.name()));
            group.sample_size(10);
            for n in [1usize, 8, 32] {
                let texts = batch(n);
                group.throughput(Throughput::Elements(n as u64));
                group.bench_with_input(BenchmarkId::from_parameter(n), &texts, |b, t| {
                    b.iter(|| member.score(t).unwrap())
                });
            }
            group.finish();
        }
    }
}

/// The kernels alone on the encoder's shapes: 16 tokens (a median message)
/// and 512 (a batch of 32) against the 384→1536 feed-forward matrix.
fn kernel_benches(c: &mut Criterion) {
    let (k, outs) = (384usize, 1536usize);
    let w: Vec<f32> = (0..outs * k)
        .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 5000.0)
        .collect();
    let wq = QuantRows::quantize(&w, outs, k);
    let bias = vec![0.1f32; outs];
    for tokens in [16usize, 512] {
        let x: Vec<f32> = (0..tokens * k)
            .map(|i| ((i * 104729 % 997) as f32 - 498.0) / 300.0)
            .collect();
        let xq = QuantRows::quantize(&x, tokens, k);
        let mut out = vec![0f32; tokens * outs];
        let mut group = c.benchmark_group(format!("kernel_{tokens}x{k}x{outs}"));
        group.throughput(Throughput::Elements((tokens * k * outs) as u64));
        for kernel in Kernel::available() {
            group.bench_function(format!("int8_{}", kernel.name()), |b| {
                b.iter(|| matmul_i8(kernel, &xq, 0..tokens, &wq, &bias, 0..outs, &mut out))
            });
        }
        for kernel in [Kernel::Portable, *Kernel::available().last().unwrap()] {
            group.bench_function(format!("f32_{}", kernel.name()), |b| {
                b.iter(|| matmul_f32(kernel, &x, tokens, k, &w, outs, &bias, 0..outs, &mut out))
            });
        }
        group.finish();
    }
}

criterion_group!(engine, benches, fast_benches, kernel_benches);
criterion_main!(engine);
