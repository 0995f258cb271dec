//! The readers of the registry's SYSTEM and SOFTWARE hives, written once over
//! [`crate::registry::Hive`]: a hive file of a triage copy, or the live registry.

pub mod cert_blob;
pub mod installer;
pub mod settings;
pub mod software;
pub mod system;
pub mod uninstall;
