//! What a collection of the running server promises the server: it runs at background
//! priority, and it writes nothing under the Windows or Exchange folders.

use std::path::Path;

/// The live server's files, with this process lowered to background priority first.
#[cfg(windows)]
pub fn server_files() -> anyhow::Result<crate::files::ServerFiles> {
    for (what, e) in lower_priority() {
        tracing::warn!("could not set {what}: {e}");
    }
    Ok(crate::files::ServerFiles::live())
}

/// Off Windows there is no live server to read: an error that says so.
#[cfg(not(windows))]
pub fn server_files() -> anyhow::Result<crate::files::ServerFiles> {
    anyhow::bail!(
        "--live reads the running Windows server it runs on; this build is for {}: read a \
         triage copy with --root (deploy/windows/ stages one)",
        std::env::consts::OS
    )
}

/// Lowers this process to below-normal CPU priority, then to background mode (low I/O and
/// memory priority), so that a collection never competes with Exchange for the disk or the
/// CPU. Each step that fails is returned with what it was (Wine has no background mode).
#[cfg(windows)]
#[allow(unsafe_code)]
pub fn lower_priority() -> Vec<(&'static str, std::io::Error)> {
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, SetPriorityClass, BELOW_NORMAL_PRIORITY_CLASS,
        PROCESS_MODE_BACKGROUND_BEGIN,
    };
    let steps = [
        ("below-normal CPU priority", BELOW_NORMAL_PRIORITY_CLASS),
        ("background I/O priority", PROCESS_MODE_BACKGROUND_BEGIN),
    ];
    let mut failed = Vec::new();
    for (what, class) in steps {
        // SAFETY: GetCurrentProcess returns a pseudo-handle that is always valid for this
        // process, and SetPriorityClass only reads its arguments.
        let ok = unsafe { SetPriorityClass(GetCurrentProcess(), class) };
        if ok == 0 {
            failed.push((what, std::io::Error::last_os_error()));
        }
    }
    failed
}

/// Refuses an output path under one of `protected` (the Windows folder, the Exchange install
/// path): the collector is read-only on the server it collects. Paths compare as Windows
/// compares them, without regard to case and to `/` versus `\`.
pub fn check_output(out: &Path, protected: &[String]) -> Result<(), String> {
    let text = out.to_string_lossy();
    let has_drive = text.as_bytes().get(1) == Some(&b':');
    let absolute = if has_drive {
        out.to_path_buf()
    } else {
        std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf())
    };
    let norm = |p: &str| {
        let mut p = p.replace('/', "\\").to_ascii_lowercase();
        if !p.ends_with('\\') {
            p.push('\\');
        }
        p
    };
    let target = norm(&absolute.to_string_lossy());
    for dir in protected.iter().filter(|d| !d.trim().is_empty()) {
        if target.starts_with(&norm(dir)) {
            return Err(format!(
                "{}: is under {dir}; a live collection writes nothing under the Windows or \
                 Exchange folders: write the snapshot elsewhere (or push it with --aggregator)",
                out.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_under_protected_folders_are_refused_whatever_the_case() {
        let protected = vec![
            r"C:\Windows".to_string(),
            r"D:\Program Files\Microsoft\Exchange Server\V15\".to_string(),
        ];
        let refused = |p: &str| check_output(Path::new(p), &protected).is_err();
        assert!(refused(r"c:\windows\temp\snap.pb"));
        assert!(refused(
            r"D:/program files/Microsoft/Exchange Server/V15/Logging/s.pb"
        ));
        assert!(!refused(r"C:\WindowsApps2\snap.pb"));
        assert!(!refused(r"E:\exfleet\snap.pb"));
    }
}
