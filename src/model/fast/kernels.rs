//! The matrix kernels of the fast forward: `y = x · Wᵀ` for f32 weights and
//! for int8 weights with per-row scales (activations quantised per row on the
//! fly), each in a portable version and in `std::arch` versions chosen at run
//! time by CPU feature (AVX-512 VNNI, AVX-VNNI, AVX2 + FMA).
//!
//! int8 rows are stored with their length padded to [`PAD`] with zeros, so
//! the SIMD loops never need a tail. Products are exact in i32, so every int8
//! kernel returns the same bits as the portable one.

use std::sync::OnceLock;

/// Row length multiple of the int8 layout (one AVX-512 register of bytes).
pub const PAD: usize = 64;

/// The kernel family in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust, any CPU.
    Portable,
    /// AVX2 + FMA: f32 FMA, int8 through `vpmaddubsw` with the sign trick.
    Avx2,
    /// AVX-VNNI (256-bit `vpdpbusd`), f32 through AVX2 + FMA.
    AvxVnni,
    /// AVX-512 VNNI (512-bit `vpdpbusd`), f32 through AVX2 + FMA.
    Avx512Vnni,
}

/// Environment variable that forces a kernel (`portable`, `avx2`, `avx-vnni`,
/// `avx512-vnni`); unset, the best the CPU supports is taken.
pub const KERNEL_ENV: &str = "INTENTDESK_KERNEL";

impl Kernel {
    /// Every kernel this CPU can run, best last.
    pub fn available() -> Vec<Kernel> {
        let mut out = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            if avx2 {
                out.push(Kernel::Avx2);
                if is_x86_feature_detected!("avxvnni") {
                    out.push(Kernel::AvxVnni);
                }
                if is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vnni")
                {
                    out.push(Kernel::Avx512Vnni);
                }
            }
        }
        out
    }

    /// The kernel in use: the one [`KERNEL_ENV`] names, else the best available.
    /// Read once per process.
    pub fn selected() -> Kernel {
        static SELECTED: OnceLock<Kernel> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            let available = Kernel::available();
            match std::env::var(KERNEL_ENV) {
                Ok(name) => match Kernel::parse(&name) {
                    Some(k) if available.contains(&k) => k,
                    Some(k) => {
                        tracing::warn!(?k, "{KERNEL_ENV}: this CPU cannot run it; using portable");
                        Kernel::Portable
                    }
                    None => {
                        tracing::warn!(%name, "{KERNEL_ENV}: unknown kernel; using portable");
                        Kernel::Portable
                    }
                },
                Err(_) => *available.last().unwrap_or(&Kernel::Portable),
            }
        })
    }

    pub fn parse(name: &str) -> Option<Kernel> {
        match name.to_ascii_lowercase().as_str() {
            "portable" | "scalar" => Some(Kernel::Portable),
            "avx2" => Some(Kernel::Avx2),
            "avx-vnni" | "avxvnni" => Some(Kernel::AvxVnni),
            "avx512-vnni" | "avx512vnni" => Some(Kernel::Avx512Vnni),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::AvxVnni => "avx-vnni",
            Kernel::Avx512Vnni => "avx512-vnni",
        }
    }
}

/// Rows of int8 values with one f32 scale each: row `r` is
/// `scales[r] * data[r * stride ..][.. cols]`; the padding is zero.
#[derive(Debug, Clone, Default)]
pub struct QuantRows {
    pub rows: usize,
    pub cols: usize,
    /// `cols` rounded up to [`PAD`].
    pub stride: usize,
    pub data: Vec<i8>,
    pub scales: Vec<f32>,
    /// Sum of each row's int8 values (the VNNI kernels' offset correction).
    pub sums: Vec<i32>,
}

impl QuantRows {
    /// Quantises `x` ([rows, cols] row-major) symmetrically per row.
    pub fn quantize(x: &[f32], rows: usize, cols: usize) -> QuantRows {
        let mut q = QuantRows::default();
        q.requantize(x, rows, cols);
        q
    }

    /// Quantises into this value, reusing its buffers.
    pub fn requantize(&mut self, x: &[f32], rows: usize, cols: usize) {
        debug_assert_eq!(x.len(), rows * cols);
        let stride = cols.div_ceil(PAD) * PAD;
        self.rows = rows;
        self.cols = cols;
        self.stride = stride;
        self.data.clear();
        self.data.resize(rows * stride, 0);
        self.scales.clear();
        self.sums.clear();
        for (r, row) in x.chunks_exact(cols.max(1)).take(rows).enumerate() {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            let inv = 1.0 / scale;
            let out = &mut self.data[r * stride..r * stride + cols];
            let mut sum = 0i32;
            for (o, &v) in out.iter_mut().zip(row) {
                let q = (v * inv).round().clamp(-127.0, 127.0) as i8;
                *o = q;
                sum += q as i32;
            }
            self.scales.push(scale);
            self.sums.push(sum);
        }
    }

    fn row(&self, r: usize) -> &[i8] {
        &self.data[r * self.stride..(r + 1) * self.stride]
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.data.len() + 4 * (self.scales.len() + self.sums.len())
    }
}

/// `out[t, o] = Σ_k x[t, k] · w[o, k] · scales + bias[o]` for the rows
/// `x_rows` of `x` and the output columns `cols`, where `out` holds the rows
/// `x_rows` ([x_rows.len(), w.rows]). `x` and `w` must have the same `cols`.
pub fn matmul_i8(
    kernel: Kernel,
    x: &QuantRows,
    x_rows: std::ops::Range<usize>,
    w: &QuantRows,
    bias: &[f32],
    cols: std::ops::Range<usize>,
    out: &mut [f32],
) {
    assert_eq!(x.cols, w.cols, "inner dimensions differ");
    assert!(x_rows.end <= x.rows && cols.end <= w.rows);
    assert!(out.len() >= x_rows.len() * w.rows);
    for (i, t) in x_rows.enumerate() {
        let xr = x.row(t);
        let orow = &mut out[i * w.rows..(i + 1) * w.rows];
        match kernel {
            Kernel::Portable => dots_i8_portable(xr, w, cols.clone(), orow),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::available` only offers these when the CPU has the features.
            Kernel::Avx2 => unsafe { x86::dots_i8_avx2(xr, w, cols.clone(), orow) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Kernel::AvxVnni => unsafe {
                x86::dots_i8_avxvnni(xr, x.sums[t], w, cols.clone(), orow)
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Kernel::Avx512Vnni => unsafe {
                x86::dots_i8_avx512vnni(xr, x.sums[t], w, cols.clone(), orow)
            },
            #[cfg(not(target_arch = "x86_64"))]
            _ => dots_i8_portable(xr, w, cols.clone(), orow),
        }
        let xs = x.scales[t];
        for o in cols.clone() {
            // The kernels leave the exact integer dot product (as f32) in `orow[o]`.
            orow[o] = orow[o] * xs * w.scales[o] + bias[o];
        }
    }
}

fn dots_i8_portable(x: &[i8], w: &QuantRows, cols: std::ops::Range<usize>, out: &mut [f32]) {
    for o in cols {
        let dot: i32 = x
            .iter()
            .zip(w.row(o))
            .map(|(&a, &b)| a as i32 * b as i32)
            .sum();
        out[o] = dot as f32;
    }
}

/// `out[t, o] = Σ_k x[t, k] · w[o, k] + bias[o]` in f32 for the output
/// columns `cols`; `x` is [rows, k], `w` is [w_rows, k], `out` [rows, w_rows].
#[allow(clippy::too_many_arguments)]
pub fn matmul_f32(
    kernel: Kernel,
    x: &[f32],
    rows: usize,
    k: usize,
    w: &[f32],
    w_rows: usize,
    bias: &[f32],
    cols: std::ops::Range<usize>,
    out: &mut [f32],
) {
    assert!(x.len() >= rows * k && w.len() >= w_rows * k && out.len() >= rows * w_rows);
    assert!(cols.end <= w_rows);
    match kernel {
        Kernel::Portable => {
            for t in 0..rows {
                let xr = &x[t * k..(t + 1) * k];
                for o in cols.clone() {
                    let wr = &w[o * k..(o + 1) * k];
                    out[t * w_rows + o] = dot_f32(xr, wr) + bias[o];
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: every x86 kernel but Portable implies AVX2 + FMA (`Kernel::available`).
        _ => unsafe { x86::matmul_f32_avx2(x, rows, k, w, w_rows, bias, cols, out) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => matmul_f32(Kernel::Portable, x, rows, k, w, w_rows, bias, cols, out),
    }
}

/// Dot product with eight partial sums (the order the compiler can vectorise).
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for c in 0..chunks {
        for l in 0..8 {
            acc[l] += a[c * 8 + l] * b[c * 8 + l];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..a.len() {
        sum += a[i] * b[i];
    }
    sum
}

// These functions are unsafe only for the target features they need (the
// callers check them) and the raw reads inside the row bounds asserted by
// `matmul_i8` / `matmul_f32`; their bodies are not split into unsafe blocks.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_op_in_unsafe_fn)]
mod x86 {
    use super::QuantRows;
    use std::arch::x86_64::*;
    use std::ops::Range;

    #[target_feature(enable = "avx2")]
    unsafe fn hsum_i32(v: __m256i) -> i32 {
        let lo = _mm256_castsi256_si128(v);
        let hi = _mm256_extracti128_si256(v, 1);
        let s = _mm_add_epi32(lo, hi);
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum_f32(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0b01));
        _mm_cvtss_f32(s)
    }

    /// int8 dots with `vpmaddubsw`, which multiplies unsigned by signed bytes:
    /// |x| times w carrying x's sign. Pairs stay below 2·127·127 < 2¹⁵, so the
    /// 16-bit sums never saturate and the result is exact.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dots_i8_avx2(x: &[i8], w: &QuantRows, cols: Range<usize>, out: &mut [f32]) {
        let ones = _mm256_set1_epi16(1);
        let steps = w.stride / 32;
        let xp = x.as_ptr();
        let mut o = cols.start;
        while o + 4 <= cols.end {
            let w0 = w.data.as_ptr().add(o * w.stride);
            let (w1, w2, w3) = (w0.add(w.stride), w0.add(2 * w.stride), w0.add(3 * w.stride));
            let mut acc = [_mm256_setzero_si256(); 4];
            for s in 0..steps {
                let xv = _mm256_loadu_si256(xp.add(s * 32) as *const __m256i);
                let ax = _mm256_sign_epi8(xv, xv);
                for (j, wp) in [w0, w1, w2, w3].into_iter().enumerate() {
                    let wv = _mm256_loadu_si256(wp.add(s * 32) as *const __m256i);
                    let p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv, xv));
                    acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(p, ones));
                }
            }
            for (j, a) in acc.into_iter().enumerate() {
                out[o + j] = hsum_i32(a) as f32;
            }
            o += 4;
        }
        while o < cols.end {
            let wp = w.data.as_ptr().add(o * w.stride);
            let mut acc = _mm256_setzero_si256();
            for s in 0..steps {
                let xv = _mm256_loadu_si256(xp.add(s * 32) as *const __m256i);
                let wv = _mm256_loadu_si256(wp.add(s * 32) as *const __m256i);
                let p = _mm256_maddubs_epi16(_mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wv, xv));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
            }
            out[o] = hsum_i32(acc) as f32;
            o += 1;
        }
    }

    /// int8 dots with 256-bit `vpdpbusd` (unsigned × signed bytes, summed in
    /// i32): x shifted by 128 into unsigned bytes, then 128·Σw subtracted.
    #[target_feature(enable = "avx2,avxvnni")]
    pub unsafe fn dots_i8_avxvnni(
        x: &[i8],
        _x_sum: i32,
        w: &QuantRows,
        cols: Range<usize>,
        out: &mut [f32],
    ) {
        let shift = _mm256_set1_epi8(-128);
        let steps = w.stride / 32;
        let xp = x.as_ptr();
        for o in cols {
            let wp = w.data.as_ptr().add(o * w.stride);
            let mut acc = _mm256_setzero_si256();
            for s in 0..steps {
                // x + 128 as unsigned bytes: flipping the sign bit.
                let xu =
                    _mm256_xor_si256(_mm256_loadu_si256(xp.add(s * 32) as *const __m256i), shift);
                let wv = _mm256_loadu_si256(wp.add(s * 32) as *const __m256i);
                acc = _mm256_dpbusd_avx_epi32(acc, xu, wv);
            }
            out[o] = (hsum_i32(acc) - 128 * w.sums[o]) as f32;
        }
    }

    /// int8 dots with 512-bit `vpdpbusd`, as [`dots_i8_avxvnni`].
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn dots_i8_avx512vnni(
        x: &[i8],
        _x_sum: i32,
        w: &QuantRows,
        cols: Range<usize>,
        out: &mut [f32],
    ) {
        let shift = _mm512_set1_epi8(-128);
        let steps = w.stride / 64;
        let xp = x.as_ptr();
        for o in cols {
            let wp = w.data.as_ptr().add(o * w.stride);
            let mut acc = _mm512_setzero_si512();
            for s in 0..steps {
                let xu = _mm512_xor_si512(_mm512_loadu_si512(xp.add(s * 64) as *const _), shift);
                let wv = _mm512_loadu_si512(wp.add(s * 64) as *const _);
                acc = _mm512_dpbusd_epi32(acc, xu, wv);
            }
            out[o] = (_mm512_reduce_add_epi32(acc) - 128 * w.sums[o]) as f32;
        }
    }

    /// f32 `x · Wᵀ + b` over output columns `cols`, four rows of x against two
    /// rows of W at a time (eight accumulators, each W load used four times).
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn matmul_f32_avx2(
        x: &[f32],
        rows: usize,
        k: usize,
        w: &[f32],
        w_rows: usize,
        bias: &[f32],
        cols: Range<usize>,
        out: &mut [f32],
    ) {
        let kv = k / 8 * 8;
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        let tail =
            |t: usize, o: usize| -> f32 { (kv..k).map(|i| x[t * k + i] * w[o * k + i]).sum() };
        let mut t = 0;
        while t < rows {
            let tn = (rows - t).min(4);
            let mut o = cols.start;
            while o < cols.end {
                let on = (cols.end - o).min(2);
                let mut acc = [[_mm256_setzero_ps(); 2]; 4];
                let w0 = wp.add(o * k);
                let w1 = wp.add((o + on - 1) * k);
                let mut i = 0;
                while i < kv {
                    let wa = _mm256_loadu_ps(w0.add(i));
                    let wb = _mm256_loadu_ps(w1.add(i));
                    for (r, acc) in acc.iter_mut().enumerate().take(tn) {
                        let xv = _mm256_loadu_ps(xp.add((t + r) * k + i));
                        acc[0] = _mm256_fmadd_ps(xv, wa, acc[0]);
                        acc[1] = _mm256_fmadd_ps(xv, wb, acc[1]);
                    }
                    i += 8;
                }
                for r in 0..tn {
                    for j in 0..on {
                        out[(t + r) * w_rows + o + j] =
                            hsum_f32(acc[r][j]) + tail(t + r, o + j) + bias[o + j];
                    }
                }
                o += on;
            }
            t += tn;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn random(rng: &mut StdRng, n: usize, spread: f32) -> Vec<f32> {
        (0..n).map(|_| rng.gen_range(-spread..spread)).collect()
    }

    /// The scalar reference: plain loops over the int8 values, in i64.
    fn reference_i8(x: &QuantRows, w: &QuantRows, bias: &[f32]) -> Vec<f32> {
        let mut out = vec![0f32; x.rows * w.rows];
        for t in 0..x.rows {
            for o in 0..w.rows {
                let mut dot = 0i64;
                for k in 0..x.cols {
                    dot += x.data[t * x.stride + k] as i64 * w.data[o * w.stride + k] as i64;
                }
                out[t * w.rows + o] = dot as f32 * x.scales[t] * w.scales[o] + bias[o];
            }
        }
        out
    }

    #[test]
    fn every_int8_kernel_matches_the_scalar_reference_on_odd_shapes() {
        let mut rng = StdRng::seed_from_u64(12);
        let kernels = Kernel::available();
        for &(rows, k, outs) in &[
            (1, 1, 1),
            (3, 7, 5),
            (5, 33, 9),
            (17, 64, 6),
            (2, 383, 13),
            (9, 384, 30),
            (4, 1536, 7),
        ] {
            let xf = random(&mut rng, rows * k, 3.0);
            let wf = random(&mut rng, outs * k, 0.2);
            let bias = random(&mut rng, outs, 1.0);
            let (x, w) = (
                QuantRows::quantize(&xf, rows, k),
                QuantRows::quantize(&wf, outs, k),
            );
            let want = reference_i8(&x, &w, &bias);
            for &kernel in &kernels {
                let mut got = vec![0f32; rows * outs];
                // Two column ranges, as two threads would split them.
                let mid = outs / 2;
                matmul_i8(kernel, &x, 0..rows, &w, &bias, 0..mid, &mut got);
                matmul_i8(kernel, &x, 0..rows, &w, &bias, mid..outs, &mut got);
                // And split by rows, as the forward does.
                let mut by_rows = vec![0f32; rows * outs];
                let (a, b) = by_rows.split_at_mut(rows / 2 * outs);
                matmul_i8(kernel, &x, 0..rows / 2, &w, &bias, 0..outs, a);
                matmul_i8(kernel, &x, rows / 2..rows, &w, &bias, 0..outs, b);
                assert_eq!(by_rows, want, "{kernel:?} by rows");
                assert_eq!(got, want, "{kernel:?} on {rows}x{k}x{outs}");
            }
        }
    }

    #[test]
    fn int8_saturating_values_stay_exact() {
        // All ±127: the largest pair sums vpmaddubsw can see.
        let k = 96;
        let x = QuantRows::quantize(&vec![-1.0; 2 * k], 2, k);
        let w = QuantRows::quantize(&vec![1.0; 3 * k], 3, k);
        let bias = [0.0; 3];
        let want = reference_i8(&x, &w, &bias);
        for kernel in Kernel::available() {
            let mut got = vec![0f32; 6];
            matmul_i8(kernel, &x, 0..2, &w, &bias, 0..3, &mut got);
            assert_eq!(got, want, "{kernel:?}");
            assert!((got[0] + k as f32).abs() < 1e-3, "{}", got[0]);
        }
    }

    #[test]
    fn every_f32_kernel_matches_the_scalar_reference_on_odd_shapes() {
        let mut rng = StdRng::seed_from_u64(7);
        for &(rows, k, outs) in &[(1, 1, 1), (3, 7, 5), (5, 33, 9), (6, 384, 11), (2, 1537, 3)] {
            let x = random(&mut rng, rows * k, 2.0);
            let w = random(&mut rng, outs * k, 0.5);
            let bias = random(&mut rng, outs, 1.0);
            let mut want = vec![0f32; rows * outs];
            for t in 0..rows {
                for o in 0..outs {
                    let dot: f64 = (0..k)
                        .map(|i| x[t * k + i] as f64 * w[o * k + i] as f64)
                        .sum();
                    want[t * outs + o] = dot as f32 + bias[o];
                }
            }
            for kernel in Kernel::available() {
                let mut got = vec![0f32; rows * outs];
                matmul_f32(kernel, &x, rows, k, &w, outs, &bias, 0..outs, &mut got);
                for (g, e) in got.iter().zip(&want) {
                    assert!(
                        (g - e).abs() <= 1e-4 * (1.0 + e.abs()) * (k as f32).sqrt(),
                        "{kernel:?} {rows}x{k}x{outs}: {g} vs {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn quantised_rows_round_trip_within_half_a_step() {
        let mut rng = StdRng::seed_from_u64(3);
        let x = random(&mut rng, 3 * 50, 4.0);
        let q = QuantRows::quantize(&x, 3, 50);
        assert_eq!(q.stride, 64);
        for r in 0..3 {
            assert!(q.data[r * 64 + 50..(r + 1) * 64].iter().all(|&v| v == 0));
            for c in 0..50 {
                let back = q.data[r * 64 + c] as f32 * q.scales[r];
                assert!((back - x[r * 50 + c]).abs() <= q.scales[r] * 0.5 + 1e-6);
            }
        }
    }

    #[test]
    fn kernel_names_parse_back() {
        for k in [
            Kernel::Portable,
            Kernel::Avx2,
            Kernel::AvxVnni,
            Kernel::Avx512Vnni,
        ] {
            assert_eq!(Kernel::parse(k.name()), Some(k));
        }
        assert_eq!(Kernel::parse("sse9"), None);
    }
}
