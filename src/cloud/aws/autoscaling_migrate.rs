//! A stack deployed before groups runs a bare instance, whose boot took no
//! writer lease. Its next deploy moves it into the group by the same
//! prepare-then-switch as an update: over SSM, the bare instance takes the
//! lease on its own behalf and serves on; the group's instance boots beside
//! it to ready-to-start and waits; then the bare one drains and lets go
//! (`assets/instance/migration.sh`). The EFS and the secrets are the same.
//! When SSM cannot reach it, or the lease is not free, it stops first, as
//! one writer requires.

use aws_sdk_ec2::types::Instance;

use super::AwsCloud;
use super::autoscaling_switch::Outgoing;
use super::ec2_instances::is_live;
use crate::cloud::{CloudResult, Session};
use crate::instance::user_data::{MigrationStep, migration_command};

impl AwsCloud {
    /// The bare instance to switch from, holding the lease for it; `None`
    /// when there is none, or once it has stopped instead.
    pub(super) async fn bare_outgoing(
        &self,
        s: &mut Session,
        group: &str,
    ) -> CloudResult<Option<Outgoing>> {
        let current = s.state().instance_id.clone();
        let Some(id) = self.bare_instance(current, group).await? else {
            return Ok(None);
        };
        let said = self
            .run_on_instance(&id, &migration_command(MigrationStep::Hold))
            .await?;
        let why = match said.as_deref().map(str::trim) {
            Some("holding") => {
                s.progress(
                    None,
                    format!(
                        "moving into a group: {id} holds the writer lease and serves on \
                         while the group's instance boots (the EFS and secrets stay)"
                    ),
                )?;
                return Ok(Some(Outgoing {
                    id,
                    version: None,
                    bare: true,
                }));
            }
            Some("held-elsewhere") => "another instance holds the writer lease",
            Some("not-mounted") => "its EFS is not mounted",
            _ => "SSM cannot reach it",
        };
        s.progress(
            None,
            format!("moving into a group: {why}, so {id} stops first (the EFS stays)"),
        )?;
        self.terminate_by_id(s, &id).await?;
        Ok(None)
    }

    /// The state's instance, while it runs outside any group.
    async fn bare_instance(
        &self,
        current: Option<String>,
        group: &str,
    ) -> CloudResult<Option<String>> {
        let Some(id) = current else {
            return Ok(None);
        };
        let member = self.describe_group(group).await?.is_some_and(|g| {
            g.instances()
                .iter()
                .any(|i| i.instance_id() == Some(id.as_str()))
        });
        let bare = self
            .describe_instance(&id)
            .await?
            .filter(|i| is_live(i) && !launched_by_a_group(i));
        Ok(bare.filter(|_| !member).map(|_| id))
    }
}

/// Whether EC2 says an Auto Scaling group launched it.
fn launched_by_a_group(instance: &Instance) -> bool {
    instance
        .tags()
        .iter()
        .any(|t| t.key() == Some("aws:autoscaling:groupName"))
}
