//! The dashboard: an Elm-style loop. `Msg` in, pure `update`, `Effect`s out to
//! the runner, `view` draws the `Model`.

pub mod clouds;
pub mod dashboard;
pub mod effect;
pub mod event_loop;
pub mod keymap;
pub mod log_view;
pub mod model;
pub mod msg;
pub mod orphans;
pub mod palette;
pub mod runner;
pub mod subscriptions;
pub mod terminal;
pub mod update;
pub mod wizard;
