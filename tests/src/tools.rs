//! External programs some tests compare with or drive (libevtx's `evtxexport`, Chromium, Python
//! with DuckDB, ...). None of them is needed to build or to run the rest of the tests: a test that
//! needs one asks for it here first and, when it is missing, returns early and passes, after
//! one line on standard error:
//!
//! ```text
//! skipped: evtxexport not found (tests/scripts/install-test-tools.sh installs it)
//! ```
//!
//! With `EXFLEET_REQUIRE_TOOLS=1` (as `.ci/run` sets it, after running that script) a missing
//! program fails the test instead, with the same message.
//!
//! ```no_run
//! let Some(evtxexport) = exfleet_tests::tools::tool("evtxexport") else {
//!     return;
//! };
//! let out = std::process::Command::new(evtxexport).arg("System.evtx").output().unwrap();
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The environment variable that turns a missing program into a test failure (`1`).
pub const REQUIRE_TOOLS: &str = "EXFLEET_REQUIRE_TOOLS";

/// The script that installs every program the tests use.
pub const INSTALL_SCRIPT: &str = "tests/scripts/install-test-tools.sh";

/// `program` as found on `PATH` (or the path itself when it holds a `/`). When it is not found:
/// `None` after one `skipped: ...` line on standard error, or a panic with that message when
/// `EXFLEET_REQUIRE_TOOLS=1`.
#[track_caller]
pub fn tool(program: &str) -> Option<PathBuf> {
    match find(program) {
        Some(p) => Some(p),
        None => missing(program),
    }
}

/// A Python 3 interpreter (`python3` on `PATH`) that can import `module`; when there is none,
/// the same as [`tool`] for a missing program (`python3` itself, or `python3 module <module>`).
#[track_caller]
pub fn python_module(module: &str) -> Option<PathBuf> {
    let python = tool("python3")?;
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if imports {
        Some(python)
    } else {
        missing(&format!("python3 module {module}"))
    }
}

/// Whether `EXFLEET_REQUIRE_TOOLS=1` is set.
pub fn required() -> bool {
    std::env::var(REQUIRE_TOOLS).is_ok_and(|v| v.trim() == "1")
}

#[track_caller]
fn missing(what: &str) -> Option<PathBuf> {
    let message = format!("{what} not found ({INSTALL_SCRIPT} installs it)");
    if required() {
        panic!("{message}; {REQUIRE_TOOLS}=1 requires it");
    }
    // Written to the process's standard error, not through `eprintln!`, so that the test
    // harness shows it although the test passes.
    let _ = writeln!(std::io::stderr(), "skipped: {message}");
    None
}

/// Where `program` is: itself when it is a path, else the first executable of its name on
/// PATH (with the platform's executable suffix too); `None` without a word (see [`tool`] for
/// the skipping kind).
pub fn find(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = Path::new(program);
        return is_executable(p).then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            let plain = dir.join(program);
            let exe = dir.join(format!("{program}{}", std::env::consts::EXE_SUFFIX));
            [plain, exe]
        })
        .find(|p| is_executable(p))
}

/// Whether `p` is a file this process could run.
#[cfg(unix)]
pub fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `p` is a file this process could run.
#[cfg(not(unix))]
pub fn is_executable(p: &Path) -> bool {
    p.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_program_on_path_and_not_a_made_up_one() {
        // `sh` is on every system the tests run on.
        assert!(find("sh").is_some());
        assert!(find("exfleet-no-such-program-4f2a").is_none());
        assert!(find("/nonexistent/exfleet-no-such-program").is_none());
    }

    #[test]
    fn a_python_module_that_imports_gives_the_interpreter() {
        if find("python3").is_some() {
            assert!(python_module("json").is_some());
        }
    }
}
