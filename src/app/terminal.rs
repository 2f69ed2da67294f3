//! Entering and leaving the full-screen terminal. The panic hook restores the
//! terminal before the report is printed; it is installed before the
//! alternate screen is entered.

use std::io::{self, Stdout};
use std::panic;

use crossterm::ExecutableCommand;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

pub fn enter() -> io::Result<Tui> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = stdout.execute(EnterAlternateScreen) {
        restore();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(stdout)).inspect_err(|_| restore())
}

/// Give the terminal back for a while (a shell): the normal screen, cooked
/// mode, a cursor. `resume` takes it again.
pub fn suspend() {
    restore();
}

/// Take the terminal again after `suspend`, and redraw everything.
pub fn resume(terminal: &mut Tui) -> io::Result<()> {
    enable_raw_mode()?;
    io::stdout().execute(EnterAlternateScreen)?;
    io::stdout().execute(crossterm::cursor::Hide)?;
    terminal.clear()
}

/// Leave the alternate screen and raw mode; safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
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
