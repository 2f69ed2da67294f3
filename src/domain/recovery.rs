//! Recoveries: an instance the stack's Auto Scaling group lost (a spot
//! interruption, a termination from outside, a failed health check) and the
//! replacement the group launched for it, rebuilt from the group's scaling
//! activities. AWS keeps those activities whether or not anyone watched, so
//! the next `status` tells the whole story of a night with the laptop closed.

use serde::{Deserialize, Serialize};

use super::time::{Timestamp, format_elapsed};

/// What the group did to one instance, as its scaling activities say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Launch,
    Terminate,
}

/// One scaling activity of the group (AWS's `Activity`), in domain terms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingActivity {
    pub kind: ActivityKind,
    pub instance_id: String,
    /// AWS's own sentence of why ("… in response to an EC2 health check …").
    pub cause: String,
    pub started_at: Timestamp,
    /// When it ended: for a launch, when the instance went InService (its
    /// lifecycle hook completed); `None` while it is under way.
    pub ended_at: Option<Timestamp>,
    /// "Successful", "InProgress", "Failed", "Cancelled", ...
    pub status: String,
    pub zone: Option<String>,
    /// The EC2 state reason of a terminated instance, when still known
    /// (`Server.SpotInstanceTermination: …`).
    pub instance_reason: Option<String>,
}

impl ScalingActivity {
    pub fn succeeded(&self) -> bool {
        self.status == "Successful"
    }

    /// Why the group lost this instance, when it was lost rather than
    /// removed on purpose (a scale-in to 0, a deletion, a rollback).
    fn loss(&self) -> Option<String> {
        if self.kind != ActivityKind::Terminate {
            return None;
        }
        let reason = self.instance_reason.as_deref().unwrap_or_default();
        if reason.contains("SpotInstanceTermination") {
            return Some("spot interruption".into());
        }
        let cause = self.cause.to_lowercase();
        if cause.contains("user health-check") || cause.contains("marked unhealthy") {
            Some("marked unhealthy".into())
        } else if cause.contains("elb health check") {
            Some("failed the load balancer's health check".into())
        } else if cause.contains("ec2 health check") || cause.contains("terminated or stopped") {
            Some("terminated from outside".into())
        } else {
            None
        }
    }
}

/// One lost instance and its replacement: the timeline of a recovery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    pub lost_instance: String,
    /// "spot interruption", "terminated from outside", "marked unhealthy", ...
    pub signal: String,
    /// When the group noticed the loss.
    pub signal_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launched_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// When the replacement went InService: its boot finished, its
    /// services were healthy inside and it completed the lifecycle hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_service_at: Option<Timestamp>,
    /// From n8n stopping (or, without a drain, the signal) to in service:
    /// the honest figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_secs: Option<f64>,
    /// What the instances left on EFS: the lost one's drain, and when its
    /// replacement took the writer lease.
    #[serde(default, skip_serializing_if = "Drain::is_empty")]
    pub drain: Drain,
}

/// A recovery's steps from the stage markers on EFS
/// (`assets/instance/mark.sh`), which outlive the lost instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Drain {
    /// Its drain began: the spot notice (or the group's Terminating
    /// state), within the poller's 5 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_at: Option<Timestamp>,
    /// n8n stopped: the outage starts here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Timestamp>,
    /// Everything stopped and the lease released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drained_at: Option<Timestamp>,
    /// The replacement took the writer lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_at: Option<Timestamp>,
    /// The markers were read (found or not): no need to read them again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read: bool,
}

impl Drain {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// From the lost instance's markers and its replacement's.
    pub fn from_markers(lost: &[(String, Timestamp)], replacement: &[(String, Timestamp)]) -> Self {
        let first = |markers: &[(String, Timestamp)], wanted: &dyn Fn(&str) -> bool| {
            markers.iter().find(|(m, _)| wanted(m)).map(|(_, at)| *at)
        };
        Self {
            notice_at: first(lost, &|m| m.starts_with("drain-started:")),
            stopped_at: first(lost, &|m| m == "drain-n8n-stopped"),
            drained_at: first(lost, &|m| m == "drained"),
            // The last one: a replacement that resumed after a switch took it again.
            lease_at: replacement
                .iter()
                .rev()
                .find(|(m, _)| m == "lease-taken")
                .map(|(_, at)| *at),
            read: true,
        }
    }

    /// "drained in 38 s", when it drained.
    fn took(&self) -> Option<String> {
        let secs = self.notice_at?.secs_until(self.drained_at?);
        Some(format!("drained in {}", format_elapsed(secs.max(0.0))))
    }
}

impl Recovery {
    pub fn finished(&self) -> bool {
        self.in_service_at.is_some()
    }

    /// "02:14 spot interruption of i-… · 02:16 replaced by i-… (us-east-1b)
    /// · 02:18 in service: down for 3:41".
    pub fn timeline(&self) -> String {
        let clock = |t: &Timestamp| t.to_string().get(11..16).unwrap_or("").to_string();
        let mut parts = vec![format!(
            "{} {} of {}",
            clock(self.drain.notice_at.as_ref().unwrap_or(&self.signal_at)),
            self.signal,
            self.lost_instance
        )];
        if let (Some(at), Some(took)) = (&self.drain.drained_at, self.drain.took()) {
            parts.push(format!("{} {took}", clock(at)));
        }
        if let (Some(at), Some(id)) = (&self.launched_at, &self.replaced_by) {
            let zone = self
                .zone
                .as_deref()
                .map(|z| format!(" ({z})"))
                .unwrap_or_default();
            parts.push(format!("{} replaced by {id}{zone}", clock(at)));
        }
        if let Some(at) = &self.drain.lease_at {
            parts.push(format!("{} lease taken", clock(at)));
        }
        match (&self.in_service_at, self.down_secs) {
            (Some(at), Some(down)) => parts.push(format!(
                "{} in service: down for {}",
                clock(at),
                format_elapsed(down)
            )),
            _ => parts.push("not in service yet".into()),
        }
        parts.join(" · ")
    }

    /// Fold in what the instances left on EFS; the outage then counts from
    /// n8n stopping, not from the group noticing the loss.
    pub fn with_drain(&mut self, drain: Drain) {
        self.drain = drain;
        self.down_secs = self.down_secs_now();
    }

    fn down_secs_now(&self) -> Option<f64> {
        let down_from = self.drain.stopped_at.unwrap_or(self.signal_at);
        self.in_service_at.map(|t| down_from.secs_until(t).max(0.0))
    }

    /// Finished, and what its instances left on EFS not read yet.
    pub fn wants_markers(&self) -> bool {
        self.finished() && self.replaced_by.is_some() && !self.drain.read
    }
}

/// The recoveries the activities tell of, oldest first: each loss paired
/// with the first launch that started after it.
pub fn recoveries(activities: &[ScalingActivity]) -> Vec<Recovery> {
    let mut by_time: Vec<&ScalingActivity> = activities.iter().collect();
    by_time.sort_by_key(|a| a.started_at);
    let mut used = Vec::new();
    let mut out = Vec::new();
    for lost in by_time.iter().filter(|a| a.loss().is_some()) {
        let launch = by_time.iter().position(|a| {
            a.kind == ActivityKind::Launch
                && !a.instance_id.is_empty()
                && a.started_at >= lost.started_at
                && !used.contains(&a.instance_id)
        });
        let launch = launch.map(|i| by_time[i]);
        if let Some(l) = launch {
            used.push(l.instance_id.clone());
        }
        let in_service_at = launch.filter(|l| l.succeeded()).and_then(|l| l.ended_at);
        out.push(Recovery {
            lost_instance: lost.instance_id.clone(),
            signal: lost.loss().unwrap_or_default(),
            signal_at: lost.started_at,
            replaced_by: launch.map(|l| l.instance_id.clone()),
            launched_at: launch.map(|l| l.started_at),
            zone: launch.and_then(|l| l.zone.clone()),
            in_service_at,
            down_secs: in_service_at.map(|t| lost.started_at.secs_until(t)),
            drain: Drain::default(),
        });
    }
    out
}

/// Merge what the activities tell now into what the state keeps: AWS keeps
/// six weeks of activities, the state keeps the last `KEPT` recoveries.
pub fn merge(kept: &mut Vec<Recovery>, seen: Vec<Recovery>) {
    for recovery in seen {
        match kept
            .iter_mut()
            .find(|k| k.lost_instance == recovery.lost_instance)
        {
            Some(k) => {
                // The activities say nothing of a drain: keep what EFS told.
                let drain = std::mem::take(&mut k.drain);
                *k = recovery;
                k.with_drain(drain);
            }
            None => kept.push(recovery),
        }
    }
    kept.sort_by_key(|r| r.signal_at);
    let excess = kept.len().saturating_sub(KEPT);
    kept.drain(..excess);
}

/// Recoveries kept in the state.
pub const KEPT: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn activity(kind: ActivityKind, id: &str, cause: &str, start: &str) -> ScalingActivity {
        ScalingActivity {
            kind,
            instance_id: id.into(),
            cause: cause.into(),
            started_at: at(start),
            ended_at: None,
            status: "InProgress".into(),
            zone: Some("us-east-1b".into()),
            instance_reason: None,
        }
    }

    const LOST: &str = "At 2026-12-02T02:14:05Z an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.";
    const GROW: &str = "At 2026-12-02T02:14:20Z an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 1.";

    #[test]
    fn a_spot_loss_pairs_with_the_launch_after_it() {
        let mut lost = activity(
            ActivityKind::Terminate,
            "i-old",
            LOST,
            "2026-12-02T02:14:05Z",
        );
        lost.instance_reason =
            Some("Server.SpotInstanceTermination: Spot instance termination".into());
        let mut first = activity(ActivityKind::Launch, "i-old", GROW, "2026-12-01T20:00:00Z");
        first.status = "Successful".into();
        first.ended_at = Some(at("2026-12-01T20:05:00Z"));
        let mut new = activity(ActivityKind::Launch, "i-new", GROW, "2026-12-02T02:14:20Z");
        new.status = "Successful".into();
        new.ended_at = Some(at("2026-12-02T02:17:46Z"));
        let found = recoveries(&[new, lost, first]);
        assert_eq!(found.len(), 1, "the first launch recovers nothing");
        let r = &found[0];
        assert_eq!(r.signal, "spot interruption");
        assert_eq!(r.replaced_by.as_deref(), Some("i-new"));
        assert_eq!(r.down_secs, Some(221.0));
        assert_eq!(
            r.timeline(),
            "02:14 spot interruption of i-old · 02:14 replaced by i-new (us-east-1b) · 02:17 in service: down for 3:41"
        );
    }

    fn markers(lines: &[(&str, &str)]) -> Vec<(String, Timestamp)> {
        lines.iter().map(|(m, t)| (m.to_string(), at(t))).collect()
    }

    #[test]
    fn a_drain_left_on_efs_dates_the_outage_from_n8n_stopping_and_outlives_a_merge() {
        let mut lost = activity(
            ActivityKind::Terminate,
            "i-old",
            LOST,
            "2026-12-02T02:14:45Z",
        );
        lost.instance_reason = Some("Server.SpotInstanceTermination: …".into());
        let mut new = activity(ActivityKind::Launch, "i-new", GROW, "2026-12-02T02:14:50Z");
        new.status = "Successful".into();
        new.ended_at = Some(at("2026-12-02T02:17:46Z"));
        let mut kept = recoveries(&[lost.clone(), new.clone()]);
        assert!(kept[0].wants_markers());
        let drain = Drain::from_markers(
            &markers(&[
                ("drain-started:spot-notice", "2026-12-02T02:14:02Z"),
                ("drain-n8n-stopped", "2026-12-02T02:14:14Z"),
                ("drained", "2026-12-02T02:14:40Z"),
            ]),
            &markers(&[
                ("efs-mounted", "2026-12-02T02:15:30Z"),
                ("lease-taken", "2026-12-02T02:16:10Z"),
            ]),
        );
        kept[0].with_drain(drain);
        assert!(!kept[0].wants_markers());
        assert_eq!(
            kept[0].down_secs,
            Some(212.0),
            "from 02:14:14, not 02:14:45"
        );
        assert_eq!(
            kept[0].timeline(),
            "02:14 spot interruption of i-old · 02:14 drained in 38.0s · 02:14 replaced by \
             i-new (us-east-1b) · 02:16 lease taken · 02:17 in service: down for 3:32"
        );
        merge(&mut kept, recoveries(&[lost, new]));
        assert_eq!(
            kept[0].down_secs,
            Some(212.0),
            "the activities forgot the drain"
        );
        assert!(kept[0].drain.read);
    }

    #[test]
    fn a_loss_without_a_drain_counts_from_the_signal_once_its_markers_were_read() {
        let lost = activity(
            ActivityKind::Terminate,
            "i-old",
            LOST,
            "2026-12-02T02:14:05Z",
        );
        let mut new = activity(ActivityKind::Launch, "i-new", GROW, "2026-12-02T02:14:20Z");
        new.status = "Successful".into();
        new.ended_at = Some(at("2026-12-02T02:17:46Z"));
        let mut r = recoveries(&[lost, new]).remove(0);
        r.with_drain(Drain::from_markers(&[], &[]));
        assert_eq!(r.down_secs, Some(221.0));
        assert!(!r.wants_markers(), "read once, found nothing");
        assert!(!r.timeline().contains("drained"));
    }

    #[test]
    fn a_deliberate_scale_in_is_no_loss_and_an_unfinished_launch_is_not_in_service() {
        let scale_in = activity(
            ActivityKind::Terminate,
            "i-a",
            "At 2026-12-02T01:00:00Z a user request update of AutoScalingGroup constraints to min: 0, max: 0, desired: 0 changing the desired capacity from 1 to 0.",
            "2026-12-02T01:00:00Z",
        );
        assert!(recoveries(&[scale_in]).is_empty());
        let unhealthy = activity(
            ActivityKind::Terminate,
            "i-b",
            "At 2026-12-02T03:00:00Z an instance was taken out of service in response to a user health-check.",
            "2026-12-02T03:00:00Z",
        );
        let launching = activity(ActivityKind::Launch, "i-c", GROW, "2026-12-02T03:00:30Z");
        let found = recoveries(&[unhealthy, launching]);
        assert_eq!(found[0].signal, "marked unhealthy");
        assert!(!found[0].finished());
        assert!(found[0].timeline().ends_with("not in service yet"));
    }

    #[test]
    fn merging_updates_in_place_and_keeps_the_last_few() {
        let lost = activity(ActivityKind::Terminate, "i-x", LOST, "2026-12-02T02:14:05Z");
        let mut kept = recoveries(std::slice::from_ref(&lost));
        let mut launch = activity(ActivityKind::Launch, "i-y", GROW, "2026-12-02T02:15:00Z");
        launch.status = "Successful".into();
        launch.ended_at = Some(at("2026-12-02T02:16:00Z"));
        merge(&mut kept, recoveries(&[lost, launch]));
        assert_eq!(kept.len(), 1);
        assert!(kept[0].finished());
        let many: Vec<Recovery> = (0..30)
            .map(|i| Recovery {
                lost_instance: format!("i-{i}"),
                ..kept[0].clone()
            })
            .collect();
        merge(&mut kept, many);
        assert_eq!(kept.len(), KEPT);
    }
}
