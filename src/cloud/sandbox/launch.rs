//! The instance stage on the sandbox, as on AWS: a launch template version,
//! dev's Elastic IP, then the Auto Scaling group of one, which launches the
//! instance; and the group's removal.

use super::group::{self, ElasticIp, Ensured};
use super::provider::stack_of;
use super::world::Instance;
use super::{SandboxCloud, new_id, timing};
use crate::cloud::{CloudError, CloudResult, DeployRequest, Session};
use crate::domain::Tier;
use crate::domain::switch::{self, Switch, SwitchOutcome};
use crate::instance::user_data::ready_image;

/// Enough rounds for a replacement: the old instance stops, then the new
/// one launches.
const ROUNDS: usize = 8;

impl SandboxCloud {
    /// The group launches the ready baked image from now on: a version that
    /// differs in its image alone; the instance serving stays.
    pub(super) async fn use_baked_image(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<Option<String>> {
        let base = s.state().ami_id.clone().unwrap_or_default();
        let Some(image) = ready_image(s.state(), &base).map(|i| i.image_id.clone()) else {
            return Ok(None);
        };
        let (stack, before) = (stack_of(s), s.state().launch_template_version);
        let (name, instance_type, spot) = (stack.clone(), req.instance_type.clone(), req.spot);
        let launches = image.clone();
        let image_tags = req.image_tags(s.state());
        let version = self
            .call(
                &stack,
                "CreateLaunchTemplateVersion",
                timing::lat().launch_template,
                move |w, now| {
                    let what = group::Launches {
                        instance_type: &instance_type,
                        spot,
                        image: Some(launches),
                        image_tags,
                    };
                    let (_, version) =
                        group::template_version_of(w, &name, what, now, new_id("lt"));
                    if let Some(g) = w.group.as_mut() {
                        g.version = version;
                    }
                    version
                },
            )
            .await?;
        if before == Some(version) {
            return Ok(None);
        }
        s.record(|st| st.launch_template_version = Some(version))?;
        // The resource column shows the image's id.
        Ok(Some(format!(
            "baked from {base}; the group launches it from template v{version} on"
        )))
    }

    pub(super) async fn launch_in_group(
        &self,
        req: &DeployRequest,
        s: &mut Session,
    ) -> CloudResult<()> {
        let stack = stack_of(s);
        let market = if req.spot { "spot" } else { "on-demand" };
        s.progress(None, format!("{market} {}", req.instance_type))?;
        let (instance_type, spot) = (req.instance_type.clone(), req.spot);
        let name = stack.clone();
        // The image baked from the base, once ready; else the base itself.
        let base = s.state().ami_id.clone().unwrap_or_default();
        let image = ready_image(s.state(), &base).map(|i| i.image_id.clone());
        let image_tags = req.image_tags(s.state());
        let (template_id, version) = self
            .call(
                &stack,
                "CreateLaunchTemplateVersion",
                timing::lat().launch_template,
                move |w, now| {
                    let what = group::Launches {
                        instance_type: &instance_type,
                        spot,
                        image,
                        image_tags,
                    };
                    group::template_version_of(w, &name, what, now, new_id("lt"))
                },
            )
            .await?;
        s.record(|st| {
            st.launch_template_id = Some(template_id.clone());
            st.launch_template_version = Some(version);
            st.set_provenance("launch_template", true);
        })?;
        if req.tier == Tier::Dev {
            let name = stack.clone();
            let eip = self
                .call(
                    &stack,
                    "AllocateAddress",
                    timing::lat().allocate_address,
                    move |w, _| {
                        w.address
                            .get_or_insert_with(|| ElasticIp {
                                allocation_id: new_id("eipalloc"),
                                public_ip: group::address_for(&name),
                            })
                            .clone()
                    },
                )
                .await?;
            s.record(|st| {
                st.elastic_ip_allocation_id = Some(eip.allocation_id.clone());
                st.set_provenance("elastic_ip", true);
                st.public_ip = Some(eip.public_ip.clone());
                st.n8n_url = Some(format!("http://{}:5678", eip.public_ip));
            })?;
        }
        let group_name = group::group_name(&stack);
        let replace = s
            .state()
            .instance_id
            .clone()
            .filter(|_| req.options.replace_instance);
        let mut instance = None;
        let mut switched = false;
        for _ in 0..ROUNDS {
            let name = stack.clone();
            let replace = replace.clone();
            let ensured = self
                .call(
                    &stack,
                    "UpdateAutoScalingGroup",
                    timing::lat().update_group,
                    move |w, now| {
                        let id = new_id("i");
                        group::ensure_group_replacing(
                            w,
                            &name,
                            version,
                            now,
                            id,
                            replace.as_deref(),
                        )
                    },
                )
                .await?;
            s.record(|st| {
                st.autoscaling_group_name = Some(group_name.clone());
                st.set_provenance("autoscaling_group", true);
            })?;
            match ensured {
                Ensured::Instance(i) => {
                    instance = Some(*i);
                    break;
                }
                Ensured::Switched(new, plan) => {
                    let dump = req.options.database_dump.as_deref();
                    self.follow_switch(s, &new, &plan, dump).await?;
                    switched = true;
                    instance = Some(*new);
                    break;
                }
                Ensured::WaitUntil(at, why) => {
                    s.progress(None, why.clone())?;
                    let from = self.now();
                    self.wait_until(s, from, at, &why).await?;
                }
            }
        }
        let instance = instance.ok_or_else(|| {
            CloudError::Refused(format!("{group_name} launched no instance; deploy again"))
        })?;
        s.record(|st| {
            st.instance_id = Some(instance.id.clone());
            st.set_provenance("instance", true);
        })?;
        let from = self.now();
        let what = format!("{market} {} pending", instance.instance_type);
        self.wait_until(s, from, instance.running_at, &what).await?;
        s.record(|st| {
            st.public_ip = Some(instance.public_ip.clone());
            st.private_ip = Some(instance.private_ip.clone());
            st.n8n_url = Some(format!("http://{}:5678", instance.public_ip));
            if let Some(cost) = st.cost.as_mut() {
                cost.instance_start_time.get_or_insert(instance.running_at);
                cost.instance_type = Some(instance.instance_type.clone());
                cost.is_spot = instance.spot;
            }
        })?;
        let switched = switch::told(s.state(), switched);
        s.progress(
            Some(1.0),
            format!("{market} {} running{switched}", instance.instance_type),
        )?;
        Ok(())
    }

    /// Follow a switch through, as the AWS instance stage does: the new
    /// instance ready to start while the old one serves, the old one's
    /// drain, the new one in service. Then its record, with the gap.
    async fn follow_switch(
        &self,
        s: &mut Session,
        new: &Instance,
        plan: &Switch,
        dump: Option<&str>,
    ) -> CloudResult<()> {
        let old = &plan.from_instance;
        let fell_back = plan.outcome == SwitchOutcome::FellBack;
        let restoring = dump
            .map(|path| format!(", restoring n8n's database from {path}"))
            .unwrap_or_default();
        let dumping = dump
            .map(|path| format!(" (n8n's database dumped to {path} once n8n stops)"))
            .unwrap_or_default();
        let last = if fell_back {
            format!(
                "{} never becomes healthy: {old} takes the lease back{restoring}",
                new.id
            )
        } else {
            format!("{} taking the lease and going in service", new.id)
        };
        let steps = [
            (
                plan.ready_at,
                format!("{} booting to ready-to-start while {old} serves", new.id),
            ),
            (
                plan.stopped_at,
                format!(
                    "{old} draining: n8n, PostgreSQL, Qdrant's last snapshot, then the lease{dumping}"
                ),
            ),
            (plan.serving_at, last),
        ];
        for (at, what) in steps {
            if let Some(at) = at {
                s.progress(None, what.clone())?;
                let from = self.now();
                self.wait_until(s, from, at, &what).await?;
            }
        }
        let record = Switch {
            database_dump: dump.map(str::to_string),
            database_restored: fell_back && dump.is_some(),
            ..plan.clone()
        };
        s.record(|st| switch::push(&mut st.switches, record.clone()))?;
        s.progress(None, record.summary())?;
        if fell_back {
            return Err(CloudError::Refused(format!(
                "version {} never became healthy (its launch hook timed out); {old} serves again",
                plan.to_version
            )));
        }
        Ok(())
    }

    /// Delete the group (with whatever it still runs), its launch template
    /// and the stack's address.
    pub(super) async fn delete_group(&self, s: &mut Session) -> CloudResult<()> {
        let stack = stack_of(s);
        let world = self.world(&stack)?;
        if world.group.is_some() {
            s.progress(Some(0.0), format!("deleting {}", group::group_name(&stack)))?;
            self.call(
                &stack,
                "DeleteAutoScalingGroup",
                timing::lat().delete_simple,
                group::delete,
            )
            .await?;
        }
        if world.template.is_some() {
            self.call(
                &stack,
                "DeleteLaunchTemplate",
                timing::lat().delete_simple,
                |w, _| w.template = None,
            )
            .await?;
        }
        if world.address.is_some() {
            self.call(
                &stack,
                "ReleaseAddress",
                timing::lat().delete_simple,
                |w, _| w.address = None,
            )
            .await?;
        }
        s.record(|st| {
            st.autoscaling_group_name = None;
            st.launch_template_id = None;
            st.launch_template_version = None;
            st.elastic_ip_allocation_id = None;
        })?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "launch_tests.rs"]
mod tests;
