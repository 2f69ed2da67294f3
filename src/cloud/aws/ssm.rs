//! SSM: the stack's secrets (SecureString parameters, generated once and
//! reused), the AMI's public parameter, and commands on the instance (stage
//! markers, compose logs).

use aws_sdk_ssm::types::{ParameterType, Tag};
use rand::distr::{Alphanumeric, SampleString};

use super::AwsCloud;
use super::errors::{api_error, code_of};
use super::tags::{filter, pairs};
use crate::cloud::{CloudError, CloudResult, Session};

/// A stack's secrets: the Postgres password, n8n's encryption key, Qdrant's
/// API key, the password of n8n's owner, and Crawl4AI's API token.
pub const SECRET_NAMES: [&str; 5] = [
    "postgres-password",
    "n8n-encryption-key",
    "qdrant-api-key",
    "n8n-owner-password",
    "crawl4ai-api-token",
];
/// The secret the boot script sets n8n's owner up with.
pub const OWNER_PASSWORD: &str = "n8n-owner-password";
/// Secrets made only on some tiers (with `ensure_secret`), deleted with the
/// others: the gpu tier's CloudFront origin header.
const TIER_SECRET_NAMES: [&str; 1] = [super::elbv2_listeners::ORIGIN_SECRET];
/// DeleteParameters takes at most this many names a call.
const DELETE_BATCH: usize = 10;
const SECRET_LENGTH: usize = 40;
/// n8n's rule for a password is 8 to 64 characters with a digit and a capital.
const OWNER_PASSWORD_LENGTH: usize = 24;

pub fn secrets_path(stack: &str) -> String {
    format!("/geusemaker/{stack}/")
}

/// A new value for the secret `name`: 40 letters and digits, or for n8n's
/// owner a password n8n accepts.
pub fn generate(name: &str) -> String {
    let mut rng = rand::rng();
    if name == OWNER_PASSWORD {
        return owner_password(&mut rng);
    }
    Alphanumeric.sample_string(&mut rng, SECRET_LENGTH)
}

/// 24 letters and digits with at least one digit, one capital and one
/// lower-case letter (drawn again until it has all three: unbiased).
fn owner_password(rng: &mut impl rand::Rng) -> String {
    loop {
        let candidate = Alphanumeric.sample_string(rng, OWNER_PASSWORD_LENGTH);
        let has = |f: fn(&char) -> bool| candidate.chars().any(|c| f(&c));
        if has(char::is_ascii_digit)
            && has(char::is_ascii_uppercase)
            && has(char::is_ascii_lowercase)
        {
            return candidate;
        }
    }
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
            let done = i as f64 / SECRET_NAMES.len() as f64;
            s.progress(Some(0.5 + 0.5 * done), format!("secret {path}{name}"))?;
            self.ensure_secret(&stack, name, || generate(name)).await?;
        }
        s.record(|st| st.secrets_path = Some(path))?;
        Ok(())
    }

    /// The stack's secret `name` as a SecureString, made with `value` the
    /// first time and reused ever after (`value` is not called then).
    pub(super) async fn ensure_secret(
        &self,
        stack: &str,
        name: &str,
        value: impl FnOnce() -> String,
    ) -> CloudResult<()> {
        ensure_secret(&self.ssm, stack, name, value).await
    }

    /// The value of the stack's secret `name`; an empty one is an error.
    pub(super) async fn secret_value(&self, stack: &str, name: &str) -> CloudResult<String> {
        secret_value(&self.ssm, stack, name).await
    }

    pub(super) async fn delete_secrets(&self, s: &mut Session) -> CloudResult<()> {
        let path = secrets_path(&s.state().stack_name);
        // A name that does not exist is no error (DeleteParameters lists it
        // as invalid): every tier's names go, whatever the tier made.
        let names: Vec<String> = SECRET_NAMES
            .iter()
            .chain(&TIER_SECRET_NAMES)
            .map(|n| format!("{path}{n}"))
            .collect();
        for batch in names.chunks(DELETE_BATCH) {
            self.ssm
                .delete_parameters()
                .set_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| api_error("DeleteParameters", e))?;
        }
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
}

async fn ensure_secret(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
    name: &str,
    value: impl FnOnce() -> String,
) -> CloudResult<()> {
    let full = format!("{}{name}", secrets_path(stack));
    match ssm.get_parameter().name(&full).send().await {
        Ok(_) => return Ok(()),
        Err(e) => {
            let e = api_error("GetParameter", e);
            if code_of(&e) != Some("ParameterNotFound") {
                return Err(e);
            }
        }
    }
    let tags: Vec<Tag> = pairs(stack, &full)
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    let put = ssm
        .put_parameter()
        .name(&full)
        .r#type(ParameterType::SecureString)
        .value(value())
        .overwrite(false)
        .set_tags(Some(tags))
        .description(format!("GeuseMaker {stack}: {name}"))
        .send()
        .await
        .map_err(|e| api_error("PutParameter", e));
    match put {
        // Another run made it between our two calls: theirs stands.
        Err(e) if code_of(&e) != Some("ParameterAlreadyExists") => Err(e),
        _ => Ok(()),
    }
}

async fn secret_value(ssm: &aws_sdk_ssm::Client, stack: &str, name: &str) -> CloudResult<String> {
    let full = format!("{}{name}", secrets_path(stack));
    let got = ssm
        .get_parameter()
        .name(&full)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| api_error("GetParameter", e))?;
    match got.parameter().and_then(|p| p.value()) {
        Some(value) if !value.is_empty() => Ok(value.to_string()),
        _ => Err(CloudError::Refused(format!("the secret {full} is empty"))),
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::operation::put_parameter::{PutParameterError, PutParameterOutput};
    use aws_sdk_ssm::types::Parameter;
    use aws_sdk_ssm::types::error::{ParameterAlreadyExists, ParameterNotFound};
    use aws_smithy_mocks::{
        MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock,
    };

    fn client(rules: &[&Rule]) -> aws_sdk_ssm::Client {
        let mut mocks = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in rules {
            mocks = mocks.with_rule(rule);
        }
        let config = aws_sdk_ssm::Config::builder()
            .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
            .region(aws_sdk_ssm::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ssm::config::Credentials::new(
                "a", "b", None, None, "test",
            ))
            .http_client(create_mock_http_client())
            .interceptor(mocks)
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    }

    fn meta(code: &str) -> aws_smithy_types::error::ErrorMetadata {
        aws_smithy_types::error::ErrorMetadata::builder()
            .code(code)
            .build()
    }

    fn owner_rules(password: &str) -> bool {
        (8..=64).contains(&password.len())
            && password.chars().all(|c| c.is_ascii_alphanumeric())
            && password.chars().any(|c| c.is_ascii_digit())
            && password.chars().any(|c| c.is_ascii_uppercase())
            && password.chars().any(|c| c.is_ascii_lowercase())
    }

    #[test]
    fn owner_passwords_always_meet_n8ns_rules() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20_000 {
            let password = owner_password(&mut rng);
            assert_eq!(password.len(), OWNER_PASSWORD_LENGTH);
            assert!(owner_rules(&password), "{password}");
            seen.insert(password);
        }
        assert_eq!(seen.len(), 20_000, "passwords repeat");
        for _ in 0..1_000 {
            assert!(owner_rules(&generate(OWNER_PASSWORD)));
        }
        let other = generate("postgres-password");
        assert_eq!(other.len(), SECRET_LENGTH);
        assert!(other.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn every_secret_is_named_once_and_fits_a_delete() {
        let unique: std::collections::HashSet<_> = SECRET_NAMES.iter().collect();
        assert_eq!(unique.len(), SECRET_NAMES.len());
        assert!(SECRET_NAMES.contains(&OWNER_PASSWORD));
        assert!(SECRET_NAMES.contains(&"qdrant-api-key"));
    }

    #[tokio::test]
    async fn a_missing_secret_is_made_once_as_a_tagged_secure_string() {
        let missing = mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.name() == Some("/geusemaker/demo/qdrant-api-key"))
            .then_error(|| {
                GetParameterError::ParameterNotFound(
                    ParameterNotFound::builder()
                        .meta(meta("ParameterNotFound"))
                        .build(),
                )
            });
        let put = mock!(aws_sdk_ssm::Client::put_parameter)
            .match_requests(|r| {
                r.name() == Some("/geusemaker/demo/qdrant-api-key")
                    && r.r#type() == Some(&ParameterType::SecureString)
                    && r.overwrite() == Some(false)
                    && r.value() == Some("fresh-value")
                    && r.tags()
                        .iter()
                        .any(|t| t.key() == "Stack" && t.value() == "demo")
                    && r.tags().iter().any(|t| t.key() == "geusemaker:managed")
            })
            .then_output(|| PutParameterOutput::builder().build());
        let ssm = client(&[&missing, &put]);
        ensure_secret(&ssm, "demo", "qdrant-api-key", || "fresh-value".into())
            .await
            .unwrap();
        assert_eq!(missing.num_calls(), 1);
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_existing_secret_is_reused_and_a_lost_race_is_no_error() {
        let present = mock!(aws_sdk_ssm::Client::get_parameter)
            .then_output(|| GetParameterOutput::builder().build());
        let ssm = client(&[&present]);
        ensure_secret(&ssm, "demo", "postgres-password", || {
            panic!("an existing secret was generated again")
        })
        .await
        .unwrap();

        let missing = mock!(aws_sdk_ssm::Client::get_parameter).then_error(|| {
            GetParameterError::ParameterNotFound(
                ParameterNotFound::builder()
                    .meta(meta("ParameterNotFound"))
                    .build(),
            )
        });
        let raced = mock!(aws_sdk_ssm::Client::put_parameter).then_error(|| {
            PutParameterError::ParameterAlreadyExists(
                ParameterAlreadyExists::builder()
                    .meta(meta("ParameterAlreadyExists"))
                    .build(),
            )
        });
        let ssm = client(&[&missing, &raced]);
        ensure_secret(&ssm, "demo", "postgres-password", || "v".into())
            .await
            .unwrap();
        assert_eq!(raced.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_secret_is_read_decrypted_and_an_empty_one_refused() {
        let read = mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| {
                r.name() == Some("/geusemaker/demo/n8n-owner-password")
                    && r.with_decryption() == Some(true)
            })
            .then_output(|| {
                GetParameterOutput::builder()
                    .parameter(Parameter::builder().value("Abc123").build())
                    .build()
            });
        let ssm = client(&[&read]);
        let value = secret_value(&ssm, "demo", OWNER_PASSWORD).await.unwrap();
        assert_eq!(value, "Abc123");

        for empty in [Some(""), None] {
            let blank = mock!(aws_sdk_ssm::Client::get_parameter).then_output(move || {
                let mut p = Parameter::builder();
                if let Some(v) = empty {
                    p = p.value(v);
                }
                GetParameterOutput::builder().parameter(p.build()).build()
            });
            let ssm = client(&[&blank]);
            let e = secret_value(&ssm, "demo", "qdrant-api-key")
                .await
                .unwrap_err();
            assert!(
                e.to_string()
                    .contains("/geusemaker/demo/qdrant-api-key is empty"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_delete_names_every_secret_in_batches_ssm_takes() {
        let names: Vec<String> = SECRET_NAMES
            .iter()
            .chain(&TIER_SECRET_NAMES)
            .map(|n| format!("/p/{n}"))
            .collect();
        assert!(names.iter().any(|n| n.ends_with("/origin-verify")));
        let batches: Vec<&[String]> = names.chunks(DELETE_BATCH).collect();
        assert!(batches.iter().all(|b| b.len() <= 10));
        assert_eq!(batches.concat(), names);
    }
}
