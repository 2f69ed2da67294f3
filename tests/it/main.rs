//! Integration tests, in one binary (each file under tests/ would link the
//! whole program again).

mod aws;
mod cli;
mod dashboard;
mod monitor;
mod support;
