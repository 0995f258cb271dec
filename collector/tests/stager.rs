//! The stager for servers below Windows Server 2016 (`deploy/windows/stage-triage.ps1`).
//! PowerShell cannot run here, so the script itself is only checked as text (its generated
//! table is checked by `artifacts::tests`); what is tested is its layout: a triage copy made
//! the way the script makes it, from the table ([`stage`] follows the script step by step), is
//! read by the collector with every artifact found and the same evidence as the whole server,
//! with Exchange on C: and on D:.

use std::io::Read;
use std::path::{Path, PathBuf};

use exfleet_collector::artifacts::{self, Base, Capture};
use exfleet_collector::readers::NAMES;
use exfleet_collector::{collect, ServerFiles};
use exfleet_proto::v1::{artifact_status::State, Snapshot};
use exfleet_tests::fleet::{self, Fault, FleetConfig};

fn script() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(artifacts::STAGER_SCRIPT);
    std::fs::read_to_string(path).unwrap()
}

/// An MSI log of an SU install, as `msiexec /lxv` writes it.
const MSI_LOG: &str = "=== Verbose logging started: 10/21/2026  09:30:00  Build type: SHIP UNICODE 5.00.10011.00  Calling process: C:\\Windows\\system32\\msiexec.exe ===\r\n\
MSI (s) (A0:B4) [09:40:00:000]: Windows Installer installed an update. Product Name: Microsoft Exchange Server. Installation success or error status: 0.\r\n\
MSI (s) (A0:B4) [09:40:00:001]: MainEngineThread is returning 0\r\n";

/// ServiceStartupMode.xml as CU setup saves it (a CLIXML hashtable).
const STARTUP_MODES: &str = "<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">\
<Obj RefId=\"0\"><DCT><En><S N=\"Key\">W3SVC</S><S N=\"Value\">Automatic</S></En></DCT></Obj></Objs>";

/// The whole server: a simulated host's files on its drives (one folder per drive), with an SU
/// install stopped half-way (a ServiceState.xml left) and an artifact in every place of the
/// table, MSI logs included, and a log the stager and the reader leave alone.
fn server(install_drive: char, root: &Path) -> String {
    let hosts = fleet::generate(&FleetConfig {
        seed: 7,
        servers: fleet::EXCHANGE_2010_FROM + 20,
        fault_rate: 0.0,
    });
    let mut h = hosts
        .iter()
        .find(|h| h.faults.is_empty() && !h.line.is_2010() && h.update.is_some())
        .expect("a healthy Exchange 2013+ host with an SU")
        .clone();
    h.install_drive = install_drive;
    h.drive_folders = true;
    // With Exchange on D:, the Default Web Site's root there too: the stager copies the
    // aspnet_client of every site root applicationHost.config names.
    h.web_root_moved = install_drive == 'D';
    h.faults = vec![Fault::ServicesDisabled];
    fleet::render::triage_of(&h, 7)
        .file(
            r"C:\ExchangeSetupLogs\ServiceStartupMode.xml",
            STARTUP_MODES,
        )
        .file(r"C:\ExchangeSetupLogs\Exchange2019-KB5099900.log", MSI_LOG)
        .file(r"C:\Windows\Temp\MSI4f2a1.LOG", MSI_LOG)
        .file(r"C:\su-install.txt", MSI_LOG)
        .file(r"C:\Windows\Temp\dd_vcredist.log", "not an MSI log\r\n")
        .build(root)
        .unwrap();
    h.install_path()
}

/// The script's `Get-SiteRoots`: the root virtual directory of each site's root application
/// in the server's applicationHost.config, `%SystemDrive%` expanded (C: here), `/` as `\`,
/// only a plain `X:\` path, ending with `\` (`D:\` stays a drive's root), each once (case
/// ignored); the default site's only when no site was read.
fn site_roots(server: &ServerFiles) -> Vec<String> {
    let mut written: Vec<String> = Vec::new();
    let mut sites = 0;
    if let Some(config) = server.resolve(artifacts::IIS_CONFIG.path) {
        let text = std::fs::read_to_string(config).unwrap();
        let parsed = exfleet_collector::readers::iis_config::parse(&text, "x").sites;
        sites = parsed.len();
        for site in parsed {
            let vdirs = site.applications.iter().filter(|a| a.path == "/");
            for v in vdirs.flat_map(|a| &a.virtual_directories) {
                if v.path == "/" && !v.physical_path.is_empty() {
                    written.push(
                        v.physical_path
                            .replace("%SystemDrive%", "C:")
                            .replace('/', "\\"),
                    );
                }
            }
        }
    }
    if sites == 0 {
        written = vec![format!(r"C:\{}", artifacts::DEFAULT_SITE_ROOT)];
    }
    let mut roots: Vec<String> = Vec::new();
    for root in written {
        let plain = root.as_bytes().get(1..3) == Some(b":\\")
            && root.as_bytes()[0].is_ascii_alphabetic()
            && !root.contains('%');
        if !plain {
            continue;
        }
        let root = format!("{}\\", root.trim_end_matches('\\'));
        if !roots.iter().any(|r| r.eq_ignore_ascii_case(&root)) {
            roots.push(root);
        }
    }
    roots
}

/// Makes the triage copy of `server` under `out` as the stager does: for each artifact of the
/// table, its source on the server (C: for the system drive, the install path's drive for the
/// install, each web site's root for a site root) copied to `<out>\<drive letter>\<path>`.
/// `reg save`, `wevtutil epl` and `sc` write the file that the server's copy of it stands for
/// here.
fn stage(server: &ServerFiles, install: &str, out: &Path) {
    for a in artifacts::all() {
        let bases: Vec<(String, PathBuf)> = match a.base {
            Base::SystemDrive => vec![(r"C:\".to_string(), out.join("C"))],
            Base::Install => vec![(
                install.to_string(),
                below(&out.join(&install[..1]), &install[3..]),
            )],
            Base::SiteRoot => site_roots(server)
                .into_iter()
                .map(|root| {
                    let target = below(&out.join(&root[..1]), &root[3..]);
                    (root, target)
                })
                .collect(),
        };
        for (source_base, target_base) in bases {
            stage_one(server, a, &source_base, &target_base);
        }
    }
}

/// One artifact of [`stage`], from below `source_base` to the same place below `target_base`.
fn stage_one(server: &ServerFiles, a: &artifacts::Artifact, source_base: &str, target_base: &Path) {
    let source_folder = format!("{source_base}{}", a.folder());
    let target_folder = below(target_base, a.folder());
    match a.capture {
        Capture::RegSave(_) | Capture::EventLog(_) | Capture::Sc(_) => {
            let source = server.resolve(&format!(r"{source_folder}\{}", a.name()));
            copy(&source.expect(a.path), &target_folder.join(a.name()));
        }
        Capture::File => {
            match server.resolve(&format!(r"{source_folder}\{}", a.name())) {
                Some(source) => copy(&source, &target_folder.join(a.name())),
                // The folder without its file is made in the copy.
                None if server.resolve(&source_folder).is_some() => {
                    std::fs::create_dir_all(&target_folder).unwrap()
                }
                None => {}
            }
        }
        Capture::Matching | Capture::MatchingText(_) => {
            let starts = match a.capture {
                Capture::MatchingText(starts) => starts,
                _ => &[],
            };
            let Some(folder) = server.resolve(&source_folder) else {
                return;
            };
            for e in std::fs::read_dir(folder).unwrap().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let wanted = e.path().is_file()
                    && a.matches(&name)
                    && (starts.is_empty() || starts_with(&e.path(), starts));
                if wanted {
                    copy(&e.path(), &target_folder.join(&name));
                }
            }
        }
        Capture::Tree | Capture::TreeExtensions(_) => {
            let Some(folder) = server.resolve(&source_folder) else {
                return;
            };
            copy_tree(&folder, &target_folder, a);
        }
        Capture::Subfolders => {
            let source = format!(r"{source_folder}\{}", a.name());
            let Some(folder) = server.resolve(&source) else {
                return;
            };
            let target = target_folder.join(a.name());
            std::fs::create_dir_all(&target).unwrap();
            for e in std::fs::read_dir(folder).unwrap().flatten() {
                if e.path().is_dir() {
                    std::fs::create_dir_all(target.join(e.file_name())).unwrap();
                }
            }
        }
    }
}

/// The files below `from` whose names match the artifact's, to the same places below `to`.
fn copy_tree(from: &Path, to: &Path, a: &artifacts::Artifact) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            copy_tree(&e.path(), &to.join(&name), a);
        } else if a.matches(&name) {
            copy(&e.path(), &to.join(&name));
        }
    }
}

/// `base` joined with a Windows path's components.
fn below(base: &Path, windows: &str) -> PathBuf {
    let mut p = base.to_path_buf();
    p.extend(windows.split('\\').filter(|c| !c.is_empty()));
    p
}

/// A copy that keeps the file's last write time, as the script's does.
fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
    let modified = std::fs::metadata(from).unwrap().modified().unwrap();
    std::fs::File::options()
        .write(true)
        .open(to)
        .unwrap()
        .set_modified(modified)
        .unwrap();
}

/// The script's `Test-Start`: the first 512 bytes, decoded, after a byte order mark and white
/// space.
fn starts_with(path: &Path, starts: &[&str]) -> bool {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .take(512)
        .read_to_end(&mut head)
        .unwrap();
    let text = exfleet_collector::text::decode(&head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    starts.iter().any(|s| text.starts_with(s))
}

/// A snapshot without what differs between two collections of the same files.
fn evidence(mut s: Snapshot) -> Snapshot {
    s.snapshot_id.clear();
    s.collected_at_ms = 0;
    s.source = None;
    s
}

fn staged_copy_is_read_whole(install_drive: char) {
    let tmp = tempfile::tempdir().unwrap();
    let (server_root, out) = (tmp.path().join("server"), tmp.path().join("out"));
    let install = server(install_drive, &server_root);
    let server_files = ServerFiles::new(&server_root);
    stage(&server_files, &install, &out);

    let staged = collect(&ServerFiles::new(&out), Default::default()).unwrap();
    assert!(staged.errors.is_empty(), "{:#?}", staged.errors);
    for reader in NAMES {
        let states: Vec<_> = staged
            .artifacts
            .iter()
            .filter(|a| a.reader == reader)
            .map(|a| (a.path.as_str(), State::try_from(a.state).unwrap()))
            .collect();
        assert!(!states.is_empty(), "{reader} reports its artifacts");
        assert!(
            states.iter().all(|(_, s)| *s == State::Read),
            "{reader}: {states:?}"
        );
    }
    // Where the script puts what the collector reads.
    let paths_of = |reader: &str| {
        staged
            .artifacts
            .iter()
            .filter(|a| a.reader == reader)
            .map(|a| a.path.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(paths_of("sc_queryex"), ["C/exfleet/sc-queryex.txt"]);
    assert_eq!(
        paths_of("exsetup"),
        [format!(
            "{install_drive}/Program Files/Microsoft/Exchange Server/V15/Bin/ExSetup.exe"
        )]
    );
    assert_eq!(
        paths_of("msi_log"),
        [
            "C/ExchangeSetupLogs/Exchange2019-KB5099900.log",
            "C/Windows/Temp/MSI4f2a1.LOG",
            "C/su-install.txt",
        ]
    );
    assert_eq!(staged.service_state_files.len(), 2);
    assert!(staged.exchange_files.as_ref().unwrap().config_files.len() >= 4);
    assert!(!out.join("C/Windows/Temp/dd_vcredist.log").exists());
    // aspnet_client below the Default Web Site's root, wherever applicationHost.config puts it.
    let web_root = if install_drive == 'D' {
        "D/wwwroot"
    } else {
        "C/inetpub/wwwroot"
    };
    assert!(out
        .join(web_root)
        .join("aspnet_client/system_web/4_0_30319/readme.txt")
        .exists());

    // Nothing the readers read on the server is left out of the copy: field by field, for a
    // short message, then the whole snapshot.
    let (staged, whole) = (
        evidence(staged),
        evidence(collect(&server_files, Default::default()).unwrap()),
    );
    assert_eq!(staged.artifacts, whole.artifacts);
    assert_eq!(staged.exsetup, whole.exsetup);
    assert_eq!(staged.exchange_files, whole.exchange_files);
    assert_eq!(staged.service_state_files, whole.service_state_files);
    assert_eq!(staged.msi_logs, whole.msi_logs);
    assert_eq!(staged.service_states, whole.service_states);
    assert_eq!(staged.setup_runs, whole.setup_runs);
    assert_eq!(staged.service_control_runs, whole.service_control_runs);
    assert_eq!(staged.iis_sites, whole.iis_sites);
    assert_eq!(staged.events.len(), whole.events.len());
    assert!(
        staged == whole,
        "the staged copy's snapshot differs from the server's"
    );
}

#[test]
fn a_staged_copy_is_read_whole_with_exchange_on_c() {
    staged_copy_is_read_whole('C');
}

#[test]
fn a_staged_copy_is_read_whole_with_exchange_on_d() {
    staged_copy_is_read_whole('D');
}

/// The script's text, as PowerShell 2.0 (Server 2008 R2) reads it: ASCII (a file without a
/// byte order mark is read in the ANSI code page), none of the constructs PowerShell 3 and
/// later brought, and a case for every way the table copies an artifact.
#[test]
fn the_stager_is_powershell_2_and_knows_every_capture() {
    let script = script();
    assert!(script.is_ascii(), "the stager is ASCII only");
    let later = [
        "-Raw",
        "[ordered]",
        "[pscustomobject]",
        "Invoke-WebRequest",
        "Invoke-RestMethod",
        "ConvertTo-Json",
        "ConvertFrom-Json",
        "$PSItem",
        "$PSScriptRoot",
        "$using:",
        " -in ",
        " -notin ",
        "::new(",
        ".ForEach(",
        ".Where(",
        "-Directory",
        "-NoNewline",
        "Get-CimInstance",
        "Get-ChildItem",
    ];
    for construct in later {
        assert!(
            !script.contains(construct),
            "{construct} is not PowerShell 2.0"
        );
    }
    // sc is Set-Content's alias in PowerShell: the tools are named with their .exe.
    for tool in ["& reg.exe save", "& wevtutil.exe epl", "& sc.exe"] {
        assert!(script.contains(tool), "{tool}");
    }
    let block = artifacts::stager_block();
    for line in block.lines().filter(|l| l.contains("Capture = '")) {
        let capture = line.split("Capture = '").nth(1).unwrap();
        let capture = &capture[..capture.find('\'').unwrap()];
        assert!(
            script.contains(&format!("            '{capture}' {{ ")),
            "the stager's switch has no case for {capture}"
        );
    }
    for base in ["Install", "SiteRoot"] {
        assert!(
            script.contains(&format!("$artifact.Base -eq '{base}'")),
            "the stager does not know the base {base}"
        );
    }
    // A tree is walked folder by folder (AllDirectories loses the whole tree at the first
    // folder it cannot read), and a skipped site root is in the report, not only on screen.
    assert!(!script.contains("SearchOption]::AllDirectories"));
    assert!(script.contains("$pending.Push($sub)"));
    assert!(script.contains("Add-Missing $artifact ('the web site root '"));
    // The default site's root only when no site was read, decided after the roots are read.
    assert!(script.contains("if ($sites -eq 0) { $roots = @("));
    for (open, close) in [('{', '}'), ('(', ')'), ('[', ']')] {
        let count = |c| script.chars().filter(|x| *x == c).count();
        assert_eq!(count(open), count(close), "{open}{close} balance");
    }
}
