//! The report an administrator reads: one self-contained HTML file (inline CSS, inline SVG
//! charts, a few lines of inline script, no network fetch) with the fleet overview, the
//! builds per site, a timeline of update runs against error events, the fleet findings, an
//! action plan grouped by fix, and each host's findings with their evidence. It only renders:
//! the builds, lags and action plan are [`crate::summary`]'s, the timeline
//! [`crate::queries`]'s; [`crate::report`] writes the file.
//!
//! Section ids (`overview`, `exposure`, `builds-by-site`, `timeline`, `fleet`, `actions`,
//! `rollout` when a target is given, `not-collected` when servers expected did not report,
//! `hosts`) and
//! chart ids (`chart-severity`, `chart-builds-by-site`, `chart-timeline`) are stable: tests
//! and people link to them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::analyze::Analysis;
use crate::catalog::Catalog;
use crate::finding::{Finding, Severity};
use crate::queries::Timeline;
use crate::summary::{build_name, lag, plan, ExposureSummary};

/// The report's HTML.
pub fn render(a: &Analysis, catalog: &Catalog, timeline: &Timeline) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let hosts_with: usize = {
        let mut h: Vec<&str> = a
            .findings
            .iter()
            .filter(|f| f.host != "fleet" && f.severity > Severity::Info)
            .map(|f| f.host.as_str())
            .collect();
        h.sort();
        h.dedup();
        h.len()
    };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>exfleet report, {as_of}</title><style>{CSS}</style></head><body>\n\
         <header><h1>Exchange fleet patch health</h1><p>{n} servers, analysed as of {as_of}; \
         build catalog as of {cat}. {hosts_with} servers have findings to act on.</p></header>\n",
        as_of = a.as_of,
        n = a.hosts.len(),
        cat = a.catalog_as_of,
    );
    for w in &a.catalog_warnings {
        let _ = writeln!(s, "<p class=\"catalog-warning\">Warning: {}</p>", esc(w));
    }
    overview(&mut s, a, catalog);
    exposure(&mut s, &crate::summary::exposure(&a.exposure, catalog));
    builds_by_site(&mut s, a, catalog);
    timeline_section(&mut s, timeline);
    ioc_section(&mut s, a);
    fleet_section(&mut s, a);
    actions(&mut s, a);
    if let Some(p) = &a.rollout {
        s.push_str(&crate::rollout::render::plan_html(p));
    }
    not_collected(&mut s, a);
    hosts(&mut s, a, catalog);
    s.push_str(SCRIPT);
    s.push_str("</body></html>\n");
    s
}

fn overview(s: &mut String, a: &Analysis, catalog: &Catalog) {
    s.push_str("<section id=\"overview\"><h2>Overview</h2><div class=\"cols\"><div>");
    s.push_str(
        "<h3>Servers per product, CU and update</h3><table><tr><th>Build</th><th>Servers</th></tr>",
    );
    let mut builds: BTreeMap<String, usize> = BTreeMap::new();
    let mut behind: BTreeMap<&str, usize> = BTreeMap::new();
    for h in &a.hosts {
        *builds.entry(build_name(h, catalog)).or_default() += 1;
        *behind.entry(lag(h, catalog, a.as_of)).or_default() += 1;
    }
    for (name, n) in &builds {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
            esc(name)
        );
    }
    s.push_str("</table></div><div><h3>How far behind</h3><table><tr><th>Newest update of their CU</th><th>Servers</th></tr>");
    for (k, n) in &behind {
        let _ = write!(s, "<tr><td>{}</td><td class=\"num\">{n}</td></tr>", esc(k));
    }
    s.push_str("</table></div><div><h3>Findings by severity</h3>");
    let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in &a.findings {
        *by_sev.entry(f.severity).or_default() += 1;
    }
    let max = by_sev.values().copied().max().unwrap_or(1).max(1);
    let sevs = [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ];
    let _ = write!(
        s,
        "<svg id=\"chart-severity\" class=\"chart\" viewBox=\"0 0 320 {}\" role=\"img\" aria-label=\"Findings by severity\">",
        sevs.len() * 28 + 4
    );
    for (i, sev) in sevs.iter().enumerate() {
        let n = by_sev.get(sev).copied().unwrap_or(0);
        let w = (n as f64 / max as f64 * 200.0).round();
        let y = i * 28 + 4;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" class=\"label\">{}</text><rect class=\"bar sev-{}\" x=\"70\" y=\"{y}\" width=\"{w}\" height=\"20\" data-count=\"{n}\"></rect><text x=\"{}\" y=\"{}\" class=\"label\">{n}</text>",
            y + 15,
            sev.name(),
            sev.name(),
            75.0 + w,
            y + 15
        );
    }
    s.push_str("</svg></div></div></section>\n");
}

/// How many CVE rows the exposure table shows.
const CVE_ROWS: usize = 40;

fn exposure(s: &mut String, e: &ExposureSummary) {
    s.push_str("<section id=\"exposure\"><h2>CVE exposure</h2>");
    if e.cve_table_as_of.is_empty() {
        s.push_str(
            "<p>The build catalog has no CVE table: exposure is not judged.</p></section>\n",
        );
        return;
    }
    let _ = write!(
        s,
        "<p>CVE table as of {}. {} servers open to at least one CVE; {} with a CVE waiting on a setting the evidence does not show; {} with only the March 2021 SU on an unsupported CU; {} past their product's end of support and behind (expired); {} with no build read. Which class of CVE is judged how: analyzer/CVE.md.</p>",
        esc(&e.cve_table_as_of),
        e.servers_open,
        e.servers_unverified,
        e.servers_advisory,
        e.servers_expired,
        e.servers_unknown
    );
    s.push_str("<table><tr><th>CVE</th><th>Servers open</th><th>Waiting on a setting</th><th>March 2021 SU only</th><th>Fixed by</th></tr>");
    for c in e.per_cve.iter().take(CVE_ROWS) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&c.cve),
            c.open.len(),
            c.unverified.len(),
            c.advisory.len(),
            esc(&c.fixed_by.join(", "))
        );
    }
    s.push_str("</table>");
    if e.per_cve.len() > CVE_ROWS {
        let _ = write!(
            s,
            "<p>{} more CVEs in the export's cve_exposure table.</p>",
            e.per_cve.len() - CVE_ROWS
        );
    }
    s.push_str("</section>\n");
}

fn builds_by_site(s: &mut String, a: &Analysis, catalog: &Catalog) {
    let mut sites: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    let mut all_builds: Vec<String> = Vec::new();
    for h in &a.hosts {
        let site = if h.ad_site.is_empty() {
            "(no site)"
        } else {
            h.ad_site.as_str()
        };
        let name = build_name(h, catalog);
        *sites
            .entry(site)
            .or_default()
            .entry(name.clone())
            .or_default() += 1;
        all_builds.push(name);
    }
    all_builds.sort();
    all_builds.dedup();
    let max = sites
        .values()
        .map(|b| b.values().sum::<usize>())
        .max()
        .unwrap_or(1)
        .max(1);
    s.push_str("<section id=\"builds-by-site\"><h2>Builds per AD site</h2>");
    let height = sites.len() * 30 + 10;
    let _ = write!(
        s,
        "<svg id=\"chart-builds-by-site\" class=\"chart\" viewBox=\"0 0 760 {height}\" role=\"img\" aria-label=\"Servers per build in each AD site\">"
    );
    for (row, (site, builds)) in sites.iter().enumerate() {
        let y = row * 30 + 5;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" class=\"label\">{}</text>",
            y + 16,
            esc(site)
        );
        let mut x = 120.0;
        for (build, n) in builds {
            let w = *n as f64 / max as f64 * 600.0;
            let color = all_builds.iter().position(|b| b == build).unwrap_or(0);
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"22\" fill=\"{}\" data-site=\"{}\" data-build=\"{}\"><title>{}: {n} on {}</title></rect>",
                PALETTE[color % PALETTE.len()],
                esc(site),
                esc(build),
                esc(site),
                esc(build)
            );
            x += w;
        }
    }
    s.push_str("</svg><ul class=\"legend\">");
    for (i, b) in all_builds.iter().enumerate() {
        let _ = write!(
            s,
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
            PALETTE[i % PALETTE.len()],
            esc(b)
        );
    }
    s.push_str("</ul></section>\n");
}

fn timeline_section(s: &mut String, t: &Timeline) {
    s.push_str("<section id=\"timeline\"><h2>Update runs, reboots and error events, per day</h2>");
    let max_up = t.days.iter().map(|d| d.0).max().unwrap_or(0).max(1) as f64;
    let max_err = t.days.iter().map(|d| d.1).max().unwrap_or(0).max(1) as f64;
    let w = 8.0;
    let _ = write!(
        s,
        "<svg id=\"chart-timeline\" class=\"chart\" viewBox=\"0 0 {} 240\" role=\"img\" aria-label=\"Update runs (above, reboots marked over them) and error events (below) per day\">",
        t.days.len() as f64 * w + 40.0
    );
    s.push_str("<line class=\"axis\" x1=\"30\" y1=\"110\" x2=\"100%\" y2=\"110\"></line>");
    for (i, (up, err)) in t.days.iter().enumerate() {
        let x = 30.0 + i as f64 * w;
        let day = chrono::DateTime::from_timestamp_millis(t.day_start_ms(i))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let hu = *up as f64 / max_up * 90.0;
        let he = *err as f64 / max_err * 90.0;
        let _ = write!(
            s,
            "<rect class=\"update-run\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hu:.1}\" data-day=\"{day}\" data-count=\"{up}\"><title>{day}: {up} update runs</title></rect>\
             <rect class=\"error-event\" x=\"{x:.1}\" y=\"110\" width=\"{:.1}\" height=\"{he:.1}\" data-day=\"{day}\" data-count=\"{err}\"><title>{day}: {err} error events</title></rect>",
            110.0 - hu,
            w - 1.0,
            w - 1.0
        );
        let reboots = t.reboots.get(i).copied().unwrap_or(0);
        if reboots > 0 {
            // Reboots beside the update runs: a mark above the day's update bar.
            let _ = write!(
                s,
                "<circle class=\"reboot\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" data-day=\"{day}\" data-count=\"{reboots}\"><title>{day}: {reboots} reboots</title></circle>",
                x + (w - 1.0) / 2.0,
                110.0 - hu - 6.0
            );
        }
        if i % 14 == 0 {
            let _ = write!(
                s,
                "<text class=\"label\" x=\"{x:.1}\" y=\"230\">{}</text>",
                &day[5..]
            );
        }
    }
    s.push_str("<text class=\"label\" x=\"0\" y=\"20\">runs</text><text class=\"label\" x=\"0\" y=\"200\">errors</text></svg>");
    s.push_str("<p class=\"note\">Update runs: MsiInstaller and Windows Update install events (not Defender definition updates), ExchangeSetup.log runs, MSI logs. Reboots (dots): a host's start (EventLog 6005, Kernel-General 12). Error events: ASP.NET 1309/1310, Front End HTTP Proxy 1003, HttpEvent 15021, service failures (Service Control Manager 7000/7009/7011/7023/7031/7034), process crashes (Application Error 1000, .NET Runtime 1026, MSExchange Common 4999).</p></section>\n");
}

/// The servers with indicators of compromise: per server, what was found, how many matches,
/// first and last seen, the source addresses; then what each indicator's scan covered.
fn ioc_section(s: &mut String, a: &Analysis) {
    s.push_str("<section id=\"ioc\"><h2>Indicators of compromise</h2>");
    let mut rows = 0;
    let mut table = String::from(
        "<table><thead><tr><th>Server</th><th>Indicators</th><th>Matches</th><th>First seen</th>\
         <th>Last seen</th><th>Source addresses</th></tr></thead><tbody>",
    );
    for h in &a.hosts {
        // The web folders' files are an inventory: only the fleet rule's outliers count.
        let found: Vec<_> = h
            .ioc_matches
            .iter()
            .filter(|m| m.indicator != exfleet_proto::kinds::IocKind::AspxFile)
            .collect();
        if found.is_empty() {
            continue;
        }
        rows += 1;
        let mut kinds: Vec<&str> = found.iter().map(|m| m.indicator.as_str()).collect();
        kinds.sort();
        kinds.dedup();
        let mut ips: Vec<&str> = found
            .iter()
            .map(|m| m.client_ip.as_str())
            .filter(|ip| !ip.is_empty())
            .collect();
        ips.sort();
        ips.dedup();
        // An archive alone does not date a compromise (ioc.suspicious-archive).
        let (first, last) = crate::rules::ioc::seen(&crate::rules::ioc::compromise_matches(h));
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&h.host),
            esc(&kinds.join(", ")),
            found.len(),
            esc(&crate::rules::utc(first)),
            esc(&crate::rules::utc(last)),
            esc(&ips.join(", "))
        );
    }
    table.push_str("</tbody></table>");
    if rows == 0 {
        s.push_str(
            "<p>No server shows an indicator of compromise in the logs and folders scanned.</p>",
        );
    } else {
        let _ = write!(
            s,
            "<p>{rows} servers show indicators of compromise.</p>{table}"
        );
    }
    // Coverage: "nothing found" only means clean as far back as the logs go.
    let mut reach: Vec<(String, i64)> = a
        .hosts
        .iter()
        .filter_map(|h| {
            let oldest = h
                .ioc_scans
                .iter()
                .filter(|c| c.oldest_ms != 0)
                .map(|c| c.oldest_ms)
                .min()?;
            Some((h.host.clone(), oldest))
        })
        .collect();
    reach.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
    if let Some((host, t)) = reach.first() {
        let _ = write!(
            s,
            "<p>The logs scanned reach back to {} at the earliest; on {} only to {}: no match there means clean only since then.</p>",
            esc(&crate::rules::utc(reach.iter().map(|(_, t)| *t).min().unwrap_or(0))),
            esc(host),
            esc(&crate::rules::utc(*t))
        );
    }
    // The servers where "no match" is "not looked" (ioc.coverage-gap).
    for f in a.findings.iter().filter(|f| f.id == "ioc.coverage-gap") {
        let _ = write!(
            s,
            "<p>Cannot rule out a compromise on {}: their scans do not reach back to the exposure or incident window.</p><ul>",
            esc(&f.hosts.join(", "))
        );
        for e in &f.evidence {
            let _ = write!(s, "<li>{}</li>", esc(&e.fact));
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>\n");
}

fn fleet_section(s: &mut String, a: &Analysis) {
    s.push_str("<section id=\"fleet\"><h2>Across the fleet</h2>");
    let fleet: Vec<&Finding> = a.findings.iter().filter(|f| f.host == "fleet").collect();
    if fleet.is_empty() {
        s.push_str("<p>No pattern across hosts.</p>");
    }
    for f in sorted(fleet) {
        let _ = write!(
            s,
            "<article class=\"finding {}\"><h3><span class=\"sev\">{}</span> {} <code>{}</code></h3><p class=\"hosts\">{}</p>",
            f.severity.name(),
            f.severity.name(),
            esc(&f.title),
            esc(&f.id),
            esc(&f.hosts.join(", "))
        );
        evidence(s, f);
        s.push_str("</article>");
    }
    s.push_str("</section>\n");
}

fn actions(s: &mut String, a: &Analysis) {
    s.push_str("<section id=\"actions\"><h2>Action plan, by fix</h2><ol>");
    for fix in plan(&a.findings) {
        let _ = write!(
            s,
            "<li class=\"{}\"><p><span class=\"sev\">{}</span> {}</p><p class=\"ids\">{} &middot; {} host{}: {}</p></li>",
            fix.severity.name(),
            fix.severity.name(),
            esc(&fix.action),
            esc(&fix.ids.join(", ")),
            fix.hosts.len(),
            if fix.hosts.len() == 1 { "" } else { "s" },
            esc(&fix.hosts.join(", "))
        );
    }
    s.push_str("</ol></section>\n");
}

fn hosts(s: &mut String, a: &Analysis, catalog: &Catalog) {
    s.push_str("<section id=\"hosts\"><h2>Servers</h2><p><label>Filter <input id=\"host-filter\" type=\"search\" placeholder=\"name, site, finding id\"></label></p>");
    let mut by_host: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in a.findings.iter().filter(|f| f.host != "fleet") {
        by_host.entry(f.host.as_str()).or_default().push(f);
    }
    for h in &a.hosts {
        let fs = sorted(by_host.remove(h.host.as_str()).unwrap_or_default());
        let top = fs
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info);
        let ids: Vec<&str> = fs.iter().map(|f| f.id.as_str()).collect();
        let _ = write!(
            s,
            "<details class=\"host {}\" id=\"host-{}\" data-search=\"{}\"><summary><b>{}</b> {} &middot; {} &middot; {} finding{}</summary>",
            top.name(),
            esc(&h.host),
            esc(&format!("{} {} {} {}", h.host, h.ad_site, h.dag, ids.join(" ")).to_lowercase()),
            esc(&h.host),
            esc(&h.ad_site),
            esc(&build_name(h, catalog)),
            fs.len(),
            if fs.len() == 1 { "" } else { "s" }
        );
        for f in fs {
            let _ = write!(
                s,
                "<article class=\"finding {}\"><h3><span class=\"sev\">{}</span> {} <code>{}</code></h3>",
                f.severity.name(),
                f.severity.name(),
                esc(&f.title),
                esc(&f.id)
            );
            evidence(s, f);
            let _ = write!(s, "<p class=\"action\">{}</p></article>", esc(&f.action));
        }
        s.push_str("</details>\n");
    }
    s.push_str("</section>\n");
}

fn not_collected(s: &mut String, a: &Analysis) {
    if a.not_collected.is_empty() {
        return;
    }
    s.push_str("<section id=\"not-collected\"><h2>Servers that should report</h2><ul>");
    for n in &a.not_collected {
        let _ = write!(s, "<li><b>{}</b>: {}</li>", esc(&n.host), esc(&n.why));
    }
    s.push_str("</ul></section>");
}

fn evidence(s: &mut String, f: &Finding) {
    s.push_str("<ul class=\"evidence\">");
    for e in &f.evidence {
        let _ = write!(s, "<li>{}", esc(&e.fact));
        if !e.provenance.is_empty() {
            let _ = write!(s, " <code>{}</code>", esc(&e.provenance));
        }
        s.push_str("</li>");
    }
    s.push_str("</ul>");
}

/// Most severe first, then by id and host.
fn sorted(mut v: Vec<&Finding>) -> Vec<&Finding> {
    v.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.id.cmp(&b.id))
            .then(a.group.cmp(&b.group))
    });
    v
}

/// `http://` and `https://` (any case) as `hxxp://` and `hxxps://`.
fn defang(s: &str) -> std::borrow::Cow<'_, str> {
    let lower = s.to_ascii_lowercase();
    if !lower.contains("http://") && !lower.contains("https://") {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let rest = &lower[i..];
        if rest.starts_with("http://") || rest.starts_with("https://") {
            out.push_str(if s[i..].starts_with('H') {
                "HXXP"
            } else {
                "hxxp"
            });
            i += 4;
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Text as HTML. URLs in it (an indicator's log line, an attacker's payload) are defanged
/// (`hxxp://`), as reports of indicators write them: the page links to nothing and loads nothing.
pub fn esc(s: &str) -> String {
    let s = defang(s);
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const PALETTE: [&str; 16] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d",
];

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px;color:#222}\
h1{font-size:22px}.catalog-warning{background:#fff3cd;padding:6px 10px}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}h3{font-size:15px;margin:8px 0}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:3px 10px;text-align:left}.num{text-align:right}\
.cols{display:flex;flex-wrap:wrap;gap:32px}.chart{width:100%;max-width:760px;height:auto}.label{font-size:11px;fill:#444}\
.sev-critical,.critical>h3 .sev,.critical>p .sev{background:#b10026;fill:#b10026;color:#fff}.sev-error,.error>h3 .sev,.error>p .sev{background:#e34a33;fill:#e34a33;color:#fff}\
.sev-warning,.warning>h3 .sev,.warning>p .sev{background:#fdbb84;fill:#fdbb84}.sev-info,.info>h3 .sev,.info>p .sev{background:#c6dbef;fill:#9ecae1}\
.sev{padding:1px 6px;border-radius:3px;font-size:12px}.update-run{fill:#4e79a7}.error-event{fill:#e15759}.reboot{fill:#f28e2b}.axis{stroke:#888}\
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px}.swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}\
details.host{border:1px solid #ddd;border-radius:4px;margin:4px 0;padding:4px 8px}details.host.critical{border-left:4px solid #b10026}\
details.host.error{border-left:4px solid #e34a33}details.host.warning{border-left:4px solid #fdbb84}\
.evidence{margin:4px 0 8px 16px;padding:0}code{font-size:12px;color:#555;word-break:break-all}.action{color:#333;font-style:italic}.note,.ids,.hosts{color:#666;font-size:12px}";

const SCRIPT: &str = "<script>\
(function(){var box=document.getElementById('host-filter');if(!box){return;}\
box.addEventListener('input',function(){var q=box.value.toLowerCase().trim();\
document.querySelectorAll('details.host').forEach(function(d){\
d.style.display=(!q||d.dataset.search.indexOf(q)>=0)?'':'none';});});})();\
</script>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_text_are_defanged_and_escaped() {
        assert_eq!(
            esc(r#"ExternalUrl=''http://f/<script>'' https://x HTTP://Y é"#),
            "ExternalUrl=&#39;&#39;hxxp://f/&lt;script&gt;&#39;&#39; hxxps://x HXXP://Y é"
        );
        assert_eq!(esc("plain"), "plain");
    }
}
