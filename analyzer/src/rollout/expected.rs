//! The servers that should report (`--expected FILE`): a CSV of server names with optional
//! site, DAG and role columns, or what `Get-ExchangeServer | Export-Csv` writes (a `#TYPE`
//! first line, every value quoted, columns Name, Site, ServerRole, AdminDisplayVersion, ...,
//! Site as `contoso.local/Configuration/Sites/Paris`). The header says which columns the file
//! has; names compare without case and without the DNS domain. Files as Windows writes them
//! are read as they are: UTF-8, or UTF-16 (little or big endian) with its byte order mark,
//! and `,`, `;` (Export-Csv -UseCulture in many locales) or tab as the delimiter, told by the
//! header line. A bad row is an error naming the file and line, and the other rows are kept.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;

/// One server the operator expects, with the labels the file gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// NetBIOS name, upper case.
    pub name: String,
    /// AD site label (empty: not given).
    pub site: String,
    /// DAG label.
    pub dag: String,
    /// Role label (`ServerRole`, or a role group such as `cas internet-facing`).
    pub role: String,
    /// The version the file says (`AdminDisplayVersion`), as written.
    pub version: String,
    /// The line it was read from.
    pub line: usize,
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

/// The expected servers in file order, and the rows left out.
#[derive(Debug, Clone, Default)]
pub struct ExpectedList {
    /// Servers, in the order of the file (that order is the operator's site order).
    pub servers: Vec<Expected>,
    /// Rows that could not be read.
    pub bad: Vec<BadRow>,
}

impl ExpectedList {
    /// The entry of a host, by name.
    pub fn get(&self, host: &str) -> Option<&Expected> {
        let n = netbios(host);
        self.servers.iter().find(|e| e.name == n)
    }
}

/// Reads the file; an unreadable file or one without a name column is an error, a bad row
/// is named in [`ExpectedList::bad`].
pub fn read(path: &Path) -> Result<ExpectedList, Error> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    parse(&decode(&bytes), path)
}

/// Text of a file: UTF-16 by its byte order mark (what Windows PowerShell 5.1's `Out-File`
/// and `Export-Csv -Encoding Unicode` write), else UTF-8 (invalid bytes replaced).
pub fn decode(bytes: &[u8]) -> String {
    let utf16 = |rest: &[u8], unit: fn([u8; 2]) -> u16| {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| unit([c[0], c.get(1).copied().unwrap_or(0)]))
            .collect();
        String::from_utf16_lossy(&units)
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The delimiter of the header line: the most frequent of `,`, `;` and tab outside quotes
/// (`,` when none is).
fn delimiter(text: &str) -> char {
    let header = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("#TYPE"))
        .unwrap_or_default();
    let mut quoted = false;
    let mut counts = [(',', 0usize), (';', 0), ('\t', 0)];
    for c in header.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(n) = counts.iter_mut().find(|(d, _)| *d == c) {
                n.1 += 1;
            }
        }
    }
    counts
        .iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map_or(',', |(d, _)| *d)
}

/// Column names, lower case, for each label.
const NAME: [&str; 5] = ["name", "server", "servername", "host", "computername"];
const SITE: [&str; 3] = ["site", "adsite", "ad_site"];
const DAG: [&str; 3] = ["dag", "databaseavailabilitygroup", "dagname"];
const ROLE: [&str; 4] = ["role", "serverrole", "rolegroup", "role_group"];
const VERSION: [&str; 2] = ["admindisplayversion", "version"];

/// Parses CSV text (see the module doc).
pub fn parse(text: &str, path: &Path) -> Result<ExpectedList, Error> {
    let bad_file = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = records(text, delimiter(text))
        .into_iter()
        .filter(|(_, r)| !matches!(r, Ok(f) if f.len() == 1 && f[0].trim().is_empty()));
    let (mut header_line, mut header) = records
        .next()
        .ok_or_else(|| bad_file("empty file: no header line".into()))?;
    if header
        .as_ref()
        .is_ok_and(|h| h.first().is_some_and(|c| c.starts_with("#TYPE")))
    {
        (header_line, header) = records
            .next()
            .ok_or_else(|| bad_file("no header line after #TYPE".into()))?;
    }
    let header = match header {
        Ok(h) => h,
        Err(e) => return Err(bad_file(format!("line {header_line}: {e}"))),
    };
    let find = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&h.trim().to_ascii_lowercase().as_str()))
    };
    let Some(name_col) = find(&NAME) else {
        return Err(bad_file(format!(
            "line {header_line}: no server name column (Name, Server, ServerName, Host or ComputerName) in the header {:?}",
            header.join(",")
        )));
    };
    let (site, dag, role, version) = (find(&SITE), find(&DAG), find(&ROLE), find(&VERSION));
    let mut out = ExpectedList::default();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (line, record) in records {
        let bad = |message: String| BadRow {
            path: path.to_path_buf(),
            line,
            message,
        };
        let fields = match record {
            Ok(f) => f,
            Err(e) => {
                out.bad.push(bad(e));
                continue;
            }
        };
        if fields.len() != header.len() {
            out.bad.push(bad(format!(
                "{} fields where the header has {}",
                fields.len(),
                header.len()
            )));
            continue;
        }
        let get = |c: Option<usize>| c.map(|i| fields[i].trim().to_string()).unwrap_or_default();
        let name = netbios(&fields[name_col]);
        if name.is_empty() {
            out.bad.push(bad("empty server name".into()));
            continue;
        }
        if name.contains(|c: char| c.is_whitespace() || c.is_control()) {
            out.bad.push(bad(format!("{name:?} is not a server name")));
            continue;
        }
        if let Some(first) = seen.get(&name) {
            out.bad.push(bad(format!(
                "{name} is listed twice (first on line {first})"
            )));
            continue;
        }
        seen.insert(name.clone(), line);
        let site_text = get(site);
        out.servers.push(Expected {
            name,
            // Get-ExchangeServer writes the site's path in AD: its last part is the name.
            site: site_text.rsplit('/').next().unwrap_or_default().to_string(),
            dag: get(dag),
            role: get(role),
            version: get(version),
            line,
        });
    }
    Ok(out)
}

/// A name as hosts are keyed: upper case, without a DNS domain.
pub fn netbios(name: &str) -> String {
    name.trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// RFC 4180 records (with `delimiter` for the comma) with the 1-based line each starts on: quoted fields may hold commas,
/// doubled quotes and line breaks. A record with a quote left open, or text after a closing
/// quote, is an error for that record.
fn records(text: &str, delimiter: char) -> Vec<(usize, Result<Vec<String>, String>)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut error = None;
        loop {
            match chars.next() {
                None => {
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some('\n') => {
                    line += 1;
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some(c) if c == delimiter => fields.push(std::mem::take(&mut field)),
                Some('"') if field.trim().is_empty() => {
                    field.clear();
                    let mut closed = false;
                    while let Some(c) = chars.next() {
                        match c {
                            '"' if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            '"' => {
                                closed = true;
                                break;
                            }
                            '\n' => {
                                line += 1;
                                field.push(c);
                            }
                            c => field.push(c),
                        }
                    }
                    if !closed {
                        error.get_or_insert_with(|| "a quoted value is not closed".to_string());
                    }
                    while let Some(&c) = chars.peek() {
                        if c == delimiter || c == '\n' || c == '\r' {
                            break;
                        }
                        chars.next();
                        if !c.is_whitespace() {
                            error.get_or_insert_with(|| {
                                format!("text after a closing quote ({c:?})")
                            });
                        }
                    }
                }
                Some(c) => field.push(c),
            }
        }
        out.push((start, error.map_or(Ok(fields), Err)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_exchange_server_export_is_read_by_its_header() {
        let text = "#TYPE Microsoft.Exchange.Data.Directory.Management.ExchangeServer\r\n\
\"Name\",\"Site\",\"ServerRole\",\"Edition\",\"AdminDisplayVersion\",\"Fqdn\"\r\n\
\"EX01\",\"contoso.local/Configuration/Sites/Paris\",\"Mailbox, ClientAccess\",\"Enterprise\",\"Version 15.2 (Build 1748.10)\",\"ex01.contoso.local\"\r\n\
\"ex02\",\"contoso.local/Configuration/Sites/Osaka\",\"Mailbox\",\"Standard\",\"Version 15.2 (Build 1544.4)\",\"ex02.contoso.local\"\r\n";
        let l = parse(text, Path::new("servers.csv")).unwrap();
        assert!(l.bad.is_empty(), "{:?}", l.bad);
        assert_eq!(l.servers.len(), 2);
        assert_eq!(l.servers[0].name, "EX01");
        assert_eq!(l.servers[0].site, "Paris");
        assert_eq!(l.servers[0].role, "Mailbox, ClientAccess");
        assert_eq!(l.servers[0].version, "Version 15.2 (Build 1748.10)");
        assert_eq!(l.servers[1].name, "EX02");
        assert_eq!(l.servers[1].line, 4);
        assert_eq!(l.get("ex02.contoso.local").unwrap().site, "Osaka");
    }

    #[test]
    fn utf16_files_and_semicolon_or_tab_delimiters_are_read() {
        let text = "#TYPE Microsoft.Exchange.Data.Directory.Management.MailboxServer\r\n\
\"Name\";\"DatabaseAvailabilityGroup\";\"Fqdn\"\r\n\
\"EX01\";\"DAG1\";\"ex01.contoso.local\"\r\n\
\"ex02.contoso.local\";\"DAG1\";\"ex02.contoso.local\"\r\n";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        for bytes in [le, be, text.as_bytes().to_vec()] {
            let l = parse(&decode(&bytes), Path::new("mbx.csv")).unwrap();
            assert!(l.bad.is_empty(), "{:?}", l.bad);
            let got: Vec<(&str, &str)> = l
                .servers
                .iter()
                .map(|e| (e.name.as_str(), e.dag.as_str()))
                .collect();
            assert_eq!(got, [("EX01", "DAG1"), ("EX02", "DAG1")]);
        }
        let tab = "Name\tSite\tDAG\nEX01\tParis\tDAG1\nEX02\tParis, 2nd floor\t\n";
        let l = parse(tab, Path::new("t.tsv")).unwrap();
        assert!(l.bad.is_empty(), "{:?}", l.bad);
        assert_eq!(l.servers[1].site, "Paris, 2nd floor");
        assert_eq!(l.servers[0].dag, "DAG1");
        // A comma inside a quoted header name does not make it the delimiter.
        assert_eq!(delimiter("\"Name, full\";\"Site\"\n"), ';');
        assert_eq!(delimiter("Name\n"), ',');
    }

    #[test]
    fn bad_rows_are_named_by_file_and_line_and_the_rest_is_kept() {
        let text = "server,dag\nEX01,DAG1\nEX02\n,DAG2\n\"EX03,DAG1\nEX04,DAG2\n";
        let l = parse(text, Path::new("x.csv")).unwrap();
        let names: Vec<&str> = l.servers.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["EX01"]);
        let bad: Vec<String> = l.bad.iter().map(|b| b.to_string()).collect();
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].starts_with("x.csv:3: 1 fields"), "{bad:?}");
        assert!(bad[1].starts_with("x.csv:4: empty server name"), "{bad:?}");
        assert!(
            bad[2].starts_with("x.csv:5: a quoted value is not closed"),
            "{bad:?}"
        );
        let e = parse("site,dag\nA,B\n", Path::new("y.csv")).unwrap_err();
        assert!(e.to_string().contains("y.csv"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_and_parse_without_panic(
            bom in proptest::sample::select(vec![vec![], vec![0xFFu8, 0xFE], vec![0xFE, 0xFF]]),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)
        ) {
            let bytes: Vec<u8> = bom.into_iter().chain(body).collect();
            let _ = parse(&decode(&bytes), Path::new("b.csv"));
        }

        #[test]
        fn any_text_parses_without_panic_and_every_bad_row_names_a_line(
            text in "(#TYPE x\n)?[\"a-zA-Z0-9,\r\n .#/-]{0,300}"
        ) {
            let lines = text.lines().count().max(1);
            if let Ok(l) = parse(&text, Path::new("p.csv")) {
                for b in &l.bad {
                    proptest::prop_assert!(b.line >= 1 && b.line <= lines + 1, "{b}");
                    proptest::prop_assert!(b.to_string().starts_with("p.csv:"));
                }
                for e in &l.servers {
                    proptest::prop_assert!(!e.name.is_empty());
                    proptest::prop_assert!(!e.name.contains(char::is_whitespace));
                }
            }
        }

        #[test]
        fn quoted_rows_come_back_as_written(
            rows in proptest::collection::btree_map("[A-Z][A-Z0-9]{0,8}", "[a-z ,\"]{0,12}", 1..12)
        ) {
            let mut text = String::from("\"Name\",\"Site\"\r\n");
            for (name, site) in &rows {
                text.push_str(&format!("\"{name}\",\"{}\"\r\n", site.replace('"', "\"\"")));
            }
            let l = parse(&text, Path::new("q.csv")).unwrap();
            proptest::prop_assert!(l.bad.is_empty(), "{:?}", l.bad);
            let got: Vec<(String, String)> =
                l.servers.iter().map(|e| (e.name.clone(), e.site.clone())).collect();
            let want: Vec<(String, String)> = rows
                .iter()
                .map(|(n, s)| (n.clone(), s.trim().to_string()))
                .collect();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
