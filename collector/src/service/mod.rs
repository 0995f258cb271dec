//! The collector as a service: `exfleet-collector service install|uninstall|run|collect-now`.
//! On Windows `run` is what the Service Control Manager starts (`service run`); the work
//! itself ([`agent`]: enroll once, then collect and deliver on the [`crate::schedule`]) is
//! platform-independent, and `run --console` (the only way off Windows) runs it in the
//! foreground until Ctrl-C.

pub mod agent;
pub mod settings;
#[cfg(windows)]
mod windows;

use std::path::PathBuf;

use settings::{Installed, Paths, Settings};

/// The service's name in the Service Control Manager.
pub const NAME: &str = "exfleet-collector";

/// The service's folders: `data_dir`, or `%ProgramData%\exfleet`.
pub fn paths(data_dir: Option<PathBuf>) -> Paths {
    match data_dir {
        Some(dir) => Paths { dir },
        None => Paths::system(),
    }
}

/// The settings the service runs with: its file, filled from what the installer was given.
pub fn settings(paths: &Paths) -> anyhow::Result<Settings> {
    Ok(Settings::load(&paths.dir, &installed())?)
}

/// The machine's ProgramData folder (Windows' known folder).
#[cfg(windows)]
fn program_data() -> Option<PathBuf> {
    windows::program_data()
}

#[cfg(not(windows))]
fn program_data() -> Option<PathBuf> {
    None
}

/// What the MSI was given (`HKLM\SOFTWARE\exfleet\Collector`).
#[cfg(windows)]
fn installed() -> Installed {
    windows::installed()
}

#[cfg(not(windows))]
fn installed() -> Installed {
    Installed::default()
}

/// Deletes the token the installer was given (`HKLM\SOFTWARE\exfleet\Collector\Token`).
#[cfg(windows)]
pub fn forget_installed_token() {
    windows::forget_installed_token();
}

/// Off Windows there is no installer's registry.
#[cfg(not(windows))]
pub fn forget_installed_token() {}

/// A size-bounded rotating log file: `logs/collector.log`, rotated past `max_mib`, five kept.
pub fn log_file(
    paths: &Paths,
    max_mib: u64,
) -> file_rotate::FileRotate<file_rotate::suffix::AppendCount> {
    use file_rotate::{compression::Compression, suffix::AppendCount, ContentLimit, FileRotate};
    let bytes = usize::try_from(max_mib.max(1) << 20).unwrap_or(usize::MAX);
    if let Some(dir) = paths.log().parent() {
        // A log that cannot be opened is lost, not fatal: the service still runs.
        let _ = std::fs::create_dir_all(dir);
    }
    FileRotate::new(
        paths.log(),
        AppendCount::new(5),
        ContentLimit::BytesSurpassed(bytes),
        Compression::None,
        None,
    )
}

/// `service run`: under the Service Control Manager (Windows, no `console`), or in the
/// foreground until Ctrl-C.
pub fn run(paths: Paths, console: bool) -> anyhow::Result<()> {
    #[cfg(windows)]
    if !console {
        return windows::dispatch(paths);
    }
    let _ = console;
    let settings = settings(&paths)?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(rt) = rt {
            let _ = rt.block_on(tokio::signal::ctrl_c());
        }
        let _ = tx.send(crate::schedule::Wake::Stop);
    });
    agent::Agent::new(paths, settings).serve(&mut crate::schedule::ChannelClock::new(rx));
    Ok(())
}

/// `service install`: registers the service (automatic start, LocalSystem, `service run`).
pub fn install() -> anyhow::Result<()> {
    #[cfg(windows)]
    return windows::install();
    #[cfg(not(windows))]
    not_windows()
}

/// `service uninstall`: stops and removes the service; its data folder stays.
pub fn uninstall() -> anyhow::Result<()> {
    #[cfg(windows)]
    return windows::uninstall();
    #[cfg(not(windows))]
    not_windows()
}

/// `service collect-now`: asks the running service to collect at once.
pub fn collect_now() -> anyhow::Result<()> {
    #[cfg(windows)]
    return windows::collect_now();
    #[cfg(not(windows))]
    not_windows()
}

#[cfg(not(windows))]
fn not_windows() -> anyhow::Result<()> {
    anyhow::bail!(
        "the collector service is a Windows service; here `service run --console` runs its \
         work in the foreground"
    )
}
