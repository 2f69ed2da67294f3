//! Integration tests, in one binary (each file under tests/ would link the
//! whole program again).

mod aws;
mod cli;
mod dashboard;
mod day_two;
mod https_fake;
mod monitor;
mod notify;
mod support;
