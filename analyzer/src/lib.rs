//! The analyzer: build catalog, host rules, fleet correlation, reports and exports.
//! Built by the issue "The analyzer and the main job".
#![deny(missing_docs)]
