//! applicationHost.config of a simulated Exchange server: the default layout
//! (collector/EVIDENCE.md), "Default Web Site" on 80/443 mapping to FrontEnd\HttpProxy and
//! "Exchange Back End" on 81/444 mapping to ClientAccess; Exchange 2010 has only the
//! "Default Web Site", mapping to ClientAccess. Each vdir has its `<location>` with its
//! sslFlags and, on a build that supports it, Extended Protection as
//! ExchangeExtendedProtectionManagement.ps1 leaves it (the reference's expected values).

/// Virtual directories of both sites: (vdir, front-end folder, back-end folder).
const VDIRS: [(&str, &str, &str); 9] = [
    ("owa", "owa", "Owa"),
    ("ecp", "ecp", "ecp"),
    ("EWS", "EWS", "exchweb\\EWS"),
    ("mapi", "mapi", "mapi"),
    ("Microsoft-Server-ActiveSync", "sync", "sync"),
    ("OAB", "OAB", "OAB"),
    ("PowerShell", "PowerShell", "PowerShell"),
    ("Autodiscover", "autodiscover", "autodiscover"),
    ("Rpc", "rpc", "rpc"),
];

/// The one address the BackendBindingIp fault binds the Exchange Back End to.
pub const BACKEND_SINGLE_IP: &str = "192.168.10.5";

/// Where the VdirPathWrong fault points the front end's /ecp.
pub const WRONG_ECP_PATH: &str = "C:\\inetpub\\wwwroot\\ecp";

/// Extended Protection as the simulated server has it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ep {
    /// The build supports it and it was configured: tokenChecking written on every vdir.
    pub configured: bool,
    /// The front end's /ecp left at None (EpNotSecured).
    pub front_ecp_none: bool,
    /// The front end's /Autodiscover set to Require (EpUnsupported).
    pub front_autodiscover_require: bool,
}

/// Whether a build supports Extended Protection (the Aug22SU builds and later, as the
/// reference gives them).
pub fn ep_capable(b: [u16; 4]) -> bool {
    let [major, minor, build, rev] = b;
    match (major, minor) {
        (15, 0) => build > 1497 || (build == 1497 && rev >= 38),
        (15, 1) => build > 2507 || (build == 2507 && rev >= 11) || (build == 2375 && rev >= 30),
        (15, 2) => build > 1118 || (build == 1118 && rev >= 11) || (build == 986 && rev >= 28),
        _ => false,
    }
}

/// tokenChecking a properly configured server has on the simulated vdirs (front end, back
/// end), from the reference's table.
fn expected_token(vdir: &str, front_end: bool) -> &'static str {
    match (vdir, front_end) {
        ("Autodiscover", _) | ("PowerShell", true) => "None",
        ("EWS" | "Microsoft-Server-ActiveSync" | "OAB", true) => "Allow",
        _ => "Require",
    }
}

/// The file's text for an install root (with its trailing backslash) and the Default Web
/// Site's root folder (`None`: `%SystemDrive%\inetpub\wwwroot`, as setup leaves it);
/// `wrong_ecp` points the front end's /ecp at [`WRONG_ECP_PATH`].
pub fn application_host_config(
    install: &str,
    web_root: Option<&str>,
    exchange_2010: bool,
    wrong_ecp: bool,
    ep: Ep,
    back_end_single_ip: bool,
) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<configuration>\r\n  <system.applicationHost>\r\n    <sites>\r\n",
    );
    // (name, id, root folder, whether its folders are the front end's, bindings)
    let front_end = (
        "Default Web Site",
        1,
        "FrontEnd\\HttpProxy",
        true,
        [("http", "*:80:"), ("https", "*:443:")],
    );
    let back_end = (
        "Exchange Back End",
        2,
        "ClientAccess",
        false,
        [("http", "*:81:"), ("https", "*:444:")],
    );
    let sites = if exchange_2010 {
        vec![(
            "Default Web Site",
            1,
            "ClientAccess",
            false,
            [("http", "*:80:"), ("https", "*:443:")],
        )]
    } else {
        vec![front_end, back_end]
    };
    for (name, id, root, front_folders, bindings) in sites {
        s += &format!("      <site name=\"{name}\" id=\"{id}\">\r\n");
        let home = if id == 1 {
            web_root
                .unwrap_or("%SystemDrive%\\inetpub\\wwwroot")
                .to_string()
        } else {
            format!("{install}ClientAccess")
        };
        s += &format!(
            "        <application path=\"/\" applicationPool=\"DefaultAppPool\">\r\n          <virtualDirectory path=\"/\" physicalPath=\"{home}\" />\r\n        </application>\r\n"
        );
        for (vdir, front, back) in VDIRS {
            // MAPI over HTTP came with Exchange 2013 SP1.
            if exchange_2010 && vdir == "mapi" {
                continue;
            }
            let folder = if front_folders { front } else { back };
            let path = if wrong_ecp && id == 1 && vdir == "ecp" {
                WRONG_ECP_PATH.to_string()
            } else {
                format!("{install}{root}\\{folder}")
            };
            s += &format!(
                "        <application path=\"/{vdir}\" applicationPool=\"MSExchange{}AppPool\">\r\n          <virtualDirectory path=\"/\" physicalPath=\"{}\" />\r\n        </application>\r\n",
                vdir.replace('-', ""),
                xml_escape(&path)
            );
        }
        s += "        <bindings>\r\n";
        for (protocol, info) in bindings {
            let info = if back_end_single_ip && info == "*:444:" {
                format!("{BACKEND_SINGLE_IP}:444:")
            } else {
                info.to_string()
            };
            s += &format!(
                "          <binding protocol=\"{protocol}\" bindingInformation=\"{info}\" />\r\n"
            );
        }
        s += "        </bindings>\r\n      </site>\r\n";
    }
    s += "      <siteDefaults>\r\n        <logFile logFormat=\"W3C\" directory=\"%SystemDrive%\\inetpub\\logs\\LogFiles\" />\r\n      </siteDefaults>\r\n";
    s += "    </sites>\r\n  </system.applicationHost>\r\n";
    let site_names: &[(&str, bool)] = if exchange_2010 {
        &[("Default Web Site", false)]
    } else {
        &[("Default Web Site", true), ("Exchange Back End", false)]
    };
    for &(site, front_end) in site_names {
        s += &location(site, "Ssl, Ssl128", None);
        for (vdir, _, _) in VDIRS {
            if exchange_2010 && vdir == "mapi" {
                continue;
            }
            let ssl = match (vdir, front_end) {
                ("PowerShell", true) => "SslNegotiateCert",
                ("PowerShell", false) => "Ssl, SslNegotiateCert, Ssl128",
                ("Rpc", _) => "None",
                _ => "Ssl, Ssl128",
            };
            let token = match (vdir, front_end) {
                _ if !ep.configured => None,
                ("ecp", true) if ep.front_ecp_none => Some("None"),
                ("Autodiscover", true) if ep.front_autodiscover_require => Some("Require"),
                _ => Some(expected_token(vdir, front_end)),
            };
            s += &location(&format!("{site}/{vdir}"), ssl, token);
        }
    }
    s += "</configuration>\r\n";
    s
}

/// A `<location>` element with its sslFlags and, when given, its tokenChecking.
fn location(path: &str, ssl_flags: &str, token: Option<&str>) -> String {
    let mut s = format!(
        "  <location path=\"{path}\" overrideMode=\"Allow\">\r\n    <system.webServer>\r\n      <security>\r\n        <access sslFlags=\"{ssl_flags}\" />\r\n"
    );
    if let Some(t) = token {
        s += &format!(
            "        <authentication>\r\n          <windowsAuthentication enabled=\"true\">\r\n            <extendedProtection tokenChecking=\"{t}\" flags=\"None\" />\r\n          </windowsAuthentication>\r\n        </authentication>\r\n"
        );
    }
    s += "      </security>\r\n    </system.webServer>\r\n  </location>\r\n";
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}
