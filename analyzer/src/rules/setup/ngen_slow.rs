//! `setup.ngen-slow`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, line_of, Context, Rule, Sink};
use crate::view::HostView;
use exfleet_proto::kinds::MsiLineKind;

/// The catalog entry.
pub const DOC: &str = "## Detects
An SU install spent long creating native images (\"Creating Native images for .Net assemblies\", ngen): its MSI log shows ngen actions that together ran for 10 minutes or more. On a server without internet access each assembly waits for the certificate revocation list download (crl.microsoft.com/pki/crl/products/CodeSigPCA.crl) to time out.
## Evidence
The MSI log, each native-image action with its start line and how long it ran, and the total.
## Action
Let the install finish. For the next updates on servers without internet access, clear 'Check for publisher's certificate revocation' (Internet Options, Advanced, Security) for the install only and set it back afterwards, or give the server a route or proxy to crl.microsoft.com.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Error during install: Creating Native images for .NET assemblies\".";

/// Native-image work at least this long is reported.
pub const SLOW_MS: i64 = 10 * 60_000;

/// `setup.ngen-slow`; its catalog entry is [`DOC`].
pub struct NgenSlow;

fn is_ngen(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("ngen") || t.contains("native image")
}

impl Rule for NgenSlow {
    fn id(&self) -> &'static str {
        "setup.ngen-slow"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        for log in &h.msi_logs {
            let slow: Vec<_> = log
                .lines
                .iter()
                .filter(|l| l.kind == MsiLineKind::SlowAction && is_ngen(&l.text))
                .collect();
            // Durations are stored values: summed without overflow, a negative one as 0.
            let total = slow
                .iter()
                .fold(0i64, |sum, l| sum.saturating_add(l.duration_ms.max(0)));
            if total < SLOW_MS {
                continue;
            }
            let mut ev = vec![Evidence::new(
                format!(
                    "MSI log of {} ({}) started {}",
                    if log.update_name.is_empty() {
                        "an update"
                    } else {
                        &log.update_name
                    },
                    log.patch,
                    log.header_time
                ),
                &log.provenance,
            )];
            for l in &slow {
                ev.push(Evidence::new(
                    format!("{} ran {} min", l.text, l.duration_ms / 60_000),
                    line_of(&log.provenance, l.line),
                ));
            }
            let title = format!(
                "SU install spent {} min creating native images",
                total / 60_000
            );
            out.push(self.finding(h, title, ev, &action_of(DOC)));
        }
    }
}
