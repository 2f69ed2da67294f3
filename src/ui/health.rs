//! Health: the five services with status, latency and a small latency
//! history. Live probes when this process runs them; else the last known.
//! For a stack behind an ALB, also the target health the ALB reports.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::layout::fit;
use super::{symbols, theme};
use crate::app::model::{HealthHistory, Model, Pane};
use crate::domain::state::ServiceStatus;
use crate::domain::{DeploymentState, Service};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let stack = model.selected_stack();
    let history = stack.and_then(|s| model.health.get(&s.stack_name));
    let live = history.is_some();
    let target = stack.and_then(|s| s.alb_target_health.as_deref());
    // The ALB's view of n8n gets its own row when there is room, else the title.
    let target_row = target.filter(|_| area.height > Service::ALL.len() as u16 + 2);
    let mut title = String::from(if live || stack.is_none() {
        " Health "
    } else {
        " Health (last known) "
    });
    if let (Some(target), None) = (target, target_row) {
        let symbol = symbols::service(target_status(target));
        title.push_str(&format!("· ALB {symbol} "));
    }
    let block = theme::pane(title, model.focus == Pane::Health);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(stack) = stack else {
        frame.render_widget(
            Paragraph::new("No stack selected.").style(theme::DIM),
            inner,
        );
        return;
    };
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Service::ALL
        .into_iter()
        .map(|service| row(stack, history, service, width))
        .collect();
    lines.extend(target_row.map(alb_row));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// What the load balancer thinks of n8n: "healthy", "unhealthy (Target.Timeout)"...
fn alb_row(target: &str) -> Line<'static> {
    let status = target_status(target);
    Line::from(vec![
        Span::styled(fit("ALB→n8n", 9), theme::DIM),
        Span::styled(
            format!("{} ", symbols::service(status)),
            theme::service_status(status),
        ),
        Span::styled(target.to_string(), theme::service_status(status)),
    ])
}

fn row(
    stack: &DeploymentState,
    history: Option<&HealthHistory>,
    service: Service,
    width: usize,
) -> Line<'static> {
    let (status, latency) = match history.and_then(|h| h.latest(service)) {
        Some(point) => (Some(point.status), point.latency_ms),
        None => match stack.service(service) {
            Some(h) => (Some(h.status), h.response_time_ms),
            None => (None, None),
        },
    };
    let mut spans = vec![Span::styled(
        fit(service.name(), 9),
        theme::service(Some(service)),
    )];
    let Some(status) = status else {
        spans.push(Span::styled("· no data", theme::DIM));
        return Line::from(spans);
    };
    spans.push(Span::styled(
        format!("{} ", symbols::service(status)),
        theme::service_status(status),
    ));
    let value = match (status, latency) {
        (ServiceStatus::Healthy, Some(ms)) => format!("{ms:>4}ms "),
        (other, _) => format!("{other} "),
    };
    spans.push(Span::styled(value.clone(), theme::service_status(status)));
    let room = width.saturating_sub(9 + 2 + value.chars().count());
    let latencies: Vec<Option<u64>> = match history.and_then(|h| h.points.get(&service)) {
        Some(points) => points.iter().map(|p| p.latency_ms).collect(),
        // Recorded by whichever monitor watches the stack (another process).
        None => {
            let at = Service::ALL.iter().position(|s| *s == service).unwrap_or(0);
            stack
                .health_history
                .iter()
                .map(|h| h.ms.get(at).copied().flatten())
                .collect()
        }
    };
    spans.push(Span::styled(sparkline(&latencies, room), theme::DIM));
    Line::from(spans)
}

fn target_status(target: &str) -> ServiceStatus {
    match target.split_whitespace().next() {
        Some("healthy") => ServiceStatus::Healthy,
        Some("initial") => ServiceStatus::Starting,
        Some("unhealthy") => ServiceStatus::Unhealthy,
        _ => ServiceStatus::Stopped,
    }
}

/// The last `width` latencies as bars scaled to their own maximum; a failed
/// probe is a gap.
pub fn sparkline(latencies: &[Option<u64>], width: usize) -> String {
    let recent = &latencies[latencies.len().saturating_sub(width)..];
    let max = recent.iter().flatten().copied().max().unwrap_or(1).max(1);
    recent
        .iter()
        .map(|ms| match ms {
            Some(ms) => BARS[((*ms * 7) / max) as usize],
            None => ' ',
        })
        .collect()
}
