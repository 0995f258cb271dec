//! HttpProxy logs (`<install>Logging\HttpProxy\`, every protocol's folder, `*.log`): CSV with a
//! header row, `#` metadata lines, quoted values. Two indicators:
//!
//! - CVE-2021-26855: `AnchorMailbox` matches `ServerInfo~*/*` and neither
//!   `ServerInfo~*/autodiscover*` nor `ServerInfo~localhost*/*` (case ignored, whole value);
//! - CVE-2021-27065 (a), in the `Ecp` folder only: `AnchorMailbox` matches
//!   `ServerInfo~*/*Reset*VirtualDirectory#` and `HttpStatus` is `200`.
//!
//! Test-ProxyLogon parses a file as CSV only when it holds `ServerInfo~`; here that literal
//! picks the lines (a row can only match when its line holds it), and only those are parsed.

use std::sync::LazyLock;

use exfleet_proto::kinds::IocKind;
use exfleet_proto::v1::IocMatch;
use regex::Regex;

use super::csv::{fields, Header};
use super::scan::{Hit, Literals};
use super::{detail, parse_time, Found, LogFile, Scan, Unjudged};
use crate::provenance;
use crate::readers::Reader;

/// The pre-filter literal of both indicators.
pub const LITERAL: &str = "ServerInfo~";

static SSRF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)^ServerInfo~.*/").unwrap());
static SSRF_AUTODISCOVER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^ServerInfo~.*/autodiscover").unwrap());
static SSRF_LOCALHOST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^ServerInfo~localhost.*/").unwrap());
static RESET_VDIR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^ServerInfo~.*/.*Reset.*VirtualDirectory#$").unwrap());

/// Whether an `AnchorMailbox` value is the CVE-2021-26855 indicator.
pub fn is_ssrf(anchor: &str) -> bool {
    SSRF.is_match(anchor) && !SSRF_AUTODISCOVER.is_match(anchor) && !SSRF_LOCALHOST.is_match(anchor)
}

/// Whether an `AnchorMailbox` value and status are the CVE-2021-27065 (a) indicator.
pub fn is_reset_vdir(anchor: &str, status: &str) -> bool {
    RESET_VDIR.is_match(anchor) && status.trim() == "200"
}

/// Scans the HttpProxy logs (the bulk of the logs: on several threads). Their coverage is
/// kept per protocol folder (the reference's log age is per folder: a busy folder trimmed
/// short is not hidden by a quiet one that reaches far back).
pub fn scan(logs: &[LogFile], scan: &mut Scan) {
    let literals = Literals::new(&[LITERAL]);
    scan.found.coverage_of(&IocKind::Cve2021_26855);
    scan.found.coverage_of(&IocKind::Cve2021_27065Proxy);
    let kinds = |f: &LogFile| {
        let folder = folder(f);
        let kinds = if is_ecp(&folder) {
            vec![IocKind::Cve2021_26855, IocKind::Cve2021_27065Proxy]
        } else {
            vec![IocKind::Cve2021_26855]
        };
        (kinds, folder)
    };
    let judge = |found: &mut Found, header: &Header, hit: Hit, f: &LogFile| {
        row(found, header, hit, &f.display, &folder(f))
    };
    scan.read_logs(logs, &kinds, &literals, false, &judge);
}

/// The folder name of the HttpProxy logs directly in `Logging\HttpProxy` (not in a protocol
/// folder): a name of their own, as an empty one means all the folders (older collectors).
pub const ROOT_FOLDER: &str = "(root)";

/// The protocol folder of an HttpProxy log (the first folder of its path below
/// `Logging\HttpProxy`; [`ROOT_FOLDER`] for a file directly in it).
pub fn folder(f: &LogFile) -> String {
    match f.relative.split_once('\\') {
        Some((top, _)) => top.to_string(),
        None => ROOT_FOLDER.to_string(),
    }
}

/// Whether a protocol folder is the `Ecp` one.
fn is_ecp(folder: &str) -> bool {
    folder.eq_ignore_ascii_case("Ecp")
}

/// Judges one line holding the literal, of a log in the protocol folder `folder` (CVE-2021-27065
/// in `Ecp` only). A cut last line ([`Hit::partial`]), or a line longer than the scan hands
/// over whole ([`Hit::cut`]), is judged only on values another value follows (whole): the
/// conditions hold on a whole value (a cut `ServerInfo~host/autod` passes the autodiscover
/// exclusion the whole value meets).
pub fn row(
    found: &mut Found,
    header: &Header,
    hit: Hit,
    path: &str,
    folder: &str,
) -> Result<(), Unjudged> {
    let ecp = is_ecp(folder);
    if hit.text.first() == Some(&b'#') {
        return Ok(());
    }
    let missing = |column: &str, indicators: &str| Unjudged {
        kind: "missing_column",
        why: format!(
            "the header has no {column} column: rows holding {LITERAL} cannot be judged for \
             {indicators}"
        ),
    };
    if header.column("AnchorMailbox").is_none() {
        let indicators = if ecp {
            "CVE-2021-26855 or CVE-2021-27065"
        } else {
            "CVE-2021-26855"
        };
        return Err(missing("AnchorMailbox", indicators));
    }
    let values = fields(hit.text);
    let col = |name: &str| {
        header
            .column(name)
            .and_then(|i| values.get(i))
            .map_or("", |v| v.as_ref())
    };
    let cut = |name: &str| {
        (hit.partial || hit.cut) && header.column(name).is_some_and(|i| i + 1 >= values.len())
    };
    let anchor = col("AnchorMailbox");
    let status = col("HttpStatus");
    let mut kinds = Vec::new();
    let mut refused = None;
    if cut("AnchorMailbox") {
        refused = Some("AnchorMailbox");
    } else if is_ssrf(anchor) {
        kinds.push(IocKind::Cve2021_26855);
    }
    let mut no_status = None;
    if ecp && refused.is_none() {
        if header.column("HttpStatus").is_none() {
            no_status = Some(missing("HttpStatus", "CVE-2021-27065"));
        } else if cut("HttpStatus") {
            refused = Some("HttpStatus");
        } else if is_reset_vdir(anchor, status) {
            kinds.push(IocKind::Cve2021_27065Proxy);
        }
    }
    let refused = match (refused, no_status) {
        (Some(column), _) if hit.cut => Err(Unjudged {
            kind: "long_line",
            why: format!(
                "the line is longer than {} bytes and was read cut in or before its {column} \
                 value: not judged",
                super::scan::MAX_LINE
            ),
        }),
        (Some(column), _) => Err(Unjudged {
            kind: "partial_line",
            why: format!(
                "the file's last line has no line ending and is cut in or before its {column} \
                 value (copied while being written, or its writer stopped mid-row?): not judged"
            ),
        }),
        (None, Some(missing)) => Err(missing),
        (None, None) => Ok(()),
    };
    if kinds.is_empty() {
        return refused;
    }
    let reported = [
        "RequestId",
        "UrlHost",
        "RoutingHint",
        "UserAgent",
        "AnchorMailbox",
    ]
    .iter()
    .map(|c| format!("{c}={}", col(c)))
    .collect::<Vec<_>>()
    .join("; ");
    let m = IocMatch {
        file: path.to_string(),
        line: hit.line,
        offset: hit.offset,
        time_ms: parse_time(col("DateTime")).unwrap_or(0),
        client_ip: col("ClientIpAddress").to_string(),
        user: col("AuthenticatedUser").to_string(),
        url: col("UrlStem").to_string(),
        status: status.to_string(),
        detail: detail(reported.as_bytes()),
        provenance: Some(provenance::line(super::Ioc::NAME, path, hit.line)),
        ..Default::default()
    };
    for k in kinds {
        found.found_in(k, folder, m.clone());
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEADER: &[u8] = b"DateTime,ClientIpAddress,UrlStem,AnchorMailbox,HttpStatus";

    fn judge(line: &[u8], ecp: bool) -> Vec<IocMatch> {
        let mut found = Found::default();
        let hit = Hit {
            line: 7,
            offset: 100,
            text: line,
            partial: false,
            cut: false,
        };
        row(
            &mut found,
            &Header::parse(HEADER),
            hit,
            "HttpProxy/Ecp/x.LOG",
            if ecp { "Ecp" } else { "Owa" },
        )
        .unwrap();
        found.into_matches()
    }

    /// A scan of `logs` (below `root`, in the `Owa` folder), on the live server or a copy; with
    /// its matches, collection errors and marks.
    fn scan_logs(
        root: &std::path::Path,
        names: &[&str],
        live: bool,
        marks: super::super::marks::Marks,
    ) -> (
        Vec<IocMatch>,
        Vec<(String, String)>,
        super::super::marks::Marks,
    ) {
        let dir = crate::files::ServerFiles::new(root);
        let logs = super::super::listed(&dir, root, names);
        let mut s = Scan::new(&dir, 0, marks);
        s.partial_last = !live;
        scan(&logs, &mut s);
        let errors = s
            .errors
            .iter()
            .map(|(kind, _, _, message)| (kind.clone(), message.clone()))
            .collect();
        (s.found.into_matches(), errors, s.next_marks)
    }

    const LOG_HEAD: &str = "DateTime,ClientIpAddress,AnchorMailbox,HttpStatus,UserAgent\n";

    #[test]
    fn a_live_log_cut_mid_row_is_judged_only_once_the_row_is_whole() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("Owa")).unwrap();
        let log = tmp.path().join("Owa/x.log");
        let cut = "2021-03-03T04:05:06Z,10.0.0.1,ServerInfo~EX02.contoso.com/autod";
        std::fs::write(&log, format!("{LOG_HEAD}{cut}")).unwrap();
        let (m, errors, marks) = scan_logs(tmp.path(), &["Owa/x.log"], true, Default::default());
        assert!(m.is_empty(), "{m:#?}");
        assert!(errors.is_empty(), "{errors:?}");
        let mark = marks.0.values().next().unwrap();
        assert_eq!((mark.offset, mark.line), (LOG_HEAD.len() as u64, 2));

        // The writer finishes the row: the server's own autodiscover traffic, no match.
        let mut text = std::fs::read_to_string(&log).unwrap();
        text.push_str("iscover/autodiscover.xml,200,x\n");
        std::fs::write(&log, &text).unwrap();
        let (m, _, marks) = scan_logs(tmp.path(), &["Owa/x.log"], true, marks);
        assert!(m.is_empty(), "{m:#?}");

        // A malicious row written whole is found, with its line.
        text.push_str("2021-03-03T04:06:00Z,203.0.113.5,ServerInfo~a]@ex:444/ecp/y.ecp#,200,x\n");
        std::fs::write(&log, &text).unwrap();
        let (m, _, _) = scan_logs(tmp.path(), &["Owa/x.log"], true, marks);
        assert_eq!(m.len(), 1, "{m:#?}");
        assert_eq!(
            (m[0].indicator.as_str(), m[0].line, m[0].client_ip.as_str()),
            ("cve_2021_26855", 3, "203.0.113.5")
        );
    }

    #[test]
    fn a_huge_row_is_reported_once_and_the_lines_after_it_keep_their_numbers() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("Owa")).unwrap();
        let log = tmp.path().join("Owa/x.log");
        // Line 2: a malicious row with a 2 MiB UserAgent; line 3 still being written.
        let mut text = format!(
            "{LOG_HEAD}2021-03-03T04:05:06Z,203.0.113.5,ServerInfo~a]@ex:444/ecp/y.ecp#,200,{}\n",
            "x".repeat(2 * super::super::scan::BLOCK)
        );
        let huge_end = text.len() as u64;
        text.push_str("2021-03-03T04:06:00Z,203.0.113.6,ServerInfo~b]@ex:444/ecp/z.ecp#,20");
        std::fs::write(&log, &text).unwrap();
        let (m, _, marks) = scan_logs(tmp.path(), &["Owa/x.log"], true, Default::default());
        assert_eq!(m.iter().map(|m| m.line).collect::<Vec<_>>(), [2]);
        let mark = marks.0.values().next().unwrap();
        assert_eq!((mark.offset, mark.line), (huge_end, 3));
        // The row is finished: found once, at its line; the huge row not again.
        text.push_str("0,x\n");
        std::fs::write(&log, &text).unwrap();
        let (m, _, marks) = scan_logs(tmp.path(), &["Owa/x.log"], true, marks);
        let got: Vec<(u32, &str)> = m.iter().map(|m| (m.line, m.client_ip.as_str())).collect();
        assert_eq!(got, [(3, "203.0.113.6")]);
        let (m, _, _) = scan_logs(tmp.path(), &["Owa/x.log"], true, marks);
        assert!(m.is_empty(), "{m:#?}");
    }

    #[test]
    fn a_live_log_no_longer_written_has_its_cut_last_line_judged_once() {
        let tmp = tempfile::tempdir().unwrap();
        for folder in ["Owa", "Eas"] {
            std::fs::create_dir(tmp.path().join(folder)).unwrap();
        }
        // Its writer died mid-row; Exchange went on in a newer file, itself cut mid-write.
        let bad = "2021-03-03T04:06:00Z,203.0.113.5,ServerInfo~a]@ex:444/ecp/y.ecp#,200,cur";
        for name in ["Owa/a.log", "Owa/b.log", "Eas/c.log"] {
            std::fs::write(tmp.path().join(name), format!("{LOG_HEAD}{bad}")).unwrap();
        }
        let written_ago = |name: &str, secs: u64| {
            std::fs::File::options()
                .write(true)
                .open(tmp.path().join(name))
                .unwrap()
                .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(secs))
                .unwrap();
        };
        // The Eas folder's only file, last written two days ago; the Owa folder's older file
        // ten minutes ago (not its newest).
        written_ago("Eas/c.log", 2 * 24 * 3600);
        written_ago("Owa/a.log", 600);
        let names = ["Eas/c.log", "Owa/a.log", "Owa/b.log"];
        let (m, errors, marks) = scan_logs(tmp.path(), &names, true, Default::default());
        let files: Vec<&str> = m.iter().map(|m| &m.file[m.file.len() - 5..]).collect();
        assert_eq!(files, ["c.log", "a.log"], "{m:#?}");
        assert!(m
            .iter()
            .all(|m| m.line == 2 && m.client_ip == "203.0.113.5"));
        assert!(errors.is_empty(), "{errors:?}");
        // The settled files' marks move past the judged line; the newest file's stays before it.
        let end = (LOG_HEAD.len() + bad.len()) as u64;
        let offsets: Vec<u64> = marks.0.values().map(|mark| mark.offset).collect();
        assert_eq!(offsets, [end, end, LOG_HEAD.len() as u64]);
        // The next run reports them no more.
        let (m, _, _) = scan_logs(tmp.path(), &names, true, marks);
        assert!(m.is_empty(), "{m:#?}");
    }

    #[test]
    fn a_header_still_being_written_is_not_kept_in_the_mark() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("Owa")).unwrap();
        let log = tmp.path().join("Owa/x.log");
        std::fs::write(&log, &LOG_HEAD[..30]).unwrap();
        let (m, errors, marks) = scan_logs(tmp.path(), &["Owa/x.log"], true, Default::default());
        assert!(m.is_empty() && errors.is_empty(), "{m:#?} {errors:?}");
        let mark = marks.0.values().next().unwrap();
        assert_eq!((mark.offset, mark.header.as_str()), (0, ""));
        // The header and a malicious row written: the row is judged with the whole header.
        let row = "2021-03-03T04:06:00Z,203.0.113.5,ServerInfo~a]@ex:444/ecp/y.ecp#,200,x\n";
        std::fs::write(&log, format!("{LOG_HEAD}{row}")).unwrap();
        let (m, errors, _) = scan_logs(tmp.path(), &["Owa/x.log"], true, marks);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(m.len(), 1, "{m:#?}");
        assert_eq!((m[0].line, m[0].client_ip.as_str()), (2, "203.0.113.5"));
    }

    #[test]
    fn a_line_cut_to_the_longest_handed_over_is_judged_on_whole_values_only() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("Owa")).unwrap();
        // An autodiscover AnchorMailbox (the server's own traffic) cut at MAX_LINE by its
        // length: `.../autod` must not pass the autodiscover exclusion.
        let prefix = "2021-03-03T04:05:06Z,10.0.0.1,ServerInfo~EX02.contoso.com/";
        let pad = "x".repeat(super::super::scan::MAX_LINE - prefix.len() - "autod".len());
        let long = format!("{prefix}{pad}autodiscover/autodiscover.xml,200,x\n");
        // A malicious row whose UserAgent is what is cut: judged on its whole AnchorMailbox.
        let bad = format!(
            "2021-03-03T04:06:00Z,203.0.113.5,ServerInfo~a]@ex:444/ecp/y.ecp#,200,{}\n",
            "y".repeat(super::super::scan::MAX_LINE)
        );
        std::fs::write(
            tmp.path().join("Owa/a.log"),
            format!("{LOG_HEAD}{long}{bad}"),
        )
        .unwrap();
        let (m, errors, _) = scan_logs(tmp.path(), &["Owa/a.log"], true, Default::default());
        let got: Vec<(u32, &str)> = m.iter().map(|m| (m.line, m.client_ip.as_str())).collect();
        assert_eq!(got, [(3, "203.0.113.5")], "{m:#?}");
        assert!(
            errors.iter().any(|(kind, message)| kind == "long_line"
                && message.contains("a.log: line 2:")
                && message.contains("AnchorMailbox")),
            "{errors:?}"
        );
    }

    #[test]
    fn a_copy_judges_its_last_line_without_an_end_on_whole_values_only() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("Owa")).unwrap();
        // Cut inside AnchorMailbox: not judged, and said.
        let cut = "2021-03-03T04:05:06Z,10.0.0.1,ServerInfo~EX02.contoso.com/autod";
        std::fs::write(tmp.path().join("Owa/a.log"), format!("{LOG_HEAD}{cut}")).unwrap();
        // Cut in a later column: the malicious row is judged.
        let bad = "2021-03-03T04:06:00Z,203.0.113.5,ServerInfo~a]@ex:444/ecp/y.ecp#,200,curl";
        std::fs::write(tmp.path().join("Owa/b.log"), format!("{LOG_HEAD}{bad}")).unwrap();
        let (m, errors, marks) = scan_logs(
            tmp.path(),
            &["Owa/a.log", "Owa/b.log"],
            false,
            Default::default(),
        );
        assert_eq!(m.len(), 1, "{m:#?}");
        assert!(m[0].file.ends_with("b.log"), "{}", m[0].file);
        assert_eq!(m[0].line, 2);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "partial_line");
        assert!(
            errors[0].1.contains("a.log: line 2:") && errors[0].1.contains("AnchorMailbox"),
            "{}",
            errors[0].1
        );
        // The marks stop before the cut lines all the same.
        assert!(marks
            .0
            .values()
            .all(|mark| mark.offset == LOG_HEAD.len() as u64));
    }

    #[test]
    fn a_row_is_judged_on_its_columns_by_name() {
        let m = judge(
            b"2021-03-03T04:05:06.123Z,203.0.113.5,/ecp/y.js,\"ServerInfo~a]@ex:444/ecp/x?schema=ResetOABVirtualDirectory#\",200",
            true,
        );
        let kinds: Vec<&str> = m.iter().map(|m| m.indicator.as_str()).collect();
        assert_eq!(kinds, ["cve_2021_26855", "cve_2021_27065_proxy"]);
        assert_eq!(m[0].client_ip, "203.0.113.5");
        assert_eq!(m[0].time_ms, 1614744306123);
        assert_eq!((m[0].line, m[0].offset), (7, 100));
        // Outside the Ecp folder only the first; a comment line never.
        assert_eq!(
            judge(
                b"2021-03-03T04:05:06Z,1,/,ServerInfo~a/ecp/ResetXVirtualDirectory#,200",
                false
            )
            .len(),
            1
        );
        assert!(judge(b"#Fields: ServerInfo~a/b", true).is_empty());
    }

    proptest! {
        // Any line holding the literal: judged without a panic, and a match only when its
        // AnchorMailbox column says so.
        #[test]
        fn any_line_is_judged_without_panic(
            before in proptest::collection::vec(any::<u8>(), 0..60),
            after in proptest::collection::vec(any::<u8>(), 0..60),
        ) {
            let mut line = before;
            line.extend_from_slice(b"ServerInfo~");
            line.extend_from_slice(&after);
            for m in judge(&line, true) {
                let anchor = crate::readers::ioc::csv::fields(&line).get(3).map(|c| c.to_string()).unwrap_or_default();
                prop_assert!(is_ssrf(&anchor) || is_reset_vdir(&anchor, &m.status));
            }
        }
    }

    #[test]
    fn a_header_without_a_judged_column_is_a_collection_error_not_a_clean_file() {
        let tmp = tempfile::tempdir().unwrap();
        for folder in ["Owa", "Ecp"] {
            std::fs::create_dir(tmp.path().join(folder)).unwrap();
        }
        let row = "2021-03-03T04:06:00Z,203.0.113.5,ServerInfo~a]@ex:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory#,200\n";
        // No AnchorMailbox (renamed): nothing can be judged.
        std::fs::write(
            tmp.path().join("Owa/a.log"),
            format!("DateTime,ClientIpAddress,Anchor,HttpStatus\n{row}{row}"),
        )
        .unwrap();
        // No HttpStatus in the Ecp folder: CVE-2021-26855 judged, CVE-2021-27065 not.
        std::fs::write(
            tmp.path().join("Ecp/b.log"),
            format!("DateTime,ClientIpAddress,AnchorMailbox,Status\n{row}"),
        )
        .unwrap();
        let (m, errors, _) = scan_logs(
            tmp.path(),
            &["Owa/a.log", "Ecp/b.log"],
            true,
            Default::default(),
        );
        let kinds: Vec<&str> = m.iter().map(|m| m.indicator.as_str()).collect();
        assert_eq!(kinds, ["cve_2021_26855"]);
        assert!(m[0].file.ends_with("b.log"));
        // One error per file, naming it, the line and the column.
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().all(|(kind, _)| kind == "missing_column"));
        assert!(
            errors[0].1.contains("a.log: line 2:") && errors[0].1.contains("no AnchorMailbox"),
            "{}",
            errors[0].1
        );
        assert!(
            errors[1].1.contains("b.log: line 2:")
                && errors[1].1.contains("no HttpStatus")
                && errors[1].1.contains("CVE-2021-27065"),
            "{}",
            errors[1].1
        );
    }

    #[test]
    fn coverage_is_kept_per_protocol_folder() {
        let tmp = tempfile::tempdir().unwrap();
        for (folder, day) in [("Owa", "01"), ("Ecp", "26")] {
            std::fs::create_dir(tmp.path().join(folder)).unwrap();
            std::fs::write(
                tmp.path().join(format!("{folder}/x.log")),
                format!("{LOG_HEAD}2021-03-{day}T00:00:00Z,10.0.0.1,,200,x\n"),
            )
            .unwrap();
        }
        let dir = crate::files::ServerFiles::new(tmp.path());
        // A file directly in the HttpProxy folder, not in a protocol folder.
        std::fs::write(
            tmp.path().join("x.log"),
            format!("{LOG_HEAD}2021-03-20T00:00:00Z,10.0.0.1,,200,x\n"),
        )
        .unwrap();
        let logs = super::super::listed(&dir, tmp.path(), &["Ecp/x.log", "Owa/x.log", "x.log"]);
        let mut s = Scan::new(&dir, 0, Default::default());
        scan(&logs, &mut s);
        let (_, scans) = s.found.into_parts();
        let got: Vec<(&str, &str, u64, i64)> = scans
            .iter()
            .map(|c| {
                (
                    c.indicator.as_str(),
                    c.folder.as_str(),
                    c.files,
                    c.oldest_ms,
                )
            })
            .collect();
        let day = |d: &str| super::super::parse_time(d).unwrap();
        assert_eq!(
            got,
            [
                (
                    "cve_2021_26855",
                    ROOT_FOLDER,
                    1,
                    day("2021-03-20T00:00:00Z")
                ),
                ("cve_2021_26855", "Ecp", 1, day("2021-03-26T00:00:00Z")),
                ("cve_2021_26855", "Owa", 1, day("2021-03-01T00:00:00Z")),
                (
                    "cve_2021_27065_proxy",
                    "Ecp",
                    1,
                    day("2021-03-26T00:00:00Z")
                ),
            ]
        );
    }

    #[test]
    fn the_26855_condition_as_the_reference_states_it() {
        assert!(is_ssrf(
            "ServerInfo~a]@mail.contoso.com:444/ecp/proxyLogon.ecp#"
        ));
        assert!(is_ssrf("serverinfo~X/y"));
        // Autodiscover and localhost are the server's own traffic.
        assert!(!is_ssrf("ServerInfo~host/autodiscover/autodiscover.xml"));
        assert!(!is_ssrf("ServerInfo~host/AutoDiscover"));
        assert!(!is_ssrf("ServerInfo~localhost:444/ecp"));
        assert!(!is_ssrf("ServerInfo~LOCALHOST/x"));
        // No path: not a match; not at the start: not a match.
        assert!(!is_ssrf("ServerInfo~host"));
        assert!(!is_ssrf("Smtp~ServerInfo~host/x"));
        assert!(!is_ssrf(""));
    }

    #[test]
    fn the_27065_proxy_condition_needs_the_end_and_200() {
        let a = "ServerInfo~a]@ex01:444/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary=x&schema=ResetOABVirtualDirectory#";
        assert!(is_reset_vdir(a, "200"));
        assert!(!is_reset_vdir(a, "500"));
        assert!(!is_reset_vdir(&a[..a.len() - 1], "200"));
        assert!(!is_reset_vdir(
            "ServerInfo~ex01/ecp/SetOABVirtualDirectory#",
            "200"
        ));
    }
}
