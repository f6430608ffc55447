//! A fresh directory per test, unique to the test process. Included by the test
//! binaries that write files as `#[path = "common/temp.rs"] mod temp;`.

use std::path::{Path, PathBuf};

/// A fresh, empty directory for one test's files, unique to this test process.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trigc-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Write `bytes` to `dir/name`; its path as text.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path.display().to_string()
}
