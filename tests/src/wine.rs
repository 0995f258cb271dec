//! Wine, for running the collector's Windows build on Linux: finding Wine, building the
//! Windows `.exe` (with the test-only `bcryptprimitives.dll` shim beside it), and throw-away
//! Wine prefixes to load a simulated server's registry and files into.
//!
//! ```no_run
//! use exfleet_tests::wine::{self, WinePrefix};
//! let Some(wine) = wine::wine() else { return };
//! let Some(exe) = wine::collector_exe() else { return };
//! let prefix = WinePrefix::new(wine);
//! let out = prefix.run(&exe, &["--version"]);
//! assert!(out.status.success());
//! ```
//!
//! Skips follow [`crate::tools`]: without Wine a test prints `skipped: wine not found (...)`
//! and passes, or fails under `EXFLEET_REQUIRE_TOOLS=1`. Without the Windows target's standard
//! library (`rustup target add x86_64-pc-windows-gnu`) it prints `skipped: windows target
//! unavailable`, which fails under `EXFLEET_REQUIRE_TOOLS=1` too unless `EXFLEET_WINDOWS=
//! unavailable` says the machine could not fetch the target (`.ci/run` sets it then).
//!
//! What Wine 8 (Debian 12) does that a test must know, measured:
//! - It keeps the current control set as a real key named `SYSTEM\CurrentControlSet` and has
//!   no `ControlSet001` (a `.reg` naming `ControlSet001` makes a set nobody reads; see
//!   [`crate::triage::TriageBuilder::to_reg`]).
//! - Every boot (each start of a prefix's wineserver) rewrites `ComputerName\ComputerName`
//!   and `Tcpip\Parameters` `Hostname` and `Domain` from the Linux host (`NV Domain` is
//!   kept; `ActiveComputerName` is always the Linux host's), and carries out and deletes
//!   `Session Manager` `PendingFileRenameOperations`. Every process start rewrites
//!   `TimeZoneInformation` `TimeZoneKeyName` and `StandardName` from the Linux time zone (UTC
//!   becomes `Greenwich Standard Time`; `ActiveTimeBias` is kept as imported). A prefix
//!   therefore keeps one wineserver running for its whole life (no reboot between steps),
//!   and [`WinePrefix::restart`] imports again what was imported, after the boot.
//! - `services.exe` reads the services from the registry when it starts, at boot: a service
//!   imported later is known to the Service Control Manager after [`WinePrefix::restart`],
//!   and only when its key has an `ImagePath` (one without is left out). Wine's `sc` has
//!   `query` but no `qc` or `queryex`: [`WinePrefix::services`] asks WMI instead.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::tools;

/// The Rust target the collector's `.exe` is built for.
pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";

/// The MinGW-w64 C compiler: the Windows target's linker and the shim's compiler.
pub const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// Set to `unavailable` (by `.ci/run`, when `rustup target add` failed) to let a missing
/// Windows target skip even under `EXFLEET_REQUIRE_TOOLS=1`.
pub const WINDOWS_ENV: &str = "EXFLEET_WINDOWS";

/// The longest a single Wine command may take before it is killed and the test fails: a hung
/// Wine process must not hang the test run.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// Extensions of the files a prefix shares with its template by a hard link: the PE files
/// (DLLs, programs, drivers), which Wine only reads.
const PE_EXTENSIONS: [&str; 10] = [
    "dll", "exe", "sys", "drv", "ocx", "acm", "cpl", "ax", "tlb", "ds",
];

/// A Wine installation: the 64-bit loader and its wineserver.
#[derive(Debug)]
pub struct Wine {
    loader: PathBuf,
    server: PathBuf,
    version: String,
}

impl Wine {
    /// The 64-bit loader (`/usr/lib/wine/wine64` on Debian, where it is not on `PATH`).
    pub fn loader(&self) -> &Path {
        &self.loader
    }

    /// The wineserver that goes with the loader.
    pub fn server(&self) -> &Path {
        &self.server
    }

    /// What `wine64 --version` says (`wine-8.0 (Debian 8.0~repack-4)`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The environment every Wine command of a prefix runs in.
    fn command(&self, program: &Path, prefix: &Path) -> Command {
        let mut c = Command::new(program);
        c.env("WINEPREFIX", prefix)
            .env("WINEARCH", "win64")
            .env("WINELOADER", &self.loader)
            .env("WINESERVER", &self.server)
            // Wine's own chatter (fixme:, err:) would bury the program's output.
            .env("WINEDEBUG", "-all")
            // No Mono or Gecko: nothing here needs .NET or a browser engine, and without this
            // `wineboot -i` offers to download them.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            // Headless: no window opens on a developer's desktop, and none is waited for.
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null());
        c
    }
}

/// Wine, when it is installed: `None` after one `skipped: wine not found ...` line (a panic
/// under `EXFLEET_REQUIRE_TOOLS=1`), as [`tools::tool`] does for a missing program.
#[track_caller]
pub fn wine() -> Option<&'static Wine> {
    static WINE: OnceLock<Option<Wine>> = OnceLock::new();
    match WINE.get_or_init(find_wine) {
        Some(w) => Some(w),
        None => skip(&format!(
            "wine not found ({} installs it)",
            tools::INSTALL_SCRIPT
        )),
    }
}

/// The collector's Windows release `.exe`, built once per test process into
/// `<target dir>/windows` (its own target dir, so the build never waits on the lock of the
/// `cargo test` that runs it; a no-op when up to date), with the `bcryptprimitives.dll` shim
/// beside it. `None` after a `skipped: ...` line when MinGW or the Windows target is missing;
/// a build that fails panics with cargo's output.
#[track_caller]
pub fn collector_exe() -> Option<PathBuf> {
    let gcc = tools::tool(MINGW_GCC)?;
    static BUILT: OnceLock<Result<PathBuf, Unbuilt>> = OnceLock::new();
    match BUILT.get_or_init(|| build_collector(&gcc)) {
        Ok(exe) => Some(exe.clone()),
        Err(Unbuilt::TargetUnavailable) => {
            let message = "windows target unavailable";
            let excused = std::env::var(WINDOWS_ENV).is_ok_and(|v| v.trim() == "unavailable");
            if tools::required() && !excused {
                panic!(
                    "{message} (rustup target add {WINDOWS_TARGET}); {}=1 requires it",
                    tools::REQUIRE_TOOLS
                );
            }
            let _ = writeln!(std::io::stderr(), "skipped: {message}");
            None
        }
        Err(Unbuilt::Failed(why)) => panic!("{why}"),
    }
}

/// `path` as a Windows program under Wine sees it: Wine maps `Z:\` to `/`.
pub fn windows_path(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    format!("Z:{}", abs.display()).replace('/', "\\")
}

/// A fresh Wine prefix in a temporary folder, with its own wineserver running for its whole
/// life; dropping it kills that wineserver and removes the prefix.
pub struct WinePrefix {
    wine: &'static Wine,
    dir: Option<tempfile::TempDir>,
    /// The `.reg` files imported, in order, to import again after a restart.
    imported: Vec<PathBuf>,
}

impl WinePrefix {
    /// A new prefix, booted and ready. Creating a prefix (`wineboot -i`) took 10 to 11 s here,
    /// so one is made once into `<target dir>/windows/wine-prefix/<wine version>`, kept
    /// across runs, and each prefix is a copy of it (its 700 MB of PE files hard-linked):
    /// 0.5 to 1 s with the boot. Panics when Wine fails.
    pub fn new(wine: &'static Wine) -> WinePrefix {
        let template = template(wine);
        let dir = tempfile::Builder::new()
            .prefix("exfleet-wine-")
            .tempdir()
            .expect("a temporary folder for the Wine prefix");
        copy_tree(template, dir.path())
            .unwrap_or_else(|e| panic!("copying {} into a new prefix: {e}", template.display()));
        let prefix = WinePrefix {
            wine,
            dir: Some(dir),
            imported: Vec::new(),
        };
        prefix.start();
        prefix
    }

    /// The prefix's folder (`WINEPREFIX`).
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("alive").path()
    }

    /// The folder Wine's `C:` is (`<prefix>/drive_c`).
    pub fn drive_c(&self) -> PathBuf {
        self.path().join("drive_c")
    }

    /// Imports a `.reg` file (`wine reg import`), and remembers it for [`WinePrefix::restart`].
    /// Panics when the import fails.
    #[track_caller]
    pub fn import_reg(&mut self, reg: &[u8]) {
        let file = self
            .path()
            .join(format!("import-{}.reg", self.imported.len()));
        std::fs::write(&file, reg).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        self.import_file(&file);
        self.imported.push(file);
    }

    /// Runs a Windows program (a Linux path to an `.exe`, or a program of the prefix such as
    /// `reg` or `sc`) with `args` (Windows paths as [`windows_path`] writes them) and returns
    /// its output. Panics when Wine cannot start it or it runs over five minutes.
    #[track_caller]
    pub fn run(&self, exe: impl AsRef<OsStr>, args: &[&str]) -> Output {
        let mut c = self.program(exe);
        c.args(args);
        run_limited(c, RUN_LIMIT)
    }

    /// The command that runs a Windows program in this prefix (Wine's loader, then `exe`),
    /// to add arguments to and run as one likes: a benchmark measures it.
    pub fn program(&self, exe: impl AsRef<OsStr>) -> Command {
        let mut c = self.wine.command(&self.wine.loader, self.path());
        c.arg(exe.as_ref());
        c
    }

    /// The data of value `name` of `key` as `wine reg query` prints it (`HKLM\SOFTWARE\...`),
    /// `None` when the key or the value does not exist. Wine prints a DWORD as `0x..`, a
    /// REG_MULTI_SZ with `\0` between the strings, and a REG_QWORD as `(null)`.
    pub fn query_value(&self, key: &str, name: &str) -> Option<String> {
        let out = self.run("reg", &["query", key, "/v", name]);
        if !out.status.success() {
            return None;
        }
        parse_reg_query(&String::from_utf8_lossy(&out.stdout), name)
    }

    /// The services Wine's Service Control Manager knows, as WMI's `Win32_Service` lists
    /// them (`wmic path Win32_Service`): Wine 8's `sc` has `query` but no `qc` or `queryex`,
    /// and WMI asks the SCM for each service's configuration and status. Panics when `wmic`
    /// fails.
    #[track_caller]
    pub fn services(&self) -> Vec<WineService> {
        let out = self.run(
            "wmic",
            &[
                "path",
                "Win32_Service",
                "get",
                "Name,DisplayName,StartMode,State,ServiceType,ProcessId",
            ],
        );
        let text = decode(&out.stdout);
        assert!(
            out.status.success(),
            "wmic path Win32_Service: {text}{}",
            decode(&out.stderr)
        );
        parse_wmic_services(&text)
    }

    /// Stops the prefix's wineserver and everything in it, boots it again (so that
    /// `services.exe` reads the services from the registry again), and imports again every
    /// `.reg` file imported so far, since the boot rewrites the computer name and the TCP/IP
    /// host name and domain with the Linux host's.
    pub fn restart(&mut self) {
        self.stop();
        self.start();
        for file in self.imported.clone() {
            self.import_file(&file);
        }
    }

    /// Starts a wineserver that stays up while idle (`-p3600`, an hour), so that no step
    /// reboots the prefix behind a test's back, then boots it: the first Windows process
    /// waits for wineboot's start-up (drives, computer name, services). The hour, not
    /// forever, is for a test process killed before its prefixes are dropped: their servers
    /// end on their own.
    fn start(&self) {
        let mut server = self.wine.command(&self.wine.server, self.path());
        server.arg("-p3600");
        let out = run_limited(server, RUN_LIMIT);
        assert!(
            out.status.success(),
            "wineserver -p: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let boot = self.run("cmd", &["/c", "exit", "0"]);
        assert!(
            boot.status.success(),
            "booting the Wine prefix {}: {}",
            self.path().display(),
            String::from_utf8_lossy(&boot.stderr)
        );
    }

    /// Kills the prefix's wineserver and waits for it to end.
    fn stop(&self) {
        for arg in ["-k", "-w"] {
            let mut c = self.wine.command(&self.wine.server, self.path());
            c.arg(arg);
            let _ = run_limited_checked(c, Duration::from_secs(60));
        }
    }

    #[track_caller]
    fn import_file(&self, file: &Path) {
        let out = self.run("reg", &["import", &windows_path(file)]);
        assert!(
            out.status.success(),
            "wine reg import {}: {}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for WinePrefix {
    fn drop(&mut self) {
        self.stop();
        forget_server(self.path());
        // TempDir's own drop removes the prefix (symbolic links such as the user folders that
        // point at $HOME are removed, not followed).
        self.dir.take();
    }
}

/// A service as Wine's Service Control Manager reports it (through WMI's `Win32_Service`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WineService {
    /// The service's key name (`MSExchangeIS`).
    pub name: String,
    /// Its display name.
    pub display_name: String,
    /// `Auto`, `Manual`, `Disabled`, `Boot` or `System`.
    pub start_mode: String,
    /// `Running`, `Stopped`, ...
    pub state: String,
    /// `Own Process`, `Share Process`, `Kernel Driver`, ...
    pub service_type: String,
    /// The process id when running, else 0.
    pub process_id: u32,
}

/// Why the `.exe` was not built.
enum Unbuilt {
    /// The Windows target's standard library is not installed.
    TargetUnavailable,
    /// The build or the shim failed: what to panic with.
    Failed(String),
}

fn build_collector(gcc: &Path) -> Result<PathBuf, Unbuilt> {
    if !windows_std_installed() {
        return Err(Unbuilt::TargetUnavailable);
    }
    let root = workspace_root();
    let target = windows_target_dir();
    let out = Command::new(cargo())
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--target",
            WINDOWS_TARGET,
            "-p",
            "exfleet-collector",
            "--target-dir",
        ])
        .arg(&target)
        // By name, as `.ci/run` gives it when it builds the same `.exe` first: the same
        // linker setting keeps this build a no-op then.
        .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER", MINGW_GCC)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Unbuilt::Failed(format!("running cargo: {e}")))?;
    if !out.status.success() {
        return Err(Unbuilt::Failed(format!(
            "cargo build --release --target {WINDOWS_TARGET} -p exfleet-collector failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let exe = target
        .join(WINDOWS_TARGET)
        .join("release")
        .join("exfleet-collector.exe");
    if !exe.is_file() {
        return Err(Unbuilt::Failed(format!("cargo built no {}", exe.display())));
    }
    let shim = build_shim(gcc, &root, &target).map_err(Unbuilt::Failed)?;
    let dir = exe.parent().expect("the exe has a folder");
    place(&shim, &dir.join("bcryptprimitives.dll"))
        .map_err(|e| Unbuilt::Failed(format!("placing the shim beside {}: {e}", exe.display())))?;
    Ok(exe)
}

/// Compiles `tests/wine/bcryptprimitives.c` into `<target>/shim/bcryptprimitives.dll`.
fn build_shim(gcc: &Path, root: &Path, target: &Path) -> Result<PathBuf, String> {
    let src = root.join("tests").join("wine");
    let dir = target.join("shim");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Compiled to a name of this process's own and renamed: another test process may be
    // doing the same at the same moment.
    let tmp = dir.join(format!("bcryptprimitives.{}.dll", std::process::id()));
    let out = Command::new(gcc)
        .args(["-shared", "-O2", "-s", "-Wall", "-Werror", "-o"])
        .arg(&tmp)
        .arg(src.join("bcryptprimitives.c"))
        .arg(src.join("bcryptprimitives.def"))
        .arg("-ladvapi32")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", gcc.display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "compiling the bcryptprimitives shim failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let dll = dir.join("bcryptprimitives.dll");
    std::fs::rename(&tmp, &dll).map_err(|e| format!("{}: {e}", dll.display()))?;
    Ok(dll)
}

/// Copies `from` to `to` through a temporary name, so that a reader never sees half a file.
fn place(from: &Path, to: &Path) -> std::io::Result<()> {
    let tmp = to.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::copy(from, &tmp)?;
    std::fs::rename(&tmp, to)
}

/// Whether the Windows target's standard library is installed for the toolchain that runs
/// the build.
fn windows_std_installed() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc)
        .current_dir(workspace_root())
        .args(["--print", "target-libdir", "--target", WINDOWS_TARGET])
        .stdin(Stdio::null())
        .output()
    else {
        return false;
    };
    if !out.status.success() {
        return false;
    }
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    std::fs::read_dir(libdir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
    })
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// `<target dir>/windows`: `CARGO_TARGET_DIR` when set, else the target dir the running test
/// binary was built in (the first folder above it holding cargo's `CACHEDIR.TAG`), else the
/// workspace's `target`.
fn windows_target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            exe.ancestors()
                .skip(1)
                .find(|d| d.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("windows")
}

fn find_wine() -> Option<Wine> {
    let loader = find_loader()?;
    let server = find_server(&loader)?;
    let out = Command::new(&loader)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Some(Wine {
        loader,
        server,
        version,
    })
}

/// The 64-bit loader: `wine64` on `PATH`, where Debian's `wine64` package put it (`dpkg -L`),
/// the usual places, and last `wine` on `PATH` (which runs 64-bit programs too).
fn find_loader() -> Option<PathBuf> {
    tools::find("wine64")
        .or_else(|| {
            dpkg_files("wine64")
                .into_iter()
                .find(|p| p.file_name() == Some(OsStr::new("wine64")) && tools::is_executable(p))
        })
        .or_else(|| {
            [
                "/usr/lib/wine/wine64",
                "/usr/lib64/wine/wine64",
                "/opt/wine-stable/bin/wine64",
            ]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| tools::is_executable(p))
        })
        .or_else(|| tools::find("wine"))
}

/// The wineserver beside the loader (Debian: `/usr/lib/wine/wineserver`, a script that runs
/// `wineserver64`), else one on `PATH` or from the `libwine` package.
fn find_server(loader: &Path) -> Option<PathBuf> {
    let beside = loader.parent().into_iter().flat_map(|dir| {
        ["wineserver", "wineserver64"]
            .into_iter()
            .map(move |n| dir.join(n))
    });
    beside
        .chain(tools::find("wineserver"))
        .chain(
            ["libwine", "wine64"]
                .into_iter()
                .flat_map(dpkg_files)
                .filter(|p| {
                    matches!(
                        p.file_name().and_then(OsStr::to_str),
                        Some("wineserver" | "wineserver64")
                    )
                }),
        )
        .find(|p| tools::is_executable(p))
}

/// The files a Debian package installed (`dpkg -L`), none without dpkg.
fn dpkg_files(package: &str) -> Vec<PathBuf> {
    Command::new("dpkg")
        .args(["-L", package])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

#[track_caller]
fn skip<T>(message: &str) -> Option<T> {
    if tools::required() {
        panic!("{message}; {}=1 requires it", tools::REQUIRE_TOOLS);
    }
    // As tools.rs: straight to standard error, so the harness shows it for a passing test.
    let _ = writeln!(std::io::stderr(), "skipped: {message}");
    None
}

/// The template prefix, made once (per Wine version, kept in the target dir across runs).
fn template(wine: &Wine) -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let parent = windows_target_dir().join("wine-prefix");
        let name: String = wine
            .version
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let done = parent.join(name);
        if done.join("system.reg").is_file() {
            return done;
        }
        std::fs::create_dir_all(&parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
        // Made under a name of its own and renamed when complete: a prefix interrupted
        // half-way is never taken for a template, and two test processes may race.
        let work = tempfile::Builder::new()
            .prefix(".new-")
            .tempdir_in(&parent)
            .unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
        let prefix = work.path().join("prefix");
        let mut boot = wine.command(&wine.loader, &prefix);
        boot.args(["wineboot", "-i"]);
        let out = run_limited(boot, RUN_LIMIT);
        assert!(
            out.status.success(),
            "wineboot -i in {}: {}",
            prefix.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // Everything wineboot started ends before the prefix is copied.
        let mut wait = wine.command(&wine.server, &prefix);
        wait.arg("-w");
        run_limited(wait, RUN_LIMIT);
        forget_server(&prefix);
        if std::fs::rename(&prefix, &done).is_err() && !done.join("system.reg").is_file() {
            panic!("could not move the template prefix to {}", done.display());
        }
        done
    })
}

/// Removes the prefix's note of its wineserver's socket folder (Debian's Wine keeps a random
/// `/tmp/wine-XXXXXX` named in `<prefix>/wineserver`) and that folder, once the server is
/// gone: a copy of the prefix must get its own, and a removed prefix leaves nothing behind.
fn forget_server(prefix: &Path) {
    let note = prefix.join("wineserver");
    let Ok(name) = std::fs::read_to_string(&note) else {
        return;
    };
    let name = name.trim();
    let _ = std::fs::remove_file(&note);
    // Only a plain `wine-*` name, never a path: this removes a folder.
    if name.starts_with("wine-")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        for tmp in [std::env::temp_dir(), PathBuf::from("/tmp")] {
            let _ = std::fs::remove_dir_all(tmp.join(name));
        }
    }
}

/// Copies the template prefix: folders made, symbolic links made again (not followed: the
/// user folders point at $HOME), PE files hard-linked (Wine only reads them, and 700 MB of
/// DLLs copied per prefix would take seconds and disk), everything else copied. The Wine
/// server note is not copied (see [`forget_server`]).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            symlink(&std::fs::read_link(&src)?, &dst)?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if from.join("system.reg").is_file() && entry.file_name() == "wineserver" {
            continue;
        } else if is_pe(&src) {
            if std::fs::hard_link(&src, &dst).is_err() {
                std::fs::copy(&src, &dst)?;
            }
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

fn is_pe(p: &Path) -> bool {
    p.extension()
        .and_then(OsStr::to_str)
        .is_some_and(|e| PE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("Wine prefixes need a Unix system"))
}

/// Runs `cmd`, killing it after `limit`; panics when it cannot start or is killed.
#[track_caller]
fn run_limited(cmd: Command, limit: Duration) -> Output {
    match run_limited_checked(cmd, limit) {
        Ok(out) => out,
        Err(e) => panic!("{e}"),
    }
}

fn run_limited_checked(mut cmd: Command, limit: Duration) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let fail = |e: std::io::Error| format!("{shown}: {e}");
    // Output goes to files, not pipes: a program Wine starts on the way (wineboot, services,
    // a daemonized wineserver) may keep the handles open long after the command ended, and
    // a pipe would then never reach its end.
    let (mut out, mut err) = (
        tempfile::tempfile().map_err(fail)?,
        tempfile::tempfile().map_err(fail)?,
    );
    let mut child = cmd
        .stdout(out.try_clone().map_err(fail)?)
        .stderr(err.try_clone().map_err(fail)?)
        .spawn()
        .map_err(fail)?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{shown} ran over {limit:?} and was killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(fail(e)),
        }
    };
    Ok(Output {
        status,
        stdout: read_back(&mut out).map_err(fail)?,
        stderr: read_back(&mut err).map_err(fail)?,
    })
}

fn read_back(file: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::io::Seek;
    file.rewind()?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)?;
    Ok(buf)
}

/// The data of value `name` in `reg query` output (`    name    REG_SZ    data`).
fn parse_reg_query(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.trim_end_matches('\r').strip_prefix("    ")?;
        let (n, rest) = line.split_once("    REG_")?;
        if !n.eq_ignore_ascii_case(name) {
            return None;
        }
        // `REG_SZ    data`; an empty string has no separator after the type.
        Some(
            rest.split_once("    ")
                .map(|(_, data)| data.to_string())
                .unwrap_or_default(),
        )
    })
}

/// Text a Windows program wrote: UTF-16LE when it starts with a byte-order mark (`wmic`),
/// else UTF-8 (`reg`, `sc`).
fn decode(bytes: &[u8]) -> String {
    match bytes {
        [0xFF, 0xFE, rest @ ..] => {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// `wmic ... get` output: a header of column names, each column as wide as its longest cell
/// (display names hold spaces, so cells are cut at the header's column starts).
fn parse_wmic_services(text: &str) -> Vec<WineService> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let header: Vec<char> = header.chars().collect();
    let mut columns: Vec<(usize, String)> = Vec::new();
    for (i, c) in header.iter().enumerate() {
        if !c.is_whitespace() && (i == 0 || header[i - 1].is_whitespace()) {
            let name: String = header[i..]
                .iter()
                .take_while(|c| !c.is_whitespace())
                .collect();
            columns.push((i, name.to_ascii_lowercase()));
        }
    }
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let chars: Vec<char> = line.chars().collect();
            let cell = |name: &str| -> String {
                let Some(k) = columns.iter().position(|(_, n)| n == name) else {
                    return String::new();
                };
                let start = columns[k].0.min(chars.len());
                let end = columns
                    .get(k + 1)
                    .map_or(chars.len(), |c| c.0)
                    .min(chars.len());
                chars[start..end]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_string()
            };
            WineService {
                name: cell("name"),
                display_name: cell("displayname"),
                start_mode: cell("startmode"),
                state: cell("state"),
                service_type: cell("servicetype"),
                process_id: cell("processid").parse().unwrap_or(0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reg_query_output_is_parsed() {
        let text = "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\X\r\n    MsiInstallPath    REG_SZ    C:\\Program Files\\X\\\r\n    Empty    REG_SZ\r\n    Start    REG_DWORD    0x3\r\n";
        assert_eq!(
            parse_reg_query(text, "msiinstallpath").as_deref(),
            Some(r"C:\Program Files\X\")
        );
        assert_eq!(parse_reg_query(text, "Start").as_deref(), Some("0x3"));
        assert_eq!(parse_reg_query(text, "Empty").as_deref(), Some(""));
        assert_eq!(parse_reg_query(text, "Missing"), None);
    }

    #[test]
    fn wmic_columns_are_cut_at_the_header() {
        let text = "DisplayName         Name     ProcessId  ServiceType   StartMode  State    \r\n\
                    Event Log           Eventlog 208        Share Process Auto       Running  \r\n\
                    exfleet test svc    ExfSvc   0          Own Process   Manual     Stopped  \r\n\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let services = parse_wmic_services(&decode(&bytes));
        assert_eq!(services.len(), 2);
        assert_eq!(
            services[1],
            WineService {
                name: "ExfSvc".into(),
                display_name: "exfleet test svc".into(),
                start_mode: "Manual".into(),
                state: "Stopped".into(),
                service_type: "Own Process".into(),
                process_id: 0,
            }
        );
        assert_eq!(services[0].process_id, 208);
    }

    #[test]
    fn a_linux_path_is_seen_on_drive_z() {
        assert_eq!(
            windows_path(Path::new("/tmp/x y/snap.json")),
            r"Z:\tmp\x y\snap.json"
        );
    }
}
