//! Operating system rules (`os.*`): what Windows under Exchange must be for an update to
//! install.

pub mod dbcs_locale;
pub mod defender_exclusions;
pub mod not_rebooted_after_update;
pub mod pending_reboot;
