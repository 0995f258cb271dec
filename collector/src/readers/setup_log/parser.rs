//! The ExchangeSetup.log format: prefixed lines `[<date> <time>] [<depth>] <text>` in UTC,
//! the date month first with any one-character separator; continuation lines without a
//! prefix belong to the line before them. Runs start with the
//! `Starting Microsoft Exchange Server <product> Setup` banner and normally end with
//! `End of Setup` (collector/EVIDENCE.md). The parser never fails: what it cannot read is
//! reported with its line number and skipped.

use std::collections::VecDeque;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use exfleet_proto::kinds::SetupLineKind;
use exfleet_proto::v1::setup_run::Outcome;
use exfleet_proto::v1::{SetupLogLine, SetupRun};

use crate::text::{Budget, MAX_KEPT_BYTES, MAX_RUNS};

/// One prefixed line of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine<'a> {
    /// 1-based line number.
    pub number: u32,
    /// The time stamp's text (its shape checked; [`LogLine::time_ms`] reads it).
    pub stamp: &'a str,
    /// Nesting depth from the `[n]` field.
    pub depth: u32,
    /// Text after the prefix.
    pub text: &'a str,
}

pub use crate::text::LineIssue;

impl LogLine<'_> {
    /// UTC milliseconds since the epoch (0 for a date the calendar does not have, e.g. 02/30):
    /// read only for the lines that are kept, since parsing every stamp of a log costs more
    /// than the rest of reading it.
    pub fn time_ms(&self) -> i64 {
        parse_stamp(self.stamp).unwrap_or(0)
    }
}

/// What the parser read from a log.
#[derive(Debug, Default)]
pub struct ParsedLog {
    /// Runs in file order.
    pub runs: Vec<SetupRun>,
    /// Prefixed lines seen before the first run banner (a log whose start was cut away).
    pub orphan_lines: u32,
    /// Lines that could not be read.
    pub issues: Vec<LineIssue>,
    /// Lines that matter not kept because the log's budget ([`MAX_KEPT_BYTES`]) was spent.
    pub over_budget: OverBudget,
    /// Whether the log holds nothing but white space.
    pub blank: bool,
}

pub use crate::text::OverBudget;

/// Splits a line into its prefix fields. `Ok(None)` for a continuation line (no prefix),
/// `Err` for a line that starts like a prefix but is malformed.
pub fn parse_line(number: u32, line: &str) -> Result<Option<LogLine<'_>>, LineIssue> {
    if !line.starts_with('[') || !line.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
        return Ok(None);
    }
    let issue = |m: &str| LineIssue {
        line: number,
        message: m.to_string(),
    };
    let close =
        memchr::memchr(b']', line.as_bytes()).ok_or_else(|| issue("unterminated time stamp"))?;
    let stamp = &line[1..close];
    if !stamp_shape(stamp) {
        return Err(issue(&format!("unreadable time stamp '{stamp}'")));
    }
    let rest = line[close + 1..].trim_start();
    let (depth, text) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((d, t)) if d.chars().all(|c| c.is_ascii_digit()) && !d.is_empty() => {
            (d.parse().unwrap_or(0), t.strip_prefix(' ').unwrap_or(t))
        }
        _ => (0, rest),
    };
    Ok(Some(LogLine {
        number,
        stamp,
        depth,
        text,
    }))
}

/// Whether a stamp has the shape and ranges of `MM?DD?YYYY HH:mm:ss.ffff` (what
/// [`parse_stamp`] reads), checked without building a date.
fn stamp_shape(stamp: &str) -> bool {
    let b = stamp.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
    };
    let (Some(mo), Some(d), Some(_), Some(h), Some(mi), Some(sec)) = (
        num(0..2),
        num(3..5),
        num(6..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    let frac = b.get(19..).unwrap_or_default();
    let frac_ok = frac.is_empty()
        || (frac.len() > 1 && frac[0] == b'.' && frac[1..].iter().all(u8::is_ascii_digit));
    !b[2].is_ascii_digit()
        && !b[5].is_ascii_digit()
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && h < 24
        && mi < 60
        && sec < 60
        && frac_ok
}

/// Parses `MM?DD?YYYY HH:mm:ss.ffff` (any one-character date separator) as UTC.
pub fn parse_stamp(stamp: &str) -> Option<i64> {
    let (date, time) = stamp.split_once(' ')?;
    let b = date.as_bytes();
    if b.len() != 10 || b[2].is_ascii_digit() || b[5].is_ascii_digit() {
        return None;
    }
    let month = date.get(0..2)?.parse().ok()?;
    let day = date.get(3..5)?.parse().ok()?;
    let year = date.get(6..10)?.parse().ok()?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut parts = hms.split(':').map(|p| p.parse::<u32>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || frac.is_empty() || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Ten-thousandths in practice; scale any width to milliseconds.
    let digits = frac.len().min(9) as u32;
    let frac_ns = frac[..digits as usize].parse::<u64>().ok()? * 10u64.pow(9 - digits);
    let time = NaiveTime::from_hms_nano_opt(h, m, s, frac_ns as u32)?;
    Some(NaiveDateTime::new(date, time).and_utc().timestamp_millis())
}

/// Continuation lines kept per line that matters; stack traces go on for pages.
const MAX_CONTINUATION: usize = 40;
/// Prefixed lines kept before an error as its context.
const CONTEXT: usize = 3;
/// Marker lines (errors, warnings, rules) kept per run, so that a runaway log cannot blow up
/// a snapshot.
const MAX_KEPT: usize = 2_000;
/// Fact lines kept per run: they repeat (every AD read names its domain controller), and the
/// first ones say what is needed.
const MAX_FACTS: usize = 200;

/// Settings and rules whose evaluated value (`Evaluated [Setting:<name>] ... [Value:"..."]`)
/// the reference reviewer reads (collector/EVIDENCE.md): the last line of each per run is kept,
/// whatever its value, since the last one decides.
pub const EVALUATED: [&str; 24] = [
    "SchemaAdmin",
    "EnterpriseAdmin",
    "DomainAdmin",
    "ExOrgAdmin",
    "SidExOrgAdmins",
    "DomainController",
    "DomainControllerSiteName",
    "ComputerNameDnsFullyQualified",
    "SiteName",
    "LocalDomainIsPrepped",
    "ServerAlreadyExists",
    "HasServerDelegatedPermsBlocked",
    "ServerManagement",
    "IsHybridObjectFoundOnPremises",
    "PendingRebootWindowsComponents",
    "RebootPending",
    "ProcessNeedsToBeClosedOnUpgrade",
    "DomainControllerIsOutOfSite",
    "RemoteRegException",
    "MSDTCStopped",
    "IisUrlRewriteNotInstalled",
    "DomainPrepRequired",
    "DelegatedMailboxFirstInstall",
    "DidOnPremisesSettingCreatedAnException",
];

/// Substrings of the lines the reference reviewer's checks match besides the markers
/// (collector/EVIDENCE.md): AD preparation status, the schema master, certificates installed,
/// hybrid application URIs, MSI installs and removals, shared config DC errors, AD objects
/// that already exist, scripts not found.
const CHECK_MARKERS: [&str; 12] = [
    "Update Required Status",
    "Setup will attempt to use the Schema Master domain controller",
    "and wait for replication to complete",
    "Installing certificate signed by",
    "as the TargetApplicationUri",
    "Installing a new product. Package:",
    "remove product with code",
    "Installing product ",
    "setting shared config DC",
    "Active Directory operation failed on",
    "The well-known object entry",
    "is not recognized as the name of a cmdlet",
];

/// Substrings of the continuation lines (stack traces, exception texts) the reference's
/// error-context checks match: kept past [`MAX_CONTINUATION`], up to [`MAX_MARKED_CONTINUATION`].
const CONTEXT_MARKERS: [&str; 17] = [
    "was run: \"System.",
    "SearchFoundation",
    "ADConstraintViolationException",
    "System.ComponentModel.Win32Exception",
    "0x800706D9",
    "already exists",
    "ItemNotFoundException",
    "NullReferenceException",
    "CreateOrMoveEWPGroup",
    "Exception calling \"Reverse\"",
    "ServiceControl.ps1",
    "appCmd.exe",
    "INSUFF_ACCESS_RIGHTS",
    "Access to the path is denied",
    "VirtualDirectoryIdParameter",
    "ManageScheduledTask.ps1",
    "remove product with code",
];

/// Continuation lines with a [`CONTEXT_MARKERS`] substring kept per line past the plain cap.
const MAX_MARKED_CONTINUATION: usize = MAX_CONTINUATION + 40;

/// Fact-looking lines that only trace AD reads and writes, thousands per run.
const FACT_NOISE: [&str; 2] = [
    "Used domain controller ",
    "Previous operation run on domain controller",
];

/// Substrings of the lines that explain failures besides the markers: where AD preparation
/// must run, which domain controller and site setup used, group SIDs, ldif errors.
const FACT_MARKERS: [&str; 8] = [
    "Schema Master",
    "domain controller",
    "site",
    "S-1-5-",
    "ldif",
    "Update Required Status",
    "has not been run",
    "not replicated",
];

/// Parses a whole log into runs.
pub fn parse(text: &str) -> ParsedLog {
    let mut parser = Parser::new();
    for line in text.lines() {
        parser.line(line);
    }
    parser.finish()
}

/// Reads a log line by line into runs, so that a log of tens of MB is never held whole: every
/// line in file order to [`Parser::line`], then [`Parser::finish`].
#[derive(Debug)]
pub struct Parser {
    out: ParsedLog,
    run: Option<SetupRun>,
    /// Whether the last prefixed line was kept in the run's lines, so its continuation lines
    /// follow it.
    continues: bool,
    /// The last prefixed lines, the context of an error.
    recent: VecDeque<(u32, String)>,
    /// The task setup is running, from its last "Beginning processing" line.
    task: String,
    kept: Kept,
    /// The lines that matter (text, continuation lines, context) and the run's error lines.
    budget: Budget,
    /// The number of the last line read.
    number: u32,
    /// The line where reading stopped because the cap on runs was met.
    stopped_at: Option<u32>,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser at the start of a log.
    pub fn new() -> Self {
        Parser {
            out: ParsedLog {
                blank: true,
                ..ParsedLog::default()
            },
            run: None,
            continues: false,
            recent: VecDeque::new(),
            task: String::new(),
            kept: Kept::default(),
            budget: Budget::new(MAX_KEPT_BYTES),
            number: 0,
            stopped_at: None,
        }
    }

    /// Reads the next line (without its line ending).
    pub fn line(&mut self, raw: &str) {
        self.number = self.number.saturating_add(1);
        let number = self.number;
        if self.out.blank && !raw.trim().is_empty() {
            self.out.blank = false;
        }
        if self.stopped_at.is_some() {
            return;
        }
        if let Some(r) = self.run.as_mut() {
            r.line_count = number - r.start_line + 1;
        }
        let line = match parse_line(number, raw) {
            Ok(Some(l)) => l,
            Ok(None) => {
                if self.continues {
                    if let Some(last) = self.run.as_mut().and_then(|r| r.lines.last_mut()) {
                        let room = last.continuation.len() < MAX_CONTINUATION
                            || (last.continuation.len() < MAX_MARKED_CONTINUATION
                                && CONTEXT_MARKERS.iter().any(|m| raw.contains(m)));
                        if room
                            && !raw.trim().is_empty()
                            && self.budget.take(raw.trim_end().len(), number)
                        {
                            last.continuation.push(raw.trim_end().to_string());
                        }
                    }
                }
                return;
            }
            Err(issue) => {
                self.out.issues.push(issue);
                return;
            }
        };
        if let Some(product) = run_banner(line.text) {
            if let Some(done) = self.run.take() {
                self.out.runs.push(done);
            }
            if self.out.runs.len() >= MAX_RUNS {
                self.stopped_at = Some(number);
                return;
            }
            self.run = Some(SetupRun {
                product: product.to_string(),
                started_at_ms: line.time_ms(),
                start_line: number,
                line_count: 1,
                outcome: Outcome::CutOff as i32,
                ..Default::default()
            });
            self.continues = false;
            self.recent.clear();
            self.task.clear();
            self.kept = Kept::default();
            return;
        }
        match self.run.as_mut() {
            Some(r) => {
                apply(r, &line, &mut self.budget);
                if let Some(t) = line.text.trim().strip_prefix("Beginning processing ") {
                    self.task.clear();
                    self.task.push_str(t.trim_end_matches('.'));
                }
                self.continues = keep(
                    r,
                    &line,
                    &self.recent,
                    &self.task,
                    &mut self.kept,
                    &mut self.budget,
                );
            }
            None => self.out.orphan_lines += 1,
        }
        // The oldest entry's buffer is reused: no allocation per line; the number is written
        // out only for the few lines an error keeps.
        let mut entry = match self.recent.len() {
            CONTEXT => self.recent.pop_front().unwrap_or_default(),
            _ => (0, String::new()),
        };
        entry.0 = number;
        entry.1.clear();
        entry.1.push_str(line.text.trim_end());
        self.recent.push_back(entry);
    }

    /// What was read, once every line has been.
    pub fn finish(mut self) -> ParsedLog {
        self.out.runs.extend(self.run);
        if let Some(n) = self.stopped_at {
            self.budget
                .stop(n, u64::from(self.number) + 1 - u64::from(n));
        }
        self.out.over_budget = self.budget.over;
        self.out
    }
}

/// What kind of line that matters a line is, if it is one.
pub fn kind_of(text: &str) -> Option<SetupLineKind> {
    let t = text.trim_start();
    if let Some(rest) = t.strip_prefix("[ERROR") {
        return Some(match rest.starts_with("-REFERENCE]") {
            true => SetupLineKind::ErrorReference,
            false if rest.starts_with(']') => SetupLineKind::Error,
            false => return None,
        });
    }
    if t.starts_with("[WARNING]") {
        Some(SetupLineKind::Warning)
    } else if t.starts_with("[REQUIRED]") {
        Some(SetupLineKind::Required)
    } else if t.starts_with("Failed [Rule:") {
        Some(SetupLineKind::FailedRule)
    } else if let Some((_, name)) = evaluated_name(t) {
        if EVALUATED.iter().any(|e| e.eq_ignore_ascii_case(name)) {
            Some(SetupLineKind::Setting)
        } else if t.starts_with("Evaluated [Rule:") && t.contains("[Value:\"True\"]") {
            Some(SetupLineKind::RuleTrue)
        } else {
            None
        }
    } else {
        // One leftmost search over every marker (it uses the automaton's prefilter, which an
        // overlapping search cannot): a check marker anywhere in the line wins over a fact.
        let mut fact = false;
        for m in MARKERS.find_iter(t) {
            if m.pattern().as_usize() < CHECK_MARKERS.len() {
                return Some(SetupLineKind::Check);
            }
            fact = true;
        }
        (fact && !FACT_NOISE.iter().any(|n| t.starts_with(n))).then_some(SetupLineKind::Fact)
    }
}

/// [`CHECK_MARKERS`] then [`FACT_MARKERS`], searched at once (leftmost first).
static MARKERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(CHECK_MARKERS.iter().chain(FACT_MARKERS.iter()))
        .unwrap_or_else(|e| panic!("the setup log markers: {e}"))
});

/// `Evaluated [Setting:SiteName] ...` → `("Setting", "SiteName")`.
pub fn evaluated_name(text: &str) -> Option<(&str, &str)> {
    let rest = text.trim_start().strip_prefix("Evaluated [")?;
    let (kind, rest) = rest.split_once(':')?;
    let name = rest.split(']').next()?;
    matches!(kind, "Setting" | "Rule").then_some((kind, name))
}

/// Lines that matter kept so far in the current run.
#[derive(Debug, Default)]
struct Kept {
    facts: usize,
    markers: usize,
}

/// Keeps a line that matters in the run; returns whether it was kept.
fn keep(
    run: &mut SetupRun,
    line: &LogLine,
    recent: &VecDeque<(u32, String)>,
    task: &str,
    counts: &mut Kept,
    budget: &mut Budget,
) -> bool {
    let Some(kind) = kind_of(line.text) else {
        return false;
    };
    // Counted as they are kept: a scan of the kept lines per line would be quadratic.
    let (cap, kept) = if kind == SetupLineKind::Fact {
        (MAX_FACTS, &mut counts.facts)
    } else {
        (MAX_KEPT, &mut counts.markers)
    };
    if *kept >= cap {
        return false;
    }
    let text = line.text.trim_end();
    let context: Vec<String> = if kind == SetupLineKind::Error {
        recent.iter().map(|(n, t)| format!("{n}: {t}")).collect()
    } else {
        Vec::new()
    };
    let context_len: usize = context.iter().map(String::len).sum();
    if !budget.take(text.len() + context_len + task.len(), line.number) {
        return false;
    }
    *kept += 1;
    if kind == SetupLineKind::Setting {
        // The last evaluation of a setting decides: an earlier one of the run gives way.
        let name = evaluated_name(text).map_or("", |(_, n)| n);
        if let Some(i) = run.lines.iter().rposition(|l| {
            l.kind == SetupLineKind::Setting.as_str()
                && evaluated_name(&l.text).is_some_and(|(_, n)| n.eq_ignore_ascii_case(name))
        }) {
            run.lines.remove(i);
            *kept -= 1;
        }
    }
    if kind == SetupLineKind::ErrorReference {
        // The component names the task whose errors came just before.
        let component = error_component(text);
        for l in run
            .lines
            .iter_mut()
            .rev()
            .take_while(|l| l.kind != SetupLineKind::ErrorReference.as_str())
        {
            if l.kind == SetupLineKind::Error.as_str() && l.component.is_empty() {
                l.component = component.clone();
            }
        }
        for e in run
            .errors
            .iter_mut()
            .rev()
            .take_while(|e| e.component.is_empty())
        {
            e.component = component.clone();
        }
    }
    run.lines.push(SetupLogLine {
        line: line.number,
        time_ms: line.time_ms(),
        text: text.to_string(),
        kind: kind.as_str().to_string(),
        component: String::new(),
        continuation: Vec::new(),
        context,
        task: if kind == SetupLineKind::Error {
            task.to_string()
        } else {
            String::new()
        },
    });
    true
}

/// `Id=BridgeheadRoleSetterComponent___115c...` → `BridgeheadRoleSetterComponent`;
/// `Id=443949901` → `443949901`.
fn error_component(text: &str) -> String {
    let id = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("Id="))
        .unwrap_or("");
    id.split("___").next().unwrap_or("").to_string()
}

/// The product of a run banner line.
fn run_banner(text: &str) -> Option<&str> {
    text.trim_end()
        .strip_prefix("Starting Microsoft Exchange Server ")?
        .strip_suffix(" Setup")
}

/// Applies one line to the run it belongs to.
fn apply(run: &mut SetupRun, line: &LogLine, budget: &mut Budget) {
    let text = line.text.trim_end();
    let failed = Outcome::Failed as i32;
    if let Some(v) = text.strip_prefix("Setup version: ") {
        run.setup_version = v.trim_end_matches('.').to_string();
    } else if let Some(u) = text.strip_prefix("Logged on user: ") {
        run.logged_on_user = u.trim_end_matches('.').to_string();
    } else if let Some(p) = text.strip_prefix("Command Line Parameter Name='") {
        if let Some((name, value)) = p.split_once("', Value='") {
            let value = value.strip_suffix("'.").unwrap_or(value).to_string();
            let name = name.to_ascii_lowercase();
            match name.as_str() {
                "sourcedir" => run.source_dir = value.clone(),
                "mode" if run.mode.is_empty() => run.mode = value.clone(),
                _ => {}
            }
            run.parameters.insert(name, value);
        }
    } else if let Some(m) = text.strip_prefix("The installation mode is set to: ") {
        run.mode = quoted(m).to_string();
    } else if let Some(v) = text.strip_prefix("The locally installed version is ") {
        run.previous_version = v.trim_end_matches('.').to_string();
    } else if let Some(v) =
        text.strip_prefix("The backup copy of the previously installed version is ")
    {
        run.backup_version = quoted(v).to_string();
        if run.previous_version.is_empty() {
            run.previous_version = quoted(v).to_string();
        }
    } else if let Some(d) = text.strip_prefix("Exchange Installation Directory : ") {
        run.install_dir = quoted(d).to_string();
    } else if text.starts_with("[ERROR]") {
        if run.errors.len() >= MAX_KEPT || !budget.take(text.len(), line.number) {
            return;
        }
        run.errors.push(SetupLogLine {
            line: line.number,
            time_ms: line.time_ms(),
            text: text.to_string(),
            ..Default::default()
        });
    } else if text.starts_with("The Exchange Server setup operation completed successfully") {
        if run.outcome != failed {
            run.outcome = Outcome::Succeeded as i32;
        }
    } else if text.starts_with("The Exchange Server setup operation didn't complete")
        || text.starts_with("Setup is stopping now because of one or more critical errors")
    {
        run.outcome = failed;
    } else if let Some(result) = text.strip_prefix("CurrentResult ") {
        let code = result.rsplit(':').next().unwrap_or("").trim();
        if code.parse::<i64>().is_ok_and(|c| c != 0) {
            run.outcome = failed;
        }
    } else if text == "End of Setup" {
        run.ended_at_ms = line.time_ms();
        run.end_line = line.number;
        if run.outcome == Outcome::CutOff as i32 {
            run.outcome = Outcome::EndedUnknown as i32;
        }
    }
    if run.mode.is_empty() {
        // /PrepareSchema, /PrepareAD ... runs have no mode parameter.
        if let Some(name) = prepare_switch(text) {
            run.mode = name.to_string();
        }
    }
}

fn prepare_switch(text: &str) -> Option<&'static str> {
    let p = text.strip_prefix("Command Line Parameter Name='")?;
    let name = p.split('\'').next()?.to_ascii_lowercase();
    [
        ("prepareschema", "PrepareSchema"),
        ("preparead", "PrepareAD"),
        ("preparedomain", "PrepareDomain"),
        ("preparealldomains", "PrepareAllDomains"),
    ]
    .into_iter()
    .find(|(k, _)| *k == name)
    .map(|(_, v)| v)
}

/// The text between the first pair of single quotes, or the text without a final period.
fn quoted(s: &str) -> &str {
    s.split_once('\'')
        .and_then(|(_, rest)| rest.rsplit_once('\''))
        .map(|(inner, _)| inner)
        .unwrap_or_else(|| s.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stamps_are_month_first_with_any_separator() {
        let a = parse_stamp("12/17/2021 10:00:00.0000").unwrap();
        assert_eq!(parse_stamp("12-17-2021 10:00:00.0000"), Some(a));
        assert_eq!(parse_stamp("12.17.2021 10:00:00.5000"), Some(a + 500));
        assert_eq!(parse_stamp("17/12/2021 10:00:00.0000"), None, "month 17");
    }

    #[test]
    fn a_run_without_end_is_cut_off_and_one_with_errors_failed() {
        let log = "\
[04-17-2021 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup
[04-17-2021 10:00:00.0001] [0] Setup version: 15.2.858.5.
[04-17-2021 10:00:00.0002] [0] Command Line Parameter Name='mode', Value='Upgrade'.
[04-17-2021 10:00:01.0000] [1] [ERROR] Boom
   at Stack.Trace()
[04-17-2021 10:00:02.0000] [0] The Exchange Server setup operation didn't complete.
[04-17-2021 10:00:02.0001] [0] End of Setup
[04-18-2021 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup
[04-18-2021 10:00:00.0001] [0] Setup version: 15.2.858.5.
";
        let p = parse(log);
        assert_eq!(p.runs.len(), 2);
        let (a, b) = (&p.runs[0], &p.runs[1]);
        assert_eq!(a.outcome, Outcome::Failed as i32);
        assert_eq!(a.mode, "Upgrade");
        assert_eq!(a.errors.len(), 1);
        assert_eq!(a.errors[0].line, 4);
        assert_eq!(a.end_line, 7);
        assert_eq!(b.outcome, Outcome::CutOff as i32);
        assert_eq!(b.start_line, 8);
    }

    #[test]
    fn errors_keep_their_continuation_context_and_component() {
        let log = "\
[04-17-2021 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup
[04-17-2021 10:00:00.0001] [0] Setup will use the domain controller 'DC1.contoso.local'.
[04-17-2021 10:00:00.0002] [1] Processing component 'Mailbox role' (1 of 2).
[04-17-2021 10:00:01.0000] [1] [ERROR] Boom
   at Stack.Trace()
   at More.Trace()
[04-17-2021 10:00:01.0001] [1] [ERROR-REFERENCE] Id=MailboxComponent___0123abcd Component=EXCHANGE14:\\Current
[04-17-2021 10:00:02.0000] [1] Evaluated [Rule:MSDTCStopped] [HasException:False] [Value:\"True\"] [ParentValue:\"<NULL>\"]
[04-17-2021 10:00:02.0001] [1] Evaluated [Rule:Other] [HasException:False] [Value:\"False\"]
";
        let r = &parse(log).runs[0];
        let kinds: Vec<(&str, u32)> = r.lines.iter().map(|l| (l.kind.as_str(), l.line)).collect();
        assert_eq!(
            kinds,
            [
                ("fact", 2),
                ("error", 4),
                ("error_reference", 7),
                ("setting", 8)
            ]
        );
        let e = &r.lines[1];
        assert_eq!(
            e.continuation,
            ["   at Stack.Trace()", "   at More.Trace()"]
        );
        assert_eq!(e.component, "MailboxComponent");
        assert_eq!(e.context.len(), 2);
        assert!(e.context[1].starts_with("3: Processing component"));
        assert_eq!(r.errors[0].component, "MailboxComponent");
        assert_eq!(
            error_component("[ERROR-REFERENCE] Id=443949901 Component="),
            "443949901"
        );
    }

    #[test]
    fn the_last_evaluation_of_a_reviewed_setting_is_kept_whatever_its_value() {
        let log = "\
[04-17-2021 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup
[04-17-2021 10:00:00.0001] [1] Evaluated [Rule:MSDTCStopped] [HasException:False] [Value:\"True\"] [ParentValue:\"<NULL>\"]
[04-17-2021 10:00:00.0002] [1] Evaluated [Setting:DomainController] [HasException:False] [Value:\"dc1.a.b\"] [ParentValue:\"<NULL>\"]
[04-17-2021 10:00:00.0003] [1] Evaluated [Rule:msdtcstopped] [HasException:False] [Value:\"False\"] [ParentValue:\"<NULL>\"]
[04-17-2021 10:00:00.0004] [1] Evaluated [Rule:Unreviewed] [HasException:False] [Value:\"False\"] [ParentValue:\"<NULL>\"]
[04-17-2021 10:00:00.0005] [1] Evaluated [Rule:InstallWatermark] [HasException:False] [Value:\"True\"] [ParentValue:\"<NULL>\"]
[04-17-2021 10:00:00.0006] [1] Evaluated [Rule:InstallWatermark] [HasException:False] [Value:\"True\"] [ParentValue:\"<NULL>\"]
[04-17-2021 10:00:00.0007] [1] Installing certificate signed by 'CN=CA' for site 'Default Web Site'.  Certificate is valid from 1/1/2020 1:00:00 AM until 1/1/2021 1:00:00 AM
";
        let r = &parse(log).runs[0];
        let kept: Vec<(&str, u32)> = r.lines.iter().map(|l| (l.kind.as_str(), l.line)).collect();
        assert_eq!(
            kept,
            [
                ("setting", 3),
                ("setting", 4),
                ("rule_true", 6),
                ("rule_true", 7),
                ("check", 8)
            ]
        );
    }

    #[test]
    fn what_is_kept_of_a_log_is_capped_and_the_rest_counted() {
        let mut log = String::from(
            "[04-17-2021 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup\n",
        );
        let long = "x".repeat(5_000);
        for _ in 0..3_000 {
            log.push_str(&format!("[04-17-2021 10:00:01.0000] [1] [ERROR] {long}\n"));
        }
        let p = parse(&log);
        let r = &p.runs[0];
        let kept: usize = r
            .lines
            .iter()
            .map(|l| l.text.len() + l.context.iter().map(String::len).sum::<usize>())
            .chain(r.errors.iter().map(|e| e.text.len()))
            .sum();
        assert!(kept <= MAX_KEPT_BYTES, "{kept}");
        assert!(r.errors.len() < 3_000 && !r.errors.is_empty());
        assert!(p.over_budget.lines > 0);
        assert!(p.over_budget.first_line > 2);
    }

    #[test]
    fn malformed_prefix_is_reported_with_its_line() {
        let p = parse("[1x/17/2021 10:00:00.0000] [0] hi\n");
        assert_eq!(p.issues.len(), 1);
        assert_eq!(p.issues[0].line, 1);
    }

    proptest! {
        #[test]
        fn never_panics(s in "(\\[[0-9/ :.]{0,30}\\] \\[[0-9]\\] \\PC{0,40}\n|\\PC{0,40}\n){0,20}") {
            let p = parse(&s);
            for i in p.issues { prop_assert!(i.line >= 1); }
        }

        #[test]
        fn stamp_never_panics(s in "\\PC{0,40}") {
            let _ = parse_stamp(&s);
        }

        /// The log parsed as it is read (as the reader does, from the file's bytes, CRLF or
        /// LF, UTF-8 or UTF-16) reads what parsing the whole decoded text reads.
        #[test]
        fn streamed_equals_whole(
            lines in proptest::collection::vec(
                "(\\[0[1-9]/[12][0-9]/2024 1[0-9]:[0-5][0-9]:[0-5][0-9]\\.[0-9]{4}\\] \\[[0-2]\\] \
                 (Starting Microsoft Exchange Server 2019 Setup|\\[ERROR\\] \\PC{0,20}|\
                 \\[ERROR-REFERENCE\\] Id=x Component=y|End of Setup|Beginning processing z\\.|\\PC{0,20})\
                 |\\PC{0,20}|)",
                0..40,
            ),
            crlf in any::<bool>(),
            wide in any::<bool>(),
        ) {
            let sep = if crlf { "\r\n" } else { "\n" };
            let text = lines.join(sep);
            let bytes = if wide {
                let mut b = vec![0xff, 0xfe];
                b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                b
            } else {
                text.clone().into_bytes()
            };
            let whole = parse(&crate::text::decode(&bytes));
            let mut streamed = Parser::new();
            crate::text::read_lines(bytes.as_slice(), 1 << 30, 1 << 20, |line, newline| {
                streamed.line(match newline {
                    true => line.strip_suffix('\r').unwrap_or(line),
                    false => line,
                })
            })
            .unwrap();
            let streamed = streamed.finish();
            prop_assert_eq!(&streamed.runs, &whole.runs);
            prop_assert_eq!(&streamed.issues, &whole.issues);
            prop_assert_eq!(streamed.orphan_lines, whole.orphan_lines);
            prop_assert_eq!(streamed.blank, text.trim().is_empty());
            prop_assert_eq!(&streamed.over_budget, &whole.over_budget);
        }
    }
}
