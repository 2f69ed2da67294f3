//! EFS: encrypted, general purpose, backups on, found again by its creation
//! token `geusemaker-<stack>`; a mount target in each zone the stack uses,
//! inside the EFS security group.

use aws_sdk_efs::types::{
    FileSystemDescription, LifeCycleState, PerformanceMode, Tag, ThroughputMode,
};

use super::AwsCloud;
use super::ec2_security::stack_groups;
use super::errors::{api_error, code_of};
use super::tags::{pairs, short_hash};
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};
use crate::domain::DeploymentState;

/// EFS creation tokens are at most 64 characters
/// (<https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html>):
/// `geusemaker-<stack>` (the Python GeuseMaker's token) when it fits, else
/// the name cut short with a hash of the whole.
pub fn creation_token(stack: &str) -> String {
    const LIMIT: usize = 64;
    let full = format!("geusemaker-{stack}");
    if full.len() <= LIMIT {
        return full;
    }
    let head = full[..LIMIT - 9].trim_end_matches('-');
    format!("{head}-{:08x}", short_hash(&full))
}

/// An available mount target in each of `subnets`, among (id, subnet, state).
fn all_available(subnets: &[String], targets: &[(String, String, String)]) -> bool {
    subnets.iter().all(|subnet| {
        targets
            .iter()
            .any(|(_, on, state)| on == subnet && state == "available")
    })
}

impl AwsCloud {
    pub(super) async fn storage(&self, req: &DeployRequest, s: &mut Session) -> CloudResult<()> {
        let stack = req.stack.as_str();
        let fs_id = match self.file_system(stack).await? {
            Some(fs) => fs.file_system_id().to_string(),
            None => {
                s.progress(Some(0.0), "creating encrypted EFS")?;
                self.create_file_system(stack).await?
            }
        };
        s.record(|st| {
            st.efs_id = Some(fs_id.clone());
            st.set_provenance("efs", true);
        })?;
        let fs = self
            .wait_for(s, "EFS creating", || async {
                let fs = self.describe_file_system(&fs_id).await?;
                Ok(fs.filter(|f| *f.life_cycle_state() == LifeCycleState::Available))
            })
            .await?;
        let size = fs.size_in_bytes().map(|b| b.value().max(0) as u64);
        s.record(|st| st.efs_size_bytes = size)?;
        self.mount_targets(s, &fs_id).await
    }

    pub(super) async fn file_system(
        &self,
        stack: &str,
    ) -> CloudResult<Option<FileSystemDescription>> {
        let r = self
            .efs
            .describe_file_systems()
            .creation_token(creation_token(stack))
            .send()
            .await
            .map_err(|e| api_error("DescribeFileSystems", e))?;
        Ok(r.file_systems().first().cloned())
    }

    async fn describe_file_system(&self, id: &str) -> CloudResult<Option<FileSystemDescription>> {
        let r = self
            .efs
            .describe_file_systems()
            .file_system_id(id)
            .send()
            .await;
        match r {
            Ok(r) => Ok(r.file_systems().first().cloned()),
            Err(e) => {
                let e = api_error("DescribeFileSystems", e);
                if code_of(&e) == Some("FileSystemNotFound") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn create_file_system(&self, stack: &str) -> CloudResult<String> {
        let tags = pairs(stack, &format!("{stack}-data"))
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CloudError::api("CreateFileSystem", "BadTag", e.to_string()))?;
        let created = self
            .efs
            .create_file_system()
            .creation_token(creation_token(stack))
            .performance_mode(PerformanceMode::GeneralPurpose)
            // Bursting starves a small EFS holding models (50 KiB/s per GiB
            // once credits run out); elastic is billed per GB moved.
            .throughput_mode(ThroughputMode::Elastic)
            .encrypted(true)
            .backup(true)
            .set_tags(Some(tags))
            .send()
            .await;
        match created {
            Ok(fs) => Ok(fs.file_system_id().to_string()),
            Err(e) => {
                let e = api_error("CreateFileSystem", e);
                // Created by a run that died before recording it: the token finds it.
                if code_of(&e) == Some("FileSystemAlreadyExists") {
                    return self
                        .file_system(stack)
                        .await?
                        .map(|fs| fs.file_system_id().to_string())
                        .ok_or(e);
                }
                Err(e)
            }
        }
    }

    async fn mount_targets(&self, s: &mut Session, fs_id: &str) -> CloudResult<()> {
        let sg = s
            .state()
            .efs_security_group_id
            .clone()
            .ok_or_else(|| CloudError::Refused("no EFS security group recorded".into()))?;
        let subnets = s.state().subnet_ids.clone();
        let existing = self.mount_target_list(fs_id).await?;
        let mut ids: Vec<String> = Vec::new();
        for (i, subnet) in subnets.iter().enumerate() {
            s.progress(
                Some(0.5 * i as f64 / subnets.len() as f64),
                format!("mount targets {i}/{}", subnets.len()),
            )?;
            let id = match existing.iter().find(|m| m.1 == *subnet) {
                Some((id, _, _)) => id.clone(),
                None => {
                    let created = self
                        .efs
                        .create_mount_target()
                        .file_system_id(fs_id)
                        .subnet_id(subnet)
                        .security_groups(&sg)
                        .send()
                        .await;
                    match created {
                        Ok(mt) => mt.mount_target_id().to_string(),
                        Err(e) => {
                            let e = api_error("CreateMountTarget", e);
                            // One per zone: a target made by an earlier run is found again.
                            if code_of(&e) != Some("MountTargetConflict") {
                                return Err(e);
                            }
                            let again = self.mount_target_list(fs_id).await?;
                            match again.into_iter().find(|m| m.1 == *subnet) {
                                Some((id, _, _)) => id,
                                None => return Err(e),
                            }
                        }
                    }
                }
            };
            s.record(|st| {
                if !st.efs_mount_target_ids.contains(&id) {
                    st.efs_mount_target_ids.push(id.clone());
                }
            })?;
            ids.push(id);
        }
        Ok(())
    }

    /// Whether the file system has an available mount target in each of
    /// the stack's subnets.
    pub(super) async fn mount_targets_ready(&self, state: &DeploymentState) -> CloudResult<bool> {
        let Some(fs_id) = state.efs_id.as_deref() else {
            return Ok(true);
        };
        let now = self.mount_target_list(fs_id).await?;
        Ok(all_available(&state.subnet_ids, &now))
    }

    /// Until the file system has an available mount target in each of the
    /// stack's subnets.
    pub(super) async fn mount_targets_available(&self, s: &mut Session) -> CloudResult<()> {
        let Some(fs_id) = s.state().efs_id.clone() else {
            return Ok(());
        };
        let subnets = s.state().subnet_ids.clone();
        let total = subnets.len();
        self.wait_for(s, &format!("mount targets 0/{total} available"), || async {
            let now = self.mount_target_list(&fs_id).await?;
            Ok(all_available(&subnets, &now).then_some(()))
        })
        .await?;
        s.progress(Some(1.0), format!("mount targets {total}/{total}"))?;
        Ok(())
    }

    /// (id, subnet, state) of the file system's mount targets.
    async fn mount_target_list(&self, fs_id: &str) -> CloudResult<Vec<(String, String, String)>> {
        let r = self
            .efs
            .describe_mount_targets()
            .file_system_id(fs_id)
            .send()
            .await
            .map_err(|e| api_error("DescribeMountTargets", e))?;
        Ok(r.mount_targets()
            .iter()
            .map(|m| {
                (
                    m.mount_target_id().to_string(),
                    m.subnet_id().to_string(),
                    m.life_cycle_state().as_str().to_string(),
                )
            })
            .collect())
    }

    pub(super) async fn storage_bytes(&self, fs_id: &str) -> CloudResult<Option<u64>> {
        Ok(self
            .describe_file_system(fs_id)
            .await?
            .and_then(|f| f.size_in_bytes().map(|b| b.value().max(0) as u64)))
    }

    /// Mount targets first (waiting until they are gone), then the file
    /// system, then its security group (also when no EFS was ever made).
    pub(super) async fn delete_file_system(&self, s: &mut Session) -> CloudResult<()> {
        if let Some(fs_id) = s.state().efs_id.clone() {
            self.delete_recorded_file_system(s, &fs_id).await?;
        }
        if let Some(sg) = s.state().efs_security_group_id.clone() {
            s.progress(Some(0.9), format!("deleting EFS security group {sg}"))?;
            self.delete_group(&sg, &stack_groups(s.state())).await?;
            s.record(|st| st.efs_security_group_id = None)?;
        }
        Ok(())
    }

    async fn delete_recorded_file_system(&self, s: &mut Session, fs_id: &str) -> CloudResult<()> {
        let fs_id = fs_id.to_string();
        if self.describe_file_system(&fs_id).await?.is_some() {
            for (id, _, _) in self.mount_target_list(&fs_id).await? {
                s.progress(Some(0.1), format!("deleting mount target {id}"))?;
                let deleted = self
                    .efs
                    .delete_mount_target()
                    .mount_target_id(&id)
                    .send()
                    .await;
                if let Err(e) = deleted {
                    let e = api_error("DeleteMountTarget", e);
                    if code_of(&e) != Some("MountTargetNotFound") {
                        return Err(e);
                    }
                }
            }
            self.wait_for(s, "mount targets deleting", || async {
                Ok(self
                    .mount_target_list(&fs_id)
                    .await?
                    .is_empty()
                    .then_some(()))
            })
            .await?;
            s.record(|st| st.efs_mount_target_ids.clear())?;
            s.progress(Some(0.6), format!("deleting {fs_id}"))?;
            self.wait_for(s, "file system deleting", || async {
                match self
                    .efs
                    .delete_file_system()
                    .file_system_id(&fs_id)
                    .send()
                    .await
                {
                    Ok(_) => Ok(Some(())),
                    Err(e) => {
                        let e = api_error("DeleteFileSystem", e);
                        match code_of(&e) {
                            Some("FileSystemNotFound") => Ok(Some(())),
                            Some("FileSystemInUse") => Ok(None),
                            _ => Err(e),
                        }
                    }
                }
            })
            .await?;
        }
        s.record(|st| {
            st.efs_id = None;
            st.efs_size_bytes = None;
            st.efs_mount_target_ids.clear();
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::creation_token;

    #[test]
    fn creation_tokens_fit_in_64_characters_and_stay_stable() {
        assert_eq!(creation_token("demo"), "geusemaker-demo");
        let long = "a".repeat(63) + "b";
        let token = creation_token(&long);
        assert!(token.len() <= 64, "{token}");
        assert_eq!(token, creation_token(&long));
        assert_ne!(token, creation_token(&("a".repeat(62) + "bb")));
    }
}
