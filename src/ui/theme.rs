//! Colours and styles. Meaning is carried by symbols too (see `symbols`), so
//! nothing depends on telling red from green.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType};

use crate::domain::state::ServiceStatus;
use crate::domain::{Service, StackStatus, StageStatus};
use crate::instance::log_line::Level;

pub const ACCENT: Color = Color::Cyan;
pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const SANDBOX_BADGE: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Yellow)
    .add_modifier(Modifier::BOLD);

pub fn service(service: Option<Service>) -> Style {
    let color = match service {
        Some(Service::N8n) => Color::LightMagenta,
        Some(Service::Ollama) => Color::LightCyan,
        Some(Service::Qdrant) => Color::LightRed,
        Some(Service::Crawl4ai) => Color::LightYellow,
        Some(Service::Postgres) => Color::LightBlue,
        None => Color::Gray,
    };
    Style::new().fg(color)
}

pub fn stack_status(status: StackStatus) -> Style {
    Style::new().fg(match status {
        StackStatus::Running => Color::Green,
        StackStatus::Creating | StackStatus::Updating | StackStatus::Destroying => Color::Yellow,
        StackStatus::RollingBack => Color::Magenta,
        StackStatus::Failed => Color::Red,
        StackStatus::Stopped | StackStatus::Destroyed => Color::DarkGray,
    })
}

pub fn service_status(status: ServiceStatus) -> Style {
    Style::new().fg(match status {
        ServiceStatus::Healthy => Color::Green,
        ServiceStatus::Starting => Color::Yellow,
        ServiceStatus::Unhealthy => Color::Red,
        ServiceStatus::Stopped => Color::DarkGray,
    })
}

pub fn stage_status(status: StageStatus) -> Style {
    Style::new().fg(match status {
        StageStatus::Done => Color::Green,
        StageStatus::Running => Color::Yellow,
        StageStatus::Failed => Color::Red,
        StageStatus::Pending | StageStatus::Skipped => Color::DarkGray,
    })
}

pub fn log_level(level: Level) -> Style {
    match level {
        Level::Info => Style::new(),
        Level::Warn => Style::new().fg(Color::Yellow),
        Level::Error => Style::new().fg(Color::Red),
    }
}

/// A pane's frame: the focused one stands out.
pub fn pane<'a>(title: impl Into<Line<'a>>, focused: bool) -> Block<'a> {
    let block = Block::bordered().title(title.into());
    if focused {
        block
            .border_type(BorderType::Thick)
            .border_style(Style::new().fg(ACCENT))
            .title_style(Style::new().fg(ACCENT).add_modifier(Modifier::BOLD))
    } else {
        block.border_style(DIM)
    }
}

pub fn dialog<'a>(title: impl Into<Line<'a>>) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(ACCENT))
        .title(title.into())
        .title_style(Style::new().add_modifier(Modifier::BOLD))
}
