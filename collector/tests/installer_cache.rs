//! The Windows Installer cache reader over triage copies: each installed product and patch
//! with its cached package present and right, holding another revision, missing, unreadable,
//! or not in the copy at all; and the prerequisites SetupAssist reads beside it.

use exfleet_collector::readers::hive::installer::pack_guid;
use exfleet_collector::{collect, ServerFiles};
use exfleet_proto::kinds::CachedFileState;
use exfleet_proto::v1::{artifact_status::State, Snapshot};
use exfleet_tests::msi::package;
use exfleet_tests::regf::{HiveBuilder, RegData};
use exfleet_tests::triage::triage;

const USER_DATA: &str = r"Microsoft\Windows\CurrentVersion\Installer\UserData\S-1-5-18";
const EXCHANGE: &str = "{3C4E7F1A-2B5D-4E6F-8A9B-0C1D2E3F4A5B}";
const PACKAGE_CODE: &str = "{11111111-2222-3333-4444-555555555555}";
const SU: &str = "{6A7B8C9D-0E1F-4A2B-9C3D-4E5F6A7B8C9D}";
const OLD_SU: &str = "{7B8C9D0E-1F2A-4B3C-8D4E-5F6A7B8C9D0E}";
const SPEECH: &str = "{8C9D0E1F-2A3B-4C4D-9E5F-6A7B8C9D0E1F}";

fn product(s: &mut HiveBuilder, code: &str, name: &str, version: &str, file: &str, package: &str) {
    let packed = pack_guid(code).unwrap();
    let k = format!(r"{USER_DATA}\Products\{packed}\InstallProperties");
    s.set(&k, "DisplayName", RegData::Sz(name.into()));
    s.set(&k, "DisplayVersion", RegData::Sz(version.into()));
    s.set(&k, "LocalPackage", RegData::Sz(file.into()));
    let c = format!(r"Classes\Installer\Products\{packed}");
    s.set(&c, "PackageCode", RegData::Sz(pack_guid(package).unwrap()));
}

fn patch(s: &mut HiveBuilder, code: &str, file: &str, name: &str) {
    let packed = pack_guid(code).unwrap();
    let k = format!(r"{USER_DATA}\Patches\{packed}");
    s.set(&k, "LocalPackage", RegData::Sz(file.into()));
    let named = format!(
        r"{USER_DATA}\Products\{}\Patches\{packed}",
        pack_guid(EXCHANGE).unwrap()
    );
    s.set(&named, "DisplayName", RegData::Sz(name.into()));
}

fn software(s: &mut HiveBuilder) {
    product(
        s,
        EXCHANGE,
        "Microsoft Exchange Server",
        "15.2.1544.4",
        r"C:\Windows\Installer\4f2a1.msi",
        PACKAGE_CODE,
    );
    patch(
        s,
        SU,
        r"C:\WINDOWS\Installer\7b3c9.msp",
        "Security Update For Exchange Server 2019 CU14 SU3 (KB5049233)",
    );
    patch(
        s,
        OLD_SU,
        r"C:\Windows\Installer\5d1e0.msp",
        "Security Update For Exchange Server 2019 CU14 SU2",
    );
    product(
        s,
        SPEECH,
        "Microsoft Server Speech Platform Runtime (x64)",
        "11.0.7400.345",
        r"C:\Windows\Installer\9e8f7.msi",
        "{99999999-8888-7777-6666-555555555555}",
    );
    let vc = r"Microsoft\Windows\CurrentVersion\Uninstall\{37B8F9C7-03FB-3253-8781-2517C99D7C00}";
    s.set(
        vc,
        "DisplayName",
        RegData::Sz("Microsoft Visual C++ 2012 x64 Minimum Runtime - 11.0.61030".into()),
    );
    s.set(vc, "DisplayVersion", RegData::Sz("11.0.61030".into()));
    s.set(vc, "Version", RegData::Dword(184_610_406));
    let nameless = r"Microsoft\Windows\CurrentVersion\Uninstall\KB123";
    s.set(
        nameless,
        "ParentKeyName",
        RegData::Sz("OPERATING_SYSTEMS".into()),
    );
    s.set(
        r"Microsoft\IIS Extensions\URL Rewrite",
        "Version",
        RegData::Sz("7.2.1993".into()),
    );
}

fn collect_copy(with_cache: bool) -> Snapshot {
    let tmp = tempfile::tempdir().unwrap();
    let mut t = triage().software(software);
    if with_cache {
        t = t
            .file(r"C:\Windows\Installer\4f2a1.msi", package(PACKAGE_CODE))
            // The SU's package replaced by another patch's (a copy from another server).
            .file(
                r"C:\Windows\Installer\7b3c9.msp",
                package(&format!("{OLD_SU}{PACKAGE_CODE}")),
            )
            // The old SU's package is gone; the speech runtime's is not a compound file.
            .file(
                r"C:\Windows\Installer\9e8f7.msi",
                b"MZ not an installer package".to_vec(),
            );
    }
    t.build(tmp.path()).unwrap();
    collect(&ServerFiles::new(tmp.path()), Default::default()).unwrap()
}

fn state(s: &Snapshot, code: &str) -> (CachedFileState, String, String) {
    let p = s
        .installer_packages
        .iter()
        .find(|p| p.code == code)
        .unwrap_or_else(|| panic!("{code} not collected: {:#?}", s.installer_packages));
    (
        CachedFileState::parse(&p.file_state),
        p.file_revision.clone(),
        p.file_error.clone(),
    )
}

#[test]
fn each_package_is_judged_by_its_cached_file() {
    let s = collect_copy(true);
    assert_eq!(s.installer_packages.len(), 4, "{:#?}", s.installer_packages);
    let exchange = s
        .installer_packages
        .iter()
        .find(|p| p.code == EXCHANGE)
        .unwrap();
    assert_eq!(exchange.display_name, "Microsoft Exchange Server");
    assert_eq!(exchange.display_version, "15.2.1544.4");
    assert_eq!(exchange.expected_revision, PACKAGE_CODE);
    assert!(
        exchange.provenance.as_ref().unwrap().locator.is_some(),
        "LocalPackage's key is cited"
    );
    assert_eq!(state(&s, EXCHANGE).0, CachedFileState::Present);
    assert_eq!(state(&s, EXCHANGE).1, PACKAGE_CODE);
    // Present, but holding another patch's code: the analyzer compares it.
    let su = state(&s, SU);
    assert_eq!(su.0, CachedFileState::Present);
    assert!(su.1.starts_with(OLD_SU), "{su:?}");
    let su_row = s.installer_packages.iter().find(|p| p.code == SU).unwrap();
    assert_eq!(su_row.expected_revision, SU);
    assert!(su_row.display_name.contains("KB5049233"), "{su_row:?}");
    assert_eq!(su_row.product_code, EXCHANGE);
    assert_eq!(state(&s, OLD_SU).0, CachedFileState::Missing);
    let speech = state(&s, SPEECH);
    assert_eq!(speech.0, CachedFileState::Unreadable);
    assert!(
        speech.2.contains("9e8f7.msi"),
        "the error names the file: {speech:?}"
    );
    assert!(
        s.errors
            .iter()
            .any(|e| e.reader == "installer_cache" && e.message.contains("9e8f7.msi")),
        "{:#?}",
        s.errors
    );
    // Programs and Features: entries with a name, and the prerequisites' keys.
    assert_eq!(s.installed_programs.len(), 1);
    assert_eq!(s.installed_programs[0].version, 184_610_406);
    assert!(s
        .settings
        .iter()
        .any(|x| x.key.ends_with(r"IIS Extensions\URL Rewrite") && x.name == "Version"));
}

#[test]
fn a_copy_without_the_cache_says_nothing_of_its_files() {
    let s = collect_copy(false);
    assert_eq!(s.installer_packages.len(), 4);
    for p in &s.installer_packages {
        assert_eq!(
            CachedFileState::parse(&p.file_state),
            CachedFileState::NotCollected,
            "{p:?}"
        );
    }
    assert!(
        s.artifacts
            .iter()
            .any(|a| a.reader == "installer_cache" && a.state == State::Absent as i32),
        "{:#?}",
        s.artifacts
    );
}
