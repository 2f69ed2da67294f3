//! Health, both views. *Inside*: the five services as Docker's healthchecks
//! on the instance see them, with the latency measured there and a small
//! history (live when this process probes, else the last known). *Outside*:
//! n8n through the path its users take, from this machine: its URL and
//! time, or why it cannot be reached. For a stack behind an ALB, also the
//! target health the ALB reports.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::layout::{fit, truncate, wrap};
use super::{symbols, theme};
use crate::app::model::{HealthHistory, Model, Pane, UNREACHABLE};
use crate::domain::exposure::{OutsideHealth, n8n_public_url};
use crate::domain::state::ServiceStatus;
use crate::domain::time::format_age;
use crate::domain::{DeploymentState, Service, Timestamp};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// The name column.
const LABEL: usize = 9;
/// An outside view older than this is drawn dimmed, with its age.
pub const OUTSIDE_STALE_SECS: f64 = 120.0;

/// Rows of the pane: the five services and the outside line; on a tall
/// screen the outside view's detail too, and more when focused.
pub fn rows(model: &Model, screen_height: u16) -> u16 {
    if model.focus == Pane::Health {
        12
    } else if screen_height >= 30 {
        10
    } else {
        8
    }
}

pub fn render(model: &Model, frame: &mut Frame, area: Rect) {
    let stack = model.selected_stack();
    let history = stack.and_then(|s| model.health.get(&s.stack_name));
    let live = history.is_some();
    let focused = model.focus == Pane::Health;
    let room = area.height.saturating_sub(2) as usize;
    let inside_rows = Service::ALL.len();
    let target = stack.and_then(|s| s.alb_target_health.as_deref());
    // The ALB's view of n8n gets its own row when there is room, else the title.
    let target_row = target.filter(|_| room > inside_rows + 1);
    let block = theme::pane(
        title(live || stack.is_none(), target, target_row, area.width),
        focused,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(stack) = stack else {
        frame.render_widget(
            Paragraph::new("No stack selected.").style(theme::dim()),
            inner,
        );
        return;
    };
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Service::ALL
        .into_iter()
        .enumerate()
        .map(|(i, service)| {
            let cursor = focused && i == model.health_cursor;
            row(model.now, stack, history, service, width, cursor)
        })
        .collect();
    let outside = outside_of(stack, history);
    if room > inside_rows {
        lines.push(outside_line(model.now, stack, outside, width));
    }
    if let Some(loaded) = stack
        .service(Service::Ollama)
        .and_then(|h| h.loaded.as_deref())
        && room > lines.len()
    {
        lines.push(gpu_row(loaded, width));
    }
    lines.extend(target_row.map(alb_row));
    if let Some(outside) = outside {
        let left = room.saturating_sub(lines.len());
        lines.extend(outside_detail(model.now, outside, width, left));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// " Health · inside ", shortened until it fits the border.
fn title(live: bool, target: Option<&str>, target_row: Option<&str>, width: u16) -> String {
    let alb = match (target, target_row) {
        (Some(target), None) => format!("· ALB {} ", symbols::service(target_status(target))),
        _ => String::new(),
    };
    let room = width.saturating_sub(2) as usize;
    let candidates = if live {
        vec![format!(" Health · inside {alb}"), format!(" Health {alb}")]
    } else {
        vec![
            format!(" Health · inside (last known) {alb}"),
            format!(" Health (last known) {alb}"),
        ]
    };
    let fallback = candidates[candidates.len() - 1].clone();
    candidates
        .into_iter()
        .find(|t| t.chars().count() <= room)
        .unwrap_or(fallback)
}

/// The newer of what this process saw and what the state holds.
pub(super) fn outside_of<'a>(
    stack: &'a DeploymentState,
    history: Option<&'a HealthHistory>,
) -> Option<&'a OutsideHealth> {
    let live = history.and_then(|h| h.outside.as_ref());
    match (live, stack.outside.as_ref()) {
        (Some(live), Some(saved)) if saved.at > live.at => Some(saved),
        (Some(live), _) => Some(live),
        (None, saved) => saved,
    }
}

/// `outside  ● 61ms http://203.0.113.9:5678`, or `✖ unreachable why`.
fn outside_line(
    now: Timestamp,
    stack: &DeploymentState,
    outside: Option<&OutsideHealth>,
    width: usize,
) -> Line<'static> {
    let mut spans = vec![Span::styled(
        fit("outside", LABEL),
        theme::service(Some(Service::N8n)),
    )];
    let Some(o) = outside else {
        let known = stack.n8n_url.is_some() || n8n_public_url(stack).is_some();
        let text = if known {
            "· not checked from here yet"
        } else {
            "· no URL yet"
        };
        spans.push(Span::styled(text, theme::dim()));
        return Line::from(spans);
    };
    let age = o.at.secs_until(now);
    let stale = age > OUTSIDE_STALE_SECS;
    let status = if o.reachable {
        ServiceStatus::Healthy
    } else {
        ServiceStatus::Unhealthy
    };
    let style = if stale {
        theme::dim()
    } else {
        theme::service_status(status)
    };
    let value = match (o.reachable, o.response_time_ms) {
        (true, Some(ms)) => format!("{ms}ms "),
        (true, None) => "reachable ".to_string(),
        (false, _) => "unreachable ".to_string(),
    };
    let aged = if stale {
        format!("{} ", format_age(age))
    } else {
        String::new()
    };
    let used = LABEL + 2 + value.chars().count() + aged.chars().count();
    let room = width.saturating_sub(used);
    // The URL in full, or a reason worth reading; the rows under it (when
    // there are) say the rest.
    let detail = match o.reachable {
        true if o.url.chars().count() <= room => o.url.clone(),
        true => "from here".to_string(),
        false if room >= 20 => reason(o).to_string(),
        false => String::new(),
    };
    spans.push(Span::styled(
        format!("{} ", symbols::service(status)),
        style,
    ));
    spans.push(Span::styled(value, style));
    spans.push(Span::styled(aged, theme::dim()));
    spans.push(Span::styled(truncate(&detail, room), theme::dim()));
    Line::from(spans)
}

/// Why n8n is unreachable, without the sentence's "unreachable from here:".
pub(super) fn reason(o: &OutsideHealth) -> &str {
    let error = o.error.as_deref().unwrap_or("no answer");
    error
        .strip_prefix(UNREACHABLE)
        .unwrap_or(error)
        .trim_start()
}

/// The outside view in full, in the rows left: the URL and when it was
/// checked, or the whole sentence saying why it is unreachable.
fn outside_detail(
    now: Timestamp,
    o: &OutsideHealth,
    width: usize,
    rows: usize,
) -> Vec<Line<'static>> {
    if rows == 0 {
        return Vec::new();
    }
    let checked = format!("checked {}", format_age(o.at.secs_until(now)));
    let text = if o.reachable {
        format!("{} from here, {checked}", o.url)
    } else {
        format!("{UNREACHABLE} {} ({checked})", reason(o))
    };
    let mut lines = wrap(&text, width.saturating_sub(2));
    if lines.len() > rows {
        lines.truncate(rows);
        if let Some(last) = lines.last_mut() {
            *last = truncate(&format!("{last}…"), width.saturating_sub(2));
        }
    }
    lines
        .into_iter()
        .map(|l| Line::from(Span::styled(format!("  {l}"), theme::dim())))
        .collect()
}

/// What the load balancer thinks of n8n: "healthy", "unhealthy (Target.Timeout)"...
fn alb_row(target: &str) -> Line<'static> {
    let status = target_status(target);
    Line::from(vec![
        Span::styled(fit("ALB→n8n", LABEL), theme::dim()),
        Span::styled(
            format!("{} ", symbols::service(status)),
            theme::service_status(status),
        ),
        Span::styled(target.to_string(), theme::service_status(status)),
    ])
}

fn row(
    now: Timestamp,
    stack: &DeploymentState,
    history: Option<&HealthHistory>,
    service: Service,
    width: usize,
    cursor: bool,
) -> Line<'static> {
    let (status, latency) = match history.and_then(|h| h.latest(service)) {
        Some(point) => (Some(point.status), point.latency_ms),
        None => match stack.service(service) {
            Some(h) => (Some(h.status), h.response_time_ms),
            None => (None, None),
        },
    };
    let mut name = theme::service(Some(service));
    if cursor {
        name = name.add_modifier(Modifier::REVERSED);
    }
    let mut spans = vec![Span::styled(fit(service.name(), LABEL), name)];
    let Some(status) = status else {
        spans.push(Span::styled("· no data", theme::dim()));
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
    let oom = stack
        .service(service)
        .map_or("".into(), |h| oom_note(&h.oom_kills));
    if !oom.is_empty() {
        spans.push(Span::styled(
            oom.clone(),
            theme::service_status(ServiceStatus::Unhealthy),
        ));
    }
    let mut room = width.saturating_sub(LABEL + 2 + value.chars().count() + oom.chars().count());
    if let Some(h) = stack.service(service) {
        // Then the container: when it started, its starts today, its tag,
        // each while it fits beside a few bars of history.
        for part in container_parts(now, h) {
            let used = part.chars().count();
            if used + SPARK_MIN > room {
                break;
            }
            room -= used;
            spans.push(Span::styled(part, theme::dim()));
        }
    }
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
    spans.push(Span::styled(sparkline(&latencies, room), theme::dim()));
    Line::from(spans)
}

/// `gpu      ● llama3.1:8b on the GPU`: where Ollama's loaded model sits on
/// a GPU instance (its health script warms the first model up once a boot).
fn gpu_row(loaded: &[crate::domain::models::LoadedModel], width: usize) -> Line<'static> {
    let label = Span::styled(fit("gpu", LABEL), theme::dim());
    let Some(first) = loaded.first() else {
        let text = "· no model loaded yet (pull one: M)";
        return Line::from(vec![
            label,
            Span::styled(truncate(text, width.saturating_sub(LABEL)), theme::dim()),
        ]);
    };
    let (status, text) = match first.processor().as_str() {
        "GPU" => (ServiceStatus::Healthy, format!("{} on the GPU", first.name)),
        "CPU" => (
            ServiceStatus::Unhealthy,
            format!("{} on the CPU: Ollama does not see the GPU", first.name),
        ),
        split => (
            ServiceStatus::Starting,
            format!("{} {split}: the rest on the CPU, slower", first.name),
        ),
    };
    let text = format!("{} {text}", symbols::service(status));
    Line::from(vec![
        label,
        Span::styled(
            truncate(&text, width.saturating_sub(LABEL)),
            theme::service_status(status),
        ),
    ])
}

/// Bars of latency history kept however narrow the row.
const SPARK_MIN: usize = 4;

/// "up 3m ", "×2 ", "n8n:1.81.4 ": the container's start, its starts in the
/// last 24 hours, its image's tag.
fn container_parts(now: Timestamp, h: &crate::domain::state::ServiceHealth) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(at) = h.started_at {
        let age = format_age(at.secs_until(now));
        parts.push(format!("up {} ", age.trim_end_matches(" ago")));
    }
    if let Some(starts) = h.starts {
        parts.push(format!("×{starts} "));
    }
    if let Some(image) = &h.image {
        parts.push(format!("{} ", image.rsplit('/').next().unwrap_or(image)));
    }
    parts
}

/// `OOM×2 14:02 `: Docker's OOM kills of the last 24 hours, and the last.
fn oom_note(kills: &[Timestamp]) -> String {
    match kills.last() {
        None => String::new(),
        Some(last) => {
            let clock = last.to_string();
            format!("OOM×{} {} ", kills.len(), clock.get(11..16).unwrap_or(""))
        }
    }
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
