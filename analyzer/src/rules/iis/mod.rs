//! Web front end rules (IIS, HTTP.sys).

pub mod backend_binding_cert;
pub mod vdir_path_wrong;
