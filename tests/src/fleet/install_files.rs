//! The files of a simulated install that OWA and ECP need: SharedWebConfig.config in
//! FrontEnd\HttpProxy and ClientAccess, the web.config of the owa and ecp virtual directories,
//! the per-version resource folders of OWA and ECP and the ECP DLL that names its folder. The
//! SharedWebConfigMissing, ConfigVariableUnexpanded and OwaMissingImages faults break them as
//! an SU run without elevation (or a lost file) does. Exchange 2010 has no front end and no
//! SharedWebConfig.config: its ClientAccess folders only.

use super::builds::text;
use super::{Fault, HostSpec};
use crate::pe::{image_with_version, VersionInfo};

/// (Windows path, content) of every file.
pub fn files(h: &HostSpec) -> Vec<(String, Vec<u8>)> {
    let install = h.install_path();
    let build = h.line.build(h.update);
    let version = text(build);
    if h.line.is_2010() {
        return exchange_2010(&install, build);
    }
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let shared = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n  <runtime>\r\n    <assemblyBinding xmlns=\"urn:schemas-microsoft-com:asm.v1\">\r\n      <dependentAssembly>\r\n        <assemblyIdentity name=\"Microsoft.Exchange.Data.Directory\" publicKeyToken=\"31bf3856ad364e35\" culture=\"neutral\" />\r\n        <codeBase version=\"15.0.0.0\" href=\"file:///{install}bin\\Microsoft.Exchange.Data.Directory.dll\" />\r\n      </dependentAssembly>\r\n    </assemblyBinding>\r\n  </runtime>\r\n</configuration>\r\n"
    );
    if !h.has(Fault::SharedWebConfigMissing) {
        out.push((
            format!(r"{install}FrontEnd\HttpProxy\SharedWebConfig.config"),
            shared.clone().into_bytes(),
        ));
    }
    out.push((
        format!(r"{install}ClientAccess\SharedWebConfig.config"),
        shared.into_bytes(),
    ));
    for vdir in [
        r"FrontEnd\HttpProxy\owa",
        r"FrontEnd\HttpProxy\ecp",
        r"ClientAccess\Owa",
        r"ClientAccess\ecp",
    ] {
        if h.has(Fault::WebConfigMissing) && vdir == r"ClientAccess\Owa" {
            continue;
        }
        let unexpanded = h.has(Fault::ConfigVariableUnexpanded) && vdir == r"ClientAccess\ecp";
        let root = if unexpanded {
            "%ExchangeInstallDir%".to_string()
        } else {
            install.clone()
        };
        out.push((
            format!(r"{install}{vdir}\web.config"),
            web_config(&root, 15),
        ));
    }
    // The OWA folders: the installed version's, and the CU's own (an SU adds its folder beside
    // the CU's); OwaMissingImages loses the installed version's.
    let base = text(h.line.base);
    let mut owa = vec![base.clone()];
    if version != base && !h.has(Fault::OwaMissingImages) {
        owa.push(version.clone());
    }
    if version == base && h.has(Fault::OwaMissingImages) {
        owa.clear();
        owa.push(text(super::builds::EX2019_CU14.base));
    }
    for v in &owa {
        out.push((
            format!(r"{install}ClientAccess\Owa\prem\{v}\resources\images\0\sprite1.mouse.png"),
            b"\x89PNG\r\n\x1a\n".to_vec(),
        ));
        out.push((
            format!(r"{install}FrontEnd\HttpProxy\owa\auth\{v}\themes\resources\logon.css"),
            b"body{}".to_vec(),
        ));
    }
    out.extend(ecp(&install, build));
    out
}

/// The ClientAccess folders of an Exchange 2010 server: OWA keeps its resources in a folder
/// per version directly under Owa.
fn exchange_2010(install: &str, build: [u16; 4]) -> Vec<(String, Vec<u8>)> {
    let version = text(build);
    let mut out = vec![
        (
            format!(r"{install}ClientAccess\Owa\web.config"),
            web_config(install, 14),
        ),
        (
            format!(r"{install}ClientAccess\ecp\web.config"),
            web_config(install, 14),
        ),
        (
            format!(r"{install}ClientAccess\Owa\{version}\themes\base\logon.css"),
            b"body{}".to_vec(),
        ),
    ];
    out.extend(ecp(install, build));
    out
}

/// A virtual directory's web.config whose code base is under `root`.
fn web_config(root: &str, major: u16) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n  <configSections>\r\n    <sectionGroup name=\"system.web.extensions\" />\r\n  </configSections>\r\n  <runtime>\r\n    <assemblyBinding xmlns=\"urn:schemas-microsoft-com:asm.v1\">\r\n      <dependentAssembly>\r\n        <assemblyIdentity name=\"Microsoft.Exchange.Net\" publicKeyToken=\"31bf3856ad364e35\" culture=\"neutral\" />\r\n        <codeBase version=\"{major}.0.0.0\" href=\"file:///{root}bin\\Microsoft.Exchange.Net.dll\" />\r\n      </dependentAssembly>\r\n    </assemblyBinding>\r\n  </runtime>\r\n</configuration>\r\n"
    )
    .into_bytes()
}

/// ECP's resource folder of the installed version and its DLL.
fn ecp(install: &str, build: [u16; 4]) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            format!(
                r"{install}ClientAccess\ecp\{}\themes\default\sprite.png",
                text(build)
            ),
            b"\x89PNG\r\n\x1a\n".to_vec(),
        ),
        (
            format!(
                r"{install}ClientAccess\ecp\bin\Microsoft.Exchange.Management.ControlPanel.dll"
            ),
            image_with_version(&VersionInfo::exchange(build)),
        ),
    ]
}
