//! ExchangeSetup.log read as the reference reviewer reads it (CSS-Exchange SetupLogReviewer,
//! `reference/setup-log-checks.md`): which run it judges, what "in the last run" means, how
//! evaluated settings and rules are read, and the chain of checks that stops at the first one
//! that reports. Each check lives in the file of its finding id (`detect`); this file orders
//! them. The collector keeps the lines those checks match (collector/EVIDENCE.md), so the
//! reading here works on the kept lines of every run of the log.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::{
    ad_access_denied, ad_object_exists, arbitration_upn, delegated_rights, disabled_service,
    expired_certificate, fips_access_denied, firewall_endpoint_mapper, hybrid_object,
    install_from_bin, ldif_error, missing_directory, missing_homemdb, mount_database,
    msi_installer_cache, multi_eas_vdir, prereq, search_foundation, security_groups_ou_deleted,
    servicecontrol_reverse, shared_config_dc, vdir_failure, wk_object_invalid,
    wk_object_wrong_group_type,
};
use crate::finding::Evidence;
use crate::rules::line_of;
use crate::view::{HostView, Run};
use exfleet_collector::readers::setup_log::parser::evaluated_name;
use exfleet_dataset::SetupLineRow as LogLine;
use exfleet_proto::kinds::SetupLineKind;
use exfleet_proto::v1::setup_run::Outcome;

/// Lines that must follow a run's start for the reviewer to judge that run.
pub const MIN_FOLLOWING_LINES: i64 = 30;
/// A short last run gives way to the previous one only when that one is more recent than this.
pub const PREVIOUS_RUN_MAX_AGE_MS: i64 = 30 * 86_400_000;
/// Lines after the first error that its context holds.
const AFTER: i64 = 200;

/// Compiles a pattern of the reference (case-insensitive, as PowerShell's `Select-String`).
pub fn pattern(p: &str) -> Regex {
    Regex::new(&format!("(?i){p}")).unwrap_or_else(|e| panic!("pattern {p}: {e}"))
}

/// A check that reported: its finding id, a title and the citations.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Finding id.
    pub id: &'static str,
    /// What the reviewer says, with the values it names.
    pub title: String,
    /// The run, the matched lines and the values extracted, with their lines.
    pub evidence: Vec<Evidence>,
}

/// What the reviewer concluded about a host's ExchangeSetup.log.
#[derive(Debug, Clone, Default)]
pub struct Review {
    /// Index in `HostView::runs` of the run judged.
    pub run: usize,
    /// Which branch of the run selection was taken.
    pub selection: String,
    /// The success line lies in the run.
    pub succeeded: bool,
    /// The checks that reported, in chain order: the prerequisite block may report several,
    /// any other check is alone.
    pub hits: Vec<Hit>,
    /// What the reviewer reports before the chain, whatever the chain finds: the same-build
    /// check (`setup.install-from-bin`).
    pub header: Vec<Hit>,
}

impl Review {
    /// The hits of one finding id, the header's first.
    pub fn of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Hit> + 'a {
        self.header
            .iter()
            .chain(&self.hits)
            .filter(move |h| h.id == id)
    }
}

/// The review of a host's log, computed once per host view.
pub fn review(h: &HostView) -> Option<&Review> {
    h.setup_review.get_or_init(|| compute(h)).as_ref()
}

fn compute(h: &HostView) -> Option<Review> {
    let s = Scope::new(h)?;
    let mut review = Review {
        run: s.index,
        selection: s.selection.clone(),
        succeeded: s.succeeded(),
        hits: Vec::new(),
        // The reviewer prints the same-build warning before it looks for success or a cause.
        header: install_from_bin::same_build(&s).into_iter().collect(),
    };
    if review.succeeded {
        return Some(review);
    }
    let chain: &[fn(&Scope) -> Vec<Hit>] = &[
        prereq::detect,
        |s| ldif_error::detect(s).into_iter().collect(),
        |s| msi_installer_cache::detect(s).into_iter().collect(),
        |s| known_issues_by_errors(s).into_iter().collect(),
        |s| expired_certificate::detect(s).into_iter().collect(),
        |s| wk_object_invalid::detect(s).into_iter().collect(),
        |s| hybrid_object::detect(s).into_iter().collect(),
        |s| wk_object_wrong_group_type::detect(s).into_iter().collect(),
        |s| shared_config_dc::detect(s).into_iter().collect(),
        // The reference runs the delegated-rights check only when asked (-DelegatedSetup);
        // here it is the last known cause before the fallback.
        |s| delegated_rights::detect(s).into_iter().collect(),
    ];
    for check in chain {
        let hits = check(&s);
        if !hits.is_empty() {
            review.hits = hits;
            return Some(review);
        }
    }
    Some(review)
}

/// A check of the first error's context.
type ContextCheck = fn(&Scope, &Context) -> Option<Hit>;
/// A check of the first error's context keyed on the error reference's id.
type KeyedCheck = fn(&Scope, &Context, &str) -> Option<Hit>;

/// Chain step 4: the last `[ERROR-REFERENCE]` of the run, and the context from the run's first
/// error up to it; the context checks first, then those keyed on the reference's id.
fn known_issues_by_errors(s: &Scope) -> Option<Hit> {
    static REFERENCE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\[ERROR-REFERENCE\] Id=(.+) Component="));
    let (reference, caps) = s.last_in_run(&REFERENCE)?;
    let id = caps.get(1)?.as_str().trim().to_string();
    let cx = s.error_context(Some(reference.line))?;
    let checks: &[ContextCheck] = &[
        arbitration_upn::detect,
        disabled_service::detect,
        firewall_endpoint_mapper::detect,
        ad_object_exists::detect,
        search_foundation::detect,
        missing_directory::detect,
        missing_homemdb::detect,
        mount_database::detect,
        security_groups_ou_deleted::detect,
        servicecontrol_reverse::detect,
        vdir_failure::detect,
        install_from_bin::detect,
    ];
    if let Some(hit) = checks.iter().find_map(|c| c(s, &cx)) {
        return Some(hit);
    }
    let keyed: &[KeyedCheck] = &[
        ad_access_denied::detect,
        fips_access_denied::detect,
        multi_eas_vdir::detect,
    ];
    let mut hit = keyed.iter().find_map(|c| c(s, &cx, &id))?;
    hit.evidence.push(s.cite(
        reference,
        format!("error reference {id}: {}", reference.text),
    ));
    Some(hit)
}

/// The log as the reviewer sees it, with the run it judges.
pub struct Scope<'a> {
    /// The host.
    pub h: &'a HostView,
    /// The run judged.
    pub run: &'a Run,
    /// Its index in `h.runs`.
    pub index: usize,
    /// `LastSetupRunLine`: "in the last run" means after this line.
    pub start: i64,
    /// The branch of the run selection.
    pub selection: String,
}

/// One line of the error context: the kept line, its text (or one of its continuation lines)
/// and the line number it is cited at.
#[derive(Debug, Clone, Copy)]
pub struct ContextLine<'a> {
    /// The kept line it belongs to.
    pub row: &'a LogLine,
    /// The text.
    pub text: &'a str,
}

/// The context of the run's first error: the kept lines from it (and the prefixed lines
/// before it) up to a limit.
pub struct Context<'a> {
    /// The first `[ERROR]` of the run.
    pub first: &'a LogLine,
    /// Its texts, continuation lines included, then every kept line up to the limit.
    pub lines: Vec<ContextLine<'a>>,
    /// The prefixed lines just before the first error, `<line>: <text>`.
    pub before: Vec<&'a str>,
}

impl<'a> Context<'a> {
    /// The first context line matching `re`, with its captures.
    pub fn find(&self, re: &Regex) -> Option<(ContextLine<'a>, Captures<'a>)> {
        self.lines
            .iter()
            .find_map(|l| re.captures(l.text).map(|c| (*l, c)))
    }

    /// Whether a context line matches `re`.
    pub fn has(&self, re: &Regex) -> bool {
        self.lines.iter().any(|l| re.is_match(l.text))
    }
}

impl<'a> Scope<'a> {
    /// The run selection of the reference (section 2): the last run if at least 30 lines
    /// follow its start; else the previous one when it started less than 30 days before.
    pub fn new(h: &'a HostView) -> Option<Scope<'a>> {
        let n = h.runs.len();
        let last = h.runs.last()?;
        let following = last.line_count - 1;
        let (index, selection) = if last.line_count == 0 || following >= MIN_FOLLOWING_LINES {
            (n - 1, "the last run".to_string())
        } else if n == 1 {
            (
                n - 1,
                format!("the only run, though only {following} lines follow its start: might not have enough data"),
            )
        } else if last.started_at_ms - h.runs[n - 2].started_at_ms < PREVIOUS_RUN_MAX_AGE_MS {
            (
                n - 2,
                format!("the run before the last: the last has only {following} lines"),
            )
        } else {
            (
                n - 1,
                format!("the last run, though only {following} lines follow its start: the one before is over 30 days older"),
            )
        };
        let run = &h.runs[index];
        Some(Scope {
            h,
            run,
            index,
            start: run.start_line,
            selection,
        })
    }

    /// Every kept line of the log, in file order.
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &'a LogLine> + 'a {
        self.h.runs.iter().flat_map(|r| r.lines.iter())
    }

    /// Kept lines of the last run (after its start line, later runs included).
    pub fn run_lines(&self) -> impl DoubleEndedIterator<Item = &'a LogLine> + 'a {
        let start = self.start;
        self.h.runs[self.index..]
            .iter()
            .flat_map(|r| r.lines.iter())
            .filter(move |l| l.line > start)
    }

    /// The runs from the one judged on.
    pub fn runs(&self) -> &'a [Run] {
        &self.h.runs[self.index..]
    }

    /// Whether the success line lies in the last run.
    pub fn succeeded(&self) -> bool {
        self.runs().iter().any(|r| r.outcome == Outcome::Succeeded)
    }

    /// The last line of the file matching `re` (its text or a continuation line).
    pub fn last_in_file(&self, re: &Regex) -> Option<(&'a LogLine, Captures<'a>)> {
        self.lines().rev().find_map(|l| {
            texts(l)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .find_map(|t| re.captures(t))
                .map(|c| (l, c))
        })
    }

    /// The last match in the file, when it lies in the last run (an earlier one is not looked
    /// for: the reference does not fall back).
    pub fn last_in_run(&self, re: &Regex) -> Option<(&'a LogLine, Captures<'a>)> {
        self.last_in_file(re).filter(|(l, _)| l.line > self.start)
    }

    /// The last evaluation of a setting or rule in the file, and its value.
    fn evaluation(&self, name: &str) -> Option<(&'a LogLine, &'a str)> {
        self.lines().rev().find_map(|l| {
            (l.kind == SetupLineKind::Setting
                && evaluated_name(&l.text).is_some_and(|(_, n)| n.eq_ignore_ascii_case(name)))
            .then(|| value_of(&l.text).map(|v| (l, v)))
            .flatten()
        })
    }

    /// `TestEvaluatedSettingOrRule`: the last evaluation of `name`, when it lies in the last run
    /// and is True or False.
    pub fn test(&self, name: &str) -> Option<(bool, &'a LogLine)> {
        let (l, v) = self.evaluation(name)?;
        if l.line <= self.start {
            return None;
        }
        match v.to_ascii_lowercase().as_str() {
            "true" => Some((true, l)),
            "false" => Some((false, l)),
            _ => None,
        }
    }

    /// `GetEvaluatedSettingOrRule`: the last non-empty value of `name` in the whole file, older
    /// runs included.
    pub fn value(&self, name: &str) -> Option<(&'a str, &'a LogLine)> {
        self.evaluation(name)
            .filter(|(_, v)| !v.is_empty())
            .map(|(l, v)| (v, l))
    }

    /// `TestMultiEvaluatedSettingOrRule`: some evaluation of the rule in the last run is True.
    pub fn any_true(&self, name: &str) -> Option<&'a LogLine> {
        self.run_lines().find(|l| {
            matches!(l.kind, SetupLineKind::RuleTrue | SetupLineKind::Setting)
                && evaluated_name(&l.text).is_some_and(|(_, n)| n.eq_ignore_ascii_case(name))
                && value_of(&l.text).is_some_and(|v| v.eq_ignore_ascii_case("true"))
        })
    }

    /// The run's first `[ERROR]` line.
    pub fn first_error(&self) -> Option<&'a LogLine> {
        self.run_lines().find(|l| l.kind == SetupLineKind::Error)
    }

    /// The first error's context: it and the kept lines after it, up to `to` (and at most 200
    /// lines after it).
    pub fn error_context(&self, to: Option<i64>) -> Option<Context<'a>> {
        let first = self.first_error()?;
        let end = to.map_or(first.line + AFTER, |t| t.min(first.line + AFTER));
        let lines = self
            .run_lines()
            .filter(|l| l.line >= first.line && l.line <= end)
            .flat_map(|l| texts(l).map(move |text| ContextLine { row: l, text }))
            .collect();
        Some(Context {
            first,
            lines,
            before: first.context.lines().collect(),
        })
    }

    /// `User`: the last `Logged on user` of the file.
    pub fn user(&self) -> String {
        self.h
            .runs
            .iter()
            .rev()
            .map(|r| r.logged_on_user.as_str())
            .find(|u| !u.is_empty())
            .unwrap_or("(unknown user)")
            .to_string()
    }

    /// `SetupBuildNumber`: the last `Setup version` of the file.
    pub fn setup_build(&self) -> Option<&'a str> {
        self.h
            .runs
            .iter()
            .rev()
            .map(|r| r.setup_version.as_str())
            .find(|v| !v.is_empty())
    }

    /// `SetupMode`: the last `mode` command-line parameter of the last run, `Unknown` when
    /// none is given (not the mode setup chose, nor a /Prepare switch).
    pub fn mode(&self) -> &'a str {
        self.runs()
            .iter()
            .rev()
            .map(|r| r.mode_parameter.as_str())
            .find(|m| !m.is_empty())
            .unwrap_or("Unknown")
    }

    /// The reviewer's warning when the file's last `Setup version` or `Logged on user` line
    /// lies before the run judged: those values come from an older run.
    pub fn header_warning(&self) -> Option<&'static str> {
        let own = |f: fn(&Run) -> &str| self.runs().iter().any(|r| !f(r).is_empty());
        (!own(|r| &r.setup_version) || !own(|r| &r.logged_on_user)).then_some(
            "the Setup Version or Logged On User line isn't in the run judged: results might not be accurate",
        )
    }

    /// `LocalBuildNumber`: the backup copy's version in the last run, else the locally installed
    /// version.
    pub fn local_build(&self) -> Option<&'a str> {
        let runs = self.runs();
        runs.iter()
            .rev()
            .map(|r| r.backup_version.as_str())
            .find(|v| !v.is_empty())
            .or_else(|| {
                runs.iter()
                    .rev()
                    .map(|r| r.previous_version.as_str())
                    .find(|v| !v.is_empty())
            })
    }

    /// The run's identity: date, version, mode, user, and how it was selected.
    pub fn run_evidence(&self) -> Evidence {
        let r = self.run;
        let warning = self
            .header_warning()
            .map_or(String::new(), |w| format!(" ({w})"));
        Evidence::new(
            format!(
                "setup run of {} ({}): version {}, mode {}, user {}{warning}",
                crate::rules::utc(r.started_at_ms),
                self.selection,
                self.setup_build().unwrap_or_default(),
                self.mode(),
                self.user()
            ),
            &r.provenance,
        )
    }

    /// A fact cited at a kept line.
    pub fn cite(&self, l: &LogLine, fact: impl Into<String>) -> Evidence {
        Evidence::new(fact, line_of(&self.run.provenance, l.line))
    }

    /// The kept line itself, cited at its number.
    pub fn quote(&self, l: &LogLine) -> Evidence {
        self.cite(l, l.text.clone())
    }

    /// A hit with the run's identity first.
    pub fn hit(&self, id: &'static str, title: String, mut evidence: Vec<Evidence>) -> Hit {
        evidence.insert(0, self.run_evidence());
        Hit {
            id,
            title,
            evidence,
        }
    }
}

/// A context check that only needs one pattern: the matched line and the first error cited.
pub fn context_hit(
    s: &Scope,
    cx: &Context,
    re: &Regex,
    id: &'static str,
    title: &str,
) -> Option<Hit> {
    let (l, _) = cx.find(re)?;
    let mut ev = vec![s.cite(cx.first, format!("first error: {}", cx.first.text))];
    if l.row.line != cx.first.line || l.text != cx.first.text {
        ev.push(s.cite(l.row, l.text.trim()));
    }
    Some(s.hit(id, title.to_string(), ev))
}

/// A kept line's text, then its continuation lines.
pub fn texts(l: &LogLine) -> impl Iterator<Item = &str> {
    std::iter::once(l.text.as_str()).chain(l.continuation.lines())
}

/// The `[Value:"..."]` of an evaluated line.
pub fn value_of(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once("[Value:\"")?;
    let end = rest
        .find("\"] [ParentValue:")
        .or_else(|| rest.rfind("\"]"))?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::value_of;

    #[test]
    fn values_are_read_up_to_the_parent_value() {
        let l = r#"Evaluated [Setting:DomainController] [HasException:False] [Value:"DC2.contoso.com"] [ParentValue:"<NULL>"] [Thread:9]"#;
        assert_eq!(value_of(l), Some("DC2.contoso.com"));
        let empty = r#"Evaluated [Setting:DomainControllerSiteName] [HasException:False] [Value:""] [ParentValue:"<NULL>"]"#;
        assert_eq!(value_of(empty), Some(""));
    }
}
