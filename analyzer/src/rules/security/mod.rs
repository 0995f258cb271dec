//! Security rules: what the evidence says about who sent it.

pub mod identity_mismatch;
