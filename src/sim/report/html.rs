//! The report as one self-contained HTML page: the headline, a summary
//! table, the incident's notice (when configured), the sensitivity table and
//! inline SVG plots (arrivals, queue length, wait and busy agents over the
//! day per scenario). No scripts, no CDN.

use std::fmt::Write;

use super::{IncidentReport, Report, Series};

const COLORS: [(&str, &str); 4] = [
    ("no_bot", "#c0392b"),
    ("bot", "#2980b9"),
    ("bot_load_aware", "#27ae60"),
    ("bot_notice", "#8e44ad"),
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A chart over the intervals: bars or lines, the peak window shaded, an optional target line.
///
/// Long because it is one SVG template written top to bottom (frame, peak, grid, hours,
/// series, legend, target); split, its coordinates would have to travel between pieces.
fn chart(
    title: &str,
    unit: &str,
    lines: &[(&str, &str, Vec<f64>)],
    bars: bool,
    window: Option<(usize, usize)>,
    target: Option<f64>,
) -> String {
    let (w, h, left, top, bottom) = (1100.0, 240.0, 60.0, 30.0, 30.0);
    let n = lines.iter().map(|l| l.2.len()).max().unwrap_or(1).max(1);
    let max = lines
        .iter()
        .flat_map(|l| l.2.iter().copied())
        .chain(target)
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.08;
    let x = |i: f64| left + i * (w - left - 10.0) / n as f64;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12" role="img" aria-label="{t}"><text x="{left}" y="16" font-weight="bold">{t}</text>"#,
        t = escape(title)
    );
    if let Some((a, b)) = window {
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="{top}" width="{:.1}" height="{:.1}" fill="#f6e7b4"/><text x="{:.1}" y="{:.1}" fill="#8a6d00">peak</text>"##,
            x(a as f64),
            x(b as f64) - x(a as f64),
            h - top - bottom,
            x(a as f64) + 3.0,
            top + 12.0
        );
    }
    for k in 0..=4 {
        let v = max / 1.08 * k as f64 / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            w - 10.0,
            left - 4.0,
            y(v) + 4.0,
            fmt_num(v),
            yy = y(v)
        );
    }
    for hour in (0..=n / 4).step_by(if n > 200 { 24 } else { 2 }) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{:02}:00</text>"#,
            x(hour as f64 * 4.0),
            h - 10.0,
            hour % 24
        );
    }
    // Legend entries 140 px apart, right-aligned once there are more than three.
    let legend = (w - 10.0 - 140.0 * lines.len() as f64).min(w - 420.0);
    for (li, (name, color, values)) in lines.iter().enumerate() {
        if bars {
            for (i, v) in values.iter().enumerate() {
                let _ = write!(
                    svg,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"/>"#,
                    x(i as f64) + 0.5,
                    y(*v),
                    (x(1.0) - x(0.0) - 1.0).max(0.5),
                    y(0.0) - y(*v)
                );
            }
        } else {
            let points: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i as f64 + 0.5), y(*v)))
                .collect();
            let _ = write!(
                svg,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                points.join(" ")
            );
        }
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="6" width="12" height="12" fill="{color}"/><text x="{:.1}" y="16">{}</text>"#,
            legend + li as f64 * 140.0,
            legend + 16.0 + li as f64 * 140.0,
            escape(name)
        );
    }
    if let Some(t) = target {
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#555" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">target {} {unit}</text>"##,
            w - 10.0,
            w - 12.0,
            y(t) - 4.0,
            fmt_num(t),
            yy = y(t)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

fn mins(s: f64) -> String {
    format!("{:.1} min", s / 60.0)
}

fn scenario_series(r: &Report) -> Vec<(&'static str, &'static str, &Series)> {
    let t = match &r.timeline {
        Some(t) => t,
        None => return Vec::new(),
    };
    let all = [
        Some(&t.no_bot),
        t.bot.as_ref(),
        t.bot_load_aware.as_ref(),
        t.bot_notice.as_ref(),
    ];
    COLORS
        .iter()
        .zip(all)
        .filter_map(|((n, c), s)| s.map(|s| (*n, *c, s)))
        .collect()
}

fn summary_table(r: &Report) -> String {
    let s = &r.scenarios;
    let cols: Vec<(&str, &super::ScenarioFigures)> = [
        ("no_bot", Some(&s.no_bot)),
        ("bot", s.bot.as_ref()),
        ("bot_load_aware", s.bot_load_aware.as_ref()),
        ("bot_notice", s.bot_notice.as_ref()),
    ]
    .into_iter()
    .filter_map(|(n, f)| f.map(|f| (n, f)))
    .collect();
    let mut html = String::from("<table><tr><th></th>");
    for (n, _) in &cols {
        let _ = write!(html, "<th>{n}</th>");
    }
    html.push_str("</tr>");
    type Row = (&'static str, fn(&super::ScenarioFigures) -> String);
    let rows: [Row; 15] = [
        ("conversations", |f| f.conversations.to_string()),
        ("resolved by the bot", |f| f.resolved_by_bot.to_string()),
        ("tickets to agents", |f| f.tickets.to_string()),
        ("agent-minutes", |f| format!("{:.0}", f.agent_minutes)),
        ("wait p50", |f| mins(f.wait_p50_s)),
        ("wait p90", |f| mins(f.wait_p90_s)),
        ("wait p99", |f| mins(f.wait_p99_s)),
        ("mean wait", |f| mins(f.wait_mean_s)),
        ("answered within target (day)", |f| pct(f.within_sla)),
        ("answered within target (peak)", |f| {
            f.peak_within_sla.map_or("-".into(), pct)
        }),
        ("abandoned", |f| {
            format!("{} ({})", f.abandoned, pct(f.abandoned_share))
        }),
        ("recontacts after a wrong answer", |f| {
            f.recontacts.to_string()
        }),
        ("bot answers given", |f| f.bot_answers.to_string()),
        ("longest queue", |f| f.peak_queue_length.to_string()),
        ("agents needed at peak", |f| {
            f.agents_needed.map_or("-".into(), |n| n.to_string())
        }),
    ];
    for (label, get) in rows {
        let _ = write!(html, "<tr><th>{label}</th>");
        for (_, f) in &cols {
            let _ = write!(html, "<td>{}</td>", get(f));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    html
}

fn headline(r: &Report) -> String {
    let mut h = String::new();
    if let (Some(red), Some(need)) = (r.agent_workload_reduction, &r.agents_needed_at_peak) {
        let peak = r.peak.as_ref().map_or(String::new(), |p| {
            format!(
                "a {}× peak from {} for {} h",
                p.multiplier, p.start, p.hours
            )
        });
        let n = |v: Option<u32>| v.map_or("-".into(), |v| v.to_string());
        let _ = write!(
            h,
            "<p class=head>At {peak}, holding {} of tickets answered within {} min: <b>{} agents</b> without the bot, <b>{} agents</b> with it as shipped. The bot takes <b>{}</b> of the agents' work off over the day.</p>",
            pct(r.sla_target),
            r.sla_minutes,
            n(need.no_bot),
            n(need.bot_load_aware),
            pct(red)
        );
    }
    if let Some(i) = &r.incident {
        let n = |v: Option<u32>| v.map_or("-".into(), |v| v.to_string());
        let _ = write!(
            h,
            "<p class=head>With {} of the peak about {} ({}) and a notice posted at {}: <b>{} agents</b> instead of <b>{}</b>; the notice avoids <b>{} tickets</b>.</p>",
            pct(i.share),
            escape(&i.intent),
            escape(&i.coin),
            i.notice_posted,
            n(i.agents_needed_at_peak.with_notice),
            n(i.agents_needed_at_peak.without_notice),
            i.tickets_avoided
        );
    }
    h
}

/// The incident section: what was assumed, then the shipped bot without and with the notice.
///
/// Long because it is one HTML template, read in the order the page shows it.
fn incident_section(i: &IncidentReport) -> String {
    let mut html = String::from("<h2>Incident: the notice</h2>");
    let _ = write!(
        html,
        "<p>From {} to {}, {} of arrivals are about <b>{}</b> ({}): {} conversations, {} of them read by the model as {} (only those can get the notice). The notice is posted at <b>{}</b>; it is assumed to answer <b>{}</b> of the customers it is shown to (an assumption: see the rows below), the others read it for {} min and continue as today.</p>",
        i.starts,
        i.ends,
        pct(i.share),
        escape(&i.intent),
        escape(&i.coin),
        i.conversations,
        i.read_as_intent,
        escape(&i.intent),
        i.notice_posted,
        pct(i.notice_acceptance),
        i.notice_read_minutes
    );
    let n = |v: Option<u32>| v.map_or("-".into(), |v| v.to_string());
    let p = |v: Option<f64>| v.map_or("-".into(), pct);
    let rows = [
        (
            "agents needed at peak",
            n(i.agents_needed_at_peak.without_notice),
            n(i.agents_needed_at_peak.with_notice),
        ),
        (
            "work taken off vs no bot (asked for)",
            pct(i.asked_workload_reduction.without_notice),
            pct(i.asked_workload_reduction.with_notice),
        ),
        (
            "work taken off vs no bot (served)",
            pct(i.agent_workload_reduction.without_notice),
            pct(i.agent_workload_reduction.with_notice),
        ),
        (
            "wait p90 (default staffing)",
            mins(i.wait_p90_s.without_notice),
            mins(i.wait_p90_s.with_notice),
        ),
        (
            "answered within target (peak)",
            p(i.peak_within_sla.without_notice),
            p(i.peak_within_sla.with_notice),
        ),
        (
            "abandoned",
            i.abandoned.without_notice.to_string(),
            i.abandoned.with_notice.to_string(),
        ),
    ];
    html.push_str("<table><tr><th></th><th>bot, no notice</th><th>bot + notice</th></tr>");
    for (label, without, with) in rows {
        let _ = write!(
            html,
            "<tr><th>{label}</th><td>{without}</td><td>{with}</td></tr>"
        );
    }
    let _ = write!(
        html,
        "</table><p>Shown to {} customers, the notice answered {}: <b>{} tickets avoided</b>.</p>",
        i.notice_shown, i.notice_resolved, i.tickets_avoided
    );
    if !i.sensitivity.is_empty() {
        html.push_str("<table><tr><th>notice accepted</th><th>answered by the notice</th><th>tickets</th><th>work taken off (asked for)</th><th>wait p90</th><th>within target (peak)</th><th>agents needed at peak</th></tr>");
        for s in &i.sensitivity {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                pct(s.notice_acceptance),
                s.notice_resolved,
                s.tickets,
                pct(s.asked_workload_reduction),
                mins(s.wait_p90_s),
                p(s.peak_within_sla),
                n(s.agents_needed)
            );
        }
        html.push_str("</table>");
    }
    html
}

/// The whole page.
///
/// Long because it is the page's HTML template, read in the order the page shows it.
pub fn page(r: &Report) -> String {
    let mut html = String::from(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>intentdesk simulate</title><style>body{font-family:sans-serif;max-width:1140px;margin:20px auto;color:#222}table{border-collapse:collapse;margin:10px 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}.head{font-size:18px;background:#eef6ee;padding:12px;border-radius:6px}li{margin:4px 0}</style></head><body><h1>What the bot saves at peak</h1>",
    );
    html.push_str(&headline(r));
    let _ = write!(
        html,
        "<p>Mode {}, {} h, seed {}, pool {} ({} messages{}).</p>",
        r.mode,
        r.hours,
        r.seed,
        escape(&r.pool.source),
        r.pool.messages,
        r.pool
            .model_top1
            .map_or(String::new(), |a| format!(", model right on {}", pct(a)))
    );
    html.push_str("<h2>Scenarios</h2>");
    html.push_str(&summary_table(r));
    if let Some(i) = &r.incident {
        html.push_str(&incident_section(i));
    }
    if let Some(t) = &r.timeline {
        let window = r.peak.as_ref().map(|_| {
            let (a, b) = r.parameters.peak_window_s();
            ((a / 900.0) as usize, (b / 900.0).ceil() as usize)
        });
        let arrivals: Vec<f64> = t.arrivals.iter().map(|&a| f64::from(a)).collect();
        html.push_str(&chart(
            "Conversations arriving per 15 minutes",
            "",
            &[("arrivals", "#7f8c8d", arrivals)],
            true,
            window,
            None,
        ));
        let series = scenario_series(r);
        let lines = |f: fn(&Series) -> Vec<f64>| {
            series
                .iter()
                .map(|(n, c, s)| (*n, *c, f(s)))
                .collect::<Vec<_>>()
        };
        html.push_str(&chart(
            "Customers waiting for an agent (mean per 15 minutes)",
            "",
            &lines(|s| s.queue_mean.clone()),
            false,
            window,
            None,
        ));
        html.push_str(&chart(
            "Mean wait of tickets opened in each 15 minutes (minutes)",
            "min",
            &lines(|s| s.wait_mean_s.iter().map(|w| w / 60.0).collect()),
            false,
            window,
            Some(r.sla_minutes),
        ));
        let cap = f64::from(r.parameters.desk.agent_capacity);
        let mut busy = lines(|s| s.busy_slots_mean.clone());
        for b in &mut busy {
            b.2.iter_mut().for_each(|v| *v /= cap);
        }
        busy.push((
            "scheduled",
            "#555",
            t.agents_scheduled.iter().map(|&a| f64::from(a)).collect(),
        ));
        html.push_str(&chart(
            "Agents busy vs scheduled (at the default staffing)",
            "",
            &busy,
            false,
            window,
            None,
        ));
    }
    if !r.sensitivity.is_empty() {
        html.push_str("<h2>Sensitivity to the FAQ acceptance rate (bot_load_aware)</h2><table><tr><th>FAQ answers accepted</th><th>resolved by bot</th><th>tickets</th><th>agent-minutes</th><th>workload reduction</th><th>wait p90</th><th>within target</th><th>agents needed at peak</th></tr>");
        for s in &r.sensitivity {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                pct(s.faq_acceptance),
                s.resolved_by_bot,
                s.tickets,
                s.agent_minutes,
                pct(s.agent_workload_reduction),
                mins(s.wait_p90_s),
                pct(s.within_sla),
                s.agents_needed.map_or("-".into(), |n| n.to_string())
            );
        }
        html.push_str("</table>");
    }
    html.push_str("<h2>What is assumed</h2><ul>");
    for a in &r.assumptions {
        let _ = write!(html, "<li>{}</li>", escape(a));
    }
    html.push_str("</ul><h2>Where the parameters came from</h2><table><tr><th>parameter</th><th>source</th></tr>");
    for (k, v) in &r.parameter_sources {
        let _ = write!(
            html,
            "<tr><td style=text-align:left>{}</td><td>{v}</td></tr>",
            escape(k)
        );
    }
    html.push_str("</table></body></html>\n");
    html
}
