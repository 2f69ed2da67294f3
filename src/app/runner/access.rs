//! The runner's share of who can reach a stack: changing its allowed CIDRs,
//! and copying a secret to the clipboard without it touching the model.

use std::io::{self, Write};
use std::sync::Arc;

use base64::Engine;
use tokio::sync::mpsc;

use super::super::clouds::Clouds;
use super::super::msg::Msg;
use super::tasks::{forward_states, load};
use crate::cloud::session::StoreSink;
use crate::deploy::access::{AccessChange, set_access};
use crate::domain::StackName;
use crate::domain::exposure::allowed_cidrs;
use crate::store::Store;

/// Where escape sequences for the terminal itself go (OSC 52): stdout in
/// the dashboard, a buffer in tests.
pub type TerminalOut = Arc<dyn Fn(&[u8]) -> io::Result<()> + Send + Sync>;

pub fn stdout_terminal() -> TerminalOut {
    Arc::new(|bytes: &[u8]| {
        // One locked write: the sequence never interleaves with a frame.
        let mut out = io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()
    })
}

/// Put `text` on the clipboard: the terminal (or tmux, or the SSH
/// client's) sets it from an OSC 52 sequence.
pub fn copy_to_clipboard(out: &TerminalOut, text: &[u8]) -> io::Result<()> {
    let mut encoded = base64::engine::general_purpose::STANDARD
        .encode(text)
        .into_bytes();
    let mut sequence = Vec::with_capacity(encoded.len() + 8);
    sequence.extend_from_slice(b"\x1b]52;c;");
    sequence.extend_from_slice(&encoded);
    sequence.push(0x07);
    let written = out(&sequence);
    // Leave no copy of a secret behind in freed memory.
    encoded.fill(0);
    sequence.fill(0);
    written
}

/// The stack's cloud context and state, or why there is none.
async fn stack_context(
    clouds: Option<Clouds>,
    no_cloud: String,
    store: &Store,
    stack: &str,
) -> Result<(crate::deploy::Context, crate::domain::DeploymentState), String> {
    let clouds = clouds.ok_or(no_cloud)?;
    let state = load(store, stack).ok_or_else(|| format!("no saved state for {stack}"))?;
    let ctx = clouds.in_region(state.region()).await?;
    Ok((ctx, state))
}

pub(super) async fn read_models(
    clouds: Option<Clouds>,
    no_cloud: String,
    store: Store,
    stack: &str,
) -> Result<crate::domain::models::ModelsView, String> {
    let (ctx, state) = stack_context(clouds, no_cloud, &store, stack).await?;
    ctx.cloud.models(&state).await.map_err(|e| e.to_string())
}

pub(super) async fn remove_model(
    clouds: Option<Clouds>,
    no_cloud: String,
    store: Store,
    stack: &str,
    name: &str,
) -> Result<(), String> {
    let (ctx, state) = stack_context(clouds, no_cloud, &store, stack).await?;
    ctx.cloud
        .remove_model(&state, name)
        .await
        .map_err(|e| e.to_string())
}

/// Pull `name`, sending each poll's progress line (dropped when the
/// channel is full: the next one says as much), then how it ended.
pub(super) async fn pull_model(
    clouds: Option<Clouds>,
    no_cloud: String,
    store: Store,
    stack: String,
    name: String,
    tx: mpsc::Sender<Msg>,
) {
    let result = match stack_context(clouds, no_cloud, &store, &stack).await {
        Err(why) => Err(why),
        Ok((ctx, state)) => {
            let progress = tx.clone();
            let (s, n) = (stack.clone(), name.clone());
            crate::deploy::models::pull(&ctx, &state, &name, move |p, tracker, _| {
                let line = crate::domain::models::progress_line(p, tracker, 24);
                let _ = progress.try_send(Msg::PullProgress {
                    stack: s.clone(),
                    name: n.clone(),
                    line,
                });
            })
            .await
            .map(|pulled| {
                let size = pulled.progress.total.map(crate::domain::models::bytes);
                format!("{name} is on {stack}'s EFS ({})", size.unwrap_or_default())
            })
        }
    };
    let _ = tx
        .send(Msg::PullEnded {
            stack,
            name,
            result,
        })
        .await;
}

/// Restart one service of the stack on its instance.
pub(super) async fn restart_service(
    clouds: Option<Clouds>,
    no_cloud: String,
    store: Store,
    stack: &str,
    service: crate::domain::Service,
) -> Result<String, String> {
    let (ctx, state) = stack_context(clouds, no_cloud, &store, stack).await?;
    ctx.cloud
        .restart_service(&state, service)
        .await
        .map_err(|e| e.to_string())
}

/// Read the secret and copy it; the value lives only in this function.
pub(super) async fn copy_secret(
    clouds: Option<Clouds>,
    no_cloud: String,
    store: Store,
    stack: &str,
    name: &str,
    out: TerminalOut,
) -> Result<(), String> {
    let clouds = clouds.ok_or(no_cloud)?;
    let state = load(&store, stack).ok_or_else(|| format!("no saved state for {stack}"))?;
    let ctx = clouds.in_region(state.region()).await?;
    let value = ctx
        .cloud
        .read_secret(&state, name)
        .await
        .map_err(|e| e.to_string())?;
    let mut value = value.into_bytes();
    let copied = copy_to_clipboard(&out, &value);
    value.fill(0);
    copied.map_err(|e| format!("the terminal would not take it: {e}"))
}

/// Change the allowed set in a task: each state it saves reaches the loop
/// as `StackChanged`, the outcome as `AccessChanged`.
pub(super) fn change_access(
    clouds: Option<Clouds>,
    no_cloud: String,
    store: Store,
    region: String,
    stack: StackName,
    change: AccessChange,
    tx: mpsc::Sender<Msg>,
) {
    tokio::spawn(async move {
        let result = match clouds {
            None => Err(no_cloud),
            Some(clouds) => {
                let (sink, rx) = StoreSink::new(store);
                let forward = tokio::spawn(forward_states(rx, tx.clone()));
                let result = match clouds.in_region(&region).await {
                    Ok(ctx) => set_access(&ctx, &stack, &change, Box::new(sink))
                        .await
                        .map(|state| {
                            format!("{stack} now admits {}", allowed_cidrs(&state).join(", "))
                        })
                        .map_err(|e| e.to_string()),
                    Err(why) => Err(why),
                };
                let _ = forward.await;
                result
            }
        };
        let msg = Msg::AccessChanged {
            stack: stack.to_string(),
            result,
        };
        let _ = tx.send(msg).await;
    });
}

/// Open `url` with the desktop's opener (xdg-open, open): its name, or why
/// not. The browser is the opener's child, not this program's.
pub async fn open_url(url: &str) -> Result<&'static str, String> {
    let opener = ["xdg-open", "open"]
        .into_iter()
        .find(|tool| crate::cloud::session_manager::find_on_path(tool).is_some())
        .ok_or_else(|| {
            format!("no browser opener (xdg-open, open) on this machine; the URL is {url}")
        })?;
    let status = tokio::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .map_err(|e| format!("could not run {opener}: {e}"))?;
    if status.success() {
        Ok(opener)
    } else {
        Err(format!("{opener} could not open {url}: {status}"))
    }
}

/// The plan of `req` on its stack, priced in its region.
pub(super) async fn plan_update(
    clouds: Option<Clouds>,
    no_cloud: String,
    store: Store,
    req: &crate::cloud::DeployRequest,
) -> Result<Box<crate::deploy::update::UpdatePlan>, String> {
    let (ctx, _) = stack_context(clouds, no_cloud, &store, req.stack.as_str()).await?;
    let plan = crate::deploy::update::plan(&ctx, req).await;
    plan.map(Box::new).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn osc52_carries_the_text_base64_encoded() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let out: TerminalOut = Arc::new(move |bytes: &[u8]| {
            sink.lock().unwrap().extend_from_slice(bytes);
            Ok(())
        });
        copy_to_clipboard(&out, b"hello").unwrap();
        assert_eq!(&*seen.lock().unwrap(), b"\x1b]52;c;aGVsbG8=\x07");
    }
}
