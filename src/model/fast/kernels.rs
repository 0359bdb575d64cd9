//! The matrix kernels of the fast forward: `y = x · Wᵀ` for f32 weights and
//! for int8 weights with per-row scales, the activations quantised on the fly
//! in blocks of [`BLOCK`] values with a scale each ([`QuantBlocks`]), each in a
//! portable version and in `std::arch` versions chosen at run time by CPU
//! feature (AVX-512 VNNI, AVX-VNNI, AVX2 + FMA).
//!
//! Why blocks for activations: one scale per token row let a few outlier
//! channels flatten the rest, and cost 0.85 points of dev-set accuracy; with a
//! scale per 32 values the int8 forward predicts as well as f32 (the figures
//! are in `benches/RESULTS.md`). Weights keep one scale per row: requantising
//! the Q4_0 weights per row costs nothing measurable.
//!
//! int8 rows are stored with their length padded to [`PAD`] with zeros, so
//! the SIMD loops never need a tail. Each block's product is exact in i32;
//! blocks are summed in f32, so kernels agree with the scalar reference to
//! float rounding.

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
        for (r, row) in x.chunks_exact(cols.max(1)).take(rows).enumerate() {
            let (scale, _) = quantize_into(row, &mut self.data[r * stride..r * stride + cols]);
            self.scales.push(scale);
        }
    }

    fn row(&self, r: usize) -> &[i8] {
        &self.data[r * self.stride..(r + 1) * self.stride]
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.data.len() + 4 * self.scales.len()
    }
}

/// Values per activation block (one AVX2 register of bytes; two per AVX-512 one).
pub const BLOCK: usize = 32;

/// Quantises `values` symmetrically into `out` (same length); returns the
/// scale (0 for an all-zero input) and the sum of the int8 values.
fn quantize_into(values: &[f32], out: &mut [i8]) -> (f32, i32) {
    let max = values.iter().fold(0f32, |m, v| m.max(v.abs()));
    let (scale, inv) = if max > 0.0 { (max / 127.0, 127.0 / max) } else { (0.0, 0.0) };
    let mut sum = 0i32;
    for (o, &v) in out.iter_mut().zip(values) {
        let q = (v * inv).round().clamp(-127.0, 127.0) as i8;
        *o = q;
        sum += q as i32;
    }
    (scale, sum)
}

/// Activations quantised in blocks of [`BLOCK`] values, one f32 scale per
/// block: value `c` of row `r` is `scales[r * blocks + c / BLOCK] * data[r * stride + c]`.
#[derive(Debug, Clone, Default)]
pub struct QuantBlocks {
    pub rows: usize,
    pub cols: usize,
    /// `cols` rounded up to [`PAD`].
    pub stride: usize,
    pub data: Vec<i8>,
    /// `stride / BLOCK` scales per row (0 for the padding blocks).
    pub scales: Vec<f32>,
    /// Per row, `128 · Σ_b scale_b · Σ(block b's int8 values)`: what the VNNI
    /// kernels, which multiply `w + 128` as unsigned bytes, subtract.
    pub offsets: Vec<f32>,
    /// Per row, each pair of block scales spread over 16 lanes (8 + 8): the
    /// 512-bit kernel's multiplier for one 64-byte step.
    pub lanes16: Vec<f32>,
}

impl QuantBlocks {
    /// Quantises `x` ([rows, cols] row-major) in blocks.
    pub fn quantize(x: &[f32], rows: usize, cols: usize) -> QuantBlocks {
        let mut q = QuantBlocks::default();
        q.requantize(x, rows, cols);
        q
    }

    /// Quantises into this value, reusing its buffers.
    pub fn requantize(&mut self, x: &[f32], rows: usize, cols: usize) {
        debug_assert_eq!(x.len(), rows * cols);
        let stride = cols.div_ceil(PAD) * PAD;
        let blocks = stride / BLOCK;
        self.rows = rows;
        self.cols = cols;
        self.stride = stride;
        self.data.clear();
        self.data.resize(rows * stride, 0);
        self.scales.clear();
        self.offsets.clear();
        self.lanes16.clear();
        for r in 0..rows.min(x.len() / cols.max(1)) {
            let row = &x[r * cols..(r + 1) * cols];
            let mut offset = 0f32;
            for b in 0..blocks {
                let (lo, hi) = ((b * BLOCK).min(cols), ((b + 1) * BLOCK).min(cols));
                let out = &mut self.data[r * stride + lo..r * stride + hi];
                let (scale, sum) = quantize_into(&row[lo..hi], out);
                self.scales.push(scale);
                offset += 128.0 * scale * sum as f32;
            }
            self.offsets.push(offset);
            let mine = &self.scales[r * blocks..(r + 1) * blocks];
            for pair in mine.chunks_exact(2) {
                self.lanes16.extend(std::iter::repeat_n(pair[0], 8));
                self.lanes16.extend(std::iter::repeat_n(pair[1], 8));
            }
        }
    }

    fn row(&self, r: usize) -> &[i8] {
        &self.data[r * self.stride..(r + 1) * self.stride]
    }

    fn block_scales(&self, r: usize) -> &[f32] {
        let blocks = self.stride / BLOCK;
        &self.scales[r * blocks..(r + 1) * blocks]
    }

    fn lanes16(&self, r: usize) -> &[f32] {
        let n = self.stride / 64 * 16;
        &self.lanes16[r * n..(r + 1) * n]
    }
}

/// `out[t, o] = w.scales[o] · Σ_b x.scales[t, b] · Σ_{k∈b} x[t, k] · w[o, k] + bias[o]`
/// for the rows `x_rows` of `x` and the output columns `cols`, where `out`
/// holds the rows `x_rows` ([x_rows.len(), w.rows]). `x` and `w` must have the
/// same `cols`.
pub fn matmul_i8(
    kernel: Kernel,
    x: &QuantBlocks,
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
        let (xr, scales) = (x.row(t), x.block_scales(t));
        let orow = &mut out[i * w.rows..(i + 1) * w.rows];
        match kernel {
            Kernel::Portable => dots_i8_portable(xr, scales, w, cols.clone(), orow),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::available` only offers these when the CPU has the features.
            Kernel::Avx2 => unsafe { x86::dots_i8_avx2(xr, scales, w, cols.clone(), orow) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Kernel::AvxVnni => unsafe {
                x86::dots_i8_avxvnni(xr, scales, x.offsets[t], w, cols.clone(), orow)
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Kernel::Avx512Vnni => unsafe {
                x86::dots_i8_avx512vnni(xr, x.lanes16(t), x.offsets[t], w, cols.clone(), orow)
            },
            #[cfg(not(target_arch = "x86_64"))]
            _ => dots_i8_portable(xr, scales, w, cols.clone(), orow),
        }
        for o in cols.clone() {
            // The kernels leave the block-scaled dot product in `orow[o]`.
            orow[o] = orow[o] * w.scales[o] + bias[o];
        }
    }
}

fn dots_i8_portable(x: &[i8], scales: &[f32], w: &QuantRows, cols: std::ops::Range<usize>, out: &mut [f32]) {
    for o in cols {
        let mut acc = 0f32;
        for ((xb, wb), &scale) in x.chunks_exact(BLOCK).zip(w.row(o).chunks_exact(BLOCK)).zip(scales) {
            let dot: i32 = xb.iter().zip(wb).map(|(&a, &b)| a as i32 * b as i32).sum();
            acc += dot as f32 * scale;
        }
        out[o] = acc;
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
    /// 16-bit sums never saturate. One 32-byte step is one block: its exact
    /// i32 sums are scaled by the block's scale into f32 accumulators.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dots_i8_avx2(x: &[i8], scales: &[f32], w: &QuantRows, cols: Range<usize>, out: &mut [f32]) {
        let ones = _mm256_set1_epi16(1);
        let steps = w.stride / 32;
        let xp = x.as_ptr();
        let block_dot = |xv: __m256i, wv: __m256i| -> __m256 {
            let p = _mm256_maddubs_epi16(_mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wv, xv));
            _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones))
        };
        let mut o = cols.start;
        while o + 4 <= cols.end {
            let w0 = w.data.as_ptr().add(o * w.stride);
            let (w1, w2, w3) = (w0.add(w.stride), w0.add(2 * w.stride), w0.add(3 * w.stride));
            let mut acc = [_mm256_setzero_ps(); 4];
            for s in 0..steps {
                let xv = _mm256_loadu_si256(xp.add(s * 32) as *const __m256i);
                let sv = _mm256_set1_ps(scales[s]);
                for (j, wp) in [w0, w1, w2, w3].into_iter().enumerate() {
                    let wv = _mm256_loadu_si256(wp.add(s * 32) as *const __m256i);
                    acc[j] = _mm256_fmadd_ps(block_dot(xv, wv), sv, acc[j]);
                }
            }
            for (j, a) in acc.into_iter().enumerate() {
                out[o + j] = hsum_f32(a);
            }
            o += 4;
        }
        while o < cols.end {
            let wp = w.data.as_ptr().add(o * w.stride);
            let mut acc = _mm256_setzero_ps();
            for s in 0..steps {
                let xv = _mm256_loadu_si256(xp.add(s * 32) as *const __m256i);
                let wv = _mm256_loadu_si256(wp.add(s * 32) as *const __m256i);
                acc = _mm256_fmadd_ps(block_dot(xv, wv), _mm256_set1_ps(scales[s]), acc);
            }
            out[o] = hsum_f32(acc);
            o += 1;
        }
    }

    /// int8 dots with 256-bit `vpdpbusd` (unsigned × signed bytes, summed in
    /// i32): w shifted by 128 into unsigned bytes, so each block's sum holds
    /// 128·Σx too, which `offset` (the row's scaled sum) takes back out.
    #[target_feature(enable = "avx2,fma,avxvnni")]
    pub unsafe fn dots_i8_avxvnni(
        x: &[i8],
        scales: &[f32],
        offset: f32,
        w: &QuantRows,
        cols: Range<usize>,
        out: &mut [f32],
    ) {
        let flip = _mm256_set1_epi8(-128);
        let steps = w.stride / 32;
        let xp = x.as_ptr();
        for o in cols {
            let wp = w.data.as_ptr().add(o * w.stride);
            let mut acc = _mm256_setzero_ps();
            for s in 0..steps {
                let xv = _mm256_loadu_si256(xp.add(s * 32) as *const __m256i);
                // w + 128 as unsigned bytes: flipping the sign bit.
                let wu = _mm256_xor_si256(_mm256_loadu_si256(wp.add(s * 32) as *const __m256i), flip);
                let d = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), wu, xv);
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(scales[s]), acc);
            }
            out[o] = hsum_f32(acc) - offset;
        }
    }

    /// int8 dots with 512-bit `vpdpbusd`, as [`dots_i8_avxvnni`]: one 64-byte
    /// step is two blocks (lanes 0-7 and 8-15), scaled by `lanes16`; four
    /// rows of W share each load of x.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn dots_i8_avx512vnni(
        x: &[i8],
        lanes16: &[f32],
        offset: f32,
        w: &QuantRows,
        cols: Range<usize>,
        out: &mut [f32],
    ) {
        let flip = _mm512_set1_epi8(-128);
        let steps = w.stride / 64;
        let (xp, lp) = (x.as_ptr(), lanes16.as_ptr());
        let step = |acc: __m512, xv: __m512i, sv: __m512, wp: *const i8| -> __m512 {
            let wu = _mm512_xor_si512(_mm512_loadu_si512(wp as *const _), flip);
            let d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wu, xv);
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sv, acc)
        };
        let mut o = cols.start;
        while o + 4 <= cols.end {
            let w0 = w.data.as_ptr().add(o * w.stride);
            let ws = [w0, w0.add(w.stride), w0.add(2 * w.stride), w0.add(3 * w.stride)];
            let mut acc = [_mm512_setzero_ps(); 4];
            for s in 0..steps {
                let xv = _mm512_loadu_si512(xp.add(s * 64) as *const _);
                let sv = _mm512_loadu_ps(lp.add(s * 16));
                for j in 0..4 {
                    acc[j] = step(acc[j], xv, sv, ws[j].add(s * 64));
                }
            }
            for (j, a) in acc.into_iter().enumerate() {
                out[o + j] = _mm512_reduce_add_ps(a) - offset;
            }
            o += 4;
        }
        while o < cols.end {
            let wp = w.data.as_ptr().add(o * w.stride);
            let mut acc = _mm512_setzero_ps();
            for s in 0..steps {
                let xv = _mm512_loadu_si512(xp.add(s * 64) as *const _);
                acc = step(acc, xv, _mm512_loadu_ps(lp.add(s * 16)), wp.add(s * 64));
            }
            out[o] = _mm512_reduce_add_ps(acc) - offset;
            o += 1;
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
        let tail = |t: usize, o: usize| -> f32 {
            (kv..k).map(|i| x[t * k + i] * w[o * k + i]).sum()
        };
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
                    for r in 0..tn {
                        let xv = _mm256_loadu_ps(xp.add((t + r) * k + i));
                        acc[r][0] = _mm256_fmadd_ps(xv, wa, acc[r][0]);
                        acc[r][1] = _mm256_fmadd_ps(xv, wb, acc[r][1]);
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

    /// The scalar reference: plain loops over the int8 values, each block's
    /// product in i64, the blocks summed in f64.
    fn reference_i8(x: &QuantBlocks, w: &QuantRows, bias: &[f32]) -> Vec<f32> {
        let blocks = x.stride / BLOCK;
        let mut out = vec![0f32; x.rows * w.rows];
        for t in 0..x.rows {
            for o in 0..w.rows {
                let mut sum = 0f64;
                for b in 0..blocks {
                    let mut dot = 0i64;
                    for k in b * BLOCK..((b + 1) * BLOCK).min(x.cols) {
                        dot += x.data[t * x.stride + k] as i64 * w.data[o * w.stride + k] as i64;
                    }
                    sum += dot as f64 * x.scales[t * blocks + b] as f64;
                }
                out[t * w.rows + o] = (sum * w.scales[o] as f64) as f32 + bias[o];
            }
        }
        out
    }

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        for (i, (g, e)) in got.iter().zip(want).enumerate() {
            assert!((g - e).abs() <= 1e-5 * (1.0 + e.abs()), "{what}: [{i}] {g} vs {e}");
        }
    }

    #[test]
    fn every_int8_kernel_matches_the_scalar_reference_on_odd_shapes() {
        let mut rng = StdRng::seed_from_u64(12);
        let kernels = Kernel::available();
        for &(rows, k, outs) in &[(1, 1, 1), (3, 7, 5), (5, 33, 9), (17, 64, 6), (2, 383, 13), (9, 384, 30), (4, 1536, 7)] {
            let mut xf = random(&mut rng, rows * k, 3.0);
            // One outlier channel, as the encoder's hidden states have.
            xf.iter_mut().step_by(k.max(1)).for_each(|v| *v *= 40.0);
            let wf = random(&mut rng, outs * k, 0.2);
            let bias = random(&mut rng, outs, 1.0);
            let (x, w) = (QuantBlocks::quantize(&xf, rows, k), QuantRows::quantize(&wf, outs, k));
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
                assert_close(&by_rows, &want, &format!("{kernel:?} by rows on {rows}x{k}x{outs}"));
                assert_close(&got, &want, &format!("{kernel:?} on {rows}x{k}x{outs}"));
            }
        }
    }

    #[test]
    fn int8_saturating_values_stay_exact() {
        // All ±127: the largest pair sums vpmaddubsw can see.
        let k = 96;
        let x = QuantBlocks::quantize(&vec![-1.0; 2 * k], 2, k);
        let w = QuantRows::quantize(&vec![1.0; 3 * k], 3, k);
        let bias = [0.0; 3];
        let want = reference_i8(&x, &w, &bias);
        for kernel in Kernel::available() {
            let mut got = vec![0f32; 6];
            matmul_i8(kernel, &x, 0..2, &w, &bias, 0..3, &mut got);
            assert_close(&got, &want, &format!("{kernel:?}"));
            assert!((got[0] + k as f32).abs() < 1e-3, "{}", got[0]);
        }
    }

    #[test]
    fn block_scales_keep_small_channels_beside_an_outlier() {
        // A row whose first value is 1000x the rest: one scale per row would round
        // every small value to zero; with one per block only the outlier's block does.
        let mut x = vec![0.001f32; 64];
        x[0] = 1.0;
        let q = QuantBlocks::quantize(&x, 1, 64);
        assert_eq!(q.scales.len(), 2);
        assert!(q.data[32..64].iter().all(|&v| v == 127), "{:?}", &q.data[32..64]);
        assert_eq!(q.lanes16.len(), 16);
        assert!(q.lanes16[..8].iter().all(|&s| s == q.scales[0]) && q.lanes16[8..].iter().all(|&s| s == q.scales[1]));
        let sum: i32 = q.data.iter().map(|&v| v as i32).sum();
        let per_block: f32 = (0..2).map(|b| q.scales[b] * q.data[b * 32..(b + 1) * 32].iter().map(|&v| v as f32).sum::<f32>()).sum();
        assert!(sum > 0 && (q.offsets[0] - 128.0 * per_block).abs() < 1e-4);
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
                    let dot: f64 = (0..k).map(|i| x[t * k + i] as f64 * w[o * k + i] as f64).sum();
                    want[t * outs + o] = dot as f32 + bias[o];
                }
            }
            for kernel in Kernel::available() {
                let mut got = vec![0f32; rows * outs];
                matmul_f32(kernel, &x, rows, k, &w, outs, &bias, 0..outs, &mut got);
                for (g, e) in got.iter().zip(&want) {
                    assert!((g - e).abs() <= 1e-4 * (1.0 + e.abs()) * (k as f32).sqrt(), "{kernel:?} {rows}x{k}x{outs}: {g} vs {e}");
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
        for k in [Kernel::Portable, Kernel::Avx2, Kernel::AvxVnni, Kernel::Avx512Vnni] {
            assert_eq!(Kernel::parse(k.name()), Some(k));
        }
        assert_eq!(Kernel::parse("sse9"), None);
    }
}
