//! SSM: the stack's secrets (SecureString parameters, generated once and
//! reused), the AMI's public parameter, and commands on the instance (stage
//! markers, compose logs).

use std::time::Duration;

use aws_sdk_ssm::types::{CommandInvocationStatus, ParameterType, Tag};
use rand::distr::{Alphanumeric, SampleString};

use super::AwsCloud;
use super::errors::{api_error, code_of};
use super::tags::{filter, pairs};
use crate::cloud::{CloudError, CloudResult, Session};

/// The three secrets of a stack: Postgres password, n8n encryption key,
/// Crawl4AI API token.
pub const SECRET_NAMES: [&str; 3] = [
    "postgres-password",
    "n8n-encryption-key",
    "crawl4ai-api-token",
];
const SECRET_LENGTH: usize = 40;
/// How long to wait for a command's output before giving up on this round.
const COMMAND_WAIT: Duration = Duration::from_secs(20);

pub fn secrets_path(stack: &str) -> String {
    format!("/geusemaker/{stack}/")
}

pub fn ami_parameter(arch: &str) -> String {
    format!("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}")
}

impl AwsCloud {
    /// Create whichever of the stack's secrets do not exist yet. Existing ones
    /// are never replaced: a new n8n key would make every stored credential
    /// unreadable, and the Postgres password is fixed in its data directory.
    pub(super) async fn secrets(&self, s: &mut Session) -> CloudResult<()> {
        let stack = s.state().stack_name.clone();
        let path = secrets_path(&stack);
        for (i, name) in SECRET_NAMES.iter().enumerate() {
            let full = format!("{path}{name}");
            s.progress(Some(0.5 + 0.15 * i as f64), format!("secret {full}"))?;
            let exists = self.ssm.get_parameter().name(&full).send().await;
            match exists {
                Ok(_) => continue,
                Err(e) => {
                    let e = api_error("GetParameter", e);
                    if code_of(&e) != Some("ParameterNotFound") {
                        return Err(e);
                    }
                }
            }
            let tags: Vec<Tag> = pairs(&stack, &full)
                .into_iter()
                .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                .collect();
            let value = Alphanumeric.sample_string(&mut rand::rng(), SECRET_LENGTH);
            let put = self
                .ssm
                .put_parameter()
                .name(&full)
                .r#type(ParameterType::SecureString)
                .value(value)
                .overwrite(false)
                .set_tags(Some(tags))
                .description(format!("GeuseMaker {stack}: {name}"))
                .send()
                .await
                .map_err(|e| api_error("PutParameter", e));
            if let Err(e) = put
                && code_of(&e) != Some("ParameterAlreadyExists")
            {
                return Err(e);
            }
        }
        s.record(|st| st.secrets_path = Some(path))?;
        Ok(())
    }

    pub(super) async fn delete_secrets(&self, s: &mut Session) -> CloudResult<()> {
        let path = secrets_path(&s.state().stack_name);
        let names: Vec<String> = SECRET_NAMES.iter().map(|n| format!("{path}{n}")).collect();
        self.ssm
            .delete_parameters()
            .set_names(Some(names))
            .send()
            .await
            .map_err(|e| api_error("DeleteParameters", e))?;
        s.record(|st| st.secrets_path = None)?;
        Ok(())
    }

    /// The current Amazon Linux 2023 AMI for `arch`, from its public parameter.
    pub(super) async fn latest_ami(&self, arch: &str) -> CloudResult<String> {
        let name = ami_parameter(arch);
        let r = self
            .ssm
            .get_parameter()
            .name(&name)
            .send()
            .await
            .map_err(|e| api_error("GetParameter", e))?;
        r.parameter()
            .and_then(|p| p.value())
            .map(str::to_string)
            .ok_or_else(|| CloudError::Refused(format!("the public parameter {name} has no value")))
    }

    /// The AWS Deep Learning Base GPU AMI (NVIDIA driver and container
    /// toolkit) as `(id, what it is)`: its public parameter, else the newest
    /// Amazon Linux GPU Deep Learning image of this architecture by name.
    pub(super) async fn gpu_ami(&self, arch: &str) -> CloudResult<(String, String)> {
        let name = format!(
            "/aws/service/deeplearning/ami/{arch}/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id"
        );
        match self.ssm.get_parameter().name(&name).send().await {
            Ok(r) => {
                if let Some(ami) = r.parameter().and_then(|p| p.value()) {
                    return Ok((
                        ami.to_string(),
                        "Deep Learning Base GPU AMI (AL2023)".into(),
                    ));
                }
            }
            Err(e) => {
                let e = api_error("GetParameter", e);
                if code_of(&e) != Some("ParameterNotFound") {
                    return Err(e);
                }
            }
        }
        for pattern in [
            "Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023)*",
            "Deep Learning*AMI*Amazon Linux*",
        ] {
            if let Some(found) = self.newest_gpu_image(pattern, arch).await? {
                return Ok(found);
            }
        }
        Err(CloudError::Refused(format!(
            "no Deep Learning GPU AMI found in this region ({name} is missing); pass --ami-id"
        )))
    }

    /// Amazon's newest image named like `pattern`, leaving out Neuron
    /// (Inferentia/Trainium) images, which have no NVIDIA driver.
    async fn newest_gpu_image(
        &self,
        pattern: &str,
        arch: &str,
    ) -> CloudResult<Option<(String, String)>> {
        let images = self
            .ec2
            .describe_images()
            .owners("amazon")
            .filters(filter("name", pattern))
            .filters(filter("architecture", arch))
            .filters(filter("state", "available"))
            .send()
            .await
            .map_err(|e| api_error("DescribeImages", e))?;
        Ok(images
            .images()
            .iter()
            .filter(|i| !i.name().unwrap_or_default().contains("Neuron"))
            .max_by_key(|i| i.creation_date().unwrap_or_default().to_string())
            .and_then(|i| {
                let id = i.image_id()?.to_string();
                Some((id, i.name().unwrap_or("Deep Learning AMI").to_string()))
            }))
    }

    /// Run a shell command on the instance over SSM and return its output.
    /// `None` when SSM cannot reach the instance yet or the output is empty.
    pub(super) async fn run_on_instance(
        &self,
        instance: &str,
        command: &str,
    ) -> CloudResult<Option<String>> {
        let sent = self
            .ssm
            .send_command()
            .instance_ids(instance)
            .document_name("AWS-RunShellScript")
            .parameters("commands", vec![command.to_string()])
            .timeout_seconds(30)
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
            if started.elapsed() > COMMAND_WAIT {
                return Ok(None);
            }
            tokio::time::sleep(self.settings.poll.min(Duration::from_secs(2))).await;
        }
    }
}

#[cfg(test)]
mod proptests;
