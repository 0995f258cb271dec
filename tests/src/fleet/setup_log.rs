//! ExchangeSetup.log of a simulated server, in the real format (collector/EVIDENCE.md):
//! UTC lines `[MM?DD?YYYY HH:mm:ss.ffff] [depth] text`, one block per setup run.

use std::io::{self, Write};

use chrono::{Duration, NaiveDateTime};

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// "completed successfully", End of Setup.
    Success,
    /// setup.exe from the install's Bin folder: a script "is not recognized", failed.
    FailedFromBin,
    /// A failure no known pattern explains.
    FailedUnknown,
    /// The log stops in the middle of the run.
    CutOff,
}

/// One run to write.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Banner product ("2019", "Subscription Edition").
    pub banner: &'static str,
    /// Setup version.
    pub setup_version: String,
    /// Previous version for upgrades (`None` for a fresh install).
    pub previous: Option<String>,
    /// The /sourcedir given.
    pub source_dir: String,
    /// Install root without its trailing backslash.
    pub install_dir: String,
    /// NetBIOS name of the domain, for the logged-on user.
    pub user: String,
    /// When it started (UTC).
    pub start: NaiveDateTime,
    /// How it ends.
    pub end: RunEnd,
}

/// Writes the log; `sep` is the machine's date separator ('/', '-' or '.').
pub fn render(runs: &[RunSpec], sep: char) -> String {
    let mut out = String::new();
    for run in runs {
        write_run(&mut out, run, sep, &mut |_, _| Ok(())).expect("no padding, no I/O");
    }
    out
}

/// Called after each component's "Processing component" line with the text written so far
/// and that line's time stamp: where padding goes (see [`write_padded`]).
type Pad<'a> = dyn FnMut(&mut String, &str) -> io::Result<()> + 'a;

/// The run's clock: each line comes 37 ms after the one before.
struct Clock {
    t: NaiveDateTime,
    sep: char,
    /// The last line's stamp, with its ten-thousandths digit.
    stamp: String,
}

impl Clock {
    fn line(&mut self, out: &mut String, depth: u8, text: &str) {
        let sep = self.sep;
        self.t += Duration::milliseconds(37);
        let stamp = self
            .t
            .format(&format!("%m{sep}%d{sep}%Y %H:%M:%S%.3f"))
            .to_string();
        // Setup writes ten-thousandths of a second.
        self.stamp = format!("{stamp}0");
        out.push_str(&format!("[{}] [{depth}] {text}\r\n", self.stamp));
    }
}

fn write_run(out: &mut String, r: &RunSpec, sep: char, pad: &mut Pad) -> io::Result<()> {
    let mut clock = Clock {
        t: r.start,
        sep,
        stamp: String::new(),
    };
    let stars = "**********************************************";
    let upgrade = r.previous.is_some();
    let mode = if upgrade { "Upgrade" } else { "Install" };
    clock.line(out, 0, stars);
    clock.line(
        out,
        0,
        &format!("Starting Microsoft Exchange Server {} Setup", r.banner),
    );
    clock.line(out, 0, stars);
    clock.line(
        out,
        0,
        "Local time zone: (UTC+00:00) Coordinated Universal Time.",
    );
    clock.line(
        out,
        0,
        "Operating system version: Microsoft Windows NT 10.0.20348.0.",
    );
    clock.line(out, 0, &format!("Setup version: {}.", r.setup_version));
    clock.line(out, 0, &format!("Logged on user: {}\\exadmin.", r.user));
    clock.line(
        out,
        0,
        &format!("Command Line Parameter Name='mode', Value='{mode}'."),
    );
    clock.line(out, 0, "Command Line Parameter Name='iacceptexchangeserverlicenseterms_diagnosticdataoff', Value=''.");
    clock.line(
        out,
        0,
        &format!(
            "Command Line Parameter Name='sourcedir', Value='{}'.",
            r.source_dir
        ),
    );
    clock.line(out,
        0,
        &format!(
            "RuntimeAssembly was started with the following command: '/mode:{mode} /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF /sourcedir:{}'.",
            r.source_dir
        ),
    );
    if let Some(prev) = &r.previous {
        clock.line(
            out,
            0,
            &format!("The backup copy of the previously installed version is '{prev}'."),
        );
        clock.line(
            out,
            0,
            "The installation mode is set to: 'BuildToBuildUpgrade'.",
        );
        clock.line(out, 0, &format!("The locally installed version is {prev}."));
    } else {
        clock.line(out, 0, "The installation mode is set to: 'Install'.");
    }
    clock.line(
        out,
        0,
        &format!("Exchange Installation Directory : '{}'.", r.install_dir),
    );
    clock.line(
        out,
        0,
        "Setup will use the domain controller 'DC01.contoso.local'.",
    );
    clock.line(
        out,
        0,
        "Setup will use the global catalog 'DC01.contoso.local'.",
    );
    if r.end == RunEnd::FailedFromBin {
        clock.line(out,
            1,
            &format!(
                "[ERROR] The term '{}\\Bin\\ServiceControl.ps1' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.",
                r.install_dir
            ),
        );
        clock.line(out, 1, "[ERROR-REFERENCE] Id=AllRolesPreFileCopyComponent___e6bc4c7a5a0e4bbd8ea8fa8cd0ea3d3e Component=EXCHANGE14:\\Current\\Release\\Shared\\Datacenter\\Setup");
        fail(out, &mut clock);
        return Ok(());
    }
    let components = [
        "Language files",
        "Restoring services",
        "Languages",
        "Management tools",
        "Mailbox role: Transport service",
        "Mailbox role: Client Access service",
    ];
    for (i, c) in components.iter().enumerate() {
        clock.line(
            out,
            1,
            &format!(
                "Processing component '{c}' ({} of {}).",
                i + 1,
                components.len()
            ),
        );
        // Padding comes first in the component, so that the last lines before an error (its
        // context) and the task it ran in are the same padded or not.
        pad(out, &clock.stamp)?;
        // A real run logs thousands of lines per component; a few tasks stand for them, so
        // that a run cut off inside a component is as long as a real one is at that point.
        for task in [
            "Install-ExchangeComponent",
            "Set-ComponentConfiguration",
            "Start-ComponentServices",
            "Write-ExchangeSetupLog",
        ] {
            clock.line(out, 2, &format!("Beginning processing {task}"));
            clock.line(out, 2, &format!("Ending processing {task}"));
        }
        if r.end == RunEnd::CutOff && i == 3 {
            // The machine went down: no more lines for this run.
            return Ok(());
        }
    }
    if r.end == RunEnd::FailedUnknown {
        clock.line(out,
            1,
            "[ERROR] The following error was generated when \"$error.Clear(); Set-ContosoWidget -Identity $RoleNetBIOSName\" was run: \"System.InvalidOperationException: The widget factory returned state 0x5A17.\".",
        );
        out.push_str("   at Contoso.Widgets.Factory.Apply(String identity)\r\n   at System.Management.Automation.CommandProcessor.ProcessRecord()\r\n");
        clock.line(out, 1, "[ERROR-REFERENCE] Id=ContosoWidgetComponent___6c1a8f2e7d9b4c0e9a5f3b2d1c0e8f7a Component=EXCHANGE14:\\Current\\Release\\Shared\\Datacenter\\Setup");
        fail(out, &mut clock);
        return Ok(());
    }
    clock.line(out, 1, "Finished executing component tasks.");
    clock.line(
        out,
        0,
        "The Exchange Server setup operation completed successfully.",
    );
    clock.line(out, 0, "CurrentResult setupbase.maincore:396: 0");
    clock.line(out, 0, "End of Setup");
    clock.line(out, 0, stars);
    Ok(())
}

fn fail(out: &mut String, clock: &mut Clock) {
    clock.line(
        out,
        1,
        "Setup is stopping now because of one or more critical errors.",
    );
    clock.line(out, 1, "Finished executing component tasks.");
    clock.line(out, 0, "The Exchange Server setup operation didn't complete.  More details can be found in ExchangeSetup.log located in the <SystemDrive>:\\ExchangeSetupLogs folder.");
    clock.line(out, 0, "CurrentResult setupbase.maincore:396: 1");
    clock.line(out, 0, "End of Setup");
    clock.line(out, 0, "**********************************************");
}

/// Writes the log of `runs` to `w` at real size: at least `target` bytes (a few KiB more at
/// most), streamed. A real run logs tens of thousands of lines, nearly all of them cmdlets
/// setup runs and the AD reads they make; the default log has a few task lines standing for
/// them. Here each component of each run gets its share of such lines, right after its
/// "Processing component" line. They carry that line's time stamp, so the runs' times, errors,
/// their context and task, and every line the collector keeps are the same as in [`render`]'s
/// log; only line numbers move. Returns the bytes written.
pub fn write_padded(
    runs: &[RunSpec],
    sep: char,
    target: u64,
    w: &mut impl Write,
) -> io::Result<u64> {
    let plain = render(runs, sep).len() as u64;
    let mut points = 0u64;
    for run in runs {
        let mut count = |_: &mut String, _: &str| {
            points += 1;
            Ok(())
        };
        write_run(&mut String::new(), run, sep, &mut count)?;
    }
    let quota = match points {
        0 => 0,
        n => target.saturating_sub(plain).div_ceil(n),
    };
    let mut written = 0u64;
    let mut block = 0u64;
    for run in runs {
        let mut out = String::new();
        let mut pad = |out: &mut String, stamp: &str| -> io::Result<()> {
            w.write_all(out.as_bytes())?;
            written += out.len() as u64;
            out.clear();
            let mut filled = 0u64;
            while filled < quota {
                let lines = filler_block(block, stamp);
                w.write_all(lines.as_bytes())?;
                filled += lines.len() as u64;
                block += 1;
            }
            written += filled;
            Ok(())
        };
        write_run(&mut out, run, sep, &mut pad)?;
        w.write_all(out.as_bytes())?;
        written += out.len() as u64;
    }
    Ok(written)
}

/// Cmdlets setup runs while it installs a role, in the order of a real log's tasks.
const SETUP_CMDLETS: [(&str, &str); 10] = [
    ("Get-ExchangeServer", "Server"),
    ("Set-WERRegistryMarkers", "Server"),
    ("Install-ExchangeCertificate", "ExchangeCertificate"),
    ("Get-TransportService", "Server"),
    ("Set-ServerComponentState", "Server"),
    ("Install-Container", "Container"),
    ("Get-MailboxDatabase", "MailboxDatabase"),
    ("Start-SetupService", "Server"),
    ("Get-ClientAccessService", "Server"),
    ("Add-PerfCounters", "Server"),
];

/// One cmdlet as setup logs it: the script block (continuation lines, kept by no one), the AD
/// session, the parameters, the search and the end. No line is one the collector keeps: no
/// marker, no fact (the domain controller lines are the "Previous operation" kind it counts as
/// noise), nothing naming a site or SID.
fn filler_block(n: u64, stamp: &str) -> String {
    let (cmdlet, class) = SETUP_CMDLETS[(n % SETUP_CMDLETS.len() as u64) as usize];
    let p = |depth: u8, text: &str| format!("[{stamp}] [{depth}] {text}\r\n");
    let mut s = String::with_capacity(1200);
    s += &p(1, "Executing: ");
    s += &format!(
        "          if ($RoleIsDatacenter -ne $true)\r\n          {{\r\n            {cmdlet} -Identity $RoleFqdnOrName -DomainController $RoleDomainController\r\n          }}\r\n"
    );
    s += &p(2, &format!("Active Directory session settings for '{cmdlet}' are: View Entire Forest: 'True', Configuration Domain Controller: 'DC01.contoso.local', Preferred Global Catalog: 'DC01.contoso.local', Preferred Domain Controllers: '{{ DC01.contoso.local }}'"));
    s += &p(2, "User specified parameters:  -Identity:'$RoleFqdnOrName' -DomainController:'DC01.contoso.local'");
    s += &p(2, &format!("Beginning processing {cmdlet}"));
    s += &p(
        2,
        &format!(
            "Searching objects \"$RoleFqdnOrName\" of type \"{class}\" under the root \"$null\"."
        ),
    );
    s += &p(
        2,
        "Previous operation run on domain controller 'DC01.contoso.local'.",
    );
    s += &p(
        2,
        "Preparing to output objects. The maximum size of the result set is \"unlimited\".",
    );
    s += &p(2, &format!("Ending processing {cmdlet}"));
    s
}
