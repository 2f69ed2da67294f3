//! `notify test`: one test event to the settings' webhook.

use crate::domain::notify::{EventKind, NotifyEvent};
use crate::notify::Notifier;
use crate::runtime::Runtime;

use super::Failure;
use super::args::{NotifyAction, NotifyArgs};
use super::output::print_json;

pub async fn notify(rt: &Runtime, args: NotifyArgs, json: bool) -> Result<(), Failure> {
    let NotifyAction::Test = args.action;
    let notifier = Notifier::from_settings(&rt.settings.notify)
        .map_err(Failure::failed)?
        .ok_or_else(|| {
            Failure::bad_input(format!(
                "no webhook is set: put notify.webhook_url (an https:// URL) and notify.format \
                 (slack, discord or json) in {}",
                rt.store.settings_path().display()
            ))
        })?;
    let event = NotifyEvent::new(
        EventKind::Test,
        "test",
        rt.clock.now(),
        "a test event from geusemaker-tui notify test",
    );
    notifier.send(&event).await.map_err(|why| {
        Failure::failed(format!("{} did not take it: {why}", notifier.destination()))
    })?;
    if json {
        return print_json(&serde_json::json!({"sent": true, "to": notifier.destination()}));
    }
    println!("{} took the test event", notifier.destination());
    Ok(())
}
