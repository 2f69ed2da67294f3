//! Entering and leaving the full-screen terminal. The panic hook restores the
//! terminal before the report is printed; it is installed before the
//! alternate screen is entered.

use std::io::{self, Stdout, Write};
use std::panic;

use crossterm::ExecutableCommand;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<FrameOut<Stdout>>>;

/// The colour resets the backend writes after every frame (foreground,
/// background, underline). Without colour no cell sets one, so they are
/// no-ops, and `NO_COLOR` asks for no colour code at all.
const COLOR_RESETS: [&[u8]; 3] = [b"\x1b[39m", b"\x1b[49m", b"\x1b[59m"];

/// A frame goes out in one write at its flush; without colour, the
/// backend's colour resets are left out of it.
pub struct FrameOut<W: Write> {
    inner: W,
    frame: Vec<u8>,
    no_color: bool,
}

impl<W: Write> FrameOut<W> {
    pub fn new(inner: W, no_color: bool) -> Self {
        Self {
            inner,
            frame: Vec::with_capacity(64 * 1024),
            no_color,
        }
    }
}

impl<W: Write> Write for FrameOut<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.frame.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let frame = std::mem::take(&mut self.frame);
        let out = if self.no_color {
            without_color_resets(&frame)
        } else {
            frame
        };
        self.inner.write_all(&out)?;
        self.frame = out;
        self.frame.clear();
        self.inner.flush()
    }
}

fn without_color_resets(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match COLOR_RESETS.iter().find(|r| bytes[at..].starts_with(r)) {
            Some(reset) => at += reset.len(),
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    out
}

pub fn enter(no_color: bool, mouse: bool) -> io::Result<Tui> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = stdout.execute(EnterAlternateScreen) {
        restore();
        return Err(e);
    }
    set_mouse(mouse);
    Terminal::new(CrosstermBackend::new(FrameOut::new(stdout, no_color))).inspect_err(|_| restore())
}

/// Take the mouse (clicks and the wheel come as events) or give it back.
pub fn set_mouse(on: bool) {
    let mut out = io::stdout();
    let _ = if on {
        out.execute(EnableMouseCapture).map(drop)
    } else {
        out.execute(DisableMouseCapture).map(drop)
    };
}

/// Give the terminal back for a while (a shell): the normal screen, cooked
/// mode, a cursor. `resume` takes it again.
pub fn suspend() {
    restore();
}

/// Take the terminal again after `suspend`, and redraw everything.
pub fn resume(terminal: &mut Tui, mouse: bool) -> io::Result<()> {
    enable_raw_mode()?;
    io::stdout().execute(EnterAlternateScreen)?;
    io::stdout().execute(crossterm::cursor::Hide)?;
    set_mouse(mouse);
    terminal.clear()
}

/// Leave the alternate screen and raw mode; safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = io::stdout().execute(DisableMouseCapture);
    let _ = io::stdout().execute(LeaveAlternateScreen);
    let _ = io::stdout().execute(crossterm::cursor::Show);
}

fn install_panic_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        // Only the UI thread owns the screen. A panicking task is logged and
        // reported to the loop as a failed task; the dashboard stays up.
        if std::thread::current().name() == Some("main") {
            restore();
            previous(info);
        } else {
            tracing::error!(panic = %info, "a background task panicked");
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_colour_a_frame_keeps_everything_but_the_colour_resets() {
        let mut out = FrameOut::new(Vec::new(), true);
        out.write_all(b"\x1b[1mhi\x1b[39m\x1b[49m\x1b[59m\x1b[0m")
            .unwrap();
        assert!(out.inner.is_empty(), "nothing goes out before the flush");
        out.flush().unwrap();
        assert_eq!(out.inner, b"\x1b[1mhi\x1b[0m");
        let mut coloured = FrameOut::new(Vec::new(), false);
        coloured.write_all(b"\x1b[39m").unwrap();
        coloured.flush().unwrap();
        assert_eq!(coloured.inner, b"\x1b[39m");
    }
}
