//! SSM Run Command: a shell command on the stack's instance (stage
//! markers, the inside view, logs, a switch's drain), its one output read
//! back once it has run.

use std::time::Duration;

use aws_sdk_ssm::types::CommandInvocationStatus;

use super::AwsCloud;
use super::errors::{api_error, code_of};
use crate::cloud::CloudResult;

/// How long to wait for a command's output before giving up on this round.
const COMMAND_WAIT: Duration = Duration::from_secs(20);

impl AwsCloud {
    /// Run a shell command on the instance over SSM and return its output.
    /// `None` when SSM cannot reach the instance yet or the output is empty.
    pub(super) async fn run_on_instance(
        &self,
        instance: &str,
        command: &str,
    ) -> CloudResult<Option<String>> {
        self.run_on_instance_within(instance, command, COMMAND_WAIT)
            .await
    }

    /// The same, for a command that may run up to `wait` (a drain).
    pub(super) async fn run_on_instance_within(
        &self,
        instance: &str,
        command: &str,
        wait: Duration,
    ) -> CloudResult<Option<String>> {
        let sent = self
            .ssm
            .send_command()
            .instance_ids(instance)
            .document_name("AWS-RunShellScript")
            .parameters("commands", vec![command.to_string()])
            .timeout_seconds(wait.as_secs().max(30) as i32)
            .send()
            .await;
        let command_id = match sent {
            Ok(r) => r
                .command()
                .and_then(|c| c.command_id())
                .unwrap_or_default()
                .to_string(),
            Err(e) => {
                let e = api_error("SendCommand", e);
                // The agent has not registered yet: nothing to read this round.
                return match code_of(&e) {
                    Some("InvalidInstanceId") => Ok(None),
                    _ => Err(e),
                };
            }
        };
        let started = tokio::time::Instant::now();
        loop {
            let got = self
                .ssm
                .get_command_invocation()
                .command_id(&command_id)
                .instance_id(instance)
                .send()
                .await;
            match got {
                Ok(r) => match r.status() {
                    Some(CommandInvocationStatus::Success) => {
                        let out = r.standard_output_content().unwrap_or_default().to_string();
                        return Ok((!out.trim().is_empty()).then_some(out));
                    }
                    Some(
                        CommandInvocationStatus::Pending
                        | CommandInvocationStatus::InProgress
                        | CommandInvocationStatus::Delayed,
                    ) => {}
                    _ => return Ok(None),
                },
                Err(e) => {
                    let e = api_error("GetCommandInvocation", e);
                    if code_of(&e) != Some("InvocationDoesNotExist") {
                        return Err(e);
                    }
                }
            }
            if started.elapsed() > wait {
                return Ok(None);
            }
            tokio::time::sleep(self.settings.poll.min(Duration::from_secs(2))).await;
        }
    }
}
