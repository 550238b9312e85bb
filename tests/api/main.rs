//! The integration tests, one binary: real offices over mutual TLS, the caseworker API, the
//! OpenAPI document, startup checks, the operator's guide followed as written, and property tests
//! of the window. `harness` starts offices; `process` runs the real binary; `test_ca` is a
//! federation CA made for a test.

mod harness;
mod process;
mod test_ca;

mod accounts;
mod admin;
mod backup;
mod browser;
mod caseworker;
mod chain;
mod consent;
mod doors;
mod federation_checks;
mod guide;
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
