//! `connect STACK`: how to reach the stack. `deploy` prints it at the end.

use std::io::IsTerminal;

use crate::domain::DeploymentState;
use crate::domain::connect::{self, Connection};
use crate::runtime::Runtime;

use super::Failure;
use super::output::print_json;

pub fn connect(rt: &Runtime, stack: &crate::domain::StackName, json: bool) -> Result<(), Failure> {
    let state = super::load_existing(rt, stack)?;
    let c = connect::of(&state);
    if json {
        return print_json(&c);
    }
    print!("{}", text(&state, &c, std::io::stdout().is_terminal()));
    Ok(())
}

/// An OSC 8 hyperlink where the terminal is one, else the URL as it is.
pub fn link(url: &str, terminal: bool) -> String {
    if terminal {
        crate::ui::hyperlinks::osc8(url, url)
    } else {
        url.to_string()
    }
}

pub fn text(state: &DeploymentState, c: &Connection, terminal: bool) -> String {
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    let Some(url) = &c.n8n.url else {
        line(format!(
            "{} has no address yet ({}); `status {}` shows where it is",
            c.stack_name, c.status, c.stack_name
        ));
        return out;
    };
    line(format!("n8n        {}", link(url, terminal)));
    if let Some(base) = &c.n8n.webhook_base {
        line(format!("webhooks   {}<path>", link(base, terminal)));
    }
    if let Some(base) = &c.n8n.webhook_test_base {
        line(format!("test hooks {}<path>", link(base, terminal)));
    }
    line(format!(
        "sign in    {}; password: {}",
        c.n8n.owner_email.as_deref().unwrap_or("the owner"),
        c.n8n.password_command
    ));
    line(format!(
        "open to    {}",
        crate::domain::exposure::allowed_cidrs(state).join(", ")
    ));
    line(String::new());
    line("Inside only; each through an SSM tunnel to this machine:".into());
    for f in &c.internal {
        let cred = match (&f.credential_command, f.credential_use) {
            (Some(cmd), Some(how)) => format!("  ({how}: {cmd})"),
            _ => String::new(),
        };
        line(format!(
            "  {:<9} {:<37} → {}{cred}",
            f.service.to_string(),
            f.forward_command,
            f.local_url
        ));
    }
    out
}
