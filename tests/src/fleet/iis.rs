//! applicationHost.config of a simulated Exchange server: the default layout
//! (reference/evidence.md), "Default Web Site" on 80/443 mapping to FrontEnd\HttpProxy and
//! "Exchange Back End" on 81/444 mapping to ClientAccess.

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

/// Where the VdirPathWrong fault points the front end's /ecp.
pub const WRONG_ECP_PATH: &str = "C:\\inetpub\\wwwroot\\ecp";

/// The file's text for an install root (with its trailing backslash); `wrong_ecp` points the
/// front end's /ecp at [`WRONG_ECP_PATH`].
pub fn application_host_config(install: &str, wrong_ecp: bool) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<configuration>\r\n  <system.applicationHost>\r\n    <sites>\r\n",
    );
    let sites = [
        (
            "Default Web Site",
            1,
            "FrontEnd\\HttpProxy",
            "MSExchange",
            [("http", "*:80:"), ("https", "*:443:")],
        ),
        (
            "Exchange Back End",
            2,
            "ClientAccess",
            "MSExchange",
            [("http", "*:81:"), ("https", "*:444:")],
        ),
    ];
    for (name, id, root, pool, bindings) in sites {
        s += &format!("      <site name=\"{name}\" id=\"{id}\">\r\n");
        let home = if id == 1 {
            "%SystemDrive%\\inetpub\\wwwroot".to_string()
        } else {
            format!("{install}ClientAccess")
        };
        s += &format!(
            "        <application path=\"/\" applicationPool=\"DefaultAppPool\">\r\n          <virtualDirectory path=\"/\" physicalPath=\"{home}\" />\r\n        </application>\r\n"
        );
        for (vdir, front, back) in VDIRS {
            let folder = if id == 1 { front } else { back };
            let path = if wrong_ecp && id == 1 && vdir == "ecp" {
                WRONG_ECP_PATH.to_string()
            } else {
                format!("{install}{root}\\{folder}")
            };
            s += &format!(
                "        <application path=\"/{vdir}\" applicationPool=\"{pool}{}AppPool\">\r\n          <virtualDirectory path=\"/\" physicalPath=\"{}\" />\r\n        </application>\r\n",
                vdir.replace('-', ""),
                xml_escape(&path)
            );
        }
        s += "        <bindings>\r\n";
        for (protocol, info) in bindings {
            s += &format!(
                "          <binding protocol=\"{protocol}\" bindingInformation=\"{info}\" />\r\n"
            );
        }
        s += "        </bindings>\r\n      </site>\r\n";
    }
    s += "      <siteDefaults>\r\n        <logFile logFormat=\"W3C\" directory=\"%SystemDrive%\\inetpub\\logs\\LogFiles\" />\r\n      </siteDefaults>\r\n";
    s += "    </sites>\r\n  </system.applicationHost>\r\n</configuration>\r\n";
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}
