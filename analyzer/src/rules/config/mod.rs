//! Rules about configuration files across time.

pub mod customizations_overwritten;
