//! The evaluation report as one self-contained HTML page: headline figures,
//! a confusion-matrix heatmap and a reliability diagram, both inline SVG.

use std::fmt::Write;

use super::EvalReport;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Confusion heatmap: rows are gold labels, columns predictions; each row is
/// normalised so the colour shows where that intent's messages went.
pub fn confusion_svg(labels: &[String], counts: &[Vec<u32>]) -> String {
    let n = labels.len().max(1);
    let cell = (720 / n).clamp(4, 28);
    let margin = 170;
    let size = margin + cell * n + 10;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" font-family="sans-serif" font-size="{fs}">"#,
        fs = (cell as f32 * 0.8).clamp(4.0, 11.0)
    );
    for (g, row) in counts.iter().enumerate() {
        let total: u32 = row.iter().sum();
        for (p, &c) in row.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let share = c as f32 / total.max(1) as f32;
            let (r, gr, b) = if g == p {
                (
                    255.0 * (1.0 - share),
                    120.0 + 100.0 * (1.0 - share),
                    255.0 * (1.0 - share),
                )
            } else {
                (255.0, 255.0 * (1.0 - share), 255.0 * (1.0 - share))
            };
            let _ = write!(
                svg,
                r#"<rect x="{}" y="{}" width="{cell}" height="{cell}" fill="rgb({:.0},{:.0},{:.0})"><title>{} → {}: {c}</title></rect>"#,
                margin + p * cell,
                margin + g * cell,
                r,
                gr,
                b,
                escape(&labels[g]),
                escape(&labels[p])
            );
        }
    }
    if cell >= 6 {
        for (i, l) in labels.iter().enumerate() {
            let y = margin + i * cell + cell * 3 / 4;
            let _ = write!(
                svg,
                r#"<text x="{}" y="{y}" text-anchor="end">{}</text>"#,
                margin - 4,
                escape(l)
            );
            let x = margin + i * cell + cell * 3 / 4;
            let _ = write!(
                svg,
                r#"<text transform="translate({x},{}) rotate(-90)" text-anchor="start">{}</text>"#,
                margin - 4,
                escape(l)
            );
        }
    }
    let _ = write!(
        svg,
        r##"<rect x="{margin}" y="{margin}" width="{w}" height="{w}" fill="none" stroke="#999"/></svg>"##,
        w = cell * n
    );
    svg
}

/// Reliability diagram: accuracy against mean confidence per bin, with the
/// diagonal of perfect calibration and bar widths for the row counts.
pub fn reliability_svg(report: &EvalReport) -> String {
    let (w, h, m) = (420.0f64, 420.0f64, 40.0f64);
    let plot = w - 2.0 * m;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">
<rect x="{m}" y="{m}" width="{plot}" height="{plot}" fill="#fafafa" stroke="#999"/>
<line x1="{m}" y1="{b}" x2="{e}" y2="{m}" stroke="#bbb" stroke-dasharray="4"/>
<text x="{cx}" y="{tb}" text-anchor="middle">confidence</text>
<text transform="translate(12,{cx}) rotate(-90)" text-anchor="middle">accuracy</text>"##,
        b = m + plot,
        e = m + plot,
        cx = w / 2.0,
        tb = h - 8.0
    );
    let max_count = report
        .reliability
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    for bin in &report.reliability {
        if bin.count == 0 {
            continue;
        }
        let x = m + bin.lower as f64 * plot;
        let bw = (bin.upper - bin.lower) as f64 * plot;
        let bh = bin.accuracy as f64 * plot;
        let opacity = 0.25 + 0.75 * bin.count as f64 / max_count;
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#3b7dd8" fill-opacity="{opacity:.2}" stroke="#fff"><title>{:.2}–{:.2}: {} rows, confidence {:.3}, accuracy {:.3}</title></rect>"##,
            m + plot - bh,
            bw,
            bin.lower,
            bin.upper,
            bin.count,
            bin.confidence,
            bin.accuracy
        );
        let cx = m + bin.confidence as f64 * plot;
        let cy = m + plot - bin.accuracy as f64 * plot;
        let _ = write!(
            svg,
            r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="3" fill="#d83b3b"/>"##
        );
    }
    svg.push_str("</svg>");
    svg
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.2} %", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// The whole page.
pub fn html_report(report: &EvalReport) -> String {
    let f = &report.figures;
    let mut langs = String::new();
    for (lang, l) in &report.by_language {
        let _ = write!(
            langs,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(lang),
            l.rows,
            pct(Some(l.accuracy)),
            pct(Some(l.macro_f1)),
            pct(l.in_scope_accuracy),
            pct(l.oos_recall)
        );
    }
    let mut worst: Vec<(&String, &super::PerIntent)> = report.per_intent.iter().collect();
    worst.sort_by(|a, b| a.1.f1.total_cmp(&b.1.f1));
    let mut intents = String::new();
    for (name, p) in worst.iter().take(15) {
        let conf: Vec<String> = p
            .confused_with
            .iter()
            .map(|(l, c)| format!("{} ({c})", escape(l)))
            .collect();
        let _ = write!(
            intents,
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td></tr>",
            escape(name),
            p.support,
            p.precision,
            p.recall,
            p.f1,
            conf.join(", ")
        );
    }
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>intentdesk evaluation</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;padding:3px 8px;text-align:right}}td:first-child{{text-align:left}}</style></head><body>
<h1>intentdesk evaluation</h1>
<p>data: <code>{data}</code><br>model: <code>{model}</code><br>{rows} rows</p>
<table><tr><th>accuracy</th><th>macro-F1</th><th>in-scope accuracy</th><th>out-of-scope recall</th><th>out-of-scope precision</th><th>ECE</th><th>latency p50 / p99</th><th>batch throughput</th></tr>
<tr><td>{acc}</td><td>{mf1}</td><td>{isa}</td><td>{oosr}</td><td>{oosp}</td><td>{ece:.4}</td><td>{p50:.1} / {p99:.1} ms</td><td>{tput:.0} msg/s</td></tr></table>
<h2>By language</h2><table><tr><th>lang</th><th>rows</th><th>accuracy</th><th>macro-F1</th><th>in-scope acc.</th><th>oos recall</th></tr>{langs}</table>
<h2>Weakest intents</h2><table><tr><th>intent</th><th>n</th><th>precision</th><th>recall</th><th>F1</th><th>confused with</th></tr>{intents}</table>
<h2>Reliability diagram</h2><p>Bars: accuracy per confidence bin (darker = more rows); red dots: mean confidence vs accuracy; dashed: perfect calibration.</p>{rel}
<h2>Confusion matrix</h2><p>Rows: true intent; columns: predicted. Green: right; red: wrong (row-normalised). Hover a cell for counts.</p>{conf}
</body></html>"#,
        data = escape(&report.data),
        model = escape(&report.model),
        rows = report.rows,
        acc = pct(Some(f.accuracy)),
        mf1 = pct(Some(f.macro_f1)),
        isa = pct(f.in_scope_accuracy),
        oosr = pct(f.oos_recall),
        oosp = pct(f.oos_precision),
        ece = report.ece,
        p50 = report.latency.p50_ms,
        p99 = report.latency.p99_ms,
        tput = report.latency.batch_throughput_per_s,
        rel = reliability_svg(report),
        conf = confusion_svg(&report.confusion_labels, &report.confusion),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_has_a_cell_per_nonzero_count_and_escapes_labels() {
        let labels = vec!["a<b".to_string(), "c".to_string()];
        let svg = confusion_svg(&labels, &[vec![3, 1], vec![0, 2]]);
        assert_eq!(svg.matches("<rect x=").count(), 3 + 1);
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"));
    }
}
