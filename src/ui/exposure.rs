//! Who can reach what: the exposure table (`domain::exposure`) as the plan
//! and the dashboard's `x` dialog show it, the dialog with the outside view
//! from here and the allowed CIDRs under it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::layout::{fit, wrap};
use super::theme;
use crate::app::model::Model;
use crate::domain::exposure::{self, ExposureRow};
use crate::domain::time::format_age;

const PORT: usize = 6;
const OVER: usize = 6;
/// What a world-open row's FROM looks like: it is the one to notice.
fn world() -> Style {
    Style::new().fg(theme::warn()).add_modifier(Modifier::BOLD)
}

/// One line per listening port (FROM wrapped in its column when long), its
/// note dimmed under it.
pub fn table(rows: &[ExposureRow], width: usize) -> Vec<Line<'static>> {
    let column = |f: fn(&ExposureRow) -> usize, title: &str| {
        rows.iter().map(f).max().unwrap_or(0).max(title.len()) + 1
    };
    let listener = column(|r| r.listener.chars().count(), "LISTENER");
    let serves = column(|r| r.serves.chars().count(), "SERVES");
    let from_at = listener + PORT + OVER + serves;
    let from_width = width.saturating_sub(from_at).max(12);
    let heading = Style::new().fg(theme::accent());
    let mut out = vec![Line::from(Span::styled(
        format!(
            "{}{:>5} {}{}FROM",
            fit("LISTENER", listener),
            "PORT",
            fit("OVER", OVER),
            fit("SERVES", serves)
        ),
        heading,
    ))];
    for r in rows {
        let from = if r.from.is_empty() {
            "nobody (no allowed CIDRs)".to_string()
        } else {
            r.from.join(", ")
        };
        let style = if r.is_world_open() {
            world()
        } else {
            Style::new()
        };
        let mut from_lines = wrap(&from, from_width).into_iter();
        out.push(Line::from(vec![
            Span::raw(fit(r.listener, listener)),
            Span::raw(format!("{:>5} ", r.port)),
            Span::styled(fit(r.over, OVER), theme::dim()),
            Span::styled(
                fit(&r.serves, serves),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(from_lines.next().unwrap_or_default(), style),
        ]));
        for more in from_lines {
            out.push(Line::from(vec![
                Span::raw(" ".repeat(from_at)),
                Span::styled(more, style),
            ]));
        }
        if let Some(note) = &r.note {
            for line in wrap(note, width.saturating_sub(2)) {
                out.push(Line::from(Span::styled(format!("  {line}"), theme::dim())));
            }
        }
    }
    out
}

/// The `x` dialog: the table, n8n as seen from here, and who is allowed.
pub fn dialog(model: &Model, stack: &str, scroll: u16, frame: &mut Frame, area: Rect) {
    let Some(state) = model.stacks.iter().find(|s| s.stack_name == stack) else {
        return;
    };
    let width = area.width.saturating_sub(4).min(100);
    let inner = width.saturating_sub(2) as usize;
    let mut lines = table(&exposure::exposure(state), inner);
    // The column titles stay put while the rest scrolls.
    let heading = lines.remove(0);
    lines.push(Line::from(""));
    let history = model.health.get(stack);
    let from_here = match super::health::outside_of(state, history) {
        None => "From here: not checked yet (the monitor checks n8n's URL)".to_string(),
        Some(o) => {
            let age = format_age(o.at.secs_until(model.now));
            match (o.reachable, o.response_time_ms) {
                (true, Some(ms)) => {
                    format!("From here, {age}: ● n8n answered at {} in {ms}ms", o.url)
                }
                (true, None) => format!("From here, {age}: ● n8n answered at {}", o.url),
                (false, _) => format!(
                    "From here, {age}: ✖ unreachable, {}",
                    super::health::reason(o)
                ),
            }
        }
    };
    let reachable = super::health::outside_of(state, history).map(|o| o.reachable);
    let style = match reachable {
        Some(true) => theme::service_status(crate::domain::state::ServiceStatus::Healthy),
        Some(false) => theme::service_status(crate::domain::state::ServiceStatus::Unhealthy),
        None => theme::dim(),
    };
    for line in wrap(&from_here, inner) {
        lines.push(Line::from(Span::styled(line, style)));
    }
    let allowed = match crate::deploy::access::not_applicable(state) {
        Some(why) => why,
        None => {
            let cidrs = exposure::allowed_cidrs(state);
            let set = if cidrs.is_empty() {
                "none recorded".to_string()
            } else {
                cidrs.join(", ")
            };
            format!(
                "Allowed: {set}. `geusemaker-tui access {stack} --add A.B.C.D/32` adds one, \
                 --remove takes one away."
            )
        }
    };
    for line in wrap(&allowed, inner) {
        lines.push(Line::from(Span::styled(line, theme::dim())));
    }
    let title = format!(" Who can reach {stack} ");
    super::dialogs::scrolling(frame, area, width, &title, heading, lines, scroll);
}
