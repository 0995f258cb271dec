//! The reviewer's prerequisite check (chain step 1, reference section 5): setup's evaluated
//! prerequisite rules and settings of the last run, one finding id per kind of check. Each
//! file here (and `setup/ad_validation.rs` and `setup/interrupted.rs` for the AD validation
//! and install watermark tests) holds its id's catalog entry; the block's logic is here, since
//! its tests share one order and one "stop" flag: a test that stops skips the admin tests.

pub mod dc_out_of_site;
pub mod domain_prep_required;
pub mod enterprise_admin_required;
pub mod msdtc_stopped;
pub mod org_management_required;
pub mod process_open;
pub mod reboot_pending;
pub mod remote_registry;
pub mod schema_admin_required;
pub mod url_rewrite_missing;

use std::sync::LazyLock;

use regex::Regex;

use super::reviewer::{pattern, Hit, Scope};
use super::{ad_validation, interrupted};
use crate::finding::Evidence;

/// The tests of the block in the reference's order; every test that fires reports.
pub fn detect(s: &Scope) -> Vec<Hit> {
    static AD: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"\[ERROR\] Setup encountered a problem while validating the state of Active Directory: (.*) See the Exchange setup log for more information on this error\.",
        )
    });
    let mut hits = Vec::new();
    // Tests that set the reference's return flag: the admin tests are then skipped and the
    // additional context is added.
    let mut stopped = false;
    if let Some((l, c)) = s.last_in_run(&AD) {
        hits.push(s.hit(
            ad_validation::RULE.id,
            "Setup failed to validate the AD environment level".into(),
            vec![s.cite(
                l,
                format!(
                    "internal exception: {}",
                    c.get(1).map_or("", |m| m.as_str().trim())
                ),
            )],
        ));
        stopped = true;
    }
    let rules: [(&str, &'static str, &str); 5] = [
        (
            "PendingRebootWindowsComponents",
            reboot_pending::RULE.id,
            "Computer is pending reboot based off the Windows Component in the registry",
        ),
        (
            "RebootPending",
            reboot_pending::RULE.id,
            "Computer is pending reboot based off the Session Manager in the registry",
        ),
        (
            "ProcessNeedsToBeClosedOnUpgrade",
            process_open::RULE.id,
            "Additional PowerShell sessions are open: close them before running setup again",
        ),
        (
            "DomainControllerIsOutOfSite",
            dc_out_of_site::RULE.id,
            "Setup selected a domain controller that is not in the same site as the Exchange server",
        ),
        (
            "RemoteRegException",
            remote_registry::RULE.id,
            "Failed to run '[Microsoft.Win32.RegistryKey]::OpenRemoteBaseKey(...)' on this computer, causing setup to fail",
        ),
    ];
    for (name, id, says) in rules {
        if let Some((true, l)) = s.test(name) {
            let mut ev = vec![s.quote(l)];
            let mut title = says.to_string();
            if id == dc_out_of_site::RULE.id {
                let dc = s.value("DomainController");
                let site = s.value("DomainControllerSiteName");
                if dc.is_some() || site.is_some() {
                    let dc_name = dc.map_or("Failed to find DC Value", |(v, _)| v);
                    let site_name = site.map_or("NULL VALUE", |(v, _)| v);
                    title =
                        format!("{title}: domain controller '{dc_name}', its site '{site_name}'");
                    for (label, v) in [("Domain Controller", dc), ("Domain Controller Site", site)]
                    {
                        ev.push(match v {
                            Some((v, l)) => s.cite(l, format!("{label}: '{v}'")),
                            None => Evidence::new(
                                format!(
                                    "{label}: '{}'",
                                    if label == "Domain Controller" {
                                        dc_name
                                    } else {
                                        site_name
                                    }
                                ),
                                "",
                            ),
                        });
                    }
                }
            }
            hits.push(s.hit(id, title, ev));
            stopped = true;
        }
    }
    let notes: [(&str, &'static str, &str); 2] = [
        (
            "MSDTCStopped",
            msdtc_stopped::RULE.id,
            "The MSDTC service is stopped: start it before running setup again",
        ),
        (
            "IisUrlRewriteNotInstalled",
            url_rewrite_missing::RULE.id,
            "IIS URL Rewrite is not installed: install it before running setup again",
        ),
    ];
    for (name, id, says) in notes {
        if let Some((true, l)) = s.test(name) {
            hits.push(s.hit(id, says.into(), vec![s.quote(l)]));
        }
    }
    if let (Some((false, prepped)), Some((true, required))) =
        (s.test("LocalDomainIsPrepped"), s.test("DomainPrepRequired"))
    {
        hits.push(s.hit(
            domain_prep_required::RULE.id,
            "The local domain is not prepped, or might have duplicate MESO containers".into(),
            vec![s.quote(prepped), s.quote(required)],
        ));
    }
    if let Some(l) = s.any_true("InstallWatermark") {
        hits.push(s.hit(
            interrupted::ID,
            "A setup failure for install or recovery left a watermark".into(),
            vec![s.quote(l)],
        ));
    }
    let mut admin = Vec::new();
    if !stopped {
        admin = admin_tests(s);
    }
    let red = stopped || admin.iter().any(|(_, red)| *red);
    hits.extend(admin.into_iter().map(|(h, _)| h));
    if red {
        let extra = additional_context(s);
        for h in hits.iter_mut().filter(|h| {
            ![
                msdtc_stopped::RULE.id,
                url_rewrite_missing::RULE.id,
                domain_prep_required::RULE.id,
                interrupted::ID,
            ]
            .contains(&h.id)
        }) {
            h.evidence.extend(extra.iter().cloned());
        }
    }
    hits
}

/// The admin-group tests; each hit says whether it is one of the Red ones.
fn admin_tests(s: &Scope) -> Vec<(Hit, bool)> {
    static SCHEMA: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"^Schema Update Required Status : '(\w+)'\."));
    static ORG: LazyLock<Regex> = LazyLock::new(|| {
        pattern(r"^Organization Configuration Update Required Status : '(\w+)'\.")
    });
    static DOMAIN: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"^Domain Configuration Update Required Status : '(\w+)'\."));
    let status = |re: &Regex| {
        s.last_in_run(re).and_then(|(l, c)| {
            c.get(1)
                .is_some_and(|v| v.as_str().eq_ignore_ascii_case("true"))
                .then_some(l)
        })
    };
    let user = s.user();
    let mut hits = Vec::new();
    let schema = status(&SCHEMA);
    let enterprise = s.test("EnterpriseAdmin").filter(|(v, _)| !v);
    if let (Some(st), Some((false, l))) = (schema, s.test("SchemaAdmin")) {
        hits.push((
            s.hit(
                schema_admin_required::RULE.id,
                format!("/PrepareSchema is required and user {user} isn't a member of the Schema Admins group"),
                vec![s.quote(st), s.quote(l), Evidence::new(format!("user: {user}"), &s.run.provenance)],
            ),
            true,
        ));
    }
    let needs: [(Option<&exfleet_dataset::SetupLineRow>, String); 3] = [
        (schema, format!("/PrepareSchema is required and user {user} isn't a member of the Enterprise Admins group")),
        (status(&ORG), format!("/PrepareAD is required and user {user} isn't a member of the Enterprise Admins group")),
        (status(&DOMAIN), format!("/PrepareDomain needs to be run in this domain, and it requires the Enterprise Admins group, which user {user} isn't a member of")),
    ];
    if let Some((_, l)) = enterprise {
        for (st, title) in needs {
            if let Some(st) = st {
                hits.push((
                    s.hit(
                        enterprise_admin_required::RULE.id,
                        title,
                        vec![
                            s.quote(st),
                            s.quote(l),
                            Evidence::new(format!("user: {user}"), &s.run.provenance),
                        ],
                    ),
                    true,
                ));
            }
        }
    }
    if let Some((false, l)) = s.test("ExOrgAdmin") {
        match s.value("SidExOrgAdmins") {
            Some((sid, sid_line)) => {
                if let Some((true, first)) = s.test("DelegatedMailboxFirstInstall") {
                    hits.push((
                        s.hit(
                            org_management_required::RULE.id,
                            format!("User {user} isn't a member of the Organization Management group"),
                            vec![
                                s.quote(l),
                                s.quote(first),
                                s.cite(sid_line, format!("looking to be in this group SID: {sid}")),
                                Evidence::new(format!("user: {user}"), &s.run.provenance),
                            ],
                        ),
                        true,
                    ));
                }
            }
            None => hits.push((
                s.hit(
                    org_management_required::RULE.id,
                    "The user isn't in ExOrgAdmin and the group's SID is not logged: /PrepareAD has probably not been run yet".into(),
                    vec![s.quote(l), Evidence::new(format!("user: {user}"), &s.run.provenance)],
                ),
                false,
            )),
        }
    }
    hits
}

/// The reference's "Additional Context": where setup ran and where the schema master is.
fn additional_context(s: &Scope) -> Vec<Evidence> {
    static MASTER: LazyLock<Regex> = LazyLock::new(|| {
        pattern(r"Setup will attempt to use the Schema Master domain controller (.+)")
    });
    static MASTER_SITE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"on a computer in the domain (\w+) and site (.+), and wait for replication to complete",
        )
    });
    let label = |fqdn: &str| fqdn.split('.').nth(1).unwrap_or("").to_string();
    let mut ev = vec![Evidence::new(
        format!("User Logged On: {}", s.user()),
        &s.run.provenance,
    )];
    let fqdn = s.value("ComputerNameDnsFullyQualified");
    let site = s.value("SiteName");
    if let Some((v, l)) = fqdn {
        ev.push(s.cite(l, format!("Setup Running on: {v}")));
        ev.push(s.cite(l, format!("Setup Running in Domain: {}", label(v))));
    }
    if let Some((v, l)) = site {
        ev.push(s.cite(l, format!("Setup Running in AD Site Name: {v}")));
    }
    if let Some((l, c)) = s.last_in_run(&MASTER) {
        let master = c
            .get(1)
            .map_or("", |m| m.as_str().trim())
            .trim_end_matches('.');
        ev.push(s.cite(l, format!("Schema Master: {master}")));
        ev.push(s.cite(l, format!("Schema Master in Domain: {}", label(master))));
        let master_site = s.last_in_run(&MASTER_SITE).map(|(l, c)| {
            let v = c.get(2).map_or("", |m| m.as_str().trim()).to_string();
            ev.push(s.cite(l, format!("Schema Master in AD Site Name: {v}")));
            v
        });
        if let Some((v, _)) = fqdn {
            if !label(v).eq_ignore_ascii_case(&label(master)) {
                ev.push(Evidence::new(
                    "Unable to run setup in current domain.",
                    &s.run.provenance,
                ));
            }
        }
        if let (Some(ms), Some((here, _))) = (master_site, site) {
            if !ms.eq_ignore_ascii_case(here) {
                ev.push(Evidence::new(
                    "Unable to run setup in the current AD Site",
                    &s.run.provenance,
                ));
            }
        }
    }
    ev
}
