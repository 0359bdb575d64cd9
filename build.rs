//! Embeds the web pages: writes `$OUT_DIR/assets.rs`, a table of every file under
//! `src/http/assets/` (name relative to that folder, bytes via `include_bytes!`), so the
//! binary serves them with nothing read at run time and no list to keep in sync. Debug and
//! release builds embed the same way.

use std::path::{Path, PathBuf};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/assets");
    // A directory here means: rerun when anything inside it changes.
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    collect(&dir, &mut files);
    // The pages are part of the product: a build without them is a broken checkout.
    assert!(
        !files.is_empty(),
        "no web pages under {}: the checkout is incomplete (git checkout -- src/http/assets)",
        dir.display()
    );
    files.sort();
    let mut out = String::from(
        "/// Every file under `src/http/assets/`: (path relative to it, contents).\n\
         pub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for file in &files {
        let name = file
            .strip_prefix(&dir)
            .expect("inside the assets folder")
            .to_string_lossy()
            .replace('\\', "/");
        out.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(target.join("assets.rs"), out).expect("write assets.rs");
}

/// Regular files, recursively, skipping hidden ones (editor swap files, .DS_Store).
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, files);
        } else if path.is_file() {
            files.push(path);
        }
    }
}
