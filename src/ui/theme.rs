//! Colours and styles, per theme. Meaning is carried by symbols too (see
//! `symbols`), so nothing depends on telling red from green.
//!
//! `ui::view` sets the model's look before it draws; the panes ask for
//! styles by meaning (`good`, `warn`, `dim`), never for a colour.

use std::cell::Cell;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders};

use crate::domain::settings::ColorTheme;
use crate::domain::state::ServiceStatus;
use crate::domain::{Service, StackStatus, StageStatus};
use crate::instance::log_line::Level;

/// The theme a draw uses, resolved (never `Auto`), and compact mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Look {
    pub theme: ColorTheme,
    pub compact: bool,
}

impl Default for Look {
    fn default() -> Self {
        Self {
            theme: ColorTheme::Dark,
            compact: false,
        }
    }
}

thread_local! {
    static LOOK: Cell<Look> = Cell::new(Look::default());
}

/// The look the next styles are drawn in (the view sets it per frame).
pub fn set(look: Look) {
    LOOK.with(|l| l.set(look));
}

pub fn look() -> Look {
    LOOK.with(Cell::get)
}

/// `auto`: a light background if the terminal says so (`COLORFGBG` is
/// "fg;bg", and 7 or 15 is a light one), else dark.
pub fn resolve(theme: ColorTheme, colorfgbg: Option<&str>) -> ColorTheme {
    if theme != ColorTheme::Auto {
        return theme;
    }
    let background = colorfgbg.and_then(|v| v.rsplit(';').next()?.parse::<u8>().ok());
    match background {
        Some(7 | 15) => ColorTheme::Light,
        _ => ColorTheme::Dark,
    }
}

/// What each meaning is drawn in, per theme.
struct Palette {
    accent: Color,
    dim: Style,
    good: Color,
    warn: Color,
    bad: Color,
    /// Rolling back: neither good nor bad.
    other: Color,
    badge: Style,
    services: [Color; 5],
}

const DARK: Palette = Palette {
    accent: Color::Cyan,
    dim: Style::new().fg(Color::DarkGray),
    good: Color::Green,
    warn: Color::Yellow,
    bad: Color::Red,
    other: Color::Magenta,
    badge: Style::new()
        .fg(Color::Black)
        .bg(Color::Yellow)
        .add_modifier(Modifier::BOLD),
    services: [
        Color::LightMagenta,
        Color::LightCyan,
        Color::LightRed,
        Color::LightYellow,
        Color::LightBlue,
    ],
};

/// For a light background: no yellow text, darker hues.
const LIGHT: Palette = Palette {
    accent: Color::Blue,
    dim: Style::new().fg(Color::Indexed(244)),
    good: Color::Indexed(28),
    warn: Color::Indexed(130),
    bad: Color::Indexed(160),
    other: Color::Magenta,
    badge: Style::new()
        .fg(Color::White)
        .bg(Color::Indexed(130))
        .add_modifier(Modifier::BOLD),
    services: [
        Color::Magenta,
        Color::Indexed(31),
        Color::Indexed(124),
        Color::Indexed(94),
        Color::Blue,
    ],
};

/// Bright hues only, and "dim" text is plain white: nothing faint.
const HIGH_CONTRAST: Palette = Palette {
    accent: Color::LightYellow,
    dim: Style::new().fg(Color::White),
    good: Color::LightGreen,
    warn: Color::LightYellow,
    bad: Color::LightRed,
    other: Color::LightMagenta,
    badge: Style::new()
        .fg(Color::Black)
        .bg(Color::LightYellow)
        .add_modifier(Modifier::BOLD),
    services: [
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
        Color::LightYellow,
        Color::LightBlue,
    ],
};

/// Okabe and Ito's palette: blue for good, orange and vermilion for warn
/// and bad, never red against green.
const COLOR_BLIND: Palette = Palette {
    accent: Color::Rgb(86, 180, 233),
    dim: Style::new().fg(Color::DarkGray),
    good: Color::Rgb(0, 114, 178),
    warn: Color::Rgb(230, 159, 0),
    bad: Color::Rgb(213, 94, 0),
    other: Color::Rgb(204, 121, 167),
    badge: Style::new()
        .fg(Color::Black)
        .bg(Color::Rgb(240, 228, 66))
        .add_modifier(Modifier::BOLD),
    services: [
        Color::Rgb(204, 121, 167),
        Color::Rgb(86, 180, 233),
        Color::Rgb(230, 159, 0),
        Color::Rgb(240, 228, 66),
        Color::Rgb(0, 114, 178),
    ],
};

/// `NO_COLOR`: no colour at all (the view also clears any a widget set).
const NO_COLOR: Palette = Palette {
    accent: Color::Reset,
    dim: Style::new(),
    good: Color::Reset,
    warn: Color::Reset,
    bad: Color::Reset,
    other: Color::Reset,
    badge: Style::new().add_modifier(Modifier::REVERSED.union(Modifier::BOLD)),
    services: [Color::Reset; 5],
};

fn palette() -> &'static Palette {
    match look().theme {
        ColorTheme::Auto | ColorTheme::Dark => &DARK,
        ColorTheme::Light => &LIGHT,
        ColorTheme::HighContrast => &HIGH_CONTRAST,
        ColorTheme::ColorBlind => &COLOR_BLIND,
        ColorTheme::NoColor => &NO_COLOR,
    }
}

pub fn is_no_color() -> bool {
    look().theme == ColorTheme::NoColor
}

pub fn accent() -> Color {
    palette().accent
}

/// Secondary text.
pub fn dim() -> Style {
    palette().dim
}

pub fn good() -> Color {
    palette().good
}

pub fn warn() -> Color {
    palette().warn
}

pub fn bad() -> Color {
    palette().bad
}

pub fn sandbox_badge() -> Style {
    palette().badge
}

/// The one button a dialog has (the wizard's Deploy).
pub fn button() -> Style {
    if is_no_color() {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    } else {
        Style::new()
            .fg(Color::Black)
            .bg(accent())
            .add_modifier(Modifier::BOLD)
    }
}

/// A search match in the logs: marked even without colour.
pub fn search_hit() -> Style {
    if is_no_color() {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    } else {
        Style::new().bg(warn()).fg(Color::Black)
    }
}

pub fn service(service: Option<Service>) -> Style {
    let color = match service {
        Some(s) => palette().services[Service::ALL.iter().position(|x| *x == s).unwrap_or(0)],
        None if is_no_color() => Color::Reset,
        None => Color::Gray,
    };
    Style::new().fg(color)
}

pub fn stack_status(status: StackStatus) -> Style {
    let p = palette();
    Style::new().fg(match status {
        StackStatus::Running => p.good,
        StackStatus::Creating | StackStatus::Updating | StackStatus::Destroying => p.warn,
        StackStatus::RollingBack => p.other,
        StackStatus::Failed => p.bad,
        StackStatus::Stopped | StackStatus::Destroyed => return p.dim,
    })
}

pub fn service_status(status: ServiceStatus) -> Style {
    let p = palette();
    Style::new().fg(match status {
        ServiceStatus::Healthy => p.good,
        ServiceStatus::Starting => p.warn,
        ServiceStatus::Unhealthy => p.bad,
        ServiceStatus::Stopped => return p.dim,
    })
}

pub fn stage_status(status: StageStatus) -> Style {
    let p = palette();
    Style::new().fg(match status {
        StageStatus::Done => p.good,
        StageStatus::Running => p.warn,
        StageStatus::Failed => p.bad,
        StageStatus::Pending | StageStatus::Skipped => return p.dim,
    })
}

pub fn log_level(level: Level) -> Style {
    match level {
        Level::Info => Style::new(),
        Level::Warn => Style::new().fg(warn()),
        Level::Error if is_no_color() => Style::new().add_modifier(Modifier::BOLD),
        Level::Error => Style::new().fg(bad()),
    }
}

/// A pane's frame: the focused one stands out. Compact mode draws only
/// the top edge, with the title, so each pane gains a row and two columns.
pub fn pane<'a>(title: impl Into<Line<'a>>, focused: bool) -> Block<'a> {
    let borders = if look().compact {
        Borders::TOP
    } else {
        Borders::ALL
    };
    let block = Block::new().borders(borders).title(title.into());
    if focused {
        block
            .border_type(BorderType::Thick)
            .border_style(Style::new().fg(accent()))
            .title_style(
                Style::new()
                    .fg(accent())
                    .add_modifier(Modifier::BOLD | focus_mark()),
            )
    } else {
        block.border_style(dim())
    }
}

/// Without colour, the focused pane's title is also reversed.
fn focus_mark() -> Modifier {
    if is_no_color() {
        Modifier::REVERSED
    } else {
        Modifier::empty()
    }
}

pub fn dialog<'a>(title: impl Into<Line<'a>>) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(accent()))
        .title(title.into())
        .title_style(Style::new().add_modifier(Modifier::BOLD))
}

/// `NO_COLOR`: whatever a widget set, no cell keeps a colour.
pub fn strip_colors(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
        cell.underline_color = Color::Reset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_light_only_when_the_terminal_says_its_background_is() {
        assert_eq!(resolve(ColorTheme::Auto, Some("0;15")), ColorTheme::Light);
        assert_eq!(resolve(ColorTheme::Auto, Some("15;0")), ColorTheme::Dark);
        assert_eq!(resolve(ColorTheme::Auto, None), ColorTheme::Dark);
        assert_eq!(resolve(ColorTheme::Auto, Some("junk")), ColorTheme::Dark);
        assert_eq!(resolve(ColorTheme::Light, Some("15;0")), ColorTheme::Light);
    }

    #[test]
    fn the_color_blind_palette_has_no_red_green_pair() {
        // Status hues differ in blue/orange, and none is a pure red or green.
        for c in [COLOR_BLIND.good, COLOR_BLIND.warn, COLOR_BLIND.bad] {
            assert!(!matches!(
                c,
                Color::Red | Color::Green | Color::LightRed | Color::LightGreen
            ));
        }
    }
}
