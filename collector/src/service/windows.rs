//! The Windows side of the service: registering it, the Service Control Manager's dispatcher
//! and control handler, and `collect-now` (a user-defined control code).

use std::ffi::OsString;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use windows_service::service::{
    ServiceAccess, ServiceControl, ServiceControlAccept, ServiceErrorControl, ServiceExitCode,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType, UserEventCode,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use super::settings::{Installed, Paths};
use super::NAME;
use crate::schedule::{ChannelClock, Wake};

/// The control code `collect-now` sends (user-defined codes are 128 to 255).
const COLLECT_NOW: u32 = 128;
/// How long a run in progress may go on after a stop before the service reports itself
/// stopped anyway (the SCM waits 20 s by default at shutdown; the spool makes it safe: a
/// snapshot is whole in it or not there).
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Where the MSI keeps what it was given.
const INSTALLED_KEY: &str = r"SOFTWARE\exfleet\Collector";

static PATHS: OnceLock<Paths> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

/// Hands this process to the Service Control Manager, which calls [`service_main`].
pub fn dispatch(paths: Paths) -> anyhow::Result<()> {
    let _ = PATHS.set(paths);
    service_dispatcher::start(NAME, ffi_service_main).map_err(|e| {
        anyhow::anyhow!(
            "not started by the Service Control Manager ({e}); `service run --console` runs \
             in the foreground"
        )
    })
}

fn service_main(_arguments: Vec<OsString>) {
    if let Err(e) = run_service() {
        tracing::error!("service: {e:#}");
    }
}

fn status(state: ServiceState, accept: ServiceControlAccept, wait: Duration) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: accept,
        exit_code: ServiceExitCode::Win32(0),
        checkpoint: 0,
        wait_hint: wait,
        process_id: None,
    }
}

/// What the service's main thread waits for.
enum Event {
    /// The Service Control Manager asked it to stop.
    Stop,
    /// The agent's thread ended by itself (it panicked): the service stops, with an error the
    /// SCM's recovery actions see.
    Ended,
}

/// Tells the main thread when the agent's thread ends, however it ends.
struct EndGuard(mpsc::Sender<Event>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        let _ = self.0.send(Event::Ended);
    }
}

fn run_service() -> anyhow::Result<()> {
    let paths = PATHS.get().cloned().unwrap_or_else(Paths::system);
    let (controls, clock) = mpsc::channel();
    let (events, main) = mpsc::channel::<Event>();
    let stop_events = events.clone();
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown | ServiceControl::Preshutdown => {
            let _ = controls.send(Wake::Stop);
            let _ = stop_events.send(Event::Stop);
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::UserEvent(code) if code.to_raw() == COLLECT_NOW => {
            let _ = controls.send(Wake::Now);
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let handle = service_control_handler::register(NAME, handler)?;
    let accept = ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN;
    handle.set_service_status(status(ServiceState::Running, accept, Duration::ZERO))?;
    let failed = |handle: &service_control_handler::ServiceStatusHandle| {
        let mut stopped = status(ServiceState::Stopped, accept, Duration::ZERO);
        stopped.exit_code = ServiceExitCode::ServiceSpecific(1);
        handle.set_service_status(stopped)
    };
    if let Err(e) = secure_folder(&paths.dir) {
        tracing::error!(
            "{}: could not restrict the folder to SYSTEM and Administrators: {e:#}",
            paths.dir.display()
        );
    }
    let settings = match super::settings(&paths) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("{e:#}");
            failed(&handle)?;
            return Err(e);
        }
    };
    let guard = EndGuard(events);
    std::thread::spawn(move || {
        let _guard = guard;
        super::agent::Agent::new(paths, settings).serve(&mut ChannelClock::new(clock));
    });
    match main.recv() {
        Ok(Event::Stop) => {}
        Ok(Event::Ended) | Err(_) => {
            tracing::error!("the collection thread ended unexpectedly; the service stops");
            failed(&handle)?;
            return Ok(());
        }
    }
    handle.set_service_status(status(
        ServiceState::StopPending,
        ServiceControlAccept::empty(),
        STOP_GRACE + Duration::from_secs(5),
    ))?;
    let ended = std::iter::from_fn(|| main.recv_timeout(STOP_GRACE).ok())
        .any(|e| matches!(e, Event::Ended));
    if !ended {
        tracing::warn!("a collection was still running at stop; its snapshot stays spooled");
    }
    handle.set_service_status(status(
        ServiceState::Stopped,
        ServiceControlAccept::empty(),
        Duration::ZERO,
    ))?;
    Ok(())
}

/// Gives `dir` a protected DACL (inherited by what is in it): full control for SYSTEM and
/// Administrators, nothing for anyone else. The folder holds the private key and the token.
#[allow(unsafe_code)]
fn secure_folder(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SetNamedSecurityInfoW,
        SDDL_REVISION_1, SE_FILE_OBJECT,
    };
    use windows_sys::Win32::Security::{
        GetSecurityDescriptorDacl, ACL, DACL_SECURITY_INFORMATION,
        PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
    };
    std::fs::create_dir_all(dir)?;
    let wide = |s: &std::ffi::OsStr| s.encode_wide().chain(Some(0)).collect::<Vec<u16>>();
    let sddl = wide(std::ffi::OsStr::new("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"));
    let path = wide(dir.as_os_str());
    // SAFETY: the strings are NUL-terminated and outlive the calls; the descriptor the first
    // call allocates is read by the next two and freed once with LocalFree; the DACL pointer
    // points into it.
    unsafe {
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        if ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        ) == 0
        {
            return Err(std::io::Error::last_os_error().into());
        }
        let (mut present, mut defaulted) = (0, 0);
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let got = GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted);
        let rc = if got == 0 {
            std::io::Error::last_os_error().raw_os_error().unwrap_or(1) as u32
        } else {
            SetNamedSecurityInfoW(
                path.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                dacl,
                std::ptr::null(),
            )
        };
        LocalFree(sd as _);
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc as i32).into());
        }
    }
    Ok(())
}

/// Registers the service: automatic start, LocalSystem, `"<this exe>" service run`.
pub fn install() -> anyhow::Result<()> {
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )?;
    let info = ServiceInfo {
        name: NAME.into(),
        display_name: "exfleet collector".into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: std::env::current_exe()?,
        launch_arguments: vec!["service".into(), "run".into()],
        dependencies: vec![],
        account_name: None,
        account_password: None,
    };
    let service = manager.create_service(&info, ServiceAccess::CHANGE_CONFIG)?;
    service.set_description(
        "Collects this Exchange server's patch-health evidence and delivers it to the exfleet \
         aggregator.",
    )?;
    println!("installed the {NAME} service");
    Ok(())
}

/// Stops and deletes the service.
pub fn uninstall() -> anyhow::Result<()> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)?;
    let service = manager.open_service(
        NAME,
        ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
    )?;
    if service.query_status()?.current_state != ServiceState::Stopped {
        let _ = service.stop();
    }
    service.delete()?;
    println!("removed the {NAME} service (its data folder is kept)");
    Ok(())
}

/// Sends the collect-now control to the running service.
pub fn collect_now() -> anyhow::Result<()> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)?;
    let service = manager.open_service(NAME, ServiceAccess::USER_DEFINED_CONTROL)?;
    service.notify(UserEventCode::from_raw(COLLECT_NOW)?)?;
    println!("asked the {NAME} service to collect now");
    Ok(())
}

/// The MSI's properties, as its registry values keep them.
pub fn installed() -> Installed {
    let key = winreg::RegKey::predef(winreg::enums::HKEY_LOCAL_MACHINE)
        .open_subkey_with_flags(INSTALLED_KEY, winreg::enums::KEY_READ);
    let Ok(key) = key else {
        return Installed::default();
    };
    let get = |name: &str| key.get_value::<String, _>(name).ok();
    Installed {
        aggregator: get("Aggregator"),
        token: get("Token"),
        ca: get("Ca"),
    }
}

/// The machine's ProgramData folder, as the shell knows it (`FOLDERID_ProgramData`): the
/// environment variable can differ between a service and a user's session.
#[allow(unsafe_code)]
pub fn program_data() -> Option<std::path::PathBuf> {
    use std::os::windows::ffi::OsStringExt;
    use windows_sys::Win32::System::Com::CoTaskMemFree;
    use windows_sys::Win32::UI::Shell::{FOLDERID_ProgramData, SHGetKnownFolderPath};
    let mut path: windows_sys::core::PWSTR = std::ptr::null_mut();
    // SAFETY: the GUID is a static; on success `path` is a NUL-terminated string the shell
    // allocated, read up to its NUL and freed once with CoTaskMemFree (also on failure, as the
    // API asks).
    unsafe {
        let hr = SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, std::ptr::null_mut(), &mut path);
        let result = (hr >= 0 && !path.is_null()).then(|| {
            let len = (0..).take_while(|&i| *path.add(i) != 0).count();
            let wide = std::slice::from_raw_parts(path, len);
            std::path::PathBuf::from(OsString::from_wide(wide))
        });
        CoTaskMemFree(path as *const core::ffi::c_void);
        result
    }
}

/// Deletes the MSI's `Token` value once the service has enrolled.
pub fn forget_installed_token() {
    let key = winreg::RegKey::predef(winreg::enums::HKEY_LOCAL_MACHINE)
        .open_subkey_with_flags(INSTALLED_KEY, winreg::enums::KEY_SET_VALUE);
    if let Ok(key) = key {
        if let Err(e) = key.delete_value("Token") {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("could not delete the installer's token: {e}");
            }
        }
    }
}
