//! The repository the tests run in: its root, the Python venvs `scripts/setup` makes there
//! (`.venv` for the test clients, `.venv-deploy` for the Helm checks, `.venv-gnmi-legacy`
//! for cisco-gnmi) and the scripts under `tests/`.

use std::path::{Path, PathBuf};

/// The repository root (the kit lives in `<root>/testkit`).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the test kit is a folder of the repository")
}

/// `rel` under the repository root.
pub fn path(rel: &str) -> PathBuf {
    root().join(rel)
}

/// Program `tool` of venv `venv` (e.g. `.venv`, `python`); panics, naming the fix, when
/// the venv is missing.
pub fn venv_bin(venv: &str, tool: &str) -> PathBuf {
    let dir = root().join(venv);
    assert!(
        dir.join("bin").is_dir(),
        "{} is missing: run scripts/setup",
        dir.display()
    );
    dir.join("bin").join(tool)
}

/// The Python of `.venv`, which has every test client (ncclient, pygnmi, requests, ...).
pub fn python() -> PathBuf {
    venv_bin(".venv", "python")
}
