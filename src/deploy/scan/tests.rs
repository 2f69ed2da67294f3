//! The scan's shared work: adopt and forget change only the state, a busy
//! stack's findings wait, and what cannot be done says why.

use super::*;
use crate::domain::scan::{Facts, Kind, Missing, Orphan};
use crate::domain::state::StackStatus;
use crate::domain::time::{Clock, SystemClock};
use crate::domain::{Provider, Tier};
use crate::store::LockHolder;

/// Adopt and forget change only the state: any cloud asked is a bug.
struct NoClouds;

#[async_trait]
impl Regions for NoClouds {
    async fn cloud_in(&self, region: &str) -> Result<Arc<dyn Cloud>, String> {
        panic!("asked for {region}'s cloud")
    }
}

fn group(id: &str, stack: &str, role: &str) -> Found {
    Found {
        kind: Kind::SecurityGroup,
        id: id.into(),
        region: Some("us-east-1".into()),
        stack: Some(stack.into()),
        installation: Some("gm-1".into()),
        name: Some(format!("geusemaker-{stack}-{role}")),
        group: None,
        facts: Facts::default(),
    }
}

fn orphan(f: &Found, adopt_into: Option<&'static str>) -> Orphan {
    Orphan::of(f, adopt_into, None)
}

fn store_with(stack: &str) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut state = DeploymentState::new(
        stack,
        Tier::Dev,
        "us-east-1",
        Provider::Aws,
        SystemClock.now(),
    );
    state.instance_id = Some("i-0gone".into());
    state.efs_id = Some("fs-0data".into());
    state.status = StackStatus::Running;
    store.save(&state).unwrap();
    (dir, store)
}

fn name(s: &str) -> StackName {
    StackName::parse(s).unwrap()
}

#[tokio::test]
async fn adopting_records_the_orphan_and_forgetting_clears_the_record_both_audited() {
    let (_dir, store) = store_with("demo");
    let alb = group("sg-0alb", "demo", "alb");
    let scanned = Scanned {
        report: Report {
            regions: vec!["us-east-1".into()],
            orphans: vec![orphan(&alb, Some("alb_security_group_id"))],
            missing: vec![Missing {
                stack: "demo".into(),
                kind: Kind::Instance,
                id: "i-0gone".into(),
                region: Some("us-east-1".into()),
                field: "instance_id",
            }],
            ..Report::default()
        },
        found: vec![alb],
        busy: Default::default(),
    };
    let adopt = Fix::Adopt(None);
    assert_eq!(
        question(&scanned, "sg-0alb", &adopt).unwrap(),
        "Record security-group sg-0alb as demo's alb_security_group_id?"
    );
    let clock = SystemClock;
    let done = apply(&store, &clock, &scanned, "sg-0alb", &adopt, &NoClouds).await;
    assert_eq!(
        done.unwrap(),
        "recorded security-group sg-0alb as demo's alb_security_group_id"
    );
    let forgot = apply(&store, &clock, &scanned, "i-0gone", &Fix::Forget, &NoClouds).await;
    assert!(forgot.unwrap().contains("demo is now failed"));
    let saved = store.load(&name("demo")).unwrap().unwrap();
    assert_eq!(saved.alb_security_group_id.as_deref(), Some("sg-0alb"));
    assert_eq!(saved.instance_id, None);
    assert_eq!(saved.status, StackStatus::Failed);
    let audit = std::fs::read_to_string(store.audit_path()).unwrap();
    assert!(audit.contains("\"scan adopt\"") && audit.contains("\"scan forget\""));

    // Done already: the state no longer says so, and nothing changes.
    let again = apply(&store, &clock, &scanned, "i-0gone", &Fix::Forget, &NoClouds).await;
    assert!(matches!(again, Err(ScanError::Refused(ref why)) if why.contains("no longer")));
}

#[test]
fn a_busy_stacks_findings_wait_for_its_operation_to_end() {
    let alb = group("sg-0alb", "demo", "alb");
    let mut scanned = Scanned {
        report: Report {
            regions: vec!["us-east-1".into()],
            orphans: vec![orphan(&alb, Some("alb_security_group_id"))],
            ..Report::default()
        },
        found: vec![alb],
        busy: Default::default(),
    };
    assert!(question(&scanned, "sg-0alb", &Fix::Delete).is_ok());
    scanned
        .busy
        .insert("demo".into(), "deploy (pid 7 on laptop, since now)".into());
    for fix in [Fix::Delete, Fix::Adopt(None)] {
        match question(&scanned, "sg-0alb", &fix) {
            Err(ScanError::Refused(why)) => {
                assert!(why.starts_with("demo is busy: deploy (pid 7"), "{why}")
            }
            other => panic!("{fix:?} on a busy stack: {other:?}"),
        }
    }
}

#[test]
fn a_survey_names_the_stacks_whose_lock_is_held() {
    let (_dir, store) = store_with("demo");
    assert!(survey(&store).unwrap().busy.is_empty());
    let held = store
        .lock(
            &name("demo"),
            &LockHolder::this_process("deploy", SystemClock.now()),
        )
        .unwrap();
    let seen = survey(&store).unwrap();
    assert!(
        seen.busy["demo"].starts_with("deploy (pid"),
        "{:?}",
        seen.busy
    );
    drop(held);
    assert!(survey(&store).unwrap().busy.is_empty());
}

#[test]
fn what_cannot_be_adopted_or_deleted_is_refused_with_why() {
    let ghost = group("sg-0ghost", "ghost", "alb");
    let odd = group("sg-0odd", "demo", "bastion");
    let scanned = Scanned {
        report: Report {
            regions: vec!["us-east-1".into()],
            // ghost has no state here: nothing to adopt into.
            orphans: vec![orphan(&ghost, None), orphan(&odd, None)],
            managed_elsewhere: vec![crate::domain::scan::Elsewhere {
                kind: Kind::SecurityGroup,
                id: "sg-0theirs".into(),
                region: Some("us-east-1".into()),
                stack: Some("mate".into()),
                installation: Some("gm-2".into()),
            }],
            ..Report::default()
        },
        found: vec![ghost, odd],
        busy: Default::default(),
    };
    let refused = |id: &str, fix: Fix| match question(&scanned, id, &fix) {
        Err(ScanError::Refused(why)) => why,
        other => panic!("{id} {fix:?}: {other:?}"),
    };
    assert!(refused("sg-0ghost", Fix::Adopt(None)).contains("ghost has no state here"));
    assert!(refused("sg-0odd", Fix::Adopt(None)).contains("records no security-group"));
    assert!(
        refused("sg-0ghost", Fix::Adopt(Some(name("demo"))))
            .contains("tagged Stack=ghost, not demo")
    );
    assert!(refused("sg-0theirs", Fix::Delete).contains("another installation (gm-2)"));
    assert!(refused("sg-0nowhere", Fix::Delete).contains("not a GeuseMaker-tagged"));
    assert!(refused("sg-0ghost", Fix::Forget).contains("is not missing"));
    assert_eq!(
        question(&scanned, "sg-0ghost", &Fix::Delete).unwrap(),
        "Delete orphan security-group sg-0ghost (Stack=ghost)?"
    );
}
