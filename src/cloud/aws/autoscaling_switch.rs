//! Prepare, then switch: how a deliberate change (an update, a rollback)
//! replaces the stack's instance with one writer at every moment.
//!
//! 1. The group, at two, launches the new version beside the old one, which
//!    serves. The new one boots to ready-to-start (images pulled, EFS
//!    mounted) and waits there for the writer lease.
//! 2. Its launch hook's timeout is restarted (a heartbeat), so it has a whole
//!    one to become healthy; then the old one drains and releases the lease
//!    (SSM: `switch.sh release`).
//! 3. The new one takes it, starts, and completes its launch hook: in service.
//! 4. The old one is terminated and the group is one of one again.
//!
//! A new one that never becomes ready is dropped before the old one stops;
//! one that never becomes healthy lets go, is dropped, and the old one takes
//! the lease back (`switch.sh resume`). AZRebalance is suspended throughout:
//! it too would launch before terminating. Each step is read back from AWS,
//! so a deploy run again after a crash picks the switch up where it was.

use std::time::Duration;

use aws_sdk_autoscaling::types::AutoScalingGroup;
use aws_sdk_ec2::types::Instance;

use super::AwsCloud;
use super::autoscaling::GroupSpec;
use super::errors::api_error;
use crate::cloud::{CloudError, CloudResult, Session};
use crate::domain::switch::{self, Switch, SwitchOutcome};
use crate::instance::user_data::{MigrationStep, migration_command};

/// The instance's stage markers (tagged, so the strict emulator answers).
const STAGE: &str = "# geusemaker:stage\ncat /var/lib/geusemaker/stage 2>/dev/null || true";
const RELEASE: &str = "# geusemaker:switch-release\n/opt/geusemaker/switch.sh release";
const RESUME: &str = "# geusemaker:switch-resume\n/opt/geusemaker/switch.sh resume";
/// A drain is bounded by the two minutes of a spot notice.
const DRAIN_WAIT: Duration = Duration::from_secs(180);
/// Taking the lease back may wait out a dropped holder's NFS lease (90 s).
const RESUME_WAIT: Duration = Duration::from_secs(240);
/// Markers of a boot that is ready to start, or past it.
const READY: [&str; 2] = ["ready-to-start", "lease-taken"];
/// Written by `switch.sh resume` once the old one runs again.
const RESUMED: &str = "resumed";
const AZ_REBALANCE: &str = "AZRebalance";
/// drain.sh gives pg_dump ten minutes.
const DUMP_WAIT: Duration = Duration::from_secs(600);

/// What the old instance's drain said.
enum Released {
    Yes,
    NotHolding,
    /// It could not dump n8n's database, started n8n again and serves on.
    DumpFailed,
}
/// New instances whose launch hook may run out before a switch drains.
const HOOK_TRIES: usize = 3;

/// The instance a switch replaces: a live member on another version, or
/// a bare instance from before groups (no member, no version).
#[derive(Clone, Debug)]
pub(super) struct Outgoing {
    pub id: String,
    pub version: Option<i64>,
    pub bare: bool,
}

impl Outgoing {
    fn member(m: &aws_sdk_autoscaling::types::Instance) -> Option<Self> {
        Some(Self {
            id: m.instance_id()?.to_string(),
            version: version_of(m),
            bare: false,
        })
    }

    /// Its drain (or resume): the installed `switch.sh`, or for a bare
    /// instance, which has none, `migration.sh` sent whole. `database`: the
    /// drain dumps n8n's database there, and the resume restores it.
    fn command(&self, resume: bool, database: Option<&str>) -> String {
        let step = if resume {
            MigrationStep::Resume
        } else {
            MigrationStep::Release
        };
        let (command, flag) = match resume {
            false => (RELEASE, "--dump"),
            true => (RESUME, "--restore"),
        };
        match (self.bare, database) {
            (true, _) => migration_command(step),
            (false, None) => command.to_string(),
            (false, Some(path)) => format!("{command} {flag} {path}"),
        }
    }
}

fn leaving(member: &aws_sdk_autoscaling::types::Instance) -> bool {
    member
        .lifecycle_state()
        .is_some_and(|l| l.as_str().starts_with("Terminat"))
}

fn version_of(member: &aws_sdk_autoscaling::types::Instance) -> Option<i64> {
    member
        .launch_template()
        .and_then(|t| t.version())
        .and_then(|v| v.parse().ok())
}

/// Whether the marker file has any of `names`.
fn written(markers: &str, names: &[&str]) -> bool {
    markers
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .any(|m| names.contains(&m))
}

/// The live member on a version not in `alike`, in service first.
fn outgoing_of(group: &AutoScalingGroup, alike: &[i64]) -> Option<Outgoing> {
    let mut old: Vec<_> = group
        .instances()
        .iter()
        .filter(|m| !leaving(m) && version_of(m).is_some_and(|v| !alike.contains(&v)))
        .collect();
    old.sort_by_key(|m| m.lifecycle_state().map(|l| l.as_str()) != Some("InService"));
    Outgoing::member(old.first()?)
}

impl AwsCloud {
    /// The instance to switch from: one on a version that does not run
    /// like `alike`'s, or `replace` (a rollback's fresh instance) while it is
    /// still a live member.
    pub(super) async fn outgoing(
        &self,
        name: &str,
        alike: &[i64],
        replace: Option<&str>,
    ) -> CloudResult<Option<Outgoing>> {
        let Some(group) = self.describe_group(name).await? else {
            return Ok(None);
        };
        let current = group
            .instances()
            .iter()
            .find(|m| !leaving(m) && m.instance_id().is_some() && m.instance_id() == replace);
        Ok(match current {
            Some(m) => Outgoing::member(m),
            None => outgoing_of(&group, alike),
        })
    }

    /// Switch from `old` to the group's new instance on `spec.version` (the
    /// group is at two). Returns the new instance, in service.
    pub(super) async fn switch(
        &self,
        s: &mut Session,
        spec: &GroupSpec,
        name: &str,
        old: &Outgoing,
    ) -> CloudResult<Instance> {
        self.rebalancing(name, false).await?;
        let mut record = Switch {
            from_instance: old.id.clone(),
            to_instance: None,
            to_version: spec.version,
            started_at: s.now(),
            ready_at: None,
            stopped_at: None,
            serving_at: None,
            outcome: SwitchOutcome::Abandoned,
            database_dump: None,
            database_restored: false,
        };
        let result = self.switch_over(s, spec, name, old, &mut record).await;
        s.record(|st| switch::push(&mut st.switches, record.clone()))?;
        s.progress(None, record.summary())?;
        self.rebalancing(name, true).await?;
        result
    }

    async fn switch_over(
        &self,
        s: &mut Session,
        spec: &GroupSpec,
        name: &str,
        old: &Outgoing,
        record: &mut Switch,
    ) -> CloudResult<Instance> {
        let v = spec.version;
        // A bare instance's migration script has no dump to take.
        if old.bare && spec.database_dump.is_some() {
            let why = CloudError::Refused(format!(
                "{} is from before Auto Scaling groups and cannot dump n8n's database first; deploy the stack once to move it into its group, then update",
                old.id
            ));
            return Err(self.abandon(s, spec, name, old, why).await);
        }
        let what = format!("version {v} launching beside {}, which serves", old.id);
        let new = self
            .wait_for(s, &what, || self.member_running(name, v, &old.id))
            .await;
        let new = match new {
            Ok(new) => new,
            Err(e) => return Err(self.abandon(s, spec, name, old, e).await),
        };
        record.to_instance = new.instance_id().map(str::to_string);
        let new = match self.ready_and_held(s, name, v, old, record).await {
            Ok(new) => new,
            Err(e) => return Err(self.abandon(s, spec, name, old, e).await),
        };
        let new_id = new.instance_id().unwrap_or_default().to_string();
        record.ready_at = Some(s.now());
        s.progress(
            None,
            format!(
                "{} draining: n8n, PostgreSQL, Qdrant's last snapshot, then the lease",
                old.id
            ),
        )?;
        // The outage starts with the drain: n8n stops first.
        record.stopped_at = Some(s.now());
        let dump = spec.database_dump.as_deref();
        let released = match self.release(&old.id, &old.command(false, dump)).await? {
            Released::Yes => true,
            Released::NotHolding => false,
            Released::DumpFailed => {
                record.stopped_at = None;
                self.back_to(s, spec, name, old).await?;
                return Err(CloudError::Refused(format!(
                    "n8n's database could not be dumped to {} before the newer n8n; {} serves on and nothing changed",
                    dump.unwrap_or_default(),
                    old.id
                )));
            }
        };
        record.database_dump = dump.filter(|_| released).map(str::to_string);
        let what = format!("{new_id} taking the lease and going in service");
        match self
            .wait_for(s, &what, || self.in_service(name, &new_id))
            .await
        {
            Ok(()) => {
                record.serving_at = Some(s.now());
                record.outcome = SwitchOutcome::Switched;
                self.retire(s, spec, name, old).await?;
                Ok(new)
            }
            Err(e) if released => {
                // The new n8n may have migrated the database meanwhile.
                let restore = record.database_dump.clone();
                self.fall_back(s, spec, name, old, restore.as_deref())
                    .await?;
                record.database_restored = restore.is_some();
                record.serving_at = Some(s.now());
                record.outcome = SwitchOutcome::FellBack;
                Err(CloudError::Refused(format!(
                    "version {v} never became healthy ({e}); {} serves again",
                    old.id
                )))
            }
            // The old one served nothing: nothing to go back to.
            Err(e) => Err(e),
        }
    }

    /// The new member once it is ready to start and its launch hook's
    /// timeout is restarted (or it is in service already). Only then is the
    /// old one worth draining: one whose hook ran out meanwhile (a deploy
    /// cut short, run again later) is on its way out, and the group's
    /// replacement is the one to wait for.
    async fn ready_and_held(
        &self,
        s: &mut Session,
        name: &str,
        version: i64,
        old: &Outgoing,
        record: &mut Switch,
    ) -> CloudResult<Instance> {
        for _ in 0..HOOK_TRIES {
            let who = record.to_instance.clone().unwrap_or_default();
            let what = format!("{who} booting to ready-to-start while {} serves", old.id);
            let new = self
                .wait_for(s, &what, || self.ready_member(name, version, &old.id))
                .await?;
            let id = new.instance_id().unwrap_or_default().to_string();
            record.to_instance = Some(id.clone());
            match self.in_service(name, &id).await {
                // Past its hook: a run cut short after the old one drained.
                Ok(Some(())) => return Ok(new),
                Ok(None) if self.extend_hook(name, &id).await? => return Ok(new),
                _ => {}
            }
            s.progress(
                None,
                format!("{id}'s launch hook ran out; waiting for its replacement"),
            )?;
        }
        Err(CloudError::Refused(format!(
            "{HOOK_TRIES} new instances of version {version} ran out their launch hook before the switch"
        )))
    }

    /// The group's running member on `version`, other than `old`.
    async fn member_running(
        &self,
        name: &str,
        version: i64,
        old: &str,
    ) -> CloudResult<Option<Instance>> {
        let Some(group) = self.describe_group(name).await? else {
            return Err(CloudError::Refused(format!("the group {name} is gone")));
        };
        let member = group.instances().iter().find(|m| {
            !leaving(m) && version_of(m) == Some(version) && m.instance_id() != Some(old)
        });
        let Some(id) = member.and_then(|m| m.instance_id()) else {
            return Ok(None);
        };
        let instance = self.describe_instance(id).await?;
        let running = instance
            .as_ref()
            .and_then(|i| i.state())
            .and_then(|st| st.name())
            .is_some_and(|n| n.as_str() == "running");
        Ok(instance.filter(|_| running))
    }

    /// The new member once its boot is ready to start. Asked afresh each
    /// time: one its launch hook gave up on is replaced by the group, and
    /// the replacement is the one to wait for.
    async fn ready_member(
        &self,
        name: &str,
        version: i64,
        old: &str,
    ) -> CloudResult<Option<Instance>> {
        let Some(new) = self.member_running(name, version, old).await? else {
            return Ok(None);
        };
        let ready = self
            .ready_to_start(new.instance_id().unwrap_or_default())
            .await?;
        Ok(ready.map(|()| new))
    }

    /// Whether its boot has reached ready-to-start (or gone past it).
    async fn ready_to_start(&self, id: &str) -> CloudResult<Option<()>> {
        let markers = self.run_on_instance(id, STAGE).await?.unwrap_or_default();
        if let Some(failed) = crate::instance::boot::failure(&markers) {
            return Err(CloudError::Refused(format!(
                "{id}'s boot failed at {failed}"
            )));
        }
        Ok(written(&markers, &READY).then_some(()))
    }

    async fn has_marker(&self, id: &str, marker: &str) -> CloudResult<Option<()>> {
        let markers = self.run_on_instance(id, STAGE).await?.unwrap_or_default();
        Ok(written(&markers, &[marker]).then_some(()))
    }

    /// The old one goes once the new one serves: a member is dropped and
    /// the group is one of one again; a bare one is terminated. Done once
    /// it is gone, as a terminate is.
    async fn retire(
        &self,
        s: &mut Session,
        spec: &GroupSpec,
        name: &str,
        old: &Outgoing,
    ) -> CloudResult<()> {
        if old.bare {
            return self.terminate_by_id(s, &old.id).await;
        }
        self.drop_member(name, &old.id).await?;
        let one = GroupSpec {
            capacity: 1,
            ..spec.clone()
        };
        self.ensure_group(s, &one).await?;
        self.wait_terminated(s, &old.id).await
    }

    /// Drain `id` and release its lease (`command`): whether it held the
    /// lease (and so served); an instance SSM cannot reach is not serving
    /// either, and its lock, if any, expires. A dump asked first may take
    /// longer than a drain.
    async fn release(&self, id: &str, command: &str) -> CloudResult<Released> {
        let wait = if command.contains("--dump") {
            DRAIN_WAIT + DUMP_WAIT
        } else {
            DRAIN_WAIT
        };
        let said = self.run_on_instance_within(id, command, wait).await?;
        let last = said.as_deref().map(str::trim_end).unwrap_or_default();
        Ok(if last.ends_with("dump-failed") {
            Released::DumpFailed
        } else if last.ends_with("released") {
            Released::Yes
        } else {
            Released::NotHolding
        })
    }

    /// Ok once `id` is in service; an error at once if it left the group.
    async fn in_service(&self, name: &str, id: &str) -> CloudResult<Option<()>> {
        let group = self.describe_group(name).await?;
        let member = group
            .as_ref()
            .and_then(|g| g.instances().iter().find(|m| m.instance_id() == Some(id)));
        match member {
            Some(m) if m.lifecycle_state().map(|l| l.as_str()) == Some("InService") => Ok(Some(())),
            Some(m) if !leaving(m) => Ok(None),
            _ => Err(CloudError::Refused(format!(
                "{id} left {name} before it was healthy (its launch hook was abandoned or timed out)"
            ))),
        }
    }

    /// The new version never became ready: drop what it launched; the old
    /// one never stopped. The error says why.
    async fn abandon(
        &self,
        s: &mut Session,
        spec: &GroupSpec,
        name: &str,
        old: &Outgoing,
        why: CloudError,
    ) -> CloudError {
        match self.back_to(s, spec, name, old).await {
            Ok(()) => CloudError::Refused(format!(
                "version {} never became ready to start ({why}); {} went on serving",
                spec.version, old.id
            )),
            Err(e) => e,
        }
    }

    /// The new one let go, is dropped, and the old one takes the lease back.
    async fn fall_back(
        &self,
        s: &mut Session,
        spec: &GroupSpec,
        name: &str,
        old: &Outgoing,
        restore: Option<&str>,
    ) -> CloudResult<()> {
        self.back_to(s, spec, name, old).await?;
        let restoring = restore
            .map(|path| format!(", restoring n8n's database from {path}"))
            .unwrap_or_default();
        s.progress(None, format!("{} taking the lease back{restoring}", old.id))?;
        let wait = RESUME_WAIT + restore.map_or(Duration::ZERO, |_| DUMP_WAIT);
        let said = self
            .run_on_instance_within(&old.id, &old.command(true, restore), wait)
            .await?;
        if said.is_some_and(|out| out.trim_end().ends_with("restore-failed")) {
            return Err(CloudError::Refused(format!(
                "{} could not restore n8n's database from {}, so its n8n stays stopped rather than run on a database it cannot read; restore it by hand (`ssm-session {}`), then `restart {} n8n`",
                old.id,
                restore.unwrap_or_default(),
                s.state().stack_name,
                s.state().stack_name
            )));
        }
        // Its marker says it holds the lease and runs again.
        let what = format!("{} starting again under the lease", old.id);
        self.wait_for(s, &what, || self.has_marker(&old.id, RESUMED))
            .await?;
        // A bare one never had the address: its own stayed with it.
        if let Some(allocation) = s.state().elastic_ip_allocation_id.clone()
            && !old.bare
        {
            self.claim_address(&allocation, &old.id).await?;
        }
        Ok(())
    }

    /// Every member but `old` lets go of the lease and is dropped; the group
    /// launches `old`'s version again, one of one, or for a bare `old`
    /// (which serves outside it) stays at none until the next deploy.
    async fn back_to(
        &self,
        s: &mut Session,
        spec: &GroupSpec,
        name: &str,
        old: &Outgoing,
    ) -> CloudResult<()> {
        let others: Vec<String> = self
            .describe_group(name)
            .await?
            .map(|g| {
                g.instances()
                    .iter()
                    .filter(|m| !leaving(m) && m.instance_id() != Some(old.id.as_str()))
                    .filter_map(|m| m.instance_id().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for id in &others {
            // At once, rather than its lock expiring after it is gone.
            let _ = self.release(id, RELEASE).await;
            self.drop_member(name, id).await?;
        }
        if old.bare {
            return self.resize_group(name, 0).await;
        }
        let back = GroupSpec {
            version: old.version.unwrap_or(spec.version),
            capacity: 1,
            ..spec.clone()
        };
        self.ensure_group(s, &back).await
    }

    /// Terminate a member and shrink the group by one, so nothing replaces it.
    async fn drop_member(&self, name: &str, id: &str) -> CloudResult<()> {
        let dropped = self
            .autoscaling
            .terminate_instance_in_auto_scaling_group()
            .instance_id(id)
            .should_decrement_desired_capacity(true)
            .send()
            .await
            .map_err(|e| api_error("TerminateInstanceInAutoScalingGroup", e));
        let Err(e) = dropped else {
            return Ok(());
        };
        // A retry after the first call took it out: AWS says no group holds it.
        let still = self.describe_group(name).await?.is_some_and(|g| {
            g.instances()
                .iter()
                .any(|m| m.instance_id() == Some(id) && !leaving(m))
        });
        if still { Err(e) } else { Ok(()) }
    }

    /// AZRebalance back on if a switch cut short left it suspended.
    pub(super) async fn rebalancing_restored(&self, name: &str) -> CloudResult<()> {
        let suspended = self.describe_group(name).await?.is_some_and(|g| {
            g.suspended_processes()
                .iter()
                .any(|p| p.process_name() == Some(AZ_REBALANCE))
        });
        if suspended {
            self.rebalancing(name, true).await?;
        }
        Ok(())
    }

    /// AZRebalance off during a switch (it launches before it terminates).
    async fn rebalancing(&self, name: &str, on: bool) -> CloudResult<()> {
        // The two calls take the same input; their builders share no trait.
        macro_rules! az_rebalance {
            ($call:ident, $op:literal) => {
                self.autoscaling
                    .$call()
                    .auto_scaling_group_name(name)
                    .scaling_processes(AZ_REBALANCE)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| api_error($op, e))
            };
        }
        if on {
            az_rebalance!(resume_processes, "ResumeProcesses")
        } else {
            az_rebalance!(suspend_processes, "SuspendProcesses")
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_autoscaling::types::{Instance as Member, LaunchTemplateSpecification};

    use super::*;

    fn member(id: &str, version: &str, state: &str) -> Member {
        Member::builder()
            .instance_id(id)
            .lifecycle_state(state.into())
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .version(version)
                    .build(),
            )
            .build()
    }

    #[test]
    fn the_outgoing_instance_is_the_live_one_on_another_version() {
        let group = AutoScalingGroup::builder()
            .instances(member("i-leaving", "1", "Terminating"))
            .instances(member("i-new", "3", "Pending:Wait"))
            .instances(member("i-waiting", "2", "Pending:Wait"))
            .instances(member("i-old", "2", "InService"))
            .build();
        let old = outgoing_of(&group, &[3]).expect("one to switch from");
        assert_eq!((old.id.as_str(), old.version), ("i-old", Some(2)));
        let settled = AutoScalingGroup::builder()
            .instances(member("i-new", "3", "InService"))
            .instances(member("i-leaving", "2", "Terminating"))
            .build();
        assert!(
            outgoing_of(&settled, &[3]).is_none(),
            "nothing left to switch"
        );
        // Version 4 differs from 2 in its image alone: i-old is current.
        assert!(
            outgoing_of(&group, &[2, 3, 4]).is_none(),
            "an image is no switch"
        );
    }
}
