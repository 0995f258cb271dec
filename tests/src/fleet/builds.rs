//! The few Exchange build lines the simulator deploys, typed in from
//! analyzer/catalog/ExchangeBuildNumbers.csv (the simulator keeps its own copy of these values,
//! so that its ground truth does not depend on the analyzer's catalog). Latest entries: the
//! August 2026 SUs.

/// One CU line: its base build and its SUs/HUs in release order.
#[derive(Debug, Clone, Copy)]
pub struct Line {
    /// Product as the snapshot and reports name it.
    pub product: &'static str,
    /// Product folder under `SOFTWARE\Microsoft\Updates`.
    pub updates_folder: &'static str,
    /// "CU15", "RTM".
    pub cu: &'static str,
    /// How update package names call the CU ("Cumulative Update 15", "RTM").
    pub cu_words: &'static str,
    /// Product words of update package names ("Exchange Server 2019").
    pub product_words: &'static str,
    /// Banner of ExchangeSetup.log ("2019", "Subscription Edition").
    pub banner: &'static str,
    /// CU base build.
    pub base: [u16; 4],
    /// SUs and HUs: name, build revision, KB, release date (M/D/YYYY). For Exchange 2010's
    /// update rollups the number is the build's third part (14.3.513.0 for Rollup 32).
    pub updates: &'static [(&'static str, u16, &'static str, &'static str)],
    /// .NET Framework release the CU needs at least (4.8).
    pub min_dotnet: u32,
}

impl Line {
    /// The build of an update of this line (or the base build for `None`).
    pub fn build(&self, update: Option<usize>) -> [u16; 4] {
        let mut b = self.base;
        match update {
            Some(i) if self.is_2010() => b[2..].copy_from_slice(&[self.updates[i].1, 0]),
            Some(i) => b[3] = self.updates[i].1,
            None => {}
        }
        b
    }

    /// Exchange 2010 (setup key v14, update rollups on a service pack).
    pub fn is_2010(&self) -> bool {
        self.base[0] == 14
    }

    /// Index of the newest update.
    pub fn latest(&self) -> usize {
        self.updates.len() - 1
    }

    /// The installed-update package name of update `i`.
    pub fn package_name(&self, i: usize) -> String {
        let (name, _, kb, _) = self.updates[i];
        if let Some(n) = name.strip_prefix("RU") {
            return format!(
                "Update Rollup {n} for {} {} ({kb})",
                self.product_words, self.cu_words
            );
        }
        let kind = if name.contains("HU") {
            "Hotfix Update"
        } else {
            "Security Update"
        };
        format!("{kind} for {} {} ({kb})", self.product_words, self.cu_words)
    }
}

/// Exchange Server Subscription Edition RTM.
pub const SE_RTM: Line = Line {
    product: "Exchange SE",
    updates_folder: "Exchange 2019",
    cu: "RTM",
    cu_words: "RTM",
    product_words: "Exchange Server Subscription Edition",
    banner: "Subscription Edition",
    base: [15, 2, 2562, 17],
    updates: &[
        ("Aug25SU", 20, "KB5063224", "8/12/2025"),
        ("Sep25HU", 27, "KB5066373", "9/8/2025"),
        ("Oct25SU", 29, "KB5066366", "10/14/2025"),
        ("Dec25SU", 35, "KB5071876", "12/9/2025"),
        ("Feb26SU", 37, "KB5074992", "2/10/2026"),
        ("May26HU", 41, "KB5081755", "5/7/2026"),
        ("Jun26SU", 43, "KB5094139", "6/9/2026"),
        ("Jul26SU", 45, "KB5103212", "7/14/2026"),
        ("Aug26SU", 46, "KB5121573", "8/11/2026"),
    ],
    min_dotnet: 528040,
};

/// Exchange 2019 CU15.
pub const EX2019_CU15: Line = Line {
    product: "Exchange 2019",
    updates_folder: "Exchange 2019",
    cu: "CU15",
    cu_words: "Cumulative Update 15",
    product_words: "Exchange Server 2019",
    banner: "2019",
    base: [15, 2, 1748, 10],
    updates: &[
        ("Apr25HU", 24, "KB5050672", "4/18/2025"),
        ("May25HU", 26, "KB5057651", "5/29/2025"),
        ("Aug25SU", 36, "KB5063221", "8/12/2025"),
        ("Sep25HU", 37, "KB5066372", "9/8/2025"),
        ("Oct25SU", 39, "KB5066367", "10/14/2025"),
        ("Dec25SU", 42, "KB5071875", "12/9/2025"),
        ("Feb26SU", 43, "KB5074993", "2/10/2026"),
        ("Jun26SU", 46, "KB5094140", "6/9/2026"),
        ("Jul26SU", 48, "KB5103213", "7/14/2026"),
        ("Aug26SU", 49, "KB5121574", "8/11/2026"),
    ],
    min_dotnet: 528040,
};

/// Exchange 2019 CU14.
pub const EX2019_CU14: Line = Line {
    product: "Exchange 2019",
    updates_folder: "Exchange 2019",
    cu: "CU14",
    cu_words: "Cumulative Update 14",
    product_words: "Exchange Server 2019",
    banner: "2019",
    base: [15, 2, 1544, 4],
    updates: &[
        ("Mar24SU", 9, "KB5036386", "3/12/2024"),
        ("Apr24HU", 11, "KB5037224", "4/23/2024"),
        ("Nov24SU", 13, "KB5044062", "11/12/2024"),
        ("Nov24SUv2", 14, "KB5049233", "11/27/2024"),
        ("Apr25HU", 25, "KB5050673", "4/18/2025"),
        ("May25HU", 27, "KB5057652", "5/29/2025"),
        ("Aug25SU", 33, "KB5063222", "8/12/2025"),
        ("Sep25HU", 34, "KB5066371", "9/8/2025"),
        ("Oct25SU", 36, "KB5066368", "10/14/2025"),
        ("Dec25SU", 37, "KB5071874", "12/9/2025"),
        ("Feb26SU", 39, "KB5074994", "2/10/2026"),
        ("Jun26SU", 41, "KB5094142", "6/9/2026"),
        ("Jul26SU", 43, "KB5103214", "7/14/2026"),
        ("Aug26SU", 44, "KB5121575", "8/11/2026"),
    ],
    min_dotnet: 528040,
};

/// Exchange 2019 CU13: no longer updated (its last SU is Nov24SUv2).
pub const EX2019_CU13: Line = Line {
    product: "Exchange 2019",
    updates_folder: "Exchange 2019",
    cu: "CU13",
    cu_words: "Cumulative Update 13",
    product_words: "Exchange Server 2019",
    banner: "2019",
    base: [15, 2, 1258, 12],
    updates: &[
        ("Jun23SU", 16, "KB5026261", "6/13/2023"),
        ("Aug23SU", 23, "KB5029388", "8/8/2023"),
        ("Aug23SUv2", 25, "KB5030524", "8/15/2023"),
        ("Oct23SU", 27, "KB5030877", "10/10/2023"),
        ("Nov23SU", 28, "KB5032146", "11/14/2023"),
        ("Mar24SU", 32, "KB5036386", "3/12/2024"),
        ("Apr24HU", 34, "KB5037224", "4/23/2024"),
        ("Nov24SU", 38, "KB5044062", "11/12/2024"),
        ("Nov24SUv2", 39, "KB5049233", "11/27/2024"),
    ],
    min_dotnet: 528040,
};

/// Exchange 2016 CU23.
pub const EX2016_CU23: Line = Line {
    product: "Exchange 2016",
    updates_folder: "Exchange 2016",
    cu: "CU23",
    cu_words: "Cumulative Update 23",
    product_words: "Exchange Server 2016",
    banner: "2016",
    base: [15, 1, 2507, 6],
    updates: &[
        ("Nov24SUv2", 44, "KB5049233", "11/27/2024"),
        ("Apr25HU", 55, "KB5050674", "4/18/2025"),
        ("May25HU", 57, "KB5057653", "5/29/2025"),
        ("Aug25SU", 58, "KB5063223", "8/12/2025"),
        ("Sep25HU", 59, "KB5066370", "9/8/2025"),
        ("Oct25SU", 61, "KB5066369", "10/14/2025"),
        ("Dec25SU", 63, "KB5071873", "12/9/2025"),
        ("Feb26SU", 66, "KB5074995", "2/10/2026"),
        ("Jun26SU", 69, "KB5094144", "6/9/2026"),
        ("Jul26SU", 71, "KB5103215", "7/14/2026"),
        ("Aug26SU", 72, "KB5121576", "8/11/2026"),
    ],
    min_dotnet: 528040,
};

/// Exchange 2016 CU17, unsupported since 2021, with only the March 2021 security update for
/// unsupported CUs (KB5000871): that update leaves ExSetup.exe at the CU's base build, the
/// build HealthChecker's advisory tests. No host of a generated fleet runs it; rule cases do.
pub const EX2016_CU17: Line = Line {
    product: "Exchange 2016",
    updates_folder: "Exchange 2016",
    cu: "CU17",
    cu_words: "Cumulative Update 17",
    product_words: "Exchange Server 2016",
    banner: "2016",
    base: [15, 1, 2044, 4],
    updates: &[("Mar21SU", 4, "KB5000871", "3/2/2021")],
    min_dotnet: 528040,
};

/// Exchange 2010 Service Pack 3 and its last update rollups.
pub const EX2010_SP3: Line = Line {
    product: "Exchange 2010",
    updates_folder: "Exchange 2010",
    cu: "SP3",
    cu_words: "Service Pack 3",
    product_words: "Exchange Server 2010",
    banner: "2010",
    base: [14, 3, 123, 4],
    updates: &[
        ("RU30", 496, "KB4536989", "2/11/2020"),
        ("RU31", 509, "KB4593467", "12/1/2020"),
        ("RU32", 513, "KB5000978", "3/2/2021"),
    ],
    // Exchange 2010 runs on .NET 3.5 and no .NET 4 release is required of it.
    min_dotnet: 0,
};

/// Updates a host may be "behind" on: older than the newest, and none of them a build with
/// a published known issue (analyzer/catalog/exchange-builds.md), so that being behind is the only
/// fact the choice plants.
pub fn behind_choices(line: &Line) -> Vec<usize> {
    let known_bad: &[[u16; 4]] = &[
        [15, 2, 2562, 17],
        [15, 2, 1748, 24],
        [15, 2, 1544, 25],
        [15, 1, 2507, 55],
    ];
    (0..line.latest())
        .filter(|&i| !known_bad.contains(&line.build(Some(i))))
        // Stay within the last year of updates: older ones are a different story.
        .filter(|&i| line.latest() - i <= 4)
        .collect()
}

/// Text of a build.
pub fn text(b: [u16; 4]) -> String {
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// The newest update of the CVE table the analyzer's catalog carries (CSS-Exchange's
/// CVE-to-build table as of 2026-04-02, `cve-builds.csv`): Feb26SU, which fixes
/// CVE-2026-21527 on every line above that got it.
pub const NEWEST_CVE_FIX: (&str, &str) = ("Feb26SU", "CVE-2026-21527");

/// Whether a build is still open to [`NEWEST_CVE_FIX`]'s CVE: an Exchange 2013 or later build
/// below its line's Feb26SU, or on a line that never got it (Exchange 2019 CU13, a build of
/// no line here). Exchange 2010 is not in the table.
pub fn open_to_newest_cve(build: [u16; 4]) -> bool {
    if build[0] == 14 {
        return false;
    }
    let lines = [
        &SE_RTM,
        &EX2019_CU15,
        &EX2019_CU14,
        &EX2019_CU13,
        &EX2016_CU23,
        &EX2016_CU17,
    ];
    let Some(line) = lines.iter().find(|l| l.base[..3] == build[..3]) else {
        return true;
    };
    match line.updates.iter().position(|u| u.0 == NEWEST_CVE_FIX.0) {
        Some(i) => build < line.build(Some(i)),
        None => true,
    }
}
