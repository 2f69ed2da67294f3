//! Printing: JSON for scripts, aligned text for people.

use std::io::Write;

use serde::Serialize;

use crate::deploy::destroy_kept_data;
use crate::domain::cost::{self, dollars};
use crate::domain::{DeploymentState, Timestamp};

use super::Failure;

pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    printed(written)
}

/// A block of text and a newline on stdout.
pub fn print_text(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    printed(writeln!(out, "{text}").and_then(|()| out.flush()))
}

/// A reader that went away (`| head`) is not a failure: there is no one
/// left to tell. `println!` would panic there.
fn printed(written: std::io::Result<()>) -> Result<(), Failure> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::failed(format!("could not print: {e}")))
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Serialize)]
pub struct KeptDataSummary {
    pub efs_id: String,
    pub size_gb: f64,
    pub size_known: bool,
    pub monthly_cost: f64,
}

/// One stack in `list --json`.
#[derive(Debug, Serialize)]
pub struct StackSummary<'a> {
    pub stack_name: &'a str,
    pub status: &'static str,
    pub tier: &'static str,
    pub region: &'a str,
    pub provider: &'static str,
    pub instance_id: Option<&'a str>,
    pub instance_type: Option<&'a str>,
    pub is_spot: bool,
    pub public_ip: Option<&'a str>,
    pub n8n_url: Option<&'a str>,
    pub efs_id: Option<&'a str>,
    pub hourly_cost: Option<f64>,
    pub monthly_cost: f64,
    pub cost_to_date: f64,
    /// What a destroyed stack still keeps (and pays for).
    pub kept_data: Option<KeptDataSummary>,
    pub updated_at: Option<Timestamp>,
}

pub fn summary(state: &DeploymentState, now: Timestamp) -> StackSummary<'_> {
    let c = cost::summarize(state, now);
    let kept = (state.status == crate::domain::StackStatus::Destroyed)
        .then(|| destroy_kept_data(state))
        .flatten()
        .map(|k| KeptDataSummary {
            efs_id: k.efs_id,
            size_gb: round2(k.size_gb),
            size_known: k.size_known,
            monthly_cost: round2(k.monthly_cost),
        });
    StackSummary {
        stack_name: &state.stack_name,
        status: state.status.name(),
        tier: state.tier().name(),
        region: state.region(),
        provider: state.provider.into(),
        instance_id: state.instance_id.as_deref(),
        instance_type: state.instance_type(),
        is_spot: state.is_spot(),
        public_ip: state.public_ip.as_deref(),
        n8n_url: state.n8n_url.as_deref(),
        efs_id: state.efs_id.as_deref(),
        hourly_cost: c.hourly_rate,
        monthly_cost: round2(c.monthly_estimate),
        cost_to_date: round2(c.cost_to_date),
        kept_data: kept,
        updated_at: state.updated_at,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Left-aligned columns, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string()
    };
    let mut text = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        text.push('\n');
        text.push_str(&line(row.clone()));
    }
    text
}

pub fn money_per_month(v: f64) -> String {
    format!("{}/mo", dollars(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let t = table(
            &["NAME", "STATUS"],
            &[
                vec!["a".into(), "running".into()],
                vec!["long-name".into(), "x".into()],
            ],
        );
        assert_eq!(t, "NAME       STATUS\na          running\nlong-name  x");
    }
}
