//! Labelled datasets for `train` and `eval`: CSV/TSV with a header (`text`
//! and one of `intent`, `label`, `category`; other columns such as `lang`
//! kept), JSONL (`text`, `intent`), and CLINC150-style JSON with named splits.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::labels::LabelledTexts;

/// One labelled message.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: String,
    /// Language code, from a `lang` column if present.
    pub lang: Option<String>,
    /// Other columns, kept as metadata.
    pub extra: BTreeMap<String, String>,
}

/// A loaded dataset.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub examples: Vec<Example>,
    /// Where it came from (file and splits).
    pub source: String,
}

const LABEL_COLUMNS: [&str; 3] = ["intent", "label", "category"];

impl Dataset {
    /// Loads `path`; `splits` names CLINC-style JSON splits joined by `+`
    /// (`train+oos_train`).
    pub fn load(path: &Path, splits: Option<&str>) -> Result<Self> {
        let err = |reason: String| Error::Data {
            path: path.to_path_buf(),
            reason,
        };
        if !path.exists() {
            return Err(err("no such file".into()));
        }
        if path.is_dir() {
            return Self::load_dir(path);
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let examples = match ext.as_str() {
            "csv" => read_delimited(path, b',')?,
            "tsv" | "tab" => read_delimited(path, b'\t')?,
            "jsonl" | "ndjson" => read_jsonl(path)?,
            "json" => read_split_json(
                path,
                splits.ok_or_else(|| {
                    err(
                        "a JSON dataset needs --split naming its splits, e.g. train+oos_train"
                            .into(),
                    )
                })?,
            )?,
            other => {
                return Err(err(format!(
                    "unknown extension {other:?}: use .csv, .tsv, .jsonl or .json"
                )));
            }
        };
        if examples.is_empty() {
            return Err(err("no rows".into()));
        }
        let source = match splits {
            Some(s) if ext == "json" => format!("{}#{s}", path.display()),
            _ => path.display().to_string(),
        };
        Ok(Dataset { examples, source })
    }

    /// Every .csv, .tsv and .jsonl file of a directory, in name order, as one dataset.
    fn load_dir(dir: &Path) -> Result<Self> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "csv" || x == "tsv" || x == "jsonl")
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::Data {
                path: dir.to_path_buf(),
                reason: "the directory holds no .csv, .tsv or .jsonl file".into(),
            });
        }
        let mut examples = Vec::new();
        for f in &files {
            examples.extend(Self::load(f, None)?.examples);
        }
        Ok(Dataset {
            examples,
            source: dir.display().to_string(),
        })
    }

    /// A dataset from (text, label, language) rows, e.g. a catalog's phrases.
    pub fn from_rows(
        rows: impl IntoIterator<Item = (String, String, String)>,
        source: String,
    ) -> Self {
        Dataset {
            examples: rows
                .into_iter()
                .map(|(text, label, lang)| Example {
                    text,
                    label,
                    lang: Some(lang),
                    extra: BTreeMap::new(),
                })
                .collect(),
            source,
        }
    }

    /// sha256 over the rows as read (text, label, language).
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for e in &self.examples {
            h.update(e.text.as_bytes());
            h.update([0x1f]);
            h.update(e.label.as_bytes());
            h.update([0x1f]);
            h.update(e.lang.as_deref().unwrap_or("").as_bytes());
            h.update([0x1e]);
        }
        hex::encode(h.finalize())
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Texts and labels.
    pub fn labelled(&self) -> LabelledTexts {
        LabelledTexts {
            texts: self.examples.iter().map(|e| e.text.clone()).collect(),
            labels: self.examples.iter().map(|e| e.label.clone()).collect(),
        }
    }

    /// Splits off a seeded, stratified share of each label as held-out data
    /// (at least one row per label that has two or more).
    pub fn hold_out(&self, share: f64, seed: u64) -> (Dataset, Dataset) {
        // Strata: label and language, so every language is held out per intent.
        let mut by_label: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (i, e) in self.examples.iter().enumerate() {
            by_label
                .entry((e.label.as_str(), e.lang.as_deref().unwrap_or("")))
                .or_default()
                .push(i);
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let mut held = vec![false; self.examples.len()];
        for rows in by_label.values_mut() {
            rows.shuffle(&mut rng);
            let take = if rows.len() >= 2 {
                ((rows.len() as f64 * share).round() as usize).clamp(1, rows.len() - 1)
            } else {
                0
            };
            for &i in &rows[..take] {
                held[i] = true;
            }
        }
        let pick = |want: bool| Dataset {
            examples: self
                .examples
                .iter()
                .zip(&held)
                .filter(|(_, h)| **h == want)
                .map(|(e, _)| e.clone())
                .collect(),
            source: format!(
                "{} ({} share {share}, seed {seed})",
                self.source,
                if want { "held-out" } else { "training" }
            ),
        };
        (pick(false), pick(true))
    }

    /// Rows per language (`None` when no row has one).
    pub fn languages(&self) -> Vec<String> {
        let mut langs: Vec<String> = self
            .examples
            .iter()
            .filter_map(|e| e.lang.clone())
            .collect();
        langs.sort();
        langs.dedup();
        langs
    }
}

fn read_delimited(path: &Path, delimiter: u8) -> Result<Vec<Example>> {
    let err = |reason: String| Error::Data {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(delimiter == b',')
        .flexible(false)
        .from_path(path)
        .map_err(|e| err(e.to_string()))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| err(format!("unreadable header: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let text_col =
        col("text").ok_or_else(|| err(format!("the header {headers:?} has no `text` column")))?;
    let label_col = LABEL_COLUMNS.iter().find_map(|c| col(c)).ok_or_else(|| {
        err(format!(
            "the header {headers:?} has none of the label columns {LABEL_COLUMNS:?}"
        ))
    })?;
    let lang_col = col("lang").or_else(|| col("language"));
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| err(format!("line {line}: {e}")))?;
        let text = record.get(text_col).unwrap_or_default().trim().to_string();
        let label = record.get(label_col).unwrap_or_default().trim().to_string();
        if text.is_empty() || label.is_empty() {
            return Err(err(format!("line {line}: empty text or label")));
        }
        let mut extra = BTreeMap::new();
        for (j, h) in headers.iter().enumerate() {
            if j != text_col && j != label_col && Some(j) != lang_col {
                extra.insert(h.clone(), record.get(j).unwrap_or_default().to_string());
            }
        }
        out.push(Example {
            text,
            label,
            lang: lang_col
                .and_then(|c| record.get(c))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            extra,
        });
    }
    Ok(out)
}

fn read_jsonl(path: &Path) -> Result<Vec<Example>> {
    let err = |reason: String| Error::Data {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| err(format!("not UTF-8: {e}")))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| err(format!("line {}: {e}", i + 1)))?;
        let field = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .map(|s| s.trim().to_string())
        };
        let text = field("text").filter(|s| !s.is_empty());
        let label = LABEL_COLUMNS
            .iter()
            .find_map(|c| field(c))
            .filter(|s| !s.is_empty());
        let (Some(text), Some(label)) = (text, label) else {
            return Err(err(format!(
                "line {}: needs non-empty `text` and `intent`",
                i + 1
            )));
        };
        out.push(Example {
            text,
            label,
            lang: field("lang"),
            extra: BTreeMap::new(),
        });
    }
    Ok(out)
}

fn read_split_json(path: &Path, splits: &str) -> Result<Vec<Example>> {
    let err = |reason: String| Error::Data {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let all: HashMap<String, Vec<(String, String)>> = serde_json::from_str(&text)
        .map_err(|e| err(format!("not a CLINC-style split file: {e}")))?;
    let mut out = Vec::new();
    for split in splits.split('+').map(str::trim) {
        let rows = all.get(split).ok_or_else(|| {
            let mut names: Vec<&String> = all.keys().collect();
            names.sort();
            err(format!("no split {split:?}; the file has {names:?}"))
        })?;
        out.extend(rows.iter().map(|(t, l)| Example {
            text: t.clone(),
            label: l.clone(),
            lang: None,
            extra: BTreeMap::new(),
        }));
    }
    Ok(out)
}

/// Path of the shared benchmark data, for tests: `../shared/data` beside the
/// repository.
pub fn shared_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn reads_csv_tsv_and_jsonl() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write(
            dir.path(),
            "a.csv",
            b"text,category\n\"hi, there\",greet\nbye,leave\n",
        );
        let d = Dataset::load(&csv, None).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.examples[0].text, "hi, there");
        let tsv = write(
            dir.path(),
            "a.tsv",
            "text\tintent\tlang\tsource\n안녕\tgreet\tko\tx\n".as_bytes(),
        );
        let d = Dataset::load(&tsv, None).unwrap();
        assert_eq!(d.examples[0].lang.as_deref(), Some("ko"));
        assert_eq!(d.examples[0].extra["source"], "x");
        let jsonl = write(
            dir.path(),
            "a.jsonl",
            b"{\"text\":\"hi\",\"intent\":\"greet\"}\n\n{\"text\":\"yo\",\"intent\":\"greet\"}\n",
        );
        assert_eq!(Dataset::load(&jsonl, None).unwrap().len(), 2);
    }

    #[test]
    fn reads_clinc_splits() {
        let dir = tempfile::tempdir().unwrap();
        let json = write(
            dir.path(),
            "d.json",
            br#"{"train":[["a","x"]],"oos_train":[["b","oos"]],"test":[["c","x"]]}"#,
        );
        let d = Dataset::load(&json, Some("train+oos_train")).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.examples[1].label, "oos");
        let e = Dataset::load(&json, Some("nope")).unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("oos_train"), "{e}");
        assert!(
            Dataset::load(&json, None)
                .unwrap_err()
                .to_string()
                .contains("--split")
        );
    }

    #[test]
    fn bad_files_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let no_label = write(dir.path(), "b.csv", b"text,foo\nhi,x\n");
        assert!(
            Dataset::load(&no_label, None)
                .unwrap_err()
                .to_string()
                .contains("label columns")
        );
        let empty_text = write(dir.path(), "c.csv", b"text,label\n,x\n");
        assert!(
            Dataset::load(&empty_text, None)
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
        let bad_utf8 = write(dir.path(), "d.csv", b"text,label\n\xff\xfe,x\n");
        assert!(Dataset::load(&bad_utf8, None).is_err());
        let bad_json = write(dir.path(), "e.jsonl", b"{oops\n");
        assert!(
            Dataset::load(&bad_json, None)
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
        assert!(
            Dataset::load(&dir.path().join("missing.csv"), None)
                .unwrap_err()
                .to_string()
                .contains("no such file")
        );
    }

    #[test]
    fn hold_out_is_stratified_and_seeded() {
        let examples: Vec<Example> = (0..40)
            .map(|i| Example {
                text: format!("t{i}"),
                label: if i % 4 == 0 { "a".into() } else { "b".into() },
                lang: None,
                extra: BTreeMap::new(),
            })
            .collect();
        let d = Dataset {
            examples,
            source: "x".into(),
        };
        let (train, held) = d.hold_out(0.2, 7);
        assert_eq!(train.len() + held.len(), 40);
        assert_eq!(held.examples.iter().filter(|e| e.label == "a").count(), 2);
        assert_eq!(held.examples.iter().filter(|e| e.label == "b").count(), 6);
        let (_, again) = d.hold_out(0.2, 7);
        assert_eq!(held.examples, again.examples);
        assert_ne!(d.sha256(), train.sha256());
    }
}
