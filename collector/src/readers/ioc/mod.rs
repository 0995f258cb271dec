//! Indicators of compromise (after Microsoft's Test-ProxyLogon and its
//! CVE-2022-41040 hunting query): the server's logs are scanned where they lie (a triage
//! copy, or the live server's folders) and only the matches are shipped, each with its file,
//! line, time and the fields an investigator asks for first, at most [`MAX_MATCHES`] per
//! indicator, the rest counted ([`IocScan`]).
//!
//! One module per log family: [`http_proxy`] (CVE-2021-26855, CVE-2021-27065 through the
//! proxy), [`ecp`] (CVE-2021-27065 in the ECP server logs), [`oab`] (CVE-2021-26858),
//! [`iis_log`] (CVE-2022-41040), [`events`] (CVE-2021-26857), and [`files`] (LSASS dumps,
//! archives, the web folders' pages and handlers). Every text log is streamed through
//! [`scan`], whose literal pre-filter runs on every byte so that parsing sees only the
//! lines that may match. [`marks`] remembers how far each log was read, so that a daily run
//! reads only new bytes.

pub mod csv;
pub mod ecp;
pub mod events;
pub mod files;
pub mod http_proxy;
pub mod iis_log;
pub mod marks;
pub mod oab;
pub mod scan;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use exfleet_proto::kinds::IocKind;
use exfleet_proto::v1::artifact_status::State;
use exfleet_proto::v1::{IocMatch, IocScan, Provenance};

use crate::artifacts::{Artifact, Base, DEFAULT_INSTALL_PATHS, DEFAULT_SITE_ROOT, IOC_LOGS};
use crate::files::ServerFiles;
use crate::readers::Reader;
use crate::sink::Sink;

/// Matches shipped per indicator per snapshot; the rest are counted in [`IocScan::overflow`].
pub const MAX_MATCHES: usize = 1_000;
/// Bytes of a matching line kept in [`IocMatch::detail`].
pub const MAX_DETAIL: usize = 1_024;
/// Threads a log family's scan uses at most (the files are shared out between them).
pub const MAX_THREADS: usize = 4;
/// Files listed per folder walk (a folder of millions of files is cut there, and said).
pub const MAX_FILES: usize = 200_000;

/// Scans the server for indicators of compromise.
pub struct Ioc;

impl Reader for Ioc {
    const NAME: &'static str = "ioc";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        let since_ms = out.evidence().ioc_since_ms;
        let marks = out.ioc_marks().clone().within(since_ms);
        let mut scan = Scan::new(dir, since_ms, marks);
        let install = install_root(out);
        let plan = Plan::of(dir, &install, &mut scan);
        scan.progress.total = plan.bytes();
        http_proxy::scan(&plan.http_proxy, &mut scan);
        ecp::scan(&plan.ecp, &mut scan);
        oab::scan(&plan.oab, &install, &mut scan);
        iis_log::scan(&plan.iis, &mut scan);
        scan.progress.done();
        events::scan(dir, &mut scan);
        let sites = out.evidence().iis_sites.clone();
        files::scan(dir, &install, &sites, &mut scan);
        scan.finish(out);
    }
}

/// The install folder with its trailing `\` (the reference's `<install>`).
fn install_root(out: &Sink) -> String {
    let path = out
        .evidence()
        .exchange
        .as_ref()
        .map(|e| e.install_path.clone())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_INSTALL_PATHS[0].into());
    format!("{}\\", path.trim_end_matches('\\'))
}

/// The Windows path of an artifact's folder (`install` ends with `\\`); below a site's root,
/// the default site's (the others: [`files::site_roots`]).
pub fn windows_folder(a: &Artifact, install: &str) -> String {
    match a.base {
        Base::Install => format!("{install}{}", a.folder()),
        Base::SystemDrive => a.folder().to_string(),
        Base::SiteRoot => format!(r"{DEFAULT_SITE_ROOT}\{}", a.folder()),
    }
}

/// The log files of each family, found before any is read (their sizes make the progress).
struct Plan {
    http_proxy: Vec<LogFile>,
    ecp: Vec<LogFile>,
    oab: Vec<LogFile>,
    iis: Vec<LogFile>,
}

impl Plan {
    fn of(dir: &ServerFiles, install: &str, scan: &mut Scan) -> Plan {
        let mut of = |a: &Artifact| {
            let folder = windows_folder(a, install);
            scan.logs(dir, &folder, &|name| a.matches(name))
        };
        let (http_proxy, ecp, oab) = (of(&IOC_LOGS[0]), of(&IOC_LOGS[1]), of(&IOC_LOGS[2]));
        let mut iis = Vec::new();
        for folder in iis_log::folders(dir, install, scan) {
            iis.extend(scan.logs(dir, &folder, &|name| IOC_LOGS[3].matches(name)));
        }
        Plan {
            http_proxy,
            ecp,
            oab,
            iis,
        }
    }

    fn bytes(&self) -> u64 {
        [&self.http_proxy, &self.ecp, &self.oab, &self.iis]
            .iter()
            .flat_map(|f| f.iter())
            .map(|f| f.size)
            .sum()
    }
}

/// A log file to scan.
#[derive(Debug, Clone)]
pub struct LogFile {
    /// The file.
    pub path: PathBuf,
    /// As provenance names it.
    pub display: String,
    /// Its path below the folder walked, with `\` (`Ecp\HttpProxy_2021030304-1.LOG`).
    pub relative: String,
    /// Its size when listed.
    pub size: u64,
    /// Its last write time (UTC ms; 0 = unknown).
    pub modified_ms: i64,
    /// Whether nothing writes to it any more (see [`settle`]): on the live server its last line
    /// without a line ending is then judged, as a copy's is.
    pub settled: bool,
}

/// How long after its last write a log is taken to be no longer written.
pub const SETTLED_AFTER_MS: i64 = 60 * 60 * 1000;

/// Marks the logs nothing writes to any more: those that are not the newest of their folder
/// (neither last by name, as Exchange and IIS name them by date, nor last written), or were last
/// written more than [`SETTLED_AFTER_MS`] before `now_ms`. A writer that died mid-row (a w3wp
/// crash, a reboot) leaves a last line that will never be finished: judged, it is not skipped
/// by every run for ever.
pub fn settle(logs: &mut [LogFile], now_ms: i64) {
    // The newest name and the latest write per folder.
    let mut newest: BTreeMap<PathBuf, (PathBuf, i64)> = BTreeMap::new();
    for f in logs.iter() {
        let parent = f.path.parent().map(Path::to_path_buf).unwrap_or_default();
        let e = newest
            .entry(parent)
            .or_insert_with(|| (f.path.clone(), f.modified_ms));
        if f.path > e.0 {
            e.0 = f.path.clone();
        }
        e.1 = e.1.max(f.modified_ms);
    }
    for f in logs.iter_mut() {
        let parent = f.path.parent().map(Path::to_path_buf).unwrap_or_default();
        let (name, written) = &newest[&parent];
        let is_newest = f.path == *name || (f.modified_ms != 0 && f.modified_ms == *written);
        let old = f.modified_ms != 0 && now_ms - f.modified_ms > SETTLED_AFTER_MS;
        f.settled = !is_newest || old;
    }
}

/// Now, UTC ms.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One run of the scan: the matches so far, the coverage, the marks, the progress.
pub struct Scan<'a> {
    /// The server's files.
    pub dir: &'a ServerFiles,
    /// Only records at or after this time (UTC ms; 0 = all).
    pub since_ms: i64,
    /// Where each log was read to before this run.
    pub marks: marks::Marks,
    /// Where each log is read to after this run (moved into place once the snapshot is durable).
    pub next_marks: marks::Marks,
    /// The matches so far.
    pub found: Found,
    /// Whether a log's last line without its line ending is judged. In a copy it is: nothing
    /// writes to it and no later run completes it, so leaving it out could hide the last
    /// record's indicator; the HttpProxy judge refuses a cut value (a collection error), and
    /// the other logs' indicators are searches within the line, which a cut line can miss but
    /// not invent. On the live server it is not, a record being written, read whole next run;
    /// unless the log is [`LogFile::settled`]: judged then as in a copy, once.
    pub partial_last: bool,
    errors: Vec<(String, String, Option<Provenance>, String)>,
    artifacts: Vec<(String, State)>,
    progress: Progress,
}

impl<'a> Scan<'a> {
    /// A scan of `dir`, starting from `marks`.
    pub fn new(dir: &'a ServerFiles, since_ms: i64, marks: marks::Marks) -> Scan<'a> {
        Scan {
            dir,
            since_ms,
            marks,
            next_marks: marks::Marks::default(),
            found: Found {
                since_ms,
                ..Found::default()
            },
            partial_last: !dir.is_live(),
            errors: Vec::new(),
            artifacts: Vec::new(),
            progress: Progress::new(),
        }
    }

    /// Records a collection error about `path`.
    pub fn error(&mut self, kind: &str, path: &str, message: String) {
        self.errors
            .push((kind.to_string(), path.to_string(), None, message));
    }

    /// Records the state of an artifact (a folder or file looked at).
    pub fn artifact(&mut self, path: &str, state: State) {
        self.artifacts.push((path.to_string(), state));
    }

    /// Counts bytes read toward the progress shown in a terminal.
    pub fn progress(&mut self, bytes: u64) {
        self.progress.add(bytes);
    }

    /// The files below a Windows folder, recursively, whose names `keep`; sorted by path. An
    /// absent folder is recorded absent; links are not followed (they may lead out of the copy).
    pub fn logs(
        &mut self,
        dir: &ServerFiles,
        windows_folder: &str,
        keep: &dyn Fn(&str) -> bool,
    ) -> Vec<LogFile> {
        let Some(root) = dir.resolve(windows_folder) else {
            self.artifact(&dir.expected(windows_folder), State::Absent);
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut cut = false;
        walk(&root, Links::Skip, &mut |path, meta| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            if !keep(&name) {
                return true;
            }
            if out.len() >= MAX_FILES {
                cut = true;
                return false;
            }
            let relative = path
                .strip_prefix(&root)
                .map(|p| {
                    p.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("\\")
                })
                .unwrap_or_default();
            out.push(LogFile {
                display: dir.display(path),
                path: path.to_path_buf(),
                relative,
                size: meta.len(),
                modified_ms: modified_ms(meta),
                settled: false,
            });
            true
        });
        let shown = dir.display(&root);
        if cut {
            self.error(
                "too_many_files",
                &shown,
                format!("{shown}: more than {MAX_FILES} files; the rest are not scanned"),
            );
        }
        self.artifact(&shown, State::Read);
        out.sort_by(|a, b| a.path.cmp(&b.path));
        settle(&mut out, now_ms());
        out
    }

    /// Scans one log from its mark to its end, handing each line holding one of `literals`
    /// to `on_hit` with the column header in force (`header_lines`: `#Fields:` lines met on
    /// the way replace it, as IIS writes them; otherwise the file's first line that is not a
    /// `#` comment, or its `#Fields:` line); a last line without its end only as
    /// [`Scan::partial_last`] says, or when the log is [`LogFile::settled`] (its mark then
    /// moves past it). Records the file's coverage for `kinds` in `folder` (see
    /// [`IocScan::folder`]; `""`: all the indicator's logs), its new mark, an
    /// unreadable file as a collection error, and so each line `on_hit` could not judge (once
    /// per file and kind of reason, at its first line). A file last written before the window
    /// is skipped whole.
    pub fn read_log(
        &mut self,
        f: &LogFile,
        kinds: &[IocKind],
        folder: &str,
        literals: &scan::Literals,
        header_lines: bool,
        mut on_hit: impl FnMut(&mut Found, &csv::Header, scan::Hit) -> Result<(), Unjudged>,
    ) {
        if f.modified_ms != 0 && f.modified_ms < self.since_ms {
            if let Some(m) = self.marks.0.get(&f.display) {
                self.next_marks.0.insert(f.display.clone(), m.clone());
            }
            return;
        }
        let (mut file, size) = match self.dir.open(&f.path) {
            Ok(x) => x,
            Err(refusal) => {
                self.error(refusal.kind, &refusal.path, refusal.message);
                return;
            }
        };
        let start = self.marks.start(&f.display, &mut file, size);
        let (first_time, file_header) = match first_lines(&mut file) {
            Ok(x) => x,
            Err(e) => {
                let msg = format!("{}: {e}", f.display);
                self.error("io", &f.display, msg);
                return;
            }
        };
        let mut header = if !start.header.is_empty() {
            // IIS saves its `#Fields:` line (space-separated); the other logs their CSV header.
            match csv::strip_prefix_ci(start.header.as_bytes(), b"#Fields:") {
                Some(fields) if header_lines => iis_log::header(fields),
                _ => csv::Header::parse(start.header.as_bytes()),
            }
        } else if header_lines {
            csv::Header::default()
        } else {
            csv::Header::parse(file_header.as_bytes())
        };
        let mut header_text = if header_lines {
            start.header.clone()
        } else {
            file_header
        };
        use std::io::Seek;
        if let Err(e) = file.seek(std::io::SeekFrom::Start(start.offset)) {
            let msg = format!("{}: {e}", f.display);
            self.error("io", &f.display, msg);
            return;
        }
        // A settled live log's cut last line is judged, and the mark moves past it.
        let judge_last = self.partial_last || f.settled;
        let found = &mut self.found;
        let progress = &mut self.progress;
        let mut last_progress = start.offset;
        let mut unjudged: Vec<(u32, Unjudged)> = Vec::new();
        let scanned = scan::scan(
            &mut file,
            start.offset,
            start.line,
            literals,
            judge_last,
            |hit| {
                if header_lines {
                    if let Some(fields) = csv::strip_prefix_ci(hit.text, b"#Fields:") {
                        header = iis_log::header(fields);
                        header_text = String::from_utf8_lossy(hit.text).into_owned();
                        return;
                    }
                }
                if hit.offset.saturating_sub(last_progress) > 64 << 20 {
                    progress.add(hit.offset - last_progress);
                    last_progress = hit.offset;
                }
                if let Err(u) = on_hit(found, &header, hit) {
                    if unjudged.iter().all(|(_, seen)| seen.kind != u.kind) {
                        unjudged.push((hit.line, u));
                    }
                }
            },
        );
        for (line, u) in unjudged {
            self.errors.push((
                u.kind.to_string(),
                f.display.clone(),
                Some(crate::provenance::line(Ioc::NAME, &f.display, line)),
                format!("{}: line {line}: {}", f.display, u.why),
            ));
        }
        let mut scanned = match scanned {
            Ok(s) => s,
            Err(e) => {
                let msg = format!("{}: {e}", f.display);
                self.error("io", &f.display, msg);
                return;
            }
        };
        self.progress
            .add((start.offset + scanned.bytes).saturating_sub(last_progress));
        if scanned.long_lines > 0 {
            let msg = format!(
                "{}: {} lines longer than {} bytes were matched on their start only",
                f.display,
                scanned.long_lines,
                scan::MAX_LINE
            );
            self.error("long_lines", &f.display, msg);
        }
        if judge_last && !self.partial_last {
            scanned.resume_at = start.offset + scanned.bytes;
        }
        let first_line = start.line + scanned.lines
            - u32::from(scanned.resume_at < start.offset + scanned.bytes);
        let mut mark =
            marks::Marks::mark(&mut file, size, scanned.resume_at, first_line, &header_text);
        mark.since_ms = self.since_ms;
        self.next_marks.0.insert(f.display.clone(), mark);
        self.found.covered(
            kinds,
            folder,
            scanned.bytes,
            (first_time.unwrap_or(0), f.modified_ms),
        );
    }

    /// Scans `logs` on up to [`MAX_THREADS`] threads (the logs shared out in order), each
    /// file as [`Scan::read_log`] does (`kinds_of` gives its indicators and coverage folder),
    /// `judge` called for each line holding a literal; the threads' matches are added in file
    /// order, under the same bound.
    pub fn read_logs(
        &mut self,
        logs: &[LogFile],
        kinds_of: &(dyn Fn(&LogFile) -> (Vec<IocKind>, String) + Sync),
        literals: &scan::Literals,
        header_lines: bool,
        judge: &Judge,
    ) {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_THREADS)
            .min(logs.len().max(1));
        let per = logs.len().div_ceil(threads).max(1);
        let children: Vec<Scan> = std::thread::scope(|scope| {
            let handles: Vec<_> = logs
                .chunks(per)
                .enumerate()
                .map(|(i, part)| {
                    let mut child = Scan::new(self.dir, self.since_ms, self.marks.clone());
                    child.progress = self.progress.share(i == 0);
                    child.partial_last = self.partial_last;
                    scope.spawn(move || {
                        for f in part {
                            let (kinds, folder) = kinds_of(f);
                            child.read_log(
                                f,
                                &kinds,
                                &folder,
                                literals,
                                header_lines,
                                |found, header, hit| judge(found, header, hit, f),
                            );
                        }
                        child
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for child in children {
            self.found.merge(child.found);
            self.next_marks.0.extend(child.next_marks.0);
            self.errors.extend(child.errors);
            self.artifacts.extend(child.artifacts);
        }
    }

    fn finish(self, out: &mut Sink) {
        for (kind, path, location, message) in self.errors {
            out.error(Ioc::NAME, &kind, &path, location, message);
        }
        for (path, state) in self.artifacts {
            out.artifact(Ioc::NAME, &path, state);
        }
        let s = out.evidence_mut();
        let (matches, scans) = self.found.into_parts();
        s.ioc_matches.extend(matches);
        s.ioc_scans.extend(scans);
        out.set_next_ioc_marks(self.next_marks);
    }
}

/// Judges a line holding a literal of a log (with the header in force), for
/// [`Scan::read_logs`].
pub type Judge =
    dyn Fn(&mut Found, &csv::Header, scan::Hit, &LogFile) -> Result<(), Unjudged> + Sync;

/// Why a line holding a literal could not be judged (made a collection error naming the file
/// and the line, so that "no match" there is not read as clean).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unjudged {
    /// The collection error's kind (`missing_column`, `partial_line`, `long_line`).
    pub kind: &'static str,
    /// Why, said after the file and line.
    pub why: String,
}

/// The matches of a scan, at most [`MAX_MATCHES`] per indicator shipped, and the coverage,
/// per indicator and log folder (see [`IocScan::folder`]).
#[derive(Debug, Default)]
pub struct Found {
    since_ms: i64,
    /// The matches kept, each with the folder of its log.
    matches: Vec<(String, IocMatch)>,
    kept: BTreeMap<String, usize>,
    coverage: BTreeMap<(String, String), IocScan>,
}

impl Found {
    /// Adds what another part of the scan found, after what this one found, under the bound.
    pub fn merge(&mut self, other: Found) {
        for ((name, folder), c) in other.coverage {
            let kind = IocKind::parse(&name);
            let mine = self.coverage_in(&kind, &folder);
            mine.files += c.files;
            mine.bytes += c.bytes;
            mine.matches += c.matches;
            mine.overflow += c.overflow;
            if c.oldest_ms != 0 && (mine.oldest_ms == 0 || c.oldest_ms < mine.oldest_ms) {
                mine.oldest_ms = c.oldest_ms;
            }
            mine.newest_ms = mine.newest_ms.max(c.newest_ms);
        }
        for (folder, m) in other.matches {
            let kept = self.kept.entry(m.indicator.clone()).or_insert(0);
            if *kept < MAX_MATCHES {
                *kept += 1;
                self.matches.push((folder, m));
            } else {
                let kind = IocKind::parse(&m.indicator);
                self.coverage_in(&kind, &folder).overflow += 1;
            }
        }
    }

    /// The matches kept, in the order found.
    pub fn into_matches(self) -> Vec<IocMatch> {
        self.into_parts().0
    }

    /// The matches kept, in the order found, and the coverage records. A log indicator's
    /// record of no folder that nothing was counted in is left out when it has folder
    /// records (a listed file's indicator keeps it: the all-folders row of the web folders).
    pub fn into_parts(self) -> (Vec<IocMatch>, Vec<IocScan>) {
        let mut with_folders = std::collections::BTreeSet::new();
        for (indicator, folder) in self.coverage.keys() {
            if !folder.is_empty() {
                with_folders.insert(indicator.clone());
            }
        }
        let scans = self
            .coverage
            .into_iter()
            .filter(|((indicator, folder), c)| {
                !folder.is_empty()
                    || lists_files(&IocKind::parse(indicator))
                    || !with_folders.contains(indicator)
                    || c.files + c.matches + c.overflow > 0
            })
            .map(|(_, c)| c)
            .collect();
        (self.matches.into_iter().map(|(_, m)| m).collect(), scans)
    }

    /// Records a match of `kind`: shipped while under the bound, counted always. A record
    /// older than the window (`--ioc-since`) is dropped: the answer is whether it was recorded.
    pub fn found(&mut self, kind: IocKind, m: IocMatch) -> bool {
        self.found_in(kind, "", m)
    }

    /// Records a match of `kind` in a log of `folder`, as [`Found::found`] does.
    pub fn found_in(&mut self, kind: IocKind, folder: &str, m: IocMatch) -> bool {
        if !lists_files(&kind) && m.time_ms != 0 && m.time_ms < self.since_ms {
            return false;
        }
        let name = kind.as_str().to_string();
        let c = self.coverage_in(&kind, folder);
        c.matches += 1;
        let kept = self.kept.entry(name.clone()).or_insert(0);
        if *kept < MAX_MATCHES {
            *kept += 1;
            self.matches.push((
                folder.to_string(),
                IocMatch {
                    indicator: name,
                    ..m
                },
            ));
        } else {
            self.coverage_in(&kind, folder).overflow += 1;
        }
        true
    }

    /// Records a file of the web folder labelled `folder` (see [`IocScan::folder`]), counted
    /// in that folder's record and in the all-folders one, always shipped: the caller bounds
    /// each folder (so that a crowded folder does not crowd another's files out).
    pub fn listed(&mut self, kind: IocKind, folder: &str, m: IocMatch) {
        let name = kind.as_str().to_string();
        self.coverage_in(&kind, "").matches += 1;
        self.coverage_in(&kind, folder).matches += 1;
        self.matches.push((
            folder.to_string(),
            IocMatch {
                indicator: name,
                ..m
            },
        ));
    }

    /// The coverage record of an indicator over all its logs (made on first use: an
    /// indicator scanned with no file still says so).
    pub fn coverage_of(&mut self, kind: &IocKind) -> &mut IocScan {
        self.coverage_in(kind, "")
    }

    /// The coverage record of an indicator in one log folder (`""`: all its logs).
    pub fn coverage_in(&mut self, kind: &IocKind, folder: &str) -> &mut IocScan {
        self.coverage
            .entry((kind.as_str().to_string(), folder.to_string()))
            .or_insert_with(|| IocScan {
                indicator: kind.as_str().to_string(),
                folder: folder.to_string(),
                ..Default::default()
            })
    }

    /// Adds a file of `folder` read for `kinds`: its bytes and the times of its records.
    pub fn covered(&mut self, kinds: &[IocKind], folder: &str, bytes: u64, times: (i64, i64)) {
        for k in kinds {
            let c = self.coverage_in(k, folder);
            c.files += 1;
            c.bytes += bytes;
            if times.0 != 0 && (c.oldest_ms == 0 || times.0 < c.oldest_ms) {
                c.oldest_ms = times.0;
            }
            c.newest_ms = c.newest_ms.max(times.1);
        }
    }
}

/// Whether an indicator is a listed file (listed whatever its time: files are few, and the
/// analyzer judges them) rather than a log record.
fn lists_files(kind: &IocKind) -> bool {
    matches!(
        kind,
        IocKind::LsassDump | IocKind::SuspiciousArchive | IocKind::AspxFile
    )
}

/// The time of a log's first record (see [`record_time`]; an IIS log's `date time`) and its
/// header line: the first line that is not a `#` comment, or a `#Fields:` line (read from the
/// file's start, at most 64 KiB). Only a line with its line ending is a header: a live log's
/// header still being written would be kept in the read mark cut, and every row read with it.
fn first_lines(file: &mut std::fs::File) -> std::io::Result<(Option<i64>, String)> {
    use std::io::{Read, Seek};
    file.seek(std::io::SeekFrom::Start(0))?;
    let mut head = Vec::new();
    file.by_ref().take(64 << 10).read_to_end(&mut head)?;
    let text =
        String::from_utf8_lossy(head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head)).into_owned();
    let mut lines = text
        .split_inclusive('\n')
        .map(|l| (l.trim_end_matches(['\r', '\n']), l.ends_with('\n')));
    let mut header = String::new();
    for (l, ended) in lines.by_ref() {
        if !l.starts_with('#') || csv::strip_prefix_ci(l.as_bytes(), b"#Fields:").is_some() {
            if ended {
                header = l.to_string();
            }
            break;
        }
    }
    let mut lines = lines.map(|(l, _)| l);
    let columns = csv::Header::parse(header.as_bytes());
    let first = lines.find(|l| !l.starts_with('#')).and_then(|l| {
        record_time(&columns, &csv::fields(l.as_bytes())).or_else(|| {
            // IIS writes its date and time as two space-separated fields.
            let mut words = l.split(' ');
            parse_time(&format!("{} {}", words.next()?, words.next()?))
        })
    });
    Ok((first, header))
}

/// What [`walk`] does with a symbolic link or junction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Skipped (the logs: a log folder holds none).
    Skip,
    /// A link to a file visited as the file it points to (its metadata); any other link (to
    /// a folder, never followed so that no loop is walked, or dangling) visited with its own
    /// metadata (`is_symlink()`), for the web folders, where IIS serves what a link reaches.
    Show,
}

/// Walks `root` depth first (sorted names), calling `visit` on each regular file (and each
/// link, as `links` says) until it returns false. Unreadable folders are skipped.
pub fn walk(
    root: &Path,
    links: Links,
    visit: &mut dyn FnMut(&Path, &std::fs::Metadata) -> bool,
) -> bool {
    let Ok(entries) = std::fs::read_dir(root) else {
        return true;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let go_on = if meta.is_dir() {
            walk(&path, links, visit)
        } else if meta.is_file() {
            visit(&path, &meta)
        } else if meta.is_symlink() && links == Links::Show {
            match std::fs::metadata(&path) {
                Ok(target) if target.is_file() => visit(&path, &target),
                _ => visit(&path, &meta),
            }
        } else {
            true
        };
        if !go_on {
            return false;
        }
    }
    true
}

/// A file's last write time, UTC ms (0 = unknown).
pub fn modified_ms(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}

/// A log's time stamp as UTC ms: ISO 8601 (`2021-03-03T04:05:06.123Z`, with or without the
/// zone: these logs are written in UTC), or `date time` as IIS writes it.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    let s = s.trim_end_matches('Z');
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
    .map(|t| t.and_utc().timestamp_millis())
}

/// The time of a CSV log's record (its fields `values`): its `DateTime` column when `header`
/// names one (columns are found by name), its first field otherwise.
pub fn record_time(header: &csv::Header, values: &[std::borrow::Cow<'_, str>]) -> Option<i64> {
    let at = header.column("DateTime").unwrap_or(0);
    values.get(at).and_then(|t| parse_time(t))
}

/// The line as text, cut to [`MAX_DETAIL`] bytes.
pub fn detail(line: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(line).into_owned();
    crate::text::cap_field(&mut s, MAX_DETAIL);
    s
}

/// Progress of a long scan, on standard error when it is a terminal: bytes read of bytes
/// listed, every second. The count is shared by the threads of a scan; one of them shows it.
#[derive(Clone)]
struct Progress {
    on: bool,
    total: u64,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    started: Instant,
    shown: Instant,
}

impl Progress {
    fn new() -> Progress {
        let now = Instant::now();
        Progress {
            on: std::io::stderr().is_terminal(),
            total: 0,
            read: Default::default(),
            started: now,
            shown: now,
        }
    }

    /// The same count, shown by this one only when `show`.
    fn share(&self, show: bool) -> Progress {
        Progress {
            on: self.on && show,
            ..self.clone()
        }
    }

    fn add(&mut self, bytes: u64) {
        use std::sync::atomic::Ordering;
        let read = self.read.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if self.on && self.shown.elapsed() >= Duration::from_secs(1) {
            self.shown = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            let pct = if self.total == 0 {
                100.0
            } else {
                read as f64 * 100.0 / self.total as f64
            };
            eprint!(
                "\rioc: {:>5.1}% of {} MiB, {:.0} MiB/s ",
                pct.min(100.0),
                self.total >> 20,
                read as f64 / secs / 1048576.0
            );
        }
    }

    fn done(&self) {
        let read = self.read.load(std::sync::atomic::Ordering::Relaxed);
        if self.on && self.started.elapsed() >= Duration::from_secs(1) {
            eprintln!("\rioc: scanned {} MiB of logs", read >> 20);
        }
    }
}

/// The files `names` (below `root`, `/`-separated) as [`Scan::logs`] lists them, for tests.
#[cfg(test)]
fn listed(dir: &ServerFiles, root: &Path, names: &[&str]) -> Vec<LogFile> {
    let mut logs: Vec<LogFile> = names
        .iter()
        .map(|name| {
            let path = root.join(name);
            let meta = std::fs::metadata(&path).unwrap();
            LogFile {
                display: dir.display(&path),
                relative: name.replace('/', "\\"),
                size: meta.len(),
                modified_ms: modified_ms(&meta),
                settled: false,
                path,
            }
        })
        .collect();
    settle(&mut logs, now_ms());
    logs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(n: u32, from_line: u32) -> Found {
        let mut f = Found::default();
        for i in 0..n {
            f.found(
                IocKind::Cve2021_26855,
                IocMatch {
                    line: from_line + i,
                    time_ms: 1,
                    ..Default::default()
                },
            );
        }
        f.covered(&[IocKind::Cve2021_26855], "", 10, (5, 9));
        f
    }

    #[test]
    fn parts_merge_in_order_under_the_bound_with_the_overflow_counted() {
        let mut all = found(600, 1);
        all.merge(found(700, 10_000));
        let c = &all.coverage[&("cve_2021_26855".to_string(), String::new())];
        assert_eq!(
            (c.matches, c.overflow, c.files, c.bytes),
            (1300, 300, 2, 20)
        );
        assert_eq!((c.oldest_ms, c.newest_ms), (5, 9));
        let lines: Vec<u32> = all.matches.iter().map(|(_, m)| m.line).collect();
        assert_eq!(lines.len(), MAX_MATCHES);
        assert_eq!(
            (lines[0], lines[599], lines[600], lines[999]),
            (1, 600, 10_000, 10_399)
        );
    }

    #[test]
    fn a_log_is_settled_unless_newest_of_its_folder_and_written_within_the_hour() {
        const NOW: i64 = 1_000_000_000_000;
        let log = |path: &str, modified_ms: i64| LogFile {
            path: PathBuf::from(path),
            display: path.into(),
            relative: path.into(),
            size: 1,
            modified_ms,
            settled: false,
        };
        let mut logs = [
            // Owa: b is newest by name, a by write: both may be written.
            log("Owa/a.log", NOW - 60_000),
            log("Owa/b.log", NOW - 120_000),
            log("Owa/0.log", NOW - 180_000),
            // Ecp: the newest, untouched for two hours; times unknown in Eas: by name only.
            log("Ecp/x.log", NOW - 2 * SETTLED_AFTER_MS),
            log("Eas/1.log", 0),
            log("Eas/2.log", 0),
        ];
        settle(&mut logs, NOW);
        let settled: Vec<bool> = logs.iter().map(|f| f.settled).collect();
        assert_eq!(settled, [false, false, true, true, true, false]);
    }

    #[test]
    fn a_record_s_time_is_its_datetime_column_or_else_its_first_field() {
        let values = csv::fields(b"2021-03-03T04:05:06Z,Info,2021-03-04T00:00:00Z");
        let at = |header: &[u8]| record_time(&csv::Header::parse(header), &values);
        assert_eq!(at(b"Stamp,Level,datetime"), Some(1_614_816_000_000));
        assert_eq!(at(b"Stamp,Level,Message"), Some(1_614_744_306_000));
        assert_eq!(at(b""), Some(1_614_744_306_000));
    }

    #[test]
    fn log_times_as_these_logs_write_them() {
        assert_eq!(
            parse_time("2021-03-03T04:05:06.123Z"),
            Some(1_614_744_306_123)
        );
        assert_eq!(
            parse_time("2021-03-03T04:05:06.123"),
            Some(1_614_744_306_123)
        );
        assert_eq!(parse_time("2022-09-29 03:04:05"), Some(1_664_420_645_000));
        assert_eq!(parse_time("not a time"), None);
    }
}
