//! Progress reporting for long work (model download, encoding, training,
//! evaluation): a bar on a terminal, and plain periodic lines when stderr is
//! a log file (CI), so progress is visible either way.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A progress reporter; hidden when `show` is false.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: Option<Mutex<Plain>>,
}

struct Plain {
    label: String,
    total: u64,
    done: u64,
    started: Instant,
    last: Instant,
    suffix: String,
}

/// How often a plain progress line is printed at most.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

impl Progress {
    /// Starts reporting `total` units of work labelled `label`.
    pub fn new(total: u64, label: &str, show: bool, bytes: bool) -> Self {
        if !show {
            return Progress {
                bar: None,
                plain: None,
            };
        }
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            let template = if bytes {
                "{msg:32} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
            } else {
                "{msg:32} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {prefix}"
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(label.to_string());
            return Progress {
                bar: Some(bar),
                plain: None,
            };
        }
        eprintln!("{label}: 0/{total}");
        let now = Instant::now();
        Progress {
            bar: None,
            plain: Some(Mutex::new(Plain {
                label: label.to_string(),
                total,
                done: 0,
                started: now,
                last: now,
                suffix: String::new(),
            })),
        }
    }

    /// Records `n` more units done.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
        if let Some(plain) = &self.plain
            && let Ok(mut p) = plain.lock()
        {
            p.done += n;
            if p.last.elapsed() >= PLAIN_EVERY {
                p.last = Instant::now();
                let rate = p.done as f64 / p.started.elapsed().as_secs_f64().max(1e-9);
                let eta = (p.total.saturating_sub(p.done)) as f64 / rate.max(1e-9);
                eprintln!(
                    "{}: {}/{} ({:.0}%), {:.0}/s, eta {:.0}s {}",
                    p.label,
                    p.done,
                    p.total,
                    100.0 * p.done as f64 / p.total.max(1) as f64,
                    rate,
                    eta,
                    p.suffix
                );
            }
        }
    }

    /// Changes the total (work found to be larger or smaller than announced).
    pub fn set_length(&self, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
        if let Some(plain) = &self.plain
            && let Ok(mut p) = plain.lock()
        {
            p.total = total;
        }
    }

    /// Extra text shown after the counts (a running loss, say).
    pub fn set_suffix(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(text.clone());
        }
        if let Some(plain) = &self.plain
            && let Ok(mut p) = plain.lock()
        {
            p.suffix = text;
        }
    }

    /// Units done so far.
    pub fn position(&self) -> u64 {
        if let Some(bar) = &self.bar {
            return bar.position();
        }
        self.plain
            .as_ref()
            .and_then(|p| p.lock().ok().map(|p| p.done))
            .unwrap_or(0)
    }

    /// Ends the report.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some(plain) = &self.plain
            && let Ok(p) = plain.lock()
        {
            eprintln!(
                "{}: {}/{} done in {:.1}s",
                p.label,
                p.done,
                p.total,
                p.started.elapsed().as_secs_f64()
            );
        }
    }
}
