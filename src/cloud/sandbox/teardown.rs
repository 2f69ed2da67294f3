//! Taking a sandbox stack apart, in the order a destroy asks for.

use super::provider::stack_of;
use super::{SandboxCloud, group, timing};
use crate::cloud::{CloudResult, Session};

impl SandboxCloud {
    /// The group set to 0 (it stays, with its template and address, for
    /// a deploy to set it back to 1) and its instance gone.
    pub(super) async fn terminate(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        let speed = self.speed;
        let ending = self
            .call(
                &stack,
                "UpdateAutoScalingGroup",
                timing::lat().delete_simple,
                move |w, now| {
                    let end = now.plus_secs(timing::lat().terminate_instance / speed);
                    w.spot_notice = None;
                    group::scale_in(w, now, end);
                    // A stack deployed before groups, or one the group lost:
                    // whatever still runs goes too.
                    if let Some(i) = w.live_instance_mut() {
                        i.terminated_at = Some(end);
                        i.state_reason = Some(group::SHUTDOWN_CODE.into());
                    }
                    w.instances
                        .iter()
                        .filter(|i| i.terminated_at.is_some_and(|t| t > now))
                        .map(|i| (i.id.clone(), i.terminated_at.unwrap_or(end)))
                        .max_by_key(|(_, t)| *t)
                },
            )
            .await?;
        if let Some((id, end)) = ending {
            let from = self.now();
            self.wait_until(s, from, end, &format!("{id} shutting-down"))
                .await?;
        }
        Ok(())
    }

    pub(super) async fn remove_security_groups(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        self.call(
            &stack,
            "DeleteSecurityGroup",
            timing::lat().delete_simple,
            |w, _| {
                w.instance_sg = None;
            },
        )
        .await?;
        s.record(|st| st.security_group_id = None)?;
        Ok(())
    }

    pub(super) async fn remove_identity(
        &self,
        s: &mut Session,
        with_secrets: bool,
    ) -> CloudResult<()> {
        let stack = stack_of(s);
        self.call(
            &stack,
            "DeleteRole",
            2.0 * timing::lat().delete_simple,
            |w, _| {
                w.role = None;
            },
        )
        .await?;
        s.record(|st| {
            st.iam_role_name = None;
            st.iam_instance_profile_name = None;
        })?;
        if with_secrets {
            self.call(
                &stack,
                "DeleteParameters",
                timing::lat().delete_simple,
                |w, _| {
                    w.secrets.clear();
                },
            )
            .await?;
            s.record(|st| st.secrets_path = None)?;
        }
        Ok(())
    }

    pub(super) async fn remove_storage(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        let count = s.state().efs_mount_target_ids.len();
        s.progress(Some(0.0), format!("deleting {count} mount targets"))?;
        self.call(
            &stack,
            "DeleteMountTarget",
            timing::lat().delete_mount_target,
            |w, _| {
                w.mount_targets.clear();
            },
        )
        .await?;
        s.record(|st| st.efs_mount_target_ids.clear())?;
        s.progress(Some(0.7), "deleting the file system")?;
        self.call(
            &stack,
            "DeleteFileSystem",
            timing::lat().delete_simple,
            |w, _| {
                w.efs = None;
            },
        )
        .await?;
        s.record(|st| {
            st.efs_id = None;
            st.efs_size_bytes = None;
        })?;
        if s.state().efs_security_group_id.is_some() {
            self.call(
                &stack,
                "DeleteSecurityGroup",
                timing::lat().delete_simple,
                |w, _| {
                    w.efs_sg = None;
                },
            )
            .await?;
            s.record(|st| st.efs_security_group_id = None)?;
        }
        Ok(())
    }

    pub(super) async fn remove_network(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        // A default or given VPC is the account's and stays; the stack's
        // record of it goes.
        self.call(
            &stack,
            "DescribeVpcs",
            timing::lat().delete_simple,
            |w, _| {
                w.vpc = None;
                w.instances.clear();
                w.service_events.clear();
            },
        )
        .await?;
        s.record(|st| {
            st.vpc_id = None;
            st.subnet_ids.clear();
        })?;
        let kept = if s.state().created("vpc") {
            "the stack's own VPC deleted"
        } else {
            "the account's VPC kept"
        };
        s.progress(Some(1.0), kept)?;
        Ok(())
    }
}
