//! The stack's launch template: everything the instance stage used to pass
//! to RunInstances (image, type, user data, profile, group, IMDSv2 with hop
//! limit 1, the encrypted gp3 root). The group launches from one numbered
//! version; a deploy that changes any of it makes a new version, and every
//! version is kept, so a rollback finds the healthy one's and uses it again.

use aws_sdk_ec2::types::{
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateTagSpecificationRequest, LaunchTemplateVersion, RequestLaunchTemplateData,
    ResourceType, Tag, VolumeType,
};

use super::AwsCloud;
use super::errors::{api_error, code_of};
use super::tags::{ec2_spec, ours, pairs, short_name};
use crate::cloud::{CloudError, CloudResult, Session};

/// What one template version launches.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct LaunchSpec {
    pub ami: String,
    pub instance_type: String,
    /// Base64, as EC2 takes it.
    pub user_data: String,
    pub profile: String,
    pub security_group: String,
    pub root_device: String,
    pub root_gb: i32,
}

/// What splits a version's description: its spec's fingerprint, then what
/// it runs (the spec without its image).
const RUNS: &str = " runs ";

impl LaunchSpec {
    /// A version's description starts with this: the same spec, the same
    /// version, so a re-run makes none.
    fn fingerprint(&self) -> String {
        let text = format!("{self:?}");
        format!("geusemaker {}", crate::domain::hash::fingerprint(&text))
    }

    /// The spec without its image (and the root the image sets): versions
    /// alike in this run the same services, and an instance on one is
    /// current on the other, so baking an image replaces nothing.
    fn runs_like(&self) -> String {
        let text = format!(
            "{} {} {} {}",
            self.instance_type, self.user_data, self.profile, self.security_group
        );
        crate::domain::hash::fingerprint(&text)
    }

    fn description(&self) -> String {
        format!("{}{RUNS}{}", self.fingerprint(), self.runs_like())
    }

    fn data(&self, stack: &str) -> RequestLaunchTemplateData {
        let tags = |kind| {
            let tags = pairs(stack, &format!("{stack}-ai-stack"))
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build());
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(kind)
                .set_tags(Some(tags.collect()))
                .build()
        };
        RequestLaunchTemplateData::builder()
            .image_id(&self.ami)
            .instance_type(self.instance_type.as_str().into())
            .user_data(&self.user_data)
            .security_group_ids(&self.security_group)
            .iam_instance_profile(
                LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                    .name(&self.profile)
                    .build(),
            )
            .metadata_options(
                LaunchTemplateInstanceMetadataOptionsRequest::builder()
                    .http_tokens(LaunchTemplateHttpTokensState::Required)
                    .http_put_response_hop_limit(1)
                    .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
                    .build(),
            )
            .block_device_mappings(
                LaunchTemplateBlockDeviceMappingRequest::builder()
                    .device_name(&self.root_device)
                    .ebs(
                        LaunchTemplateEbsBlockDeviceRequest::builder()
                            .volume_size(self.root_gb)
                            .volume_type(VolumeType::Gp3)
                            .encrypted(true)
                            .delete_on_termination(true)
                            .build(),
                    )
                    .build(),
            )
            // The instance's tags are what its role's conditions check.
            .tag_specifications(tags(ResourceType::Instance))
            .tag_specifications(tags(ResourceType::Volume))
            .tag_specifications(tags(ResourceType::NetworkInterface))
            .build()
    }
}

/// The launching version, the versions alike, and (version, what it runs).
type Versions = (Option<i64>, Vec<i64>, Vec<(i64, String)>);

/// The stack's template and the version a deploy launches, with every
/// version that runs like it (`version` among them).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Template {
    pub id: String,
    pub version: i64,
    pub alike: Vec<i64>,
    /// What each version runs (empty for one made before that was written).
    pub runs: Vec<(i64, String)>,
}

impl Template {
    /// The newest version that runs like `version`: the one with the image
    /// baked since, which a switch that fails goes back to.
    pub fn newest_like(&self, version: i64) -> i64 {
        let runs = self
            .runs
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, r)| r);
        let Some(runs) = runs.filter(|r| !r.is_empty()) else {
            return version;
        };
        let like = self.runs.iter().filter(|(_, r)| r == runs).map(|(v, _)| *v);
        like.max().unwrap_or(version)
    }
}

pub(super) fn template_name(stack: &str) -> String {
    short_name(stack, "geusemaker", 128)
}

impl AwsCloud {
    /// The template and the version that launches `spec`, recorded: the
    /// latest version when it already does, else a new one.
    pub(super) async fn launch_template(
        &self,
        s: &mut Session,
        spec: &LaunchSpec,
    ) -> CloudResult<Template> {
        let stack = s.state().stack_name.clone();
        let existing = match s.state().launch_template_id.clone() {
            Some(id) => Some(id),
            None => self.tagged_template(&stack).await?,
        };
        let template = match existing {
            Some(id) => match self.versions_of(&id, spec).await? {
                // A rollback finds the healthy deploy's version here.
                Some((Some(version), alike, runs)) => Template {
                    id,
                    version,
                    alike,
                    runs,
                },
                Some((None, mut alike, mut runs)) => {
                    let version = self.new_version(&id, &stack, spec).await?;
                    alike.push(version);
                    runs.push((version, spec.runs_like()));
                    Template {
                        id,
                        version,
                        alike,
                        runs,
                    }
                }
                // Deleted behind our back: make it again.
                None => self.create_template(&stack, spec).await?,
            },
            None => self.create_template(&stack, spec).await?,
        };
        s.record(|st| {
            st.launch_template_id = Some(template.id.clone());
            st.launch_template_version = Some(template.version);
            st.set_provenance("launch_template", true);
        })?;
        Ok(template)
    }

    pub(super) async fn tagged_template(&self, stack: &str) -> CloudResult<Option<String>> {
        let found = self
            .ec2
            .describe_launch_templates()
            .set_filters(Some(ours(stack)))
            .send()
            .await
            .map_err(|e| api_error("DescribeLaunchTemplates", e))?;
        Ok(found
            .launch_templates()
            .first()
            .and_then(|t| t.launch_template_id())
            .map(str::to_string))
    }

    /// The newest version that launches `spec` (`None` when none does),
    /// the versions that run like it, and what each version runs; `None`
    /// when the template is gone.
    async fn versions_of(&self, id: &str, spec: &LaunchSpec) -> CloudResult<Option<Versions>> {
        let found = self
            .ec2
            .describe_launch_template_versions()
            .launch_template_id(id)
            .max_results(200)
            .send()
            .await
            .map_err(|e| api_error("DescribeLaunchTemplateVersions", e));
        let versions = match found {
            Ok(r) => r.launch_template_versions().to_vec(),
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let (fingerprint, runs_like) = (spec.fingerprint(), spec.runs_like());
        // Versions made before `runs` was written carry the fingerprint alone.
        let parts = |v: &LaunchTemplateVersion| {
            let text = v.version_description().unwrap_or_default();
            let (own, runs) = text.split_once(RUNS).unwrap_or((text, ""));
            (own.to_string(), runs.to_string())
        };
        let numbered = |wanted: &dyn Fn(&(String, String)) -> bool| {
            versions
                .iter()
                .filter(|v| wanted(&parts(v)))
                .filter_map(|v| v.version_number())
                .collect::<Vec<i64>>()
        };
        let launching = numbered(&|(own, _)| *own == fingerprint).into_iter().max();
        let alike = numbered(&|(own, runs)| *own == fingerprint || *runs == runs_like);
        let runs = versions
            .iter()
            .filter_map(|v| Some((v.version_number()?, parts(v).1)))
            .collect();
        Ok(Some((launching, alike, runs)))
    }

    async fn create_template(&self, stack: &str, spec: &LaunchSpec) -> CloudResult<Template> {
        let made = self
            .ec2
            .create_launch_template()
            .launch_template_name(template_name(stack))
            .version_description(spec.description())
            .launch_template_data(spec.data(stack))
            .tag_specifications(ec2_spec(
                ResourceType::LaunchTemplate,
                stack,
                &template_name(stack),
            ))
            .send()
            .await
            .map_err(|e| api_error("CreateLaunchTemplate", e))?;
        let template = made.launch_template().ok_or_else(|| {
            CloudError::api(
                "CreateLaunchTemplate",
                "NoTemplate",
                "no template in the answer",
            )
        })?;
        let version = template.latest_version_number().unwrap_or(1);
        Ok(Template {
            id: template
                .launch_template_id()
                .unwrap_or_default()
                .to_string(),
            version,
            alike: vec![version],
            runs: vec![(version, spec.runs_like())],
        })
    }

    async fn new_version(&self, id: &str, stack: &str, spec: &LaunchSpec) -> CloudResult<i64> {
        let made = self
            .ec2
            .create_launch_template_version()
            .launch_template_id(id)
            .version_description(spec.description())
            .launch_template_data(spec.data(stack))
            .send()
            .await
            .map_err(|e| api_error("CreateLaunchTemplateVersion", e))?;
        made.launch_template_version()
            .and_then(|v| v.version_number())
            .ok_or_else(|| {
                CloudError::api(
                    "CreateLaunchTemplateVersion",
                    "NoVersion",
                    "no version in the answer",
                )
            })
    }

    /// Delete the template with every version; gone is fine.
    pub(super) async fn delete_launch_template(&self, s: &mut Session) -> CloudResult<()> {
        let Some(id) = s.state().launch_template_id.clone() else {
            return Ok(());
        };
        let deleted = self
            .ec2
            .delete_launch_template()
            .launch_template_id(&id)
            .send()
            .await
            .map_err(|e| api_error("DeleteLaunchTemplate", e));
        match deleted {
            Ok(_) => {}
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(e),
        }
        s.record(|st| {
            st.launch_template_id = None;
            st.launch_template_version = None;
        })?;
        Ok(())
    }
}

fn is_missing(e: &CloudError) -> bool {
    code_of(e).is_some_and(|c| c.contains("NotFound") || c.contains("NotFoundException"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LaunchSpec {
        LaunchSpec {
            ami: "ami-1".into(),
            instance_type: "t3.medium".into(),
            user_data: "IyEvYmluL2Jhc2g=".into(),
            profile: "demo-geusemaker".into(),
            security_group: "sg-1".into(),
            root_device: "/dev/xvda".into(),
            root_gb: 30,
        }
    }

    #[test]
    fn a_changed_spec_has_another_fingerprint() {
        assert_eq!(spec().fingerprint(), spec().fingerprint());
        let mut other = spec();
        other.instance_type = "t3.large".into();
        assert_ne!(spec().fingerprint(), other.fingerprint());
        assert!(
            spec().description().len() <= 255,
            "a version description's limit"
        );
    }

    #[test]
    fn a_failed_switch_goes_back_to_the_newest_version_running_like_the_old_one() {
        let template = Template {
            id: "lt-1".into(),
            version: 3,
            alike: vec![3],
            runs: vec![
                (1, "a".into()),
                (2, "a".into()),
                (3, "b".into()),
                (4, String::new()),
            ],
        };
        assert_eq!(template.newest_like(1), 2, "the image baked since");
        assert_eq!(template.newest_like(3), 3);
        assert_eq!(template.newest_like(4), 4, "made before runs was written");
        assert_eq!(template.newest_like(9), 9, "unknown");
    }

    #[test]
    fn a_spec_with_another_image_runs_alike_and_one_with_another_type_does_not() {
        let mut baked = spec();
        baked.ami = "ami-baked".into();
        baked.root_device = "/dev/sda1".into();
        assert_ne!(baked.fingerprint(), spec().fingerprint());
        assert_eq!(baked.runs_like(), spec().runs_like());
        let mut larger = spec();
        larger.instance_type = "t3.large".into();
        assert_ne!(larger.runs_like(), spec().runs_like());
        assert!(spec().description().starts_with(&spec().fingerprint()));
    }

    #[test]
    fn the_template_requires_imdsv2_with_one_hop() {
        let data = spec().data("demo");
        let imds = data.metadata_options().expect("metadata options");
        assert_eq!(
            imds.http_tokens(),
            Some(&LaunchTemplateHttpTokensState::Required)
        );
        assert_eq!(imds.http_put_response_hop_limit(), Some(1));
        let root = &data.block_device_mappings()[0];
        assert_eq!(root.ebs().and_then(|e| e.encrypted()), Some(true));
    }
}
