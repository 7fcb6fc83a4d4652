//! Reconciling SealedSecrets into Secrets: a pure decision ([`decide`]), pure status rules
//! ([`status`]), what to report about the outcome ([`report`], pure), and the I/O shell that
//! applies them ([`run`]).

pub mod cache;
pub mod decide;
pub mod listed;
pub mod report;
pub mod run;
pub mod status;
