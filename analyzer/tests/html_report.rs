//! The HTML report in a real browser: headless Chromium (Debian's package) opens the report of
//! a fleet with 90 days of history and a collected triage fleet; through the DevTools protocol
//! the test checks every section and chart element in the DOM, the host filter, that the
//! console logged no error and no exception, that nothing was fetched but the file itself,
//! and saves a screenshot (`$CARGO_TARGET_TMPDIR/exfleet-report.png`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::NaiveDate;
use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::input::History;
use exfleet_dataset::Batch;
use exfleet_proto::v1::StoredSnapshot;
use exfleet_tests::fleet::FleetConfig;
use exfleet_tests::history::{self, HistoryConfig};
use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

const SECTIONS: [&str; 8] = [
    "overview",
    "exposure",
    "builds-by-site",
    "timeline",
    "ioc",
    "fleet",
    "actions",
    "hosts",
];

#[test]
fn the_report_renders_in_chromium_with_every_section_and_no_console_error() {
    let Some(chromium) = exfleet_tests::tools::tool("chromium") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut tables = Batch::default();
    let cfg = HistoryConfig::default();
    let (hosts, _) = history::hosts(&cfg);
    for day in 0..cfg.days {
        for s in history::day(&cfg, &hosts, day) {
            tables.add(&s);
        }
    }
    let fleet = FleetConfig {
        servers: 30,
        ..Default::default()
    };
    let (_, snapshots) = exfleet_tests::collected_fleet(&fleet, &tmp.path().join("fleet")).unwrap();
    for s in snapshots {
        tables.add(&StoredSnapshot {
            snapshot: Some(s),
            collector_id: "test".into(),
            received_at_ms: 1,
            ..Default::default()
        });
    }
    let history = History::from_batch(&tables).unwrap();
    let catalog = Catalog::embedded();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let analysis = exfleet_analyzer::analyze(&history, &catalog, as_of).unwrap();
    let out = tmp.path().join("report");
    let written = exfleet_analyzer::report::write(&analysis, &catalog, &history, &out).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    // Self-contained: nothing to fetch.
    for needle in ["src=", "href=", "url(", "@import", "http://", "https://"] {
        assert!(!html.contains(needle), "the report references {needle}");
    }

    let browser = Browser::start(&chromium, tmp.path());
    let mut page = browser.page();
    page.call("Runtime.enable", json!({}));
    page.call("Log.enable", json!({}));
    page.call("Network.enable", json!({}));
    page.call("Page.enable", json!({}));
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 1800, "deviceScaleFactor": 1, "mobile": false}),
    );
    let url = format!("file://{}", written.html.display());
    page.call("Page.navigate", json!({ "url": url }));
    page.wait_for("Page.loadEventFired", Duration::from_secs(30));

    let probe = r#"JSON.stringify((function(){
        var q = function(s){ return document.querySelectorAll(s); };
        var count = function(s){ return Array.prototype.filter.call(q(s), function(r){ return +r.dataset.count > 0; }).length; };
        var box = document.getElementById('host-filter');
        box.value = 'exfra'; box.dispatchEvent(new Event('input'));
        var shown = Array.prototype.filter.call(q('details.host'), function(d){ return d.style.display !== 'none'; }).length;
        box.value = ''; box.dispatchEvent(new Event('input'));
        return {
            sections: ['overview','exposure','builds-by-site','timeline','ioc','fleet','actions','hosts'].filter(function(id){ return document.getElementById(id); }),
            severityBars: q('#chart-severity rect.bar').length,
            siteBars: q('#chart-builds-by-site rect.bar').length,
            sitesLabelled: q('#chart-builds-by-site text').length,
            updateDays: count('#chart-timeline rect.update-run'),
            errorDays: count('#chart-timeline rect.error-event'),
            timelineDays: q('#chart-timeline rect.update-run').length,
            hosts: q('details.host').length,
            filtered: shown,
            actions: q('#actions li').length,
            fleetFindings: q('#fleet article').length,
            evidence: q('#hosts ul.evidence li').length,
            newestCveOpen: Array.prototype.filter.call(q('#exposure tr'), function(r){ return r.cells[0].textContent === 'CVE-2026-21527'; }).map(function(r){ return +r.cells[1].textContent; })
        };
    })())"#;
    let r = page.call(
        "Runtime.evaluate",
        json!({"expression": probe, "returnByValue": true}),
    );
    let dom: Value =
        serde_json::from_str(r["result"]["value"].as_str().expect("a string")).unwrap();
    assert_eq!(dom["sections"], json!(SECTIONS), "{dom}");
    // The exposure table counts the servers the simulator knows open to the newest CVE of
    // the table (its own copy of which builds carry Feb26SU).
    let open = analysis
        .hosts
        .iter()
        .filter_map(|h| h.exsetup)
        .filter(|b| {
            let b = b.0.map(|x| x as u16);
            exfleet_tests::fleet::builds::open_to_newest_cve(b)
        })
        .count();
    assert!(open > 0);
    assert_eq!(dom["newestCveOpen"], json!([open]), "{dom}");
    assert_eq!(dom["severityBars"], 4, "{dom}");
    let n_hosts = analysis.hosts.len() as u64;
    assert_eq!(dom["hosts"], n_hosts, "{dom}");
    let sites = analysis
        .hosts
        .iter()
        .map(|h| h.ad_site.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u64;
    assert_eq!(dom["sitesLabelled"], sites, "{dom}");
    assert!(dom["siteBars"].as_u64().unwrap() >= sites, "{dom}");
    assert_eq!(dom["timelineDays"], 90, "{dom}");
    assert!(dom["updateDays"].as_u64().unwrap() >= 5, "{dom}");
    assert!(dom["errorDays"].as_u64().unwrap() >= 5, "{dom}");
    let frankfurt = analysis
        .hosts
        .iter()
        .filter(|h| h.host.starts_with("EXFRA"))
        .count() as u64;
    assert_eq!(dom["filtered"], frankfurt, "{dom}");
    assert!(frankfurt > 0 && frankfurt < n_hosts);
    assert!(dom["actions"].as_u64().unwrap() >= 10, "{dom}");
    assert!(dom["fleetFindings"].as_u64().unwrap() >= 5, "{dom}");
    assert!(dom["evidence"].as_u64().unwrap() > n_hosts, "{dom}");

    let shot = page.call("Page.captureScreenshot", json!({"format": "png"}));
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join("exfleet-report.png");
    std::fs::write(&saved, &png).unwrap();
    eprintln!("screenshot: {} ({} bytes)", saved.display(), png.len());

    // Whatever the console or the page reported while loading and running the probe.
    page.drain(Duration::from_millis(500));
    let errors: Vec<&Value> = page
        .events
        .iter()
        .filter(|e| match e["method"].as_str().unwrap_or("") {
            "Runtime.exceptionThrown" => true,
            "Runtime.consoleAPICalled" => {
                matches!(e["params"]["type"].as_str(), Some("error" | "assert"))
            }
            "Log.entryAdded" => e["params"]["entry"]["level"] == "error",
            _ => false,
        })
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let fetched: Vec<&str> = page
        .events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .filter_map(|e| e["params"]["request"]["url"].as_str())
        .collect();
    assert!(
        fetched.iter().all(|u| *u == url),
        "the report fetched {fetched:?}"
    );
}

/// Headless Chromium with the DevTools protocol on a loopback port; killed on drop.
struct Browser {
    child: Child,
    port: u16,
}

impl Browser {
    fn start(chromium: &Path, tmp: &Path) -> Browser {
        let profile = tmp.join("chromium-profile");
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("chromium runs (Debian package chromium; tests/scripts/install-test-tools.sh installs it)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port.parse::<u16>().unwrap_or(0));
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("Chromium announces its DevTools port");
        Browser { child, port }
    }

    /// The first page target.
    fn page(&self) -> Page {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let list = http_get(self.port, "/json/list");
            let targets: Value = serde_json::from_str(&list).unwrap_or(Value::Null);
            let ws = targets.as_array().and_then(|a| {
                a.iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_string))
            });
            if let Some(ws) = ws {
                let (socket, _) = tungstenite::connect(ws.as_str()).unwrap();
                if let MaybeTlsStream::Plain(s) = socket.get_ref() {
                    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                }
                return Page {
                    socket,
                    next: 0,
                    events: Vec::new(),
                };
            }
            assert!(Instant::now() < deadline, "no page target: {list}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> String {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        &s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // DevTools answers with a Content-Length and may keep the connection open.
    let mut r = BufReader::new(s);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).unwrap();
    String::from_utf8_lossy(&body).into_owned()
}

/// One page's DevTools session: calls, and the events seen meanwhile.
struct Page {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    events: Vec<Value>,
}

impl Page {
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let msg = json!({"id": id, "method": method, "params": params});
        self.socket.send(Message::text(msg.to_string())).unwrap();
        loop {
            let v = self
                .read()
                .unwrap_or_else(|| panic!("no answer to {method}"));
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    fn wait_for(&mut self, method: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.events.iter().any(|e| e["method"] == method) {
            assert!(Instant::now() < deadline, "no {method}");
            if let Some(v) = self.read() {
                self.events.push(v);
            }
        }
    }

    /// Reads what arrives for `d`.
    fn drain(&mut self, d: Duration) {
        if let MaybeTlsStream::Plain(s) = self.socket.get_ref() {
            s.set_read_timeout(Some(d)).unwrap();
        }
        while let Some(v) = self.read() {
            self.events.push(v);
        }
    }

    fn read(&mut self) -> Option<Value> {
        loop {
            match self.socket.read() {
                Ok(Message::Text(t)) => return serde_json::from_str(t.as_str()).ok(),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }
}
