//! The analyzer's integration tests, one binary: rules on their cases, the CLI, exports read
//! back by DuckDB, the simulated fleet's ground truth, the history rules, the HTML report in
//! Chromium, and the CSS-Exchange setup logs.
mod cases;
mod cli;
mod export;
mod ground_truth;
mod history;
mod html_report;
mod rules;
mod setup_logs;
