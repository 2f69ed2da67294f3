//! Pure domain types: no I/O here.

pub mod budget;
pub mod connect;
pub mod cost;
pub mod doctor;
pub mod events;
pub mod exposure;
pub mod hash;
pub mod image;
pub mod images;
pub mod lenient;
pub mod list_prices;
pub mod models;
pub mod notify;
pub mod recovery;
pub mod regions;
pub mod scan;
pub mod secrets;
pub mod service;
pub mod settings;
pub mod spot_pool;
pub mod stack_name;
pub mod stage;
pub mod state;
pub mod switch;
pub mod tier;
pub mod time;

/// How long a deploy may wait for the services before rolling back (seed 001).
pub const ROLLBACK_TIMEOUT_MINUTES: u32 = 15;

pub use service::Service;
pub use stack_name::StackName;
pub use stage::{Operation, OperationKind, Stage, StageStatus};
pub use state::{DeploymentState, Provider, StackStatus};
pub use tier::Tier;
pub use time::Timestamp;
