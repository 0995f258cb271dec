//! .NET Framework rules (`dotnet.*`): the release installed under Exchange against what its
//! CU supports.

pub mod unsupported;
pub mod upgrade_order;
