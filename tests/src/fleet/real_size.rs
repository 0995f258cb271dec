//! Artifacts of real size. A simulated host is about 0.5 MB; a real Exchange server has a
//! SOFTWARE hive of 50 to 150 MB, event logs of 20 MB to several hundred and an
//! ExchangeSetup.log of tens of MB. [`ArtifactSizes`] says how large each artifact of a host is
//! written; the padding is ordinary content of the kind real artifacts are mostly made of, and
//! none of it is evidence the collector keeps, so a padded host's snapshot and ground truth are
//! those of the same host unpadded (locators apart: line numbers, record ids).
//!
//! This module pads the SOFTWARE hive; [`super::events::write_padded`] and
//! [`super::setup_log::write_padded`] pad the logs.

use crate::regf::{HiveBuilder, RegData, WriteOptions};

use super::HostSpec;

const MIB: u64 = 1 << 20;

/// Sizes to write a host's artifacts at, in bytes. 0 leaves an artifact as the simulator writes
/// it by default; a target below that size leaves it too. A padded artifact is at least its
/// target and a little more: the hive by less than 1%, an event log by less than one 64 KiB
/// chunk, the setup log by a few KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArtifactSizes {
    /// `Windows\System32\config\SOFTWARE`.
    pub software_hive: u64,
    /// `Windows\System32\winevt\Logs\Application.evtx`.
    pub application_evtx: u64,
    /// `Windows\System32\winevt\Logs\System.evtx`.
    pub system_evtx: u64,
    /// `ExchangeSetupLogs\ExchangeSetup.log`.
    pub setup_log: u64,
}

impl ArtifactSizes {
    /// The simulator's own sizes: nothing padded (byte for byte the default fleet).
    pub const DEFAULT: ArtifactSizes = ArtifactSizes {
        software_hive: 0,
        application_evtx: 0,
        system_evtx: 0,
        setup_log: 0,
    };

    /// A real server in the middle of the ranges seen: SOFTWARE 100 MiB, Application.evtx and
    /// System.evtx 200 MiB each, ExchangeSetup.log 30 MiB.
    pub const REAL: ArtifactSizes = ArtifactSizes {
        software_hive: 100 * MIB,
        application_evtx: 200 * MIB,
        system_evtx: 200 * MIB,
        setup_log: 30 * MIB,
    };

    /// Whether nothing is padded.
    pub fn is_default(&self) -> bool {
        *self == Self::DEFAULT
    }
}

/// Windows keeps subkey lists over about a thousand entries as an index of several lists (`ri`),
/// which the hive writer does not write; the filler keeps every key below this many subkeys.
const MAX_SUBKEYS: u64 = 1000;
/// Products of one user's `Installer\UserData\<SID>` (each brings two components, so its
/// Components key stays under [`MAX_SUBKEYS`] too).
const PRODUCTS_PER_SID: u64 = 480;

/// Pads the SOFTWARE hive `s` of `h` until it serialises to at least `target` bytes, with the
/// subtrees a real one is mostly made of: Windows Installer products (`Uninstall`,
/// `Classes\Installer`, `Installer\UserData\<SID>\Products` and `Components`), COM classes,
/// interfaces and type libraries (`Classes`, `WOW6432Node\Classes`), file types and ProgIDs,
/// servicing packages and side-by-side assemblies. Many small values, none over a cell (16344
/// bytes). Nothing is written under the keys the collector reads (the Exchange setup key,
/// `Microsoft\Updates\Exchange *`, the reboot-pending keys, `SystemCertificates\MY`, .NET,
/// the OS version, the 64-bit Uninstall key, LocalSystem's Windows Installer data), so the
/// evidence stays the same. Returns the serialised size.
pub fn pad_software(s: &mut HiveBuilder, h: &HostSpec, seed: u64, target: u64) -> u64 {
    let mut size = s.to_bytes(WriteOptions::default()).len() as u64;
    let mut filler = SoftwareFiller {
        base: mix(seed ^ super::render::hash(&h.name) ^ 0x50f7),
        n: 0,
        products: 0,
        classes: 0,
        interfaces: 0,
        typelibs: 0,
        packages: 0,
        assemblies: 0,
        types: 0,
        estimate: 0.0,
    };
    // The estimate of a cell's bytes misses the bins' headers and the space left at the end
    // of each bin; measuring the serialised hive corrects it, round after round.
    let mut per_estimated_byte = 1.0;
    let mut round = 0;
    while size < target {
        let missing = (target - size) as f64;
        // The first round stops short of the target; the rest, with the measured ratio, aim a
        // bin past it, so that the hive ends just over its target after two or three rounds.
        let aim = if round == 0 {
            missing * 0.97
        } else {
            missing + 4096.0
        };
        let start = filler.estimate;
        while (filler.estimate - start) * per_estimated_byte < aim {
            filler.unit(s);
        }
        let grown = s.to_bytes(WriteOptions::default()).len() as u64;
        per_estimated_byte = (grown - size) as f64 / (filler.estimate - start);
        size = grown;
        round += 1;
    }
    size
}

/// What the filler has written so far, and its estimate of the bytes that takes.
struct SoftwareFiller {
    base: u64,
    /// Units written: every draw of randomness is a function of `base` and a counter.
    n: u64,
    products: u64,
    classes: u64,
    interfaces: u64,
    typelibs: u64,
    packages: u64,
    assemblies: u64,
    types: u64,
    estimate: f64,
}

/// The size of a cell holding `n` bytes: its size field, rounded up to 8.
fn cell(n: usize) -> f64 {
    ((n + 4).div_ceil(8) * 8) as f64
}

fn data_len(d: &RegData) -> usize {
    match d {
        RegData::Sz(s) | RegData::ExpandSz(s) => (s.len() + 1) * 2,
        RegData::Binary(b) => b.len(),
        RegData::Dword(_) => 4,
        RegData::Qword(_) => 8,
        RegData::MultiSz(v) => v.iter().map(|s| (s.len() + 1) * 2).sum::<usize>() + 2,
    }
}

const PRODUCT_NAMES: [&str; 12] = [
    "Microsoft Exchange Server Language Pack",
    "Microsoft Visual C++ 2013 x64 Minimum Runtime - 12.0.40664",
    "Microsoft Visual C++ 2012 x64 Additional Runtime - 11.0.61030",
    "Microsoft Unified Communications Managed API 4.0, Runtime",
    "IIS URL Rewrite Module 2",
    "Microsoft Server Speech Platform Runtime (x64)",
    "Microsoft Server Speech Recognition Language - TELE(en-US)",
    "Microsoft Server Speech Text to Speech Voice (en-US, Helen)",
    "Microsoft Exchange Server Management Tools",
    "Microsoft Exchange Client Language Pack",
    "Microsoft Monitoring Agent",
    "Microsoft Edge Update Helper",
];

const FEATURES: [&str; 16] = [
    "AdminTools",
    "ClientAccess",
    "Gateway",
    "Bridgehead",
    "Mailbox",
    "UnifiedMessaging",
    "LanguagePacks",
    "Diagnostics",
    "Monitoring",
    "Search",
    "Transport",
    "OwaResources",
    "EcpResources",
    "Setup",
    "Perf",
    "Help",
];

impl SoftwareFiller {
    /// The next random number of this filler.
    fn next(&mut self) -> u64 {
        self.n += 1;
        mix(self.base.wrapping_add(self.n))
    }

    /// `{8-4-4-4-12}` upper-case, as the registry names classes and products.
    fn guid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    /// A packed (Installer) GUID: 32 upper-case hex digits.
    fn packed(&mut self) -> String {
        format!("{:016X}{:016X}", self.next(), self.next())
    }

    fn key(&mut self, s: &mut HiveBuilder, path: &str) {
        let name = path.rsplit('\\').next().unwrap_or(path);
        // The nk cell, its entry in the parent's lh list, and its value list's cell.
        self.estimate += cell(0x4C + name.len()) + 8.0 + 8.0;
        s.key(path);
    }

    fn set(&mut self, s: &mut HiveBuilder, path: &str, name: &str, data: RegData) {
        let len = data_len(&data);
        self.estimate += cell(0x14 + name.len()) + 4.0;
        if len > 4 {
            self.estimate += cell(len);
        }
        s.set(path, name, data);
    }

    fn sz(&mut self, s: &mut HiveBuilder, path: &str, name: &str, text: &str) {
        self.set(s, path, name, RegData::Sz(text.to_string()));
    }

    fn dword(&mut self, s: &mut HiveBuilder, path: &str, name: &str, v: u32) {
        self.set(s, path, name, RegData::Dword(v));
    }

    /// One round of filler: a product, and while their keys have room, COM classes,
    /// interfaces, a type library, a servicing package, an assembly and a file type.
    fn unit(&mut self, s: &mut HiveBuilder) {
        self.product(s);
        for _ in 0..3 {
            self.class(s);
        }
        for _ in 0..2 {
            self.interface(s);
        }
        self.typelib(s);
        self.package(s);
        self.assembly(s);
        self.file_type(s);
    }

    /// A Windows Installer product: its Uninstall entry, its advertised product and features
    /// under Classes\Installer, and its per-user (SID) install data with two components.
    fn product(&mut self, s: &mut HiveBuilder) {
        let p = self.products;
        self.products += 1;
        let guid = self.guid();
        let packed = self.packed();
        let r = self.next();
        let name = PRODUCT_NAMES[(r % PRODUCT_NAMES.len() as u64) as usize];
        let version = format!(
            "{}.{}.{}.{}",
            10 + r % 6,
            r % 4,
            1000 + (r >> 8) % 9000,
            (r >> 20) % 500
        );
        let install_date = format!("2025{:02}{:02}", 1 + (r >> 24) % 12, 1 + (r >> 28) % 28);
        let package = format!(r"C:\Windows\Installer\{:x}.msi", (r >> 32) & 0xff_ffff);
        let features = 8 + ((r >> 40) % 120) as usize;
        let props: Vec<(&str, RegData)> = vec![
            ("AuthorizedCDFPrefix", RegData::Sz(String::new())),
            ("Comments", RegData::Sz(String::new())),
            ("Contact", RegData::Sz(String::new())),
            ("DisplayVersion", RegData::Sz(version.clone())),
            (
                "HelpLink",
                RegData::ExpandSz("https://go.microsoft.com/fwlink/?LinkId=133546".into()),
            ),
            ("HelpTelephone", RegData::Sz(String::new())),
            ("InstallDate", RegData::Sz(install_date)),
            ("InstallLocation", RegData::Sz(String::new())),
            (
                "InstallSource",
                RegData::Sz(format!(r"E:\Setup\ServerRoles\Common\{}\", guid)),
            ),
            (
                "ModifyPath",
                RegData::ExpandSz(format!("MsiExec.exe /I{guid}")),
            ),
            ("Publisher", RegData::Sz("Microsoft Corporation".into())),
            ("Readme", RegData::Sz(String::new())),
            ("Size", RegData::Sz(String::new())),
            (
                "EstimatedSize",
                RegData::Dword(((r >> 44) % 400_000) as u32),
            ),
            (
                "UninstallString",
                RegData::ExpandSz(format!("MsiExec.exe /X{guid}")),
            ),
            (
                "URLInfoAbout",
                RegData::Sz("https://www.microsoft.com/".into()),
            ),
            ("URLUpdateInfo", RegData::Sz(String::new())),
            ("VersionMajor", RegData::Dword(15)),
            ("VersionMinor", RegData::Dword(2)),
            ("WindowsInstaller", RegData::Dword(1)),
            ("Version", RegData::Dword(0x0f02_0000 | (r & 0xffff) as u32)),
            ("Language", RegData::Dword(1033)),
            ("DisplayName", RegData::Sz(name.into())),
        ];
        // The 64-bit Uninstall key is evidence (Programs and Features): filler goes to the
        // 32-bit view only.
        let uninstall = match p / MAX_SUBKEYS {
            0 => Some(r"WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall"),
            _ => None,
        };
        if let Some(parent) = uninstall {
            let key = format!(r"{parent}\{guid}");
            self.key(s, &key);
            for (n, d) in &props {
                self.set(s, &key, n, d.clone());
            }
            self.dword(s, &key, "NoModify", 1);
            self.dword(s, &key, "NoRepair", 1);
        }
        if p < MAX_SUBKEYS {
            let key = format!(r"Classes\Installer\Products\{packed}");
            self.key(s, &key);
            self.sz(s, &key, "ProductName", name);
            self.sz(s, &key, "PackageCode", &format!("{:016X}{:016X}", r, !r));
            self.dword(s, &key, "Language", 1033);
            self.dword(s, &key, "Version", 0x0f02_0000 | (r & 0xffff) as u32);
            self.dword(s, &key, "Assignment", 1);
            self.dword(s, &key, "AdvertiseFlags", 388);
            self.dword(s, &key, "InstanceType", 0);
            self.dword(s, &key, "AuthorizedLUAApp", 0);
            self.dword(s, &key, "DeploymentFlags", 3);
            let list = format!(r"{key}\SourceList");
            self.key(s, &list);
            self.sz(
                s,
                &list,
                "PackageName",
                &format!("{}.msi", name.replace(' ', "")),
            );
            self.sz(
                s,
                &list,
                "LastUsedSource",
                r"n;1;E:\Setup\ServerRoles\Common\",
            );
            self.key(s, &format!(r"{list}\Media"));
            self.sz(s, &format!(r"{list}\Media"), "1", "DISK1;1");
            self.key(s, &format!(r"{list}\Net"));
            self.set(
                s,
                &format!(r"{list}\Net"),
                "1",
                RegData::ExpandSz(r"E:\Setup\ServerRoles\Common\".into()),
            );
            let advertised = format!(r"Classes\Installer\Features\{packed}");
            self.key(s, &advertised);
            for f in 0..features {
                let parent = if f == 0 { String::new() } else { feature(0) };
                self.sz(s, &advertised, &feature(f), &parent);
            }
        }
        let sid = sid(p / PRODUCTS_PER_SID);
        let user = format!(r"Microsoft\Windows\CurrentVersion\Installer\UserData\{sid}");
        let product = format!(r"{user}\Products\{packed}");
        self.key(s, &product);
        let install = format!(r"{product}\InstallProperties");
        self.key(s, &install);
        for (n, d) in &props {
            self.set(s, &install, n, d.clone());
        }
        self.sz(s, &install, "LocalPackage", &package);
        let usage = format!(r"{product}\Usage");
        let installed = format!(r"{product}\Features");
        self.key(s, &usage);
        self.key(s, &installed);
        for f in 0..features {
            let name = feature(f);
            let codes = format!("{:020X}", self.next() >> 8);
            self.sz(s, &installed, &name, &codes);
            self.dword(s, &usage, &name, 0x4e20_0000 | (f as u32 & 0xffff));
        }
        let patches = format!(r"{product}\Patches");
        self.key(s, &patches);
        self.set(s, &patches, "AllPatches", RegData::MultiSz(vec![]));
        for c in 0..2 {
            let component = format!(r"{user}\Components\{}", self.packed());
            self.key(s, &component);
            let file = [
                "Microsoft.Exchange.Data.dll",
                "Microsoft.Exchange.Common.dll",
            ][c];
            self.sz(
                s,
                &component,
                &packed,
                &format!(r"C:\Program Files\Microsoft\Exchange Server\V15\Bin\{p:05}\{file}"),
            );
        }
    }

    /// A COM class: `Classes\CLSID\{..}` (then `WOW6432Node\Classes\CLSID`).
    fn class(&mut self, s: &mut HiveBuilder) {
        let Some(parent) = shard(
            &mut self.classes,
            &[r"Classes\CLSID", r"WOW6432Node\Classes\CLSID"],
        ) else {
            return;
        };
        let guid = self.guid();
        let r = self.next();
        let key = format!(r"{parent}\{guid}");
        self.key(s, &key);
        let prog = format!("Microsoft.Exchange.Component{}.{}", r % 4000, 1 + r % 3);
        self.sz(
            s,
            &key,
            "",
            &format!("Microsoft Exchange component class {}", r % 4000),
        );
        let server = format!(r"{key}\InprocServer32");
        self.key(s, &server);
        self.set(
            s,
            &server,
            "",
            RegData::ExpandSz(format!(r"%SystemRoot%\System32\exch{:04x}.dll", r & 0xffff)),
        );
        self.sz(
            s,
            &server,
            "ThreadingModel",
            ["Both", "Apartment", "Free"][(r % 3) as usize],
        );
        self.key(s, &format!(r"{key}\ProgID"));
        self.sz(s, &format!(r"{key}\ProgID"), "", &prog);
        self.key(s, &format!(r"{key}\Version"));
        self.sz(s, &format!(r"{key}\Version"), "", "1.0");
    }

    /// A COM interface: `Classes\Interface\{..}` (then `WOW6432Node\Classes\Interface`).
    fn interface(&mut self, s: &mut HiveBuilder) {
        let Some(parent) = shard(
            &mut self.interfaces,
            &[r"Classes\Interface", r"WOW6432Node\Classes\Interface"],
        ) else {
            return;
        };
        let guid = self.guid();
        let r = self.next();
        let key = format!(r"{parent}\{guid}");
        self.key(s, &key);
        self.sz(s, &key, "", &format!("IExchangeComponent{}", r % 5000));
        self.key(s, &format!(r"{key}\ProxyStubClsid32"));
        self.sz(
            s,
            &format!(r"{key}\ProxyStubClsid32"),
            "",
            "{00020424-0000-0000-C000-000000000046}",
        );
        self.key(s, &format!(r"{key}\NumMethods"));
        self.sz(
            s,
            &format!(r"{key}\NumMethods"),
            "",
            &format!("{}", 3 + r % 40),
        );
    }

    /// A type library: `Classes\TypeLib\{..}\1.0\0\win64`, FLAGS and HELPDIR.
    fn typelib(&mut self, s: &mut HiveBuilder) {
        let Some(parent) = shard(&mut self.typelibs, &[r"Classes\TypeLib"]) else {
            return;
        };
        let guid = self.guid();
        let r = self.next();
        let version = format!(r"{parent}\{guid}\1.0");
        self.key(s, &format!(r"{parent}\{guid}"));
        self.key(s, &version);
        self.sz(
            s,
            &version,
            "",
            &format!("Exchange Component {} Type Library", r % 900),
        );
        self.key(s, &format!(r"{version}\0"));
        self.key(s, &format!(r"{version}\0\win64"));
        self.sz(
            s,
            &format!(r"{version}\0\win64"),
            "",
            &format!(
                r"C:\Program Files\Microsoft\Exchange Server\V15\Bin\exch{:04x}.tlb",
                r & 0xffff
            ),
        );
        self.key(s, &format!(r"{version}\FLAGS"));
        self.sz(s, &format!(r"{version}\FLAGS"), "", "0");
        self.key(s, &format!(r"{version}\HELPDIR"));
        self.sz(
            s,
            &format!(r"{version}\HELPDIR"),
            "",
            r"C:\Program Files\Microsoft\Exchange Server\V15\Bin",
        );
    }

    /// A servicing package: `Component Based Servicing\Packages\<identity>` (never its
    /// RebootPending key, which the collector reads).
    fn package(&mut self, s: &mut HiveBuilder) {
        let Some(parent) = shard(
            &mut self.packages,
            &[r"Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages"],
        ) else {
            return;
        };
        let r = self.next();
        let name = format!(
            "Package_{}_for_KB50{:05}~31bf3856ad364e35~amd64~~10.0.1.{}",
            self.packages,
            (r >> 12) % 100_000,
            (r >> 32) % 20
        );
        let key = format!(r"{parent}\{name}");
        self.key(s, &key);
        self.dword(s, &key, "CurrentState", 0x70);
        self.dword(s, &key, "SelfUpdate", 0);
        self.dword(s, &key, "Visibility", 2);
        self.dword(s, &key, "InstallClient", 0);
        self.sz(
            s,
            &key,
            "InstallLocation",
            &format!(
                r"\\?\C:\Windows\SoftwareDistribution\Download\{:032x}",
                r as u128 * 7919
            ),
        );
        self.sz(s, &key, "InstallName", &format!("{name}.mum"));
        self.dword(
            s,
            &key,
            "InstallTimeHigh",
            0x01db_0000 | (r & 0xffff) as u32,
        );
        self.dword(s, &key, "InstallTimeLow", (r >> 16) as u32);
        self.sz(s, &key, "InstallUser", "S-1-5-18");
        self.dword(s, &key, "LastError", 0);
        self.key(s, &format!(r"{key}\Owners"));
        self.dword(s, &format!(r"{key}\Owners"), &name, 0x0002_0070);
    }

    /// A side-by-side assembly: `SideBySide\Winners\<identity>\<version>`.
    fn assembly(&mut self, s: &mut HiveBuilder) {
        let Some(parent) = shard(
            &mut self.assemblies,
            &[r"Microsoft\Windows\CurrentVersion\SideBySide\Winners"],
        ) else {
            return;
        };
        let r = self.next();
        let key = format!(
            r"{parent}\amd64_microsoft-windows-component{}_31bf3856ad364e35_none_{:016x}",
            self.assemblies, r
        );
        self.key(s, &key);
        self.sz(s, &key, "", "10.0");
        let version = format!(r"{key}\10.0");
        self.key(s, &version);
        let build = format!("10.0.17763.{}", (r >> 16) % 7000);
        self.sz(s, &version, "", &build);
        self.set(s, &version, &build, RegData::Binary(vec![1]));
    }

    /// A file type and its ProgID at the root of Classes.
    fn file_type(&mut self, s: &mut HiveBuilder) {
        // Classes also holds CLSID, Interface, TypeLib, Installer and the rest.
        let Some(_) = shard_of(&mut self.types, MAX_SUBKEYS / 2 - 50, &["Classes"]) else {
            return;
        };
        let (r, t) = (self.next(), self.types);
        let ext = format!(r"Classes\.x{t:03}{:02x}", r & 0xff);
        let prog = format!("Exchange.Item{t}.1");
        self.key(s, &ext);
        self.sz(s, &ext, "", &prog);
        self.sz(s, &ext, "Content Type", "application/octet-stream");
        self.key(s, &format!(r"{ext}\OpenWithProgids"));
        self.set(
            s,
            &format!(r"{ext}\OpenWithProgids"),
            &prog,
            RegData::Binary(vec![]),
        );
        let key = format!(r"Classes\{prog}");
        self.key(s, &key);
        self.sz(s, &key, "", &format!("Exchange item type {t}"));
        self.key(s, &format!(r"{key}\CLSID"));
        let class = self.guid();
        self.sz(s, &format!(r"{key}\CLSID"), "", &class);
    }
}

/// The parent a family's next key goes under, [`MAX_SUBKEYS`] to each, or `None` when all
/// are full.
fn shard(count: &mut u64, parents: &[&'static str]) -> Option<&'static str> {
    shard_of(count, MAX_SUBKEYS, parents)
}

fn shard_of(count: &mut u64, per: u64, parents: &[&'static str]) -> Option<&'static str> {
    let parent = parents.get((*count / per) as usize).copied();
    if parent.is_some() {
        *count += 1;
    }
    parent
}

/// The name of feature `f` of a product.
fn feature(f: usize) -> String {
    match f {
        0 => "ProductFiles".to_string(),
        _ => format!("{}_{f:03}", FEATURES[f % FEATURES.len()]),
    }
}

/// The `k`th user who installed products: administrators' accounts (LocalSystem's, the
/// machine's installs, are evidence: the installer cache check reads them).
fn sid(k: u64) -> String {
    format!("S-1-5-21-3623811015-3361044348-30300820-{}", 500 + k)
}

/// SplitMix64's finaliser: every filler draw is a pure function of the host and a counter, so
/// filler can be sampled (to size it) without changing what is written.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
