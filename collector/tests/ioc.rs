//! The indicator scans on a simulated server: every indicator of the reference found on its
//! planted case with the fields it reports, none on the near misses every host carries; the
//! read marks (a second run reads only appended bytes; a snapshot that was not made durable
//! leaves the marks where they were); `--ioc-since`.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Parser;
use exfleet_collector::readers::ioc::marks::Marks;
use exfleet_collector::{collect_with_marks, Options, ServerFiles};
use exfleet_proto::v1::{IocMatch, Snapshot};
use exfleet_tests::fleet::{self, ioc, Fault, FleetConfig, HostSpec};

/// A healthy Exchange 2016 host of a simulated fleet, with every indicator planted (or none).
fn host(planted: bool) -> HostSpec {
    let hosts = fleet::generate(&FleetConfig {
        seed: 5,
        servers: 20,
        fault_rate: 0.0,
    });
    let mut h = hosts
        .into_iter()
        .find(|h| !h.line.is_2010() && h.faults.iter().all(|f| !Fault::IOC.contains(f)))
        .expect("a modern host");
    h.faults.retain(|f| !Fault::IOC.contains(f));
    if planted {
        h.faults.extend(Fault::IOC);
        // The Default Web Site moved to D:, the shell below it (applicationHost.config says).
        h.web_root_moved = true;
    } else {
        h.web_root_moved = false;
    }
    h
}

fn server(planted: bool, root: &Path) -> HostSpec {
    let h = host(planted);
    fleet::render::triage_of(&h, 5).build(root).unwrap();
    h
}

fn by_kind(s: &Snapshot) -> BTreeMap<String, Vec<IocMatch>> {
    let mut out: BTreeMap<String, Vec<IocMatch>> = BTreeMap::new();
    for m in &s.ioc_matches {
        out.entry(m.indicator.clone()).or_default().push(m.clone());
    }
    out
}

fn collect(root: &Path, options: &Options) -> (Snapshot, Marks) {
    collect_with_marks(&ServerFiles::new(root), Default::default(), options).unwrap()
}

#[test]
fn every_indicator_fires_on_its_plant_with_what_the_reference_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let h = server(true, tmp.path());
    let (s, _) = collect(tmp.path(), &Options::default());
    let errors: Vec<_> = s.errors.iter().filter(|e| e.reader == "ioc").collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let m = by_kind(&s);
    let host = h.fqdn();
    let one = |kind: &str| -> &IocMatch {
        let v = m.get(kind).unwrap_or_else(|| panic!("no {kind}: {m:#?}"));
        assert_eq!(v.len(), 1, "{kind}: {v:#?}");
        &v[0]
    };
    // CVE-2021-26855: the OWA plant and the ECP reset (also routed by ServerInfo~).
    let ssrf = &m["cve_2021_26855"];
    assert_eq!(ssrf.len(), 2, "{ssrf:#?}");
    let owa = ssrf
        .iter()
        .find(|x| x.client_ip == ioc::ATTACKER_SSRF)
        .unwrap();
    assert!(owa.file.contains("HttpProxy/Owa/HttpProxy_"), "{owa:?}");
    assert!(
        owa.detail
            .contains(&ioc::SSRF_ANCHOR.replace("{host}", &host)),
        "{owa:?}"
    );
    assert!(
        owa.detail.contains("UserAgent=ExchangeServicesClient"),
        "{owa:?}"
    );
    assert_eq!(
        (owa.status.as_str(), owa.url.as_str()),
        ("200", "/owa/auth/x.js")
    );
    assert_eq!(owa.time_ms, ioc::INCIDENT_MS);
    assert!(owa.line > 20);
    assert!(ssrf.iter().any(|x| x.client_ip == ioc::ATTACKER_ECP));
    // CVE-2021-27065: through the proxy (a) and in the ECP server log (b).
    let reset = one("cve_2021_27065_proxy");
    assert_eq!(reset.client_ip, ioc::ATTACKER_ECP);
    assert!(reset.file.contains("HttpProxy/Ecp/"), "{reset:?}");
    let markup = one("cve_2021_27065_ecp");
    assert!(markup.detail.contains("<script"), "{markup:?}");
    assert!(markup.file.contains("ECP/Server/ECPServer"), "{markup:?}");
    // CVE-2021-26858: the path outside ClientAccess\OAB, with its quotes.
    let oab = one("cve_2021_26858");
    assert_eq!(oab.url, format!("'{}'", ioc::OAB_WRITTEN));
    // CVE-2021-26857: the error, not the warning.
    let um = one("cve_2021_26857");
    assert!(um.detail.contains("System.InvalidCastException"), "{um:?}");
    assert!(um.detail.contains("PipelineContext"), "{um:?}");
    // CVE-2022-41040: the 200, not the 403.
    let notshell = one("cve_2022_41040");
    assert_eq!(
        (notshell.client_ip.as_str(), notshell.status.as_str()),
        (ioc::ATTACKER_NOTSHELL, "200")
    );
    assert!(
        notshell
            .url
            .starts_with("/autodiscover/autodiscover.json?@evil.com/powershell"),
        "{notshell:?}"
    );
    assert_eq!(notshell.time_ms, ioc::INCIDENT_MS + 7 * 60_000);
    // Files: the dump, the archive, and the web folders' files with their hashes: the stock
    // pages, aspnet_client's readme, the shell below the moved site root labelled as on every
    // server, the handler shell in owa\auth; not the host's script there (IIS runs no .js).
    assert!(one("lsass_dump").file.ends_with("root/lsass.dmp"));
    assert!(one("suspicious_archive")
        .file
        .ends_with("ProgramData/VSPerfMon/pm.7z"));
    let aspx = &m["aspx_file"];
    assert!(aspx.iter().all(|a| a.sha256.len() == 64));
    let mut urls: Vec<&str> = aspx.iter().map(|a| a.url.as_str()).collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            r"Default Web Site\aspnet_client\system_web\4_0_30319\readme.txt",
            r"Default Web Site\aspnet_client\system_web\x5kqk2vc.aspx",
            r"FrontEnd\HttpProxy\ecp\auth\TimeoutLogout.aspx",
            r"FrontEnd\HttpProxy\owa\auth\errorFE.aspx",
            r"FrontEnd\HttpProxy\owa\auth\h4vzq0ms.ashx",
            r"FrontEnd\HttpProxy\owa\auth\logon.aspx",
        ]
    );
    let shell = aspx
        .iter()
        .find(|a| a.url.ends_with("x5kqk2vc.aspx"))
        .unwrap();
    assert!(
        shell
            .file
            .ends_with("wwwroot/aspnet_client/system_web/x5kqk2vc.aspx")
            && !shell.file.contains("inetpub"),
        "{shell:?}"
    );
    // Coverage: every indicator says what it read, the HttpProxy logs per protocol folder.
    let scans: BTreeMap<_, _> = s
        .ioc_scans
        .iter()
        .map(|c| ((c.indicator.as_str(), c.folder.as_str()), c))
        .collect();
    for folder in ["Autodiscover", "Ecp", "Owa"] {
        let c = scans[&("cve_2021_26855", folder)];
        assert_eq!(c.files, 2, "{folder}");
        assert!(c.bytes > 1_000 && c.oldest_ms > 0, "{folder}: {c:?}");
    }
    assert_eq!(scans[&("cve_2021_27065_proxy", "Ecp")].files, 2);
    let proxy: Vec<_> = s
        .ioc_scans
        .iter()
        .filter(|c| ["cve_2021_26855", "cve_2021_27065_proxy"].contains(&c.indicator.as_str()))
        .map(|c| c.folder.as_str())
        .collect();
    assert_eq!(proxy, ["Autodiscover", "Ecp", "Owa", "Ecp"]);
    // The matches add up over the folders.
    let ssrf: u64 = s
        .ioc_scans
        .iter()
        .filter(|c| c.indicator == "cve_2021_26855")
        .map(|c| c.matches)
        .sum();
    assert_eq!(ssrf, m["cve_2021_26855"].len() as u64);
    assert_eq!(scans[&("cve_2021_26858", "")].files, 1);
    // The web files: one row per web folder looked in (labelled as the files' urls start),
    // beside the row of all of them, which holds their totals.
    let web: BTreeMap<&str, u64> = s
        .ioc_scans
        .iter()
        .filter(|c| c.indicator == "aspx_file")
        .map(|c| (c.folder.as_str(), c.files))
        .collect();
    for (folder, files) in [
        ("", 6),
        (r"Default Web Site\aspnet_client", 2),
        (r"FrontEnd\HttpProxy\owa\auth", 3),
        (r"FrontEnd\HttpProxy\ecp\auth", 1),
    ] {
        assert_eq!(web.get(folder), Some(&files), "{folder}: {web:#?}");
    }
    assert_eq!(
        web.iter()
            .filter(|(f, _)| !f.is_empty())
            .map(|(_, n)| n)
            .sum::<u64>(),
        6,
        "{web:#?}"
    );
}

#[test]
fn the_near_misses_every_host_carries_match_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    server(false, tmp.path());
    let (s, _) = collect(tmp.path(), &Options::default());
    let kinds: Vec<&str> = s
        .ioc_matches
        .iter()
        .map(|m| m.indicator.as_str())
        .filter(|k| *k != "aspx_file")
        .collect();
    assert!(kinds.is_empty(), "{:#?}", s.ioc_matches);
    // The stock pages and aspnet_client's file are listed all the same; the host's own script
    // in owa\auth is not (IIS does not run a .js).
    assert_eq!(s.ioc_matches.len(), 4, "{:#?}", s.ioc_matches);
    assert!(s.ioc_matches.iter().all(|m| !m.url.ends_with(".js")));
}

/// Appends text to a file of the copy.
fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn owa_log(root: &Path) -> std::path::PathBuf {
    let folder = walk_find(root, "Owa").unwrap();
    let mut logs: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    logs.sort();
    logs.pop().unwrap()
}

fn walk_find(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        if e.file_name() == name && e.path().is_dir() {
            return Some(e.path());
        }
        if e.path().is_dir() {
            if let Some(p) = walk_find(&e.path(), name) {
                return Some(p);
            }
        }
    }
    None
}

#[test]
fn a_second_run_reads_only_the_bytes_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let h = server(true, tmp.path());
    let (first, marks) = collect(tmp.path(), &Options::default());
    assert_eq!(by_kind(&first)["cve_2021_26855"].len(), 2);
    let log = owa_log(tmp.path());
    let lines_before = std::fs::read_to_string(&log).unwrap().lines().count() as u32;
    let row = ioc::ProxyRow {
        time_ms: ioc::INCIDENT_MS + 3_600_000,
        protocol: "Owa".into(),
        url_stem: "/owa/auth/y.js".into(),
        anchor: ioc::SSRF_ANCHOR.replace("{host}", &h.fqdn()),
        client_ip: "203.0.113.99".into(),
        status: 200,
        method: "POST".into(),
        ..Default::default()
    };
    let line = ioc::proxy_line(&row, &h.fqdn(), 999);
    append(&log, &line);

    let options = Options {
        ioc_marks: marks,
        ..Options::default()
    };
    let (second, _) = collect(tmp.path(), &options);
    let ssrf = &by_kind(&second)["cve_2021_26855"];
    assert_eq!(ssrf.len(), 1, "only the appended line: {ssrf:#?}");
    assert_eq!(ssrf[0].client_ip, "203.0.113.99");
    assert_eq!(ssrf[0].line, lines_before + 1);
    let read: Vec<(&str, u64)> = second
        .ioc_scans
        .iter()
        .filter(|c| c.indicator == "cve_2021_26855" && c.bytes > 0)
        .map(|c| (c.folder.as_str(), c.bytes))
        .collect();
    assert_eq!(
        read,
        [("Owa", line.len() as u64)],
        "only the appended bytes were read"
    );
    // The other logs were read to their end before: nothing of them again.
    assert!(!by_kind(&second).contains_key("cve_2021_27065_ecp"));
    assert!(!by_kind(&second).contains_key("cve_2022_41040"));
}

fn iis_log(root: &Path) -> std::path::PathBuf {
    let folder = walk_find(root, "W3SVC1").unwrap();
    let mut logs: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    logs.sort();
    logs.pop().unwrap()
}

#[test]
fn a_resumed_iis_log_keeps_its_fields_and_its_times() {
    let tmp = tempfile::tempdir().unwrap();
    server(true, tmp.path());
    let (first, marks) = collect(tmp.path(), &Options::default());
    let coverage = |s: &Snapshot| {
        s.ioc_scans
            .iter()
            .find(|c| c.indicator == "cve_2022_41040")
            .unwrap()
            .clone()
    };
    // The IIS date and time are two fields: the oldest record's time is known.
    assert_ne!(coverage(&first).oldest_ms, 0);
    append(
        &iis_log(tmp.path()),
        "2026-11-11 05:06:07 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/powershell/?Email=autodiscover/autodiscover.json%3F@evil.com 443 - 198.51.100.9 python-requests/2.28.1 - 200 0 0 9\r\n",
    );
    let (second, _) = collect(
        tmp.path(),
        &Options {
            ioc_marks: marks,
            ..Options::default()
        },
    );
    let hits = &by_kind(&second)["cve_2022_41040"];
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].client_ip, "198.51.100.9");
    assert_eq!(hits[0].status, "200");
    assert_eq!(hits[0].time_ms, 1_794_373_567_000);
    assert!(hits[0]
        .url
        .starts_with("/autodiscover/autodiscover.json?@evil.com"));
}

#[test]
fn a_log_replaced_under_its_name_is_read_again_from_its_start() {
    let tmp = tempfile::tempdir().unwrap();
    server(true, tmp.path());
    let (_, marks) = collect(tmp.path(), &Options::default());
    let log = owa_log(tmp.path());
    let text = std::fs::read_to_string(&log).unwrap();
    // A new file of the same name, shorter, with the plant still in it.
    let lines: Vec<&str> = text.lines().collect();
    let keep = lines[..lines.len() - 5]
        .join("\n")
        .replace("2026-11-10T03", "2026-11-10T09");
    std::fs::write(&log, keep + "\n").unwrap();
    let (second, _) = collect(
        tmp.path(),
        &Options {
            ioc_marks: marks,
            ..Options::default()
        },
    );
    assert_eq!(by_kind(&second)["cve_2021_26855"].len(), 1);
}

#[test]
fn ioc_since_drops_older_records_and_skips_older_files() {
    let tmp = tempfile::tempdir().unwrap();
    server(true, tmp.path());
    let options = Options {
        ioc_since_ms: ioc::INCIDENT_MS + 60_000,
        ..Options::default()
    };
    let (s, _) = collect(tmp.path(), &options);
    let m = by_kind(&s);
    // The two HttpProxy plants are at the incident's start, before the window.
    assert!(!m.contains_key("cve_2021_26855"), "{m:#?}");
    assert!(m.contains_key("cve_2022_41040"));
    assert!(
        m.contains_key("lsass_dump"),
        "files are listed whatever their time"
    );
    assert_eq!(s.ioc_since_ms, ioc::INCIDENT_MS + 60_000);
}

#[test]
fn marks_made_under_a_later_window_are_not_resumed_from() {
    let tmp = tempfile::tempdir().unwrap();
    server(true, tmp.path());
    let (narrow, marks) = collect(
        tmp.path(),
        &Options {
            ioc_since_ms: ioc::INCIDENT_MS + 60_000,
            ..Options::default()
        },
    );
    assert!(!by_kind(&narrow).contains_key("cve_2021_26855"));
    // A run over all time: the records the narrow window passed over are read now.
    let (all, _) = collect(
        tmp.path(),
        &Options {
            ioc_marks: marks,
            ..Options::default()
        },
    );
    assert_eq!(by_kind(&all)["cve_2021_26855"].len(), 2);
}

#[test]
fn the_marks_move_only_once_the_snapshot_is_durable() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("server");
    server(true, &root);
    let marks = tmp.path().join("ioc-marks.json");
    let run = |out: &Path| {
        let cli = exfleet_collector::cli::Cli::parse_from([
            "exfleet-collector",
            "collect",
            "--root",
            root.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--ioc-marks",
            marks.to_str().unwrap(),
        ]);
        exfleet_collector::cli::run(cli)
    };
    // The snapshot cannot be written (its folder does not exist): the marks stay unwritten.
    let lost = run(&tmp.path().join("no-such-folder").join("s.json"));
    assert!(lost.is_err());
    assert!(!marks.exists(), "a lost snapshot moved the marks");
    // Written: the marks move, and the next run finds nothing new in the logs.
    run(&tmp.path().join("s1.json")).unwrap();
    let saved = Marks::load(&marks).unwrap();
    assert!(saved.0.keys().any(|k| k.contains("HttpProxy")), "{saved:?}");
    let before = std::fs::read(&marks).unwrap();
    run(&tmp.path().join("s2.json")).unwrap();
    let s2: Snapshot =
        serde_json::from_slice(&std::fs::read(tmp.path().join("s2.json")).unwrap()).unwrap();
    assert!(
        s2.ioc_matches.iter().all(|m| m.line == 0),
        "{:#?}",
        s2.ioc_matches
    );
    assert_eq!(std::fs::read(&marks).unwrap(), before);
}

#[test]
fn a_damaged_marks_file_is_reported_and_every_log_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("server");
    server(true, &root);
    let marks = tmp.path().join("ioc-marks.json");
    std::fs::write(&marks, b"{\"half").unwrap();
    let out = tmp.path().join("s.json");
    let cli = exfleet_collector::cli::Cli::parse_from([
        "exfleet-collector",
        "collect",
        "--root",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--ioc-marks",
        marks.to_str().unwrap(),
    ]);
    exfleet_collector::cli::run(cli).unwrap();
    let s: Snapshot = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let error = s
        .errors
        .iter()
        .find(|e| e.kind == "marks_unreadable")
        .expect("the damaged marks file is reported");
    assert_eq!(error.reader, "ioc");
    assert!(
        error.message.contains("ioc-marks.json"),
        "{}",
        error.message
    );
    assert_eq!(by_kind(&s)["cve_2021_26855"].len(), 2);
    // The marks are written anew.
    assert!(!Marks::load(&marks).unwrap().0.is_empty());
}

#[test]
fn every_log_below_the_iis_log_folder_is_hunted() {
    let tmp = tempfile::tempdir().unwrap();
    server(true, tmp.path());
    let log = iis_log(tmp.path());
    // Microsoft's query: every *.log below LogFiles, whatever its folder and name.
    let moved = log.parent().unwrap().parent().unwrap().join("Custom");
    std::fs::create_dir(&moved).unwrap();
    std::fs::rename(&log, moved.join("access.log")).unwrap();
    let (s, _) = collect(tmp.path(), &Options::default());
    let hits = &by_kind(&s)["cve_2022_41040"];
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert!(
        hits[0].file.ends_with("Custom/access.log"),
        "{}",
        hits[0].file
    );
    assert_eq!(hits[0].client_ip, ioc::ATTACKER_NOTSHELL);
}

#[test]
fn the_iis_log_folders_of_application_host_config_are_hunted() {
    let tmp = tempfile::tempdir().unwrap();
    server(true, tmp.path());
    // The logs moved to a folder of the server's own, which applicationHost.config names.
    let site = iis_log(tmp.path()).parent().unwrap().to_path_buf();
    let custom = tmp.path().join("Logs").join("IIS");
    std::fs::create_dir_all(&custom).unwrap();
    std::fs::rename(&site, custom.join("W3SVC1")).unwrap();
    // Not named: not looked at.
    let (s, _) = collect(tmp.path(), &Options::default());
    assert!(!by_kind(&s).contains_key("cve_2022_41040"));
    // Named in siteDefaults, with %SystemDrive%; a site's folder with a variable IIS does not
    // expand is left out, and said with its line.
    let config = walk_find(tmp.path(), "inetsrv")
        .unwrap()
        .join("config")
        .join("applicationHost.config");
    let text = std::fs::read_to_string(&config).unwrap();
    let default = r"%SystemDrive%\inetpub\logs\LogFiles";
    assert!(text.contains(default));
    let text = text.replace(default, r"%SystemDrive%\Logs\IIS").replacen(
        "</site>",
        r#"<logFile directory="%LOGS%\IIS" /></site>"#,
        1,
    );
    std::fs::write(&config, &text).unwrap();
    let (s, _) = collect(tmp.path(), &Options::default());
    let hits = &by_kind(&s)["cve_2022_41040"];
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert!(
        hits[0].file.contains("Logs/IIS/W3SVC1/"),
        "{}",
        hits[0].file
    );
    assert_eq!(hits[0].client_ip, ioc::ATTACKER_NOTSHELL);
    let line = text[..text.find("%LOGS%").unwrap()].lines().count();
    let errors: Vec<_> = s
        .errors
        .iter()
        .filter(|e| e.reader == "ioc" && e.kind == "unexpanded_variable")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].message.contains(&format!("line {line}:"))
            && errors[0].message.contains(r"%LOGS%\IIS"),
        "{errors:#?}"
    );
}
