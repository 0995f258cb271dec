//! applicationHost.config of a simulated Exchange server: the default layout
//! (collector/EVIDENCE.md), "Default Web Site" on 80/443 mapping to FrontEnd\HttpProxy and
//! "Exchange Back End" on 81/444 mapping to ClientAccess; Exchange 2010 has only the
//! "Default Web Site", mapping to ClientAccess.

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
pub fn application_host_config(install: &str, exchange_2010: bool, wrong_ecp: bool) -> String {
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
            "%SystemDrive%\\inetpub\\wwwroot".to_string()
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
