//! Session Manager sessions (a shell, or a port forwarded to this machine)
//! are run by AWS's own CLI and session-manager-plugin: the SSM data channel
//! is theirs to speak, and no third-party implementation of it is used.

use std::path::PathBuf;

use crate::domain::DeploymentState;

pub const PLUGIN: &str = "session-manager-plugin";
pub const PLUGIN_DOCS: &str = "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html";
pub const CLI_DOCS: &str =
    "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html";

/// The `aws ssm start-session` arguments for the stack's instance.
pub fn start_session(
    state: &DeploymentState,
    profile: Option<&str>,
    forward: Option<(u16, u16)>,
) -> Result<Vec<String>, String> {
    let instance = state.instance_id.clone().ok_or_else(|| {
        format!(
            "stack {} has no instance running; `deploy {}` starts one",
            state.stack_name, state.stack_name
        )
    })?;
    let mut args: Vec<String> = ["aws", "ssm", "start-session", "--region", state.region()]
        .into_iter()
        .map(str::to_string)
        .collect();
    if let Some(profile) = profile {
        args.extend(["--profile".into(), profile.into()]);
    }
    args.extend(["--target".into(), instance]);
    if let Some((remote, local)) = forward {
        args.extend([
            "--document-name".into(),
            "AWS-StartPortForwardingSession".into(),
            "--parameters".into(),
            format!(r#"{{"portNumber":["{remote}"],"localPortNumber":["{local}"]}}"#),
        ]);
    }
    Ok(args)
}

/// The URL a forwarded service answers at on this machine.
pub use crate::domain::connect::local_url;

/// The AWS CLI and the plugin, as far as they are missing.
pub fn missing_tools() -> Vec<&'static str> {
    ["aws", PLUGIN]
        .into_iter()
        .filter(|tool| find_on_path(tool).is_none())
        .collect()
}

/// The command as a shell would need it typed.
pub fn shell_words(command: &[String]) -> String {
    command
        .iter()
        .map(|word| {
            if word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
            {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Provider, Service, Tier, Timestamp};

    #[test]
    fn the_forward_command_is_aws_own_port_forwarding_session() {
        let mut s = DeploymentState::new(
            "demo",
            Tier::Dev,
            "eu-west-1",
            Provider::Aws,
            Timestamp::from_unix_millis(0),
        );
        assert!(start_session(&s, None, None).is_err(), "no instance");
        s.instance_id = Some("i-0123456789abcdef0".into());
        let command = start_session(&s, Some("work"), Some((6333, 16333))).unwrap();
        assert_eq!(
            shell_words(&command),
            r#"aws ssm start-session --region eu-west-1 --profile work --target i-0123456789abcdef0 --document-name AWS-StartPortForwardingSession --parameters '{"portNumber":["6333"],"localPortNumber":["16333"]}'"#
        );
        assert_eq!(
            local_url(Service::Postgres, 5432),
            "postgresql://n8n@127.0.0.1:5432/n8n"
        );
    }
}
