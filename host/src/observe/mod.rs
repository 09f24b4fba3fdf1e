//! What the node tells people and other systems about its decisions.
//!
//! [`events`] turns each decision into one line for the [`decision_log`] (own
//! JSON or [`ecs`], to stdout or a rotating [`logfile`]) and a ring for the admin
//! API; [`metrics`] counts; [`analytics`] stores events durably for the
//! dashboard and reports; [`alerts`] sends signed webhooks on thresholds.

pub mod alerts;
pub mod analytics;
pub mod decision_log;
pub mod ecs;
pub mod events;
pub mod logfile;
pub mod metrics;
