//! Web front end rules (IIS, HTTP.sys).

pub mod backend_binding_cert;
