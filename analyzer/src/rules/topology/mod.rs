//! Topology rules (`topology.*`): the order in which servers of a deployment must be
//! updated. Fleet rules: they implement [`FleetRule`](crate::rules::fleet::FleetRule).

pub mod cas_proxy_order;
