//! The binary's errors for a missing or corrupt encoder name the file and the fix.

use std::process::Command;

fn intentdesk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_intentdesk"))
}

#[test]
fn a_missing_encoder_names_the_file_and_the_command_that_fetches_it() {
    let empty = tempfile::tempdir().unwrap();
    let out = intentdesk()
        .args(["classify", "hello"])
        .env("INTENTDESK_MODEL_CACHE", empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("intentdesk fetch-model"), "{err}");
    assert!(err.contains("e5-small-q4.bin"), "{err}");
}

#[test]
fn a_truncated_encoder_file_is_reported_as_corrupt_by_name() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("multilingual-e5-small");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("e5-small-q4.bin"), b"E5S1\x01\x00\x00\x00truncated").unwrap();
    std::fs::write(dir.join("tokenizer.json"), b"{}").unwrap();
    let out = intentdesk()
        .args(["eval", "--data", "nothing.csv"])
        .env("INTENTDESK_MODEL_CACHE", cache.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing.csv") || err.contains("e5-small-q4.bin"), "{err}");
    let out = intentdesk()
        .args(["classify", "hello"])
        .env("INTENTDESK_MODEL_CACHE", cache.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt") && err.contains("e5-small-q4.bin") && err.contains("fetch-model"), "{err}");
}

#[test]
fn bad_flags_and_data_files_get_clear_errors() {
    let out = intentdesk().args(["train", "--out", "x"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--data") || err.contains("--catalog"), "{err}");
    let out = intentdesk()
        .args(["train", "--data", "/nonexistent/train.csv", "--out", "x"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/train.csv") && err.contains("no such file"), "{err}");
}
