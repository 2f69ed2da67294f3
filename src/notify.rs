//! Sends what the monitor has to tell (`domain::notify`) to the user's
//! webhook, over HTTPS on the product's one client. A failed send is logged
//! and tried again a few times; it never holds up an operation or a sweep.

use std::time::Duration;

/// How long a command that is ending waits for its event to be taken.
pub const AT_EXIT: Duration = Duration::from_secs(15);

/// Tell the settings' webhook, if any, of one event, and wait (bounded) for
/// it: for a command about to exit. A failure is logged, never returned.
pub async fn tell(settings: &NotifySettings, event: NotifyEvent) {
    let Some(notifier) = Notifier::configured(settings) else {
        return;
    };
    match tokio::time::timeout(AT_EXIT, notifier.send(&event)).await {
        Ok(Ok(())) => {}
        Ok(Err(why)) => {
            tracing::error!(kind = %event.kind, error = %why, "a notification was lost")
        }
        Err(_) => tracing::error!(kind = %event.kind, "a notification was still unsent at exit"),
    }
}

use crate::domain::notify::{NotifyEvent, NotifyFormat, payload};
use crate::domain::settings::NotifySettings;

/// Tries per event, and the wait before the second (doubled each time).
const TRIES: u32 = 3;
const FIRST_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct Notifier {
    client: reqwest::Client,
    url: String,
    format: NotifyFormat,
    first_wait: Duration,
}

impl Notifier {
    /// The settings' webhook, if one is set; `Err` says why it cannot be used.
    pub fn from_settings(settings: &NotifySettings) -> Result<Option<Self>, String> {
        let Some(url) = settings.webhook_url.clone() else {
            return Ok(None);
        };
        let client = crate::http::client().map_err(|e| e.to_string())?;
        Ok(Some(Self {
            client,
            url,
            format: settings.format,
            first_wait: FIRST_WAIT,
        }))
    }

    /// The settings' webhook, or `None` with a warning in the log when it
    /// is set but cannot be used.
    pub fn configured(settings: &NotifySettings) -> Option<Self> {
        Self::from_settings(settings).unwrap_or_else(|why| {
            tracing::warn!(error = %why, "notifications are off");
            None
        })
    }

    /// For tests: this client, and no wait between tries.
    pub fn with_client(client: reqwest::Client, url: &str, format: NotifyFormat) -> Self {
        Self {
            client,
            url: url.to_string(),
            format,
            first_wait: Duration::ZERO,
        }
    }

    /// POST one event, trying again on failure; the last error if none took.
    pub async fn send(&self, event: &NotifyEvent) -> Result<(), String> {
        let body = serde_json::to_vec(&payload(self.format, event)).map_err(|e| e.to_string())?;
        let mut wait = self.first_wait;
        let mut last = String::new();
        for attempt in 1..=TRIES {
            match self.post(&body).await {
                Ok(()) => return Ok(()),
                Err(why) => {
                    tracing::warn!(attempt, kind = %event.kind, error = %why, "a notification was not taken");
                    last = why;
                }
            }
            if attempt < TRIES {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        Err(format!("{} tries, the last: {last}", TRIES))
    }

    async fn post(&self, body: &[u8]) -> Result<(), String> {
        let answer = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            // Without the URL: a webhook's path is its secret.
            .map_err(|e| crate::http::describe(&e.without_url()))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered {}", answer.status()))
        }
    }

    /// Where events go, for messages: the URL's scheme and host alone (its
    /// path is often the webhook's secret).
    pub fn destination(&self) -> String {
        let rest = self.url.split("://").nth(1).unwrap_or("");
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        format!("https://{host}/…")
    }

    /// Send `events` in the background, in order; failures are logged.
    pub fn spawn(&self, events: Vec<NotifyEvent>) {
        if events.is_empty() {
            return;
        }
        let notifier = self.clone();
        tokio::spawn(async move {
            for event in events {
                if let Err(why) = notifier.send(&event).await {
                    tracing::error!(kind = %event.kind, stack = %event.stack, error = %why, "a notification was lost");
                }
            }
        });
    }
}
