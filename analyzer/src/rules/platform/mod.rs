//! Platform rules: the operating system and the .NET Framework under Exchange.

pub mod dbcs_locale;
pub mod dotnet_unsupported;
pub mod dotnet_upgrade_order;
pub mod pending_reboot;
