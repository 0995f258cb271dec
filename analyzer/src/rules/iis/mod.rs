//! Web front end rules (IIS, HTTP.sys).

pub mod backend_binding_cert;
pub mod config_variable_unexpanded;
pub mod shared_web_config_missing;
pub mod vdir_path_wrong;
pub mod web_config_missing;
