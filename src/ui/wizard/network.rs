//! The network step: the region's VPCs (or why they could not be listed),
//! a new VPC, a typed id, and the subnet.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::lookup_line;
use super::steps::{row, window};
use crate::app::model::Model;
use crate::app::wizard::{Lookup, NetworkRow, Wizard, text_of};
use crate::cloud::NetworkChoice;
use crate::ui::dialogs::choice;
use crate::ui::layout::truncate;
use crate::ui::theme;

fn vpc_text(vpc: &NetworkChoice) -> String {
    let name = vpc.name.as_deref().unwrap_or("");
    let default = if vpc.is_default { "default" } else { "" };
    format!("{:<23}{:<16}{:<9}{name}", vpc.vpc_id, vpc.cidr, default)
}

pub(super) fn lines(model: &Model, w: &Wizard, area: Rect) -> Vec<Line<'static>> {
    let width = area.width as usize;
    let mut out = Vec::new();
    if let Some(line) = lookup_line(
        model,
        &w.networks,
        &format!("looking up the VPCs of {}…", w.lookup_region),
        "could not list the VPCs",
    ) {
        out.push(line);
        if matches!(w.networks, Lookup::Failed(_)) {
            out.push(Line::from(Span::styled(
                "  Continue with the default VPC, a new one, or type a VPC id.",
                theme::dim(),
            )));
        }
    }
    if matches!(w.networks, Lookup::Ready(_)) {
        out.push(Line::from(Span::styled(
            format!("  {:<23}{:<16}{:<9}name", "VPC", "CIDR", ""),
            theme::dim(),
        )));
    }
    let rows = w.network_rows();
    let list_height = (area.height as usize).saturating_sub(out.len() + 3);
    let shown = window(rows.len(), w.network, list_height);
    for (i, r) in rows.iter().enumerate().take(shown.end).skip(shown.start) {
        let text = match r {
            NetworkRow::Vpc(vpc) => vpc_text(vpc),
            NetworkRow::DefaultAtDeploy => "the default VPC (found when deploying)".into(),
            NetworkRow::CreateNew => {
                "create a new VPC: 10.42.0.0/16, 2 public subnets (destroy deletes it)".into()
            }
            NetworkRow::Typed => {
                let typed = text_of(&w.typed_vpc);
                let shown = if typed.is_empty() { "…" } else { &typed };
                format!("this VPC id: {shown}")
            }
        };
        let text = truncate(&text, width - 2);
        out.push(match (i == w.network, w.network_detail) {
            (true, false) => row(true, text),
            // The subnet has the focus: the chosen VPC is marked, not lit.
            (true, true) => Line::from(format!("▶ {text}")),
            (false, _) => row(false, text),
        });
    }
    out.push(Line::from(""));
    out.push(subnet_line(w));
    out
}

fn subnet_line(w: &Wizard) -> Line<'static> {
    let focused = w.network_detail;
    match w.network_row() {
        NetworkRow::Vpc(vpc) if !vpc.subnets.is_empty() => {
            let value = match w.subnet.and_then(|i| vpc.subnets.get(i)) {
                Some(n) => format!(
                    "{} {} {}{}",
                    n.subnet_id,
                    n.zone,
                    n.cidr,
                    if n.public { " public" } else { " private" }
                ),
                None => "automatic".into(),
            };
            let note = if w.subnet.is_none() {
                format!("a zone offering {}", w.instance_type())
            } else {
                String::new()
            };
            choice("Subnet", &value, &note, focused)
        }
        NetworkRow::Vpc(_) => Line::from(Span::styled("  this VPC has no subnets", theme::dim())),
        NetworkRow::Typed => Line::from(Span::styled(
            "  Tab, then type the id; its subnets are checked when deploying",
            theme::dim(),
        )),
        _ => Line::from(Span::styled(
            "  Subnet: automatic, in zones that offer the instance type",
            theme::dim(),
        )),
    }
}
