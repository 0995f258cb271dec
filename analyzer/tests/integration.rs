//! The analyzer's integration tests, one binary: rules on their cases, the CLI, exports read
//! back by DuckDB, the simulated fleet's ground truth, the history rules, the HTML report in
//! Chromium, the identity model, the rollout plan and verify, the CSS-Exchange setup logs, the
//! hardening cases (impossible times, CSV injection, unreadable Parquet parts), and aggregators
//! sharing an S3 bucket (s3s-fs).
mod cases;
mod cli;
mod events;
mod export;
mod ground_truth;
mod hardening;
mod history;
mod html_report;
mod identity;
mod object_store;
mod rollout;
mod rules;
mod setup_logs;
