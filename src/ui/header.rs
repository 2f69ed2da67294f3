//! The top line: product, SANDBOX badge, region, and the latest notice.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::layout::truncate;
use super::theme;
use crate::app::model::{Model, NoticeLevel};
use crate::domain::time::format_elapsed;

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::styled(
        " GeuseMaker ",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    if model.is_sandbox() {
        spans.push(Span::styled(" SANDBOX ", theme::sandbox_badge()));
    } else {
        spans.push(Span::styled(
            " AWS ",
            Style::new().add_modifier(Modifier::REVERSED),
        ));
    }
    if model.readonly {
        spans.push(Span::styled(
            " READ-ONLY ",
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
    }
    let busy = if model.busy.is_empty() {
        String::new()
    } else {
        format!(" · {} busy", model.busy.len())
    };
    let total = crate::domain::cost::live_monthly(model.stacks.iter(), model.now);
    // A spot notice or a notice on a narrow screen needs the room more.
    let crowded =
        !model.spot_notices.is_empty() || (model.current_notice().is_some() && area.width < 110);
    let cost = if total.stacks == 0 || crowded {
        String::new()
    } else {
        format!(
            " · ~{}/mo live",
            crate::domain::cost::dollars(total.monthly)
        )
    };
    spans.push(Span::styled(
        format!(
            " {} · {} stacks{cost}{busy} ",
            model.region,
            model.stacks.len()
        ),
        theme::dim(),
    ));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    if let Some(banner) = spot_banner(model) {
        let room = (area.width as usize).saturating_sub(used + 1);
        spans.push(Span::styled(
            truncate(&banner, room),
            Style::new().fg(theme::warn()).add_modifier(Modifier::BOLD),
        ));
    } else if let Some(notice) = model.current_notice() {
        let style = match notice.level {
            NoticeLevel::Info => Style::new().fg(theme::accent()),
            NoticeLevel::Warn => Style::new().fg(theme::warn()),
            NoticeLevel::Error => Style::new().fg(theme::bad()).add_modifier(Modifier::BOLD),
        };
        let room = (area.width as usize).saturating_sub(used + 1);
        spans.push(Span::styled(truncate(&notice.text, room), style));
    }
    frame.render_widget(Line::from(spans), area);
}

/// "⚠ spot interruption: demo's i-0ab… terminates in 0:12": the selected
/// stack's, else any.
fn spot_banner(model: &Model) -> Option<String> {
    let selected = model
        .selected
        .as_ref()
        .and_then(|s| model.spot_notices.get_key_value(s));
    let (stack, notice) =
        selected.or_else(|| model.spot_notices.iter().min_by_key(|(k, _)| (*k).clone()))?;
    let when = match notice.terminate_at {
        Some(at) if at > model.now => {
            format!("terminates in {}", format_elapsed(model.now.secs_until(at)))
        }
        Some(_) => "terminating now".to_string(),
        None => "terminated".to_string(),
    };
    Some(format!(
        "⚠ spot interruption: {stack}'s {} {when}; relaunching on the same EFS",
        notice.instance_id
    ))
}
