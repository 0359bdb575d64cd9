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
    std::fs::write(
        dir.join("e5-small-q4.bin"),
        b"E5S1\x01\x00\x00\x00truncated",
    )
    .unwrap();
    std::fs::write(dir.join("tokenizer.json"), b"{}").unwrap();
    let out = intentdesk()
        .args(["eval", "--data", "nothing.csv"])
        .env("INTENTDESK_MODEL_CACHE", cache.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing.csv") || err.contains("e5-small-q4.bin"),
        "{err}"
    );
    let out = intentdesk()
        .args(["classify", "hello"])
        .env("INTENTDESK_MODEL_CACHE", cache.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("corrupt") && err.contains("e5-small-q4.bin") && err.contains("fetch-model"),
        "{err}"
    );
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
    assert!(
        err.contains("/nonexistent/train.csv") && err.contains("no such file"),
        "{err}"
    );
}

#[test]
fn fetch_model_refuses_an_unknown_encoder_and_combine_needs_two_members() {
    let cache = tempfile::tempdir().unwrap();
    let out = intentdesk()
        .args(["fetch-model", "--encoder", "bert-huge"])
        .env("INTENTDESK_MODEL_CACHE", cache.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bert-huge") && err.contains("all-minilm-l6-v2"),
        "{err}"
    );

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let out = intentdesk()
        .args(["combine", "--member"])
        .arg(root.join("models/default"))
        .args(["--data"])
        .arg(root.join("tests/data/catalog-dev"))
        .arg("--out")
        .arg(dir.path().join("ens"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least two"), "{err}");
}

#[test]
fn calibrate_rewrites_thresholds_from_validation_data_and_keeps_the_weights() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    // Validation rows: in-scope and out-of-scope messages (written for this test).
    let valid = dir.path().join("valid.tsv");
    std::fs::write(
        &valid,
        "text\tintent\tlang\n\
         입금했는데 아직 안 들어왔어요\tdeposit_missing\tko\n\
         my withdrawal is stuck in processing\twithdrawal_delayed\ten\n\
         忘记密码了怎么办\tpassword_reset\tzh\n\
         手数料はいくらですか\ttrading_fees\tja\n\
         what's a good recipe for kimchi stew\tout_of_scope\ten\n\
         明日の天気は？\tout_of_scope\tja\n",
    )
    .unwrap();
    let out_dir = dir.path().join("recalibrated");
    let out = intentdesk()
        .args(["calibrate", "--oos-weight", "0.5", "--valid"])
        .arg(&valid)
        .arg("--out")
        .arg(&out_dir)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("classifier.json")).unwrap())
            .unwrap();
    assert_eq!(meta["training"]["recalibrated"]["oos_weight"], 0.5);
    assert!(meta["thresholds"]["min_confidence"].is_number());
    assert_eq!(
        std::fs::read(out_dir.join("classifier.safetensors")).unwrap(),
        std::fs::read(root.join("models/default/classifier.safetensors")).unwrap(),
        "the weights are copied unchanged"
    );
    // The recalibrated classifier classifies.
    let out = intentdesk()
        .args(["classify", "--model"])
        .arg(&out_dir)
        .arg("OTP 앱을 지웠어요")
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A label the classifier does not know is refused by name.
    std::fs::write(&valid, "text\tintent\nhello\tno_such_intent\n").unwrap();
    let out = intentdesk()
        .args(["calibrate", "--oos-weight", "1", "--valid"])
        .arg(&valid)
        .arg("--out")
        .arg(&out_dir)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_intent"));
}
