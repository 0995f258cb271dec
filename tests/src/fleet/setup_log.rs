//! ExchangeSetup.log of a simulated server, in the real format (collector/EVIDENCE.md):
//! UTC lines `[MM?DD?YYYY HH:mm:ss.ffff] [depth] text`, one block per setup run.

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
        write_run(&mut out, run, sep);
    }
    out
}

fn write_run(out: &mut String, r: &RunSpec, sep: char) {
    let mut t = r.start;
    let mut line = |out: &mut String, depth: u8, text: &str| {
        t += Duration::milliseconds(37);
        let stamp = t
            .format(&format!("%m{sep}%d{sep}%Y %H:%M:%S%.3f"))
            .to_string();
        // Setup writes ten-thousandths of a second.
        out.push_str(&format!("[{stamp}0] [{depth}] {text}\r\n"));
    };
    let stars = "**********************************************";
    let upgrade = r.previous.is_some();
    let mode = if upgrade { "Upgrade" } else { "Install" };
    line(out, 0, stars);
    line(
        out,
        0,
        &format!("Starting Microsoft Exchange Server {} Setup", r.banner),
    );
    line(out, 0, stars);
    line(
        out,
        0,
        "Local time zone: (UTC+00:00) Coordinated Universal Time.",
    );
    line(
        out,
        0,
        "Operating system version: Microsoft Windows NT 10.0.20348.0.",
    );
    line(out, 0, &format!("Setup version: {}.", r.setup_version));
    line(out, 0, &format!("Logged on user: {}\\exadmin.", r.user));
    line(
        out,
        0,
        &format!("Command Line Parameter Name='mode', Value='{mode}'."),
    );
    line(out, 0, "Command Line Parameter Name='iacceptexchangeserverlicenseterms_diagnosticdataoff', Value=''.");
    line(
        out,
        0,
        &format!(
            "Command Line Parameter Name='sourcedir', Value='{}'.",
            r.source_dir
        ),
    );
    line(
        out,
        0,
        &format!(
            "RuntimeAssembly was started with the following command: '/mode:{mode} /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF /sourcedir:{}'.",
            r.source_dir
        ),
    );
    if let Some(prev) = &r.previous {
        line(
            out,
            0,
            &format!("The backup copy of the previously installed version is '{prev}'."),
        );
        line(
            out,
            0,
            "The installation mode is set to: 'BuildToBuildUpgrade'.",
        );
        line(out, 0, &format!("The locally installed version is {prev}."));
    } else {
        line(out, 0, "The installation mode is set to: 'Install'.");
    }
    line(
        out,
        0,
        &format!("Exchange Installation Directory : '{}'.", r.install_dir),
    );
    line(
        out,
        0,
        "Setup will use the domain controller 'DC01.contoso.local'.",
    );
    line(
        out,
        0,
        "Setup will use the global catalog 'DC01.contoso.local'.",
    );
    if r.end == RunEnd::FailedFromBin {
        line(
            out,
            1,
            &format!(
                "[ERROR] The term '{}\\Bin\\ServiceControl.ps1' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.",
                r.install_dir
            ),
        );
        line(out, 1, "[ERROR-REFERENCE] Id=AllRolesPreFileCopyComponent___e6bc4c7a5a0e4bbd8ea8fa8cd0ea3d3e Component=EXCHANGE14:\\Current\\Release\\Shared\\Datacenter\\Setup");
        fail(out, &mut line);
        return;
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
        line(
            out,
            1,
            &format!(
                "Processing component '{c}' ({} of {}).",
                i + 1,
                components.len()
            ),
        );
        // A real run logs thousands of lines per component; a few tasks stand for them, so
        // that a run cut off inside a component is as long as a real one is at that point.
        for task in [
            "Install-ExchangeComponent",
            "Set-ComponentConfiguration",
            "Start-ComponentServices",
            "Write-ExchangeSetupLog",
        ] {
            line(out, 2, &format!("Beginning processing {task}"));
            line(out, 2, &format!("Ending processing {task}"));
        }
        if r.end == RunEnd::CutOff && i == 3 {
            // The machine went down: no more lines for this run.
            return;
        }
    }
    if r.end == RunEnd::FailedUnknown {
        line(
            out,
            1,
            "[ERROR] The following error was generated when \"$error.Clear(); Set-ContosoWidget -Identity $RoleNetBIOSName\" was run: \"System.InvalidOperationException: The widget factory returned state 0x5A17.\".",
        );
        out.push_str("   at Contoso.Widgets.Factory.Apply(String identity)\r\n   at System.Management.Automation.CommandProcessor.ProcessRecord()\r\n");
        line(out, 1, "[ERROR-REFERENCE] Id=ContosoWidgetComponent___6c1a8f2e7d9b4c0e9a5f3b2d1c0e8f7a Component=EXCHANGE14:\\Current\\Release\\Shared\\Datacenter\\Setup");
        fail(out, &mut line);
        return;
    }
    line(out, 1, "Finished executing component tasks.");
    line(
        out,
        0,
        "The Exchange Server setup operation completed successfully.",
    );
    line(out, 0, "CurrentResult setupbase.maincore:396: 0");
    line(out, 0, "End of Setup");
    line(out, 0, stars);
}

fn fail(out: &mut String, line: &mut impl FnMut(&mut String, u8, &str)) {
    line(
        out,
        1,
        "Setup is stopping now because of one or more critical errors.",
    );
    line(out, 1, "Finished executing component tasks.");
    line(out, 0, "The Exchange Server setup operation didn't complete.  More details can be found in ExchangeSetup.log located in the <SystemDrive>:\\ExchangeSetupLogs folder.");
    line(out, 0, "CurrentResult setupbase.maincore:396: 1");
    line(out, 0, "End of Setup");
    line(out, 0, "**********************************************");
}
