//! The instance step: the tier's types with their prices, the market, the
//! chosen type's live prices and saving, and what to beware of.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::lookup_line;
use super::steps::{row, warning};
use crate::app::model::Model;
use crate::app::wizard::{Lookup, Wizard};
use crate::cloud::Prices;
use crate::domain::cost::dollars;
use crate::domain::list_prices::{CRAWL4AI_MEMORY_GIB, InstanceOffer, offer_of};
use crate::ui::dialogs::choice;
use crate::ui::theme;

/// Hours in the month the estimates use (730, as AWS's calculator).
const HOURS_PER_MONTH: f64 = 730.0;

fn per_hour(price: Option<f64>) -> String {
    price.map_or("?".into(), |p| format!("${p:.4}/h"))
}

/// The live price of the type when it came, else its list price.
fn prices_of(w: &Wizard, offer: &InstanceOffer) -> (Option<f64>, Option<f64>, bool) {
    match w.quotes.get(offer.name) {
        Some(Lookup::Ready(Prices {
            spot_per_hour,
            on_demand_per_hour,
            ..
        })) => (*spot_per_hour, *on_demand_per_hour, true),
        _ => (Some(offer.spot), Some(offer.on_demand), false),
    }
}

pub(super) fn lines(model: &Model, w: &Wizard) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(Span::styled(
        format!(
            "  {:<14}{:>5}{:>11}  {:<12}{:>13}{:>15}",
            "Type", "vCPU", "memory", "GPU", "spot", "on-demand"
        ),
        theme::dim(),
    ))];
    let offers = w.offers();
    for (i, offer) in offers.iter().enumerate() {
        let (spot, od, _) = prices_of(w, offer);
        let gpu = offer.gpu.map_or("-", |g| g.split(' ').nth(1).unwrap_or(g));
        out.push(row(
            i == w.instance,
            format!(
                "{:<14}{:>5}{:>7} GiB  {:<12}{:>13}{:>15}",
                offer.name,
                offer.vcpus,
                offer.memory_gib,
                gpu,
                per_hour(spot),
                per_hour(od)
            ),
        ));
    }
    out.push(Line::from(""));
    let market = if w.spot { "spot" } else { "on-demand" };
    let note = if w.spot {
        "can be interrupted; relaunched on the same EFS"
    } else {
        "never interrupted"
    };
    out.push(choice("Market", market, note, true));
    if let Some(offer) = w.offer() {
        out.push(price_line(model, w, offer));
        out.extend(instance_warnings(model, w, offer));
    }
    out
}

fn price_line(model: &Model, w: &Wizard, offer: &InstanceOffer) -> Line<'static> {
    if let Some(line) = w.quote().and_then(|q| {
        lookup_line(
            model,
            q,
            &format!(
                "reading the live prices of {} in {}…",
                offer.name,
                w.region()
            ),
            "no live price (list prices shown)",
        )
    }) {
        return line;
    }
    let (spot, od, live) = prices_of(w, offer);
    let estimate = match w.quote() {
        Some(Lookup::Ready(p)) => p.spot_estimate.as_ref().or(p.on_demand_estimate.as_ref()),
        _ => None,
    };
    let source = match (model.is_sandbox(), live, estimate) {
        (true, _, _) => "sandbox prices".to_string(),
        // The lookup answered with a fallback: say why it is not live.
        (false, true, Some(why)) => format!("estimate: {why}"),
        (false, true, None) => "live prices".to_string(),
        (false, false, _) => "list prices".to_string(),
    };
    match (spot, od) {
        (Some(spot), Some(od)) if od > 0.0 => {
            let saving = (od - spot) * HOURS_PER_MONTH;
            Line::from(format!(
                "               spot saves {:.0}% ({}/month) · {source}",
                (1.0 - spot / od) * 100.0,
                dollars(saving)
            ))
        }
        _ => Line::from(Span::styled(
            format!("               {source}: incomplete"),
            theme::dim(),
        )),
    }
}

fn instance_warnings(model: &Model, w: &Wizard, offer: &InstanceOffer) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    // The other four services need about as much again as Crawl4AI.
    if offer.memory_gib < 2.0 * CRAWL4AI_MEMORY_GIB {
        out.push(warning(format!(
            "{} GiB: Crawl4AI alone needs {CRAWL4AI_MEMORY_GIB} GB; the five services will not fit",
            offer.memory_gib
        )));
    }
    if crate::domain::list_prices::is_g_family(offer.name) {
        out.push(gpu_quota_line(model, w, offer));
    }
    if offer_of(w.tier.default_instance_type()).is_some_and(|d| d.memory_gib > offer.memory_gib)
        && offer.memory_gib >= 2.0 * CRAWL4AI_MEMORY_GIB
    {
        out.push(Line::from(Span::styled(
            format!(
                "  smaller than the {} default, {}",
                w.tier,
                w.tier.default_instance_type()
            ),
            theme::dim(),
        )));
    }
    out
}

/// What the account's G-instance vCPU quota says about the chosen type.
fn gpu_quota_line(model: &Model, w: &Wizard, offer: &InstanceOffer) -> Line<'static> {
    let market = if w.spot { "spot" } else { "on-demand" };
    let needs = format!(
        "{} needs {} vCPUs of {market} G quota",
        offer.name, offer.vcpus
    );
    match w.gpu_quota() {
        None | Some(Lookup::Loading) => Line::from(Span::styled(
            format!("{} {needs}: reading your quota…", super::spinner(model)),
            Style::new().fg(theme::warn()),
        )),
        Some(Lookup::Ready(None)) => Line::from(Span::styled(
            format!("✔ {needs}: your quota allows it"),
            Style::new().fg(theme::good()),
        )),
        Some(Lookup::Ready(Some(unknown))) => warning(format!("{needs}: {unknown}")),
        Some(Lookup::Failed(why)) => Line::from(Span::styled(
            format!("✗ {why}"),
            Style::new().fg(theme::bad()),
        )),
    }
}
