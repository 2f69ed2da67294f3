//! A stack's events, newest first: each recovery the group made (its
//! timeline, rebuilt from the group's activities) and each switch a deploy
//! or rollback made (its summary). What the dashboard's `e` dialog lists;
//! `status` prints the same records.

use super::recovery::Recovery;
use super::switch::{Switch, SwitchOutcome};
use super::{DeploymentState, Timestamp};

/// How an event ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventOutcome {
    /// Serving again: a recovery in service, a switch done.
    Served,
    /// Still under way: a replacement not in service yet.
    Underway,
    /// Back where it was: a switch that fell back or was abandoned.
    Undone,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub at: Timestamp,
    pub outcome: EventOutcome,
    /// "02:14 spot interruption of i-… · 02:16 replaced by …" or
    /// "02:20 switch to v3: i-… → i-…, down for 6.2s".
    pub text: String,
}

/// Every recovery and switch the state holds, newest first.
pub fn events(state: &DeploymentState) -> Vec<Event> {
    let mut all: Vec<Event> = state
        .recoveries
        .iter()
        .map(recovery)
        .chain(state.switches.iter().map(switch))
        .collect();
    all.sort_by_key(|e| std::cmp::Reverse(e.at));
    all
}

fn recovery(r: &Recovery) -> Event {
    Event {
        at: r.signal_at,
        outcome: if r.finished() {
            EventOutcome::Served
        } else {
            EventOutcome::Underway
        },
        text: r.timeline(),
    }
}

fn switch(s: &Switch) -> Event {
    let clock = s
        .started_at
        .to_string()
        .get(11..16)
        .unwrap_or("")
        .to_string();
    Event {
        at: s.started_at,
        outcome: match s.outcome {
            SwitchOutcome::Switched => EventOutcome::Served,
            SwitchOutcome::FellBack | SwitchOutcome::Abandoned => EventOutcome::Undone,
        },
        text: format!("{clock} {}", s.summary()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Provider, Tier};

    fn at(secs: f64) -> Timestamp {
        "2026-12-02T02:00:00Z"
            .parse::<Timestamp>()
            .expect("time")
            .plus_secs(secs)
    }

    #[test]
    fn recoveries_and_switches_are_listed_newest_first_with_how_they_ended() {
        let mut state =
            DeploymentState::new("demo", Tier::Dev, "us-east-1", Provider::Aws, at(0.0));
        state.recoveries.push(Recovery {
            lost_instance: "i-1".into(),
            signal: "spot interruption".into(),
            signal_at: at(60.0),
            replaced_by: Some("i-2".into()),
            launched_at: Some(at(90.0)),
            zone: Some("us-east-1b".into()),
            in_service_at: Some(at(200.0)),
            down_secs: Some(140.0),
            drain: Default::default(),
        });
        state.switches.push(Switch {
            from_instance: "i-2".into(),
            to_instance: Some("i-3".into()),
            to_version: 2,
            started_at: at(1200.0),
            ready_at: Some(at(1260.0)),
            stopped_at: Some(at(1261.0)),
            serving_at: Some(at(1268.0)),
            outcome: SwitchOutcome::FellBack,
            database_dump: None,
            database_restored: false,
        });
        let listed = events(&state);
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].outcome, EventOutcome::Undone);
        assert!(
            listed[0].text.starts_with("02:20 switch to v2 failed"),
            "{}",
            listed[0].text
        );
        assert_eq!(listed[1].outcome, EventOutcome::Served);
        assert!(listed[1].text.starts_with("02:01 spot interruption of i-1"));
    }
}
