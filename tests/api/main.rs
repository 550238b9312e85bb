//! The integration tests, one binary: real offices over mutual TLS, the caseworker API, the
//! OpenAPI document, startup checks, and property tests of the window. `harness` starts offices.

mod harness;

mod accounts;
mod admin;
mod backup;
mod browser;
mod caseworker;
mod chain;
mod consent;
mod doors;
mod federation_checks;
mod handover;
mod invariants;
mod keys;
mod ledger;
mod monitoring;
mod openapi;
mod operations;
mod review_fixes;
mod sender;
mod startup;
mod storage_contract;
mod strict_wire;
mod ui;
mod ui_browser;
mod webdriver;
mod window_properties;
