//! Reconciling SealedSecrets into Secrets: a pure decision ([`decide`]), pure status rules
//! ([`status`]), and the I/O shell that applies them.

pub mod decide;
pub mod status;
