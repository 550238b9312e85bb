//! The domain: pure rules of Integrationsmanagement handovers, no I/O.
//!
//! Everything here is plain data and functions. The clock is a parameter (`today`, `now`), never
//! read from the system, so every rule is testable by value. The layers around it (storage,
//! federation, the caseworker API) call into this module and never re-implement a rule.

pub mod audit;
pub mod calendar;
pub mod case;
pub mod client;
pub mod consent;
pub mod consent_request;
pub mod delivery;
pub mod eligibility;
mod error;
pub mod handover;
pub mod ledger;
pub mod office;
pub mod participation;
pub mod plan;
pub mod search;
pub mod staff;
pub mod text;
pub mod time;
pub mod window;

pub use client::{CaseId, ClientId, ClientIdentity};
pub use consent::{ConsentBasis, ConsentGrant, ConsentId, DataCategory, LegalBasis};
pub use error::DomainError;
pub use handover::HandoverCase;
pub use office::OfficeId;
pub use plan::{Goal, GoalArea, GoalId, GoalStatus, IntegrationPlan, Responsible, Step};
pub use text::{PersonName, Text};
pub use window::{CounsellingWindow, Extension, ExtensionGrounds, ExtensionReason, WindowStatement};
