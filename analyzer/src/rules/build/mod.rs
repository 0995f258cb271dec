//! Build and patch level rules (ExSetup.exe, the setup key, installed-update keys).

pub mod cu_out_of_support;
pub mod file_registry_mismatch;
pub mod iu_blocks_su;
pub mod known_bad;
pub mod package;
pub mod product_eol;
pub mod product_eol_soon;
pub mod su_behind;
pub mod su_wrong_cu;
pub mod unknown;
