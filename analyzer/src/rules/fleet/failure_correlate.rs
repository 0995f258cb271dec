//! `fleet.failure-correlate`.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::{fleet_finding, Fleet, FleetRule};
use crate::catalog::Build;
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::Context;

/// The catalog entry.
pub const DOC: &str = "## Detects
A failure (a host finding of warning severity or above, CVE exposure aside: it follows from the build, whose findings are tested) that co-occurs with an attribute of the hosts far more often than chance: AD site, DAG, role group, owner, OS build, .NET release, the CU the host runs, who ran the last setup. Reported when at least 3 hosts have both (minimum support, and 5% of the fleet), at least half the hosts with the attribute have the failure (confidence), the failure is at least twice as frequent among them as in the fleet (lift), and a one-sided hypergeometric test gives p < 0.01 after a Bonferroni correction over every (failure, attribute value) pair tested, so that noise is not reported. Attributes a rule itself reads are not tested against its findings (.NET for dotnet.*, OS for os.*, the CU for build.*). A value whose hosts are a subset of an already reported one for the same failure is left out.
## Evidence
The failure, the attribute value, the counts, support, confidence, lift and p-value, and the hosts.
## Action
Look at what the attribute changes for the update: a site's deployment share or maintenance window, a .NET release the update does not support, an OS build, an operator's runbook; fix it there, then re-run the update on the hosts named.
## Source
exfleet's own fleet analysis (README.md, \"The analyzer\"): association rules (support, confidence, lift) with a hypergeometric test and a Bonferroni correction.";

/// `fleet.failure-correlate`; its catalog entry is [`DOC`].
pub struct FailureCorrelate;

/// At least this many hosts with the failure and the attribute.
const MIN_HOSTS: usize = 3;
/// And at least this share of the fleet.
const MIN_SUPPORT: f64 = 0.05;
const MIN_CONFIDENCE: f64 = 0.5;
const MIN_LIFT: f64 = 2.0;
const ALPHA: f64 = 0.01;

/// (attribute, ids whose rules read it and are not tested against it)
const ATTRIBUTES: [(&str, &[&str]); 8] = [
    ("AD site", &[]),
    ("DAG", &[]),
    ("role group", &[]),
    ("owner", &[]),
    ("OS build", &["os.", "dotnet."]),
    (".NET release", &["dotnet."]),
    ("CU", &["build.", "dotnet."]),
    ("setup run by", &[]),
];

impl FleetRule for FailureCorrelate {
    fn id(&self) -> &'static str {
        "fleet.failure-correlate"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, fleet: &Fleet, cx: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let attrs = host_attributes(fleet, cx)?;
        let n = attrs.len();
        if n < MIN_HOSTS {
            return Ok(());
        }
        let failures = failures(fleet.findings)?;
        // (failure, attribute, value) -> hosts with both; and each value's hosts.
        let mut by_value: BTreeMap<(usize, String), BTreeSet<&str>> = BTreeMap::new();
        for (host, values) in &attrs {
            for (a, v) in values.iter().enumerate() {
                if !v.is_empty() {
                    by_value
                        .entry((a, v.clone()))
                        .or_default()
                        .insert(host.as_str());
                }
            }
        }
        let mut candidates = Vec::new();
        let mut tests = 0usize;
        for (id, with_failure) in &failures {
            let nf = with_failure.len();
            if nf < MIN_HOSTS || nf == n {
                continue;
            }
            for ((a, v), hosts) in &by_value {
                let (name, skip) = ATTRIBUTES[*a];
                if skip.iter().any(|p| id.starts_with(p)) || hosts.len() == n {
                    continue;
                }
                tests += 1;
                let both: Vec<&str> = hosts
                    .iter()
                    .copied()
                    .filter(|h| with_failure.contains(*h))
                    .collect();
                let k = both.len();
                let support = k as f64 / n as f64;
                let confidence = k as f64 / hosts.len() as f64;
                let lift = confidence / (nf as f64 / n as f64);
                if k < MIN_HOSTS
                    || support < MIN_SUPPORT
                    || confidence < MIN_CONFIDENCE
                    || lift < MIN_LIFT
                {
                    continue;
                }
                let p = hypergeometric_tail(n, nf, hosts.len(), k);
                candidates.push(Candidate {
                    id: id.clone(),
                    attribute: name,
                    value: v.clone(),
                    with_value: hosts.len(),
                    with_failure: nf,
                    both: both.iter().map(|h| h.to_string()).collect(),
                    support,
                    confidence,
                    lift,
                    p,
                });
            }
        }
        let threshold = ALPHA / tests.max(1) as f64;
        candidates.retain(|c| c.p < threshold);
        candidates.sort_by(|a, b| {
            a.id.cmp(&b.id)
                .then(a.p.total_cmp(&b.p))
                .then(b.both.len().cmp(&a.both.len()))
        });
        let mut reported: Vec<(String, BTreeSet<String>)> = Vec::new();
        for c in candidates {
            let set: BTreeSet<String> = c.both.iter().cloned().collect();
            if reported
                .iter()
                .any(|(id, hosts)| *id == c.id && set.is_subset(hosts))
            {
                continue;
            }
            reported.push((c.id.clone(), set));
            let title = format!(
                "{} on {} of the {} hosts with {} {} (lift {:.1})",
                c.id,
                c.both.len(),
                c.with_value,
                c.attribute,
                c.value,
                c.lift
            );
            let ev = vec![
                Evidence::new(
                    format!(
                        "{} hosts of {n} have {}; {} of the {} with {} {} have it",
                        c.with_failure,
                        c.id,
                        c.both.len(),
                        c.with_value,
                        c.attribute,
                        c.value
                    ),
                    "findings.id, hosts",
                ),
                Evidence::new(
                    format!(
                        "support {:.2}, confidence {:.2}, lift {:.2}, p = {:.2e} (threshold {:.1e} over {tests} pairs tested)",
                        c.support, c.confidence, c.lift, c.p, threshold
                    ),
                    "",
                ),
            ];
            let group = format!("{} ~ {}={}", c.id, c.attribute, c.value);
            out.push(fleet_finding(self, title, group, ev, c.both));
        }
        Ok(())
    }
}

struct Candidate {
    id: String,
    attribute: &'static str,
    value: String,
    with_value: usize,
    with_failure: usize,
    both: Vec<String>,
    support: f64,
    confidence: f64,
    lift: f64,
    p: f64,
}

/// Host findings that are not failures: CVE exposure follows from the build alone, whose own
/// findings (`build.*`) are tested already.
const NOT_FAILURES: &[&str] = &["security."];

/// Failure id -> hosts, for host findings of warning severity and above.
fn failures(findings: &DataFrame) -> PolarsResult<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if findings.height() == 0 {
        return Ok(out);
    }
    let ids = findings.column("id")?.str()?;
    let hosts = findings.column("host")?.str()?;
    let severities = findings.column("severity")?.str()?;
    for i in 0..findings.height() {
        let (Some(id), Some(h), Some(sev)) = (ids.get(i), hosts.get(i), severities.get(i)) else {
            continue;
        };
        if h == "fleet" || sev == "info" || NOT_FAILURES.iter().any(|p| id.starts_with(p)) {
            continue;
        }
        out.entry(id.to_string()).or_default().insert(h.to_string());
    }
    Ok(out)
}

/// Each host's attribute values, in [`ATTRIBUTES`] order.
fn host_attributes(fleet: &Fleet, cx: &Context) -> PolarsResult<Vec<(String, Vec<String>)>> {
    let hosts = &fleet.latest.hosts;
    if hosts.height() == 0 {
        return Ok(Vec::new());
    }
    let text = |name: &str| -> PolarsResult<Vec<String>> {
        Ok(hosts
            .column(name)?
            .cast(&DataType::String)?
            .str()?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    };
    let names = text("host")?;
    let columns = [
        text("ad_site")?,
        text("dag")?,
        text("role_group")?,
        text("owner")?,
        text("os_current_build")?,
        text("dotnet_release")?,
    ];
    let cus: Vec<String> = text("exsetup_version")?
        .iter()
        .map(|b| {
            Build::parse(b)
                .and_then(|b| cx.catalog.cu_of(&b))
                .map(|r| format!("{} {}", r.product, r.cu))
                .unwrap_or_default()
        })
        .collect();
    let setup_users = last_setup_users(&fleet.latest.setup_runs)?;
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            let mut values: Vec<String> = columns.iter().map(|c| c[i].clone()).collect();
            if values[5] == "0" {
                values[5].clear();
            }
            values.push(cus[i].clone());
            values.push(setup_users.get(&h).cloned().unwrap_or_default());
            (h, values)
        })
        .collect())
}

/// Host -> the account that ran its last setup run.
fn last_setup_users(runs: &DataFrame) -> PolarsResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if runs.height() == 0 {
        return Ok(out);
    }
    let hosts = runs.column("host")?.str()?;
    let last = runs.column("is_last")?.bool()?;
    let users = runs.column("logged_on_user")?.str()?;
    for i in 0..runs.height() {
        if let (Some(h), Some(true), Some(u)) = (hosts.get(i), last.get(i), users.get(i)) {
            out.insert(h.to_string(), u.to_string());
        }
    }
    Ok(out)
}

/// P(X >= k) for X hypergeometric: `n` hosts, `failing` of them with the failure, `drawn`
/// with the attribute.
fn hypergeometric_tail(n: usize, failing: usize, drawn: usize, k: usize) -> f64 {
    let ln_fact: Vec<f64> = std::iter::once(0.0)
        .chain((1..=n).scan(0.0, |acc, i| {
            *acc += (i as f64).ln();
            Some(*acc)
        }))
        .collect();
    let ln_choose = |a: usize, b: usize| ln_fact[a] - ln_fact[b] - ln_fact[a - b];
    let total = ln_choose(n, drawn);
    (k..=failing.min(drawn))
        .filter(|&x| drawn - x <= n - failing)
        .map(|x| (ln_choose(failing, x) + ln_choose(n - failing, drawn - x) - total).exp())
        .sum::<f64>()
        .min(1.0)
}

#[cfg(test)]
mod tests {
    use super::hypergeometric_tail;

    #[test]
    fn the_tail_matches_hand_computed_values() {
        // 10 hosts, 3 failing, 3 drawn: all three failing among them is 1 / C(10,3).
        assert!((hypergeometric_tail(10, 3, 3, 3) - 1.0 / 120.0).abs() < 1e-12);
        // At least zero is certain.
        assert!((hypergeometric_tail(10, 3, 3, 0) - 1.0).abs() < 1e-12);
        // P(X >= 1) = 1 - C(7,3)/C(10,3) = 1 - 35/120.
        assert!((hypergeometric_tail(10, 3, 3, 1) - 85.0 / 120.0).abs() < 1e-12);
    }
}
