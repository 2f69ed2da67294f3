//! GeuseMaker TUI: deploys an AI service stack (n8n, Ollama, Qdrant, Crawl4AI,
//! PostgreSQL) to a spot EC2 instance with its data on EFS, and keeps it alive.

pub mod app;
pub mod cli;
pub mod cloud;
pub mod deploy;
pub mod domain;
pub mod health;
pub mod http;
pub mod instance;
pub mod logging;
pub mod monitor;
pub mod notify;
pub mod runtime;
pub mod store;
pub mod ui;
