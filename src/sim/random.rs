//! Named, seeded random streams. Each stream is a counter-based generator:
//! the draw for conversation `i` depends only on (seed, stream name, i), so
//! every scenario, every staffing level tried and every sensitivity run sees
//! the same customer (same patience, same handling time, same "did this
//! help?") — common random numbers, which keep comparisons between runs
//! free of sampling noise and the staffing search monotone.

/// One named stream of uniform draws.
#[derive(Debug, Clone, Copy)]
pub struct Stream {
    key: u64,
}

/// SplitMix64's finaliser: a bijective mixer with good avalanche.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 64-bit key for `name` (FNV-1a), stable across platforms and releases.
fn name_key(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Stream {
    /// The stream `name` of the run seeded with `seed`.
    pub fn new(seed: u64, name: &str) -> Stream {
        Stream {
            key: mix(seed ^ mix(name_key(name))),
        }
    }

    /// A uniform draw in (0, 1) for item `i` (never exactly 0 or 1).
    pub fn uniform(&self, i: u64) -> f64 {
        let bits = mix(self.key ^ mix(i.wrapping_add(0x9e37_79b9_7f4a_7c15)));
        ((bits >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A second, independent uniform for item `i` (for a normal deviate).
    fn uniform2(&self, i: u64) -> f64 {
        Stream {
            key: mix(self.key ^ 0x5851_f42d_4c95_7f2d),
        }
        .uniform(i)
    }

    /// Exponential with mean `mean`.
    pub fn exponential(&self, i: u64, mean: f64) -> f64 {
        -mean * self.uniform(i).ln()
    }

    /// Standard normal (Box–Muller on two independent uniforms).
    pub fn normal(&self, i: u64) -> f64 {
        let (u1, u2) = (self.uniform(i), self.uniform2(i));
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// A handling-time distribution: mean and coefficient of variation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub cv: f64,
    /// Exponential instead of lognormal (the Erlang formulas' assumption).
    pub exponential: bool,
}

impl Spread {
    /// A draw for item `i`: lognormal with the given mean and CV
    /// (σ² = ln(1 + cv²), μ = ln(mean) − σ²/2), or exponential.
    pub fn sample(&self, stream: &Stream, i: u64) -> f64 {
        if self.exponential {
            return stream.exponential(i, self.mean);
        }
        if self.cv <= 0.0 {
            return self.mean;
        }
        let s2 = (1.0 + self.cv * self.cv).ln();
        (self.mean.ln() - s2 / 2.0 + s2.sqrt() * stream.normal(i)).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(xs: impl Iterator<Item = f64>) -> (f64, f64) {
        let v: Vec<f64> = xs.collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
        (m, var.sqrt() / m)
    }

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let a = Stream::new(7, "patience");
        assert_eq!(a.uniform(3), Stream::new(7, "patience").uniform(3));
        assert_ne!(a.uniform(3), Stream::new(7, "handling").uniform(3));
        assert_ne!(a.uniform(3), Stream::new(8, "patience").uniform(3));
        assert_ne!(a.uniform(3), a.uniform(4));
    }

    #[test]
    fn uniform_exponential_and_lognormal_moments() {
        let s = Stream::new(1, "test");
        let (m, _) = moments((0..200_000).map(|i| s.uniform(i)));
        assert!((m - 0.5).abs() < 0.005, "uniform mean {m}");
        let (m, cv) = moments((0..200_000).map(|i| s.exponential(i, 4.0)));
        assert!(
            (m - 4.0).abs() < 0.05 && (cv - 1.0).abs() < 0.02,
            "exp {m} {cv}"
        );
        let spread = Spread {
            mean: 10.0,
            cv: 0.8,
            exponential: false,
        };
        let (m, cv) = moments((0..400_000).map(|i| spread.sample(&s, i)));
        assert!(
            (m - 10.0).abs() < 0.1 && (cv - 0.8).abs() < 0.03,
            "lognormal {m} {cv}"
        );
    }
}
