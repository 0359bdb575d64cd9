//! Closed forms the simulator is checked against: Erlang C (M/M/n) and
//! Erlang A (M/M/n+M, exponential patience), the latter from the stationary
//! distribution of its birth–death chain, which is exact for M/M/n+M
//! (births λ; deaths k·μ for k ≤ n, n·μ + (k−n)·θ above), truncated where
//! the remaining probability is negligible.

/// Erlang C: probability that an arrival waits, for `n` servers and offered
/// load `a = λ/μ` (None when the queue is unstable, a ≥ n).
pub fn erlang_c(n: u32, a: f64) -> Option<f64> {
    if n == 0 || a >= f64::from(n) {
        return None;
    }
    // Erlang B by the stable recursion, then C from B.
    let mut b = 1.0;
    for k in 1..=n {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(n);
    Some(b / (1.0 - rho + rho * b))
}

/// Erlang C mean wait in queue (same unit as `1/mu`), over all arrivals.
pub fn erlang_c_mean_wait(n: u32, lambda: f64, mu: f64) -> Option<f64> {
    let c = erlang_c(n, lambda / mu)?;
    Some(c / (f64::from(n) * mu - lambda))
}

/// Erlang C service level: P(wait ≤ t) = 1 − C·e^(−(nμ−λ)t).
pub fn erlang_c_service_level(n: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    match erlang_c(n, lambda / mu) {
        Some(c) => 1.0 - c * (-(f64::from(n) * mu - lambda) * t).exp(),
        None => 0.0,
    }
}

/// Erlang A figures (per arrival).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErlangA {
    /// Probability that an arrival finds every server busy.
    pub p_wait: f64,
    /// Share of arrivals that abandon: θ·E[Lq] / λ.
    pub abandoned_share: f64,
    /// Mean time in queue over all arrivals (served and abandoning): E[Lq] / λ.
    pub mean_wait: f64,
}

/// Erlang A for `n` servers, arrival rate `lambda`, service rate `mu`,
/// abandonment rate `theta` (1 / mean patience; 0 gives Erlang C when stable).
pub fn erlang_a(n: u32, lambda: f64, mu: f64, theta: f64) -> ErlangA {
    let n_f = f64::from(n);
    // Unnormalised probabilities p_k / p_0 in log space would be safer for
    // huge n; ratios stay in range for the sizes a desk has (n ≤ a few hundred).
    let mut p = vec![1.0f64];
    let mut k = 0usize;
    loop {
        let death = if (k + 1) as f64 <= n_f {
            (k + 1) as f64 * mu
        } else {
            n_f * mu + ((k + 1) as f64 - n_f) * theta
        };
        let next = p[k] * lambda / death;
        p.push(next);
        k += 1;
        let total: f64 = p.iter().sum();
        if (k as f64 > n_f && next < 1e-15 * total) || k > 2_000_000 {
            break;
        }
    }
    let total: f64 = p.iter().sum();
    let (mut p_wait, mut lq) = (0.0, 0.0);
    for (k, pk) in p.iter().enumerate() {
        let pk = pk / total;
        if k as f64 >= n_f {
            p_wait += pk;
            lq += (k as f64 - n_f) * pk;
        }
    }
    ErlangA {
        p_wait,
        abandoned_share: theta * lq / lambda,
        mean_wait: lq / lambda,
    }
}

/// Fewest servers holding `P(wait ≤ t) ≥ target` under Erlang C.
pub fn servers_for_service_level(lambda: f64, mu: f64, t: f64, target: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    let mut n = (lambda / mu).floor() as u32 + 1;
    while erlang_c_service_level(n, lambda, mu, t) < target && n < 100_000 {
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_known_values() {
        // Textbook: a = 2 Erlang, n = 3 → C = 4/9.
        assert!((erlang_c(3, 2.0).unwrap() - 4.0 / 9.0).abs() < 1e-12);
        // M/M/1: C = rho, W = rho / (mu - lambda).
        assert!((erlang_c(1, 0.8).unwrap() - 0.8).abs() < 1e-12);
        let w = erlang_c_mean_wait(1, 0.8, 1.0).unwrap();
        assert!((w - 4.0).abs() < 1e-12);
        assert_eq!(erlang_c(2, 2.0), None);
    }

    #[test]
    fn erlang_a_reduces_to_erlang_c_without_abandonment() {
        let (n, lambda, mu) = (5, 40.0, 10.0);
        let a = erlang_a(n, lambda, mu, 0.0);
        assert!((a.p_wait - erlang_c(n, 4.0).unwrap()).abs() < 1e-9);
        assert!((a.mean_wait - erlang_c_mean_wait(n, lambda, mu).unwrap()).abs() < 1e-9);
        assert_eq!(a.abandoned_share, 0.0);
    }

    #[test]
    fn erlang_a_with_impatience() {
        // M/M/1+M with theta = mu is an M/M/∞-like chain: p_k = p0 a^k / k!,
        // so P(wait) = 1 - e^{-a}. With a = 1: 1 - 1/e.
        let a = erlang_a(1, 1.0, 1.0, 1.0);
        assert!((a.p_wait - (1.0 - (-1.0f64).exp())).abs() < 1e-9, "{a:?}");
        // Overloaded queues are stable with abandonment; more patience, more waiting.
        let impatient = erlang_a(5, 60.0, 10.0, 6.0);
        let patient = erlang_a(5, 60.0, 10.0, 1.0);
        assert!(impatient.abandoned_share > 0.1 && impatient.abandoned_share < 1.0);
        assert!(patient.mean_wait > impatient.mean_wait);
        // At least λ − nμ must abandon when λ > nμ.
        assert!(patient.abandoned_share >= (60.0 - 50.0) / 60.0 - 1e-9);
    }

    #[test]
    fn staffing_for_a_service_level() {
        let n = servers_for_service_level(100.0, 10.0, 1.0 / 3.0, 0.8);
        assert!(erlang_c_service_level(n, 100.0, 10.0, 1.0 / 3.0) >= 0.8);
        assert!(erlang_c_service_level(n - 1, 100.0, 10.0, 1.0 / 3.0) < 0.8);
        assert!(n > 10);
    }
}
