//! Integration tests: the real gateway over HTTP on loopback, each scenario
//! on SQLite and (with TEST_DATABASE_URL) on PostgreSQL.

mod common;

mod adaptive;
mod backup;
mod bad_input;
mod bench_smoke;
mod claim_plans;
mod console;
mod defaults;
mod delivery;
mod event_types;
mod events;
mod fairness;
mod first_start;
mod full_disk;
mod hardening_manifests;
mod hardening_runner;
mod hardening_runs;
mod hardening_scopes;
mod hardening_storage;
mod history;
mod integrations;
mod limits;
mod logs;
mod observability;
mod openapi;
mod organizations;
mod organizations_people;
mod organizations_types;
mod process;
mod queue_hot;
mod queue_vacuum;
mod receiver_sample;
mod receivers;
mod reliability;
mod retention;
mod retention_partitions;
mod security;
mod settle_batch;
mod stats;
mod tenants;
mod wake;
mod webhook_checks;
mod webhook_rules;
mod webhooks;
