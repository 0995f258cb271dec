//! `setup.ready.*`: SetupAssist's checks whose evidence is on the server's disk (reference
//! section 9), judged from the collection, before a setup run fails on them rather than after:
//! the Windows Installer cache of the installed Exchange products, the Visual C++ runtimes,
//! IIS URL Rewrite, UCMA and the Unified Messaging folders. SetupAssist's other disk checks
//! have their own ids: the install watermark (`setup.interrupted`), the service cache files
//! (`services.state-cache-left`), a pending reboot (`os.pending-reboot`) and .NET
//! (`dotnet.unsupported`).

pub mod installer_cache;
pub mod ucma_missing;
pub mod um_directory_missing;
pub mod url_rewrite_missing;
pub mod vcredist_missing;

use crate::finding::Evidence;
use crate::rules::{action_of, Rule, Sink};
use crate::view::HostView;

/// A prerequisite SetupAssist finds by its registry key's `Version` (URL Rewrite, UCMA): the
/// finding when the value is absent, naming `what` is missing.
pub fn version_absent(rule: &dyn Rule, h: &HostView, key: &str, what: &str, out: &mut Sink) {
    if h.setting(key, "Version").is_some() {
        return;
    }
    let ev = vec![Evidence::new(
        format!("{key}: no Version value ({what} not installed)"),
        "",
    )];
    let title = format!("{what} is not installed: the next CU's setup will stop");
    let mut f = rule.finding(h, title, ev, &action_of(rule.doc()));
    f.signature = format!("{what} missing");
    out.push(f);
}

/// Exchange 2013 or later, whose setup SetupAssist checks (it reads the `v15` setup key).
pub fn exchange_15(h: &HostView) -> bool {
    h.exchange_setup_key.eq_ignore_ascii_case("v15")
}

/// Whether the SOFTWARE hive was read whole, Programs and Features included: a prerequisite is
/// only called absent then (a damaged or unread hive may hide it, and a snapshot without any
/// Programs and Features entry, which every Windows server has, comes from a collector that did
/// not read them).
pub fn software_read(h: &HostView) -> bool {
    !h.exchange_setup_key.is_empty()
        && h.hive_unclean("software_hive").is_none()
        && !h.programs.is_empty()
}

#[cfg(test)]
mod tests {
    use exfleet_dataset::{BuildRow, HostRow, InstallerPackageRow, ProgramRow, SettingRow};
    use exfleet_proto::kinds::{CachedFileState, InstallerPackageKind};

    use super::*;
    use crate::catalog::{Build, Catalog};
    use crate::rules::{Context, Rule, Sink};

    fn run(rule: &dyn Rule, h: &HostView) -> Vec<crate::finding::Finding> {
        let catalog = Catalog::embedded();
        let cx = Context {
            catalog: &catalog,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        };
        let mut out = Sink::empty();
        rule.check(h, &cx, &mut out);
        out.into_vec()
    }

    /// An Exchange 2016 server with everything SetupAssist wants.
    fn ready() -> HostView {
        let programs = [
            (
                "Microsoft Visual C++ 2012 x64 Minimum Runtime - 11.0.61030",
                "11.0.61030",
                184_610_406,
            ),
            (
                "Microsoft Visual C++ 2013 x64 Minimum Runtime - 12.0.40664",
                "12.0.40664",
                201_367_256,
            ),
        ]
        .map(|(n, v, d)| ProgramRow {
            display_name: n.into(),
            display_version: v.into(),
            version: d,
            ..Default::default()
        })
        .to_vec();
        let settings = [url_rewrite_missing::KEY, ucma_missing::KEY]
            .map(|k| SettingRow {
                reg_key: k.into(),
                name: "Version".into(),
                reg_type: "REG_SZ".into(),
                data: "7.2.1993".into(),
                ..Default::default()
            })
            .to_vec();
        let mut facts = HostRow {
            exchange_setup_key: "v15".into(),
            owa_version: "15.1.2507.44".into(),
            install_path: r"D:\Exchange\V15\".into(),
            client_access_present: true,
            ..Default::default()
        };
        facts.um_folders.0 = vec!["Grammars".into(), "Prompts".into()];
        facts.unified_messaging_present = true;
        HostView {
            host: "EX01".into(),
            exsetup: Build::parse("15.1.2507.44"),
            facts,
            programs,
            settings,
            installer_packages: vec![package(
                "product",
                "Microsoft Exchange Server",
                CachedFileState::Present,
            )],
            ..Default::default()
        }
    }

    fn package(kind: &str, name: &str, state: CachedFileState) -> InstallerPackageRow {
        InstallerPackageRow {
            kind: InstallerPackageKind::parse(kind),
            code: "{AAAAAAAA-0000-0000-0000-000000000001}".into(),
            display_name: name.into(),
            display_version: "15.1.2507.6".into(),
            local_package: r"C:\Windows\Installer\1a2b.msi".into(),
            expected_revision: "{BBBBBBBB-0000-0000-0000-000000000002}".into(),
            file_revision:
                "{bbbbbbbb-0000-0000-0000-000000000002}{CCCCCCCC-0000-0000-0000-000000000003}"
                    .into(),
            file_state: state,
            ..Default::default()
        }
    }

    fn ids(h: &HostView) -> Vec<&'static str> {
        let rules: [&dyn Rule; 5] = [
            &installer_cache::InstallerCache,
            &vcredist_missing::VcredistMissing,
            &url_rewrite_missing::UrlRewriteMissing,
            &ucma_missing::UcmaMissing,
            &um_directory_missing::UmDirectoryMissing,
        ];
        rules
            .into_iter()
            .filter(|r| !run(*r, h).is_empty())
            .map(|r| r.id())
            .collect()
    }

    #[test]
    fn a_ready_server_has_nothing() {
        assert!(ids(&ready()).is_empty(), "{:?}", ids(&ready()));
    }

    #[test]
    fn the_installer_cache_is_judged_as_setup_assist_judges_it() {
        // A patch whose package holds another revision; a nameless product; a missing one.
        for p in [
            InstallerPackageRow {
                file_revision: "{CCCCCCCC-0000-0000-0000-000000000003}".into(),
                ..package("patch", "", CachedFileState::Present)
            },
            package("product", "", CachedFileState::Missing),
            package(
                "product",
                "Microsoft Unified Communications Managed API 4.0",
                CachedFileState::Unreadable,
            ),
        ] {
            let mut h = ready();
            h.installer_packages.push(p.clone());
            let f = run(&installer_cache::InstallerCache, &h);
            assert_eq!(f.len(), 1, "{p:?}");
            assert!(
                f[0].evidence[0]
                    .fact
                    .contains(r"C:\Windows\Installer\1a2b.msi"),
                "{f:?}"
            );
            assert!(
                f[0].title.contains("repair for 15.1.2507.6"),
                "{}",
                f[0].title
            );
        }
        // Near misses: a product not named like Exchange's, a copy without the cache.
        for p in [
            package(
                "product",
                "Microsoft Visual C++ 2012 x64 Minimum Runtime",
                CachedFileState::Missing,
            ),
            package("patch", "", CachedFileState::NotCollected),
        ] {
            let mut h = ready();
            h.installer_packages.push(p.clone());
            assert!(
                run(&installer_cache::InstallerCache, &h).is_empty(),
                "{p:?}"
            );
        }
    }

    #[test]
    fn the_repair_names_the_installed_cu_and_other_products_patches_are_left_out() {
        let mut h = ready();
        h.facts.msi_version = "15.1.2507.6".into();
        h.installer_packages.insert(
            0,
            InstallerPackageRow {
                display_version: "3.3.4604.600".into(),
                ..package(
                    "product",
                    "Microsoft Exchange 2007 Enterprise Anti-spam Signatures",
                    CachedFileState::Missing,
                )
            },
        );
        let f = run(&installer_cache::InstallerCache, &h);
        assert!(
            f[0].title.contains("repair for 15.1.2507.6"),
            "{}",
            f[0].title
        );
        // A patch of a Visual C++ runtime, missing: not Exchange's setup's concern.
        let mut h = ready();
        let runtime = InstallerPackageRow {
            code: "{DDDDDDDD-0000-0000-0000-000000000004}".into(),
            ..package(
                "product",
                "Microsoft Visual C++ 2013 x64 Minimum Runtime",
                CachedFileState::Present,
            )
        };
        h.installer_packages.push(InstallerPackageRow {
            product_code: runtime.code.clone(),
            ..package("patch", "", CachedFileState::Missing)
        });
        h.installer_packages.push(runtime);
        assert!(run(&installer_cache::InstallerCache, &h).is_empty());
    }

    #[test]
    fn visual_cpp_needs_the_exact_version_and_not_2013_on_edge() {
        let mut h = ready();
        h.programs[1].version = 201_347_597;
        h.programs[1].display_version = "12.0.21005".into();
        let f = run(&vcredist_missing::VcredistMissing, &h);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].title
                .contains("2013 12.0.40664 (12.0.21005 installed)"),
            "{}",
            f[0].title
        );
        h.roles.push(BuildRow {
            source: "role:EdgeTransportRole".into(),
            ..Default::default()
        });
        assert!(run(&vcredist_missing::VcredistMissing, &h).is_empty());
        h.programs.remove(0);
        let f = run(&vcredist_missing::VcredistMissing, &h);
        assert!(
            f[0].title.contains("2012 11.0.61030 (none installed)"),
            "{}",
            f[0].title
        );
    }

    #[test]
    fn prerequisites_are_judged_where_setup_needs_them() {
        let mut h = ready();
        h.settings.clear();
        assert_eq!(
            ids(&h),
            [
                "setup.ready.url-rewrite-missing",
                "setup.ready.ucma-missing"
            ]
        );
        // Exchange 2013 never needed URL Rewrite.
        h.exsetup = Build::parse("15.0.1497.48");
        assert_eq!(ids(&h), ["setup.ready.ucma-missing"]);
        // Exchange 2010 is not SetupAssist's; an unread hive proves nothing.
        h.facts.exchange_setup_key = "v14".into();
        assert!(ids(&h).is_empty());
        h.facts.exchange_setup_key = String::new();
        assert!(ids(&h).is_empty());
        // A snapshot with no Programs and Features entries did not read them.
        let mut h = ready();
        h.settings.clear();
        h.programs.clear();
        assert!(ids(&h).is_empty());
    }

    #[test]
    fn unified_messaging_folders_on_2013_and_2016_only() {
        let mut h = ready();
        h.facts.um_folders.0 = vec!["Grammars".into()];
        let f = run(&um_directory_missing::UmDirectoryMissing, &h);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].evidence[0]
                .fact
                .contains(r"D:\Exchange\V15\UnifiedMessaging\Prompts: missing"),
            "{f:?}"
        );
        h.facts.owa_version = "15.2.1544.4".into();
        assert!(run(&um_directory_missing::UmDirectoryMissing, &h).is_empty());
        h.facts.owa_version = "15.1.2507.44".into();
        h.facts.unified_messaging_present = false;
        assert!(run(&um_directory_missing::UmDirectoryMissing, &h).is_empty());
    }
}
