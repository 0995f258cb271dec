//! `setup.hybrid-object`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup failed on an on-premises hybrid object: an organization relationship (or the hybrid configuration object) whose settings setup cannot read or update, e.g. a TargetSharingEpr or TargetOwaURL value it rejects.
## Evidence
The run judged, the DidOnPremisesSettingCreatedAnException rule, the IsHybridObjectFoundOnPremises evaluation, and the one application URI searched for within 20 lines of it.
## Action
Note the organization relationship's settings (Get-OrganizationRelationship | Format-List), correct or clear the value the error names (Set-OrganizationRelationship), or remove the relationship and re-create it after setup (re-run the Hybrid Configuration Wizard), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): hybrid object found on premises (an organization relationship setting).";

/// `setup.hybrid-object`.
pub static RULE: Known = Known {
    id: "setup.hybrid-object",
    doc: DOC,
    module_path: module_path!(),
};

/// Setup's on-premises setting raised an exception, and the 20 lines around the last
/// `IsHybridObjectFoundOnPremises` evaluation name the one application URI searched for.
pub fn detect(s: &Scope) -> Option<Hit> {
    static URI: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"Searching for (.+) as the TargetApplicationUri"));
    let (true, rule) = s.test("DidOnPremisesSettingCreatedAnException")? else {
        return None;
    };
    let mut ev = vec![s.quote(rule)];
    let setting = s
        .test("IsHybridObjectFoundOnPremises")
        .map(|(_, l)| l)
        .or_else(|| {
            s.value("IsHybridObjectFoundOnPremises")
                .map(|(_, l)| l)
                .filter(|l| l.line > s.start)
        });
    let Some(setting) = setting else {
        ev.push(s.cite(
            rule,
            "the IsHybridObjectFoundOnPremises evaluation was not found in the run",
        ));
        return Some(s.hit(
            RULE.id,
            "An on-premises hybrid object setting raised an exception".into(),
            ev,
        ));
    };
    ev.push(s.quote(setting));
    let uris: Vec<_> = s
        .run_lines()
        .filter(|l| (l.line - setting.line).abs() <= 20)
        .filter_map(|l| {
            URI.captures(&l.text)
                .map(|c| (l, c.get(1).map_or("", |m| m.as_str()).to_string()))
        })
        .collect();
    let title = match uris.as_slice() {
        [(l, uri)] => {
            ev.push(s.quote(l));
            ev.push(s.cite(l, format!("application URI: {uri}")));
            format!("An Organization Relationship has a null ApplicationURI: add \"{uri}\" to it")
        }
        _ => {
            ev.push(s.cite(
                setting,
                format!(
                    "{} TargetApplicationUri searches within 20 lines, not one",
                    uris.len()
                ),
            ));
            "An Organization Relationship has a null ApplicationURI".into()
        }
    };
    Some(s.hit(RULE.id, title, ev))
}
