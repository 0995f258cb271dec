//! OWA and ECP rules: what the web applications' own events say.

pub mod assembly_load_500;
pub mod missing_images;
