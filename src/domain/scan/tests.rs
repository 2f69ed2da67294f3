use super::*;
use crate::domain::state::DeploymentConfig;
use crate::domain::{Tier, Timestamp};

const ME: &str = "gm-mine";

fn stack(name: &str) -> DeploymentState {
    let mut st = DeploymentState::new(
        name,
        Tier::Dev,
        "us-east-1",
        Provider::Aws,
        Timestamp::from_unix_millis(0),
    );
    st.status = StackStatus::Running;
    st.security_group_id = Some("sg-inst".into());
    st.efs_security_group_id = Some("sg-efs".into());
    st.instance_id = Some("i-1".into());
    st.autoscaling_group_name = Some(format!("{name}-asg"));
    st.launch_template_version = Some(2);
    st.ami_id = Some("ami-1".into());
    st.config = Some(DeploymentConfig {
        instance_type: Some("t3.medium".into()),
        allowed_cidrs: vec!["198.51.100.7/32".into()],
        ..DeploymentConfig::default()
    });
    st
}

fn found(kind: Kind, id: &str, stack: &str, installation: Option<&str>) -> Found {
    Found {
        kind,
        id: id.into(),
        region: (!kind.is_global()).then(|| "us-east-1".to_string()),
        stack: Some(stack.into()),
        installation: installation.map(str::to_string),
        name: None,
        group: None,
        facts: Facts::default(),
    }
}

fn scope() -> (Vec<String>, &'static str) {
    (vec!["us-east-1".to_string()], ME)
}

fn report(inventory: &Inventory, states: &[DeploymentState]) -> Report {
    let (regions, me) = scope();
    build(
        &Scope {
            regions: &regions,
            global: true,
            installation: me,
        },
        inventory,
        states,
    )
}

fn clean_inventory() -> Inventory {
    let mut sg = found(Kind::SecurityGroup, "sg-inst", "demo", Some(ME));
    sg.facts.ingress = Some(vec!["5678 from 198.51.100.7/32".into()]);
    let mut efs = found(Kind::SecurityGroup, "sg-efs", "demo", Some(ME));
    efs.facts.ingress = Some(vec!["2049 from sg-inst".into()]);
    let mut instance = found(Kind::Instance, "i-1", "demo", Some(ME));
    instance.facts.instance_type = Some("t3.medium".into());
    instance.group = Some("demo-asg".into());
    let mut group = found(Kind::AutoScalingGroup, "demo-asg", "demo", Some(ME));
    group.facts.template_version = Some(2);
    group.facts.image = Some("ami-1".into());
    group.facts.allowed_types = Some(vec!["t3.medium".into(), "t3a.medium".into()]);
    Inventory {
        found: vec![sg, efs, instance, group],
        absent: Vec::new(),
    }
}

#[test]
fn what_the_state_records_and_matches_is_clean() {
    let r = report(&clean_inventory(), &[stack("demo")]);
    assert!(r.is_clean(), "{r:#?}");
}

#[test]
fn an_unrecorded_group_of_ours_is_an_orphan_adoptable_into_its_role() {
    let mut inv = clean_inventory();
    let mut orphan = found(Kind::SecurityGroup, "sg-new", "demo", Some(ME));
    orphan.name = Some("geusemaker-demo-alb".into());
    inv.found.push(orphan);
    let r = report(&inv, &[stack("demo")]);
    assert_eq!(r.orphans.len(), 1);
    assert_eq!(r.orphans[0].id, "sg-new");
    assert_eq!(r.orphans[0].adopt_into, Some("alb_security_group_id"));
    assert!(r.orphans[0].note.is_none());
    assert!(!r.is_clean());
}

#[test]
fn another_installations_resource_is_managed_elsewhere_never_an_orphan() {
    let mut inv = clean_inventory();
    inv.found.push(found(
        Kind::SecurityGroup,
        "sg-team",
        "theirs",
        Some("gm-other"),
    ));
    let r = report(&inv, &[stack("demo")]);
    assert!(r.orphans.is_empty());
    assert_eq!(r.managed_elsewhere.len(), 1);
    assert!(r.is_clean(), "what others manage is not ours to act on");
}

#[test]
fn a_resource_without_an_installation_tag_is_an_orphan_with_a_note() {
    let mut inv = clean_inventory();
    inv.found
        .push(found(Kind::ElasticIp, "eipalloc-1", "old", None));
    inv.found
        .push(found(Kind::LaunchTemplate, "lt-1", "demo", None));
    let r = report(&inv, &[stack("demo")]);
    assert_eq!(r.orphans.len(), 2);
    let old = r.orphans.iter().find(|o| o.id == "eipalloc-1").unwrap();
    assert!(old.note.as_deref().unwrap().contains("teammate"));
    assert_eq!(old.adopt_into, None, "no local stack to adopt it into");
    let lt = r.orphans.iter().find(|o| o.id == "lt-1").unwrap();
    assert_eq!(lt.adopt_into, Some("launch_template_id"));
}

#[test]
fn a_replacement_in_the_stacks_group_is_not_an_orphan() {
    let mut inv = clean_inventory();
    let mut new = found(Kind::Instance, "i-2", "demo", Some(ME));
    new.group = Some("demo-asg".into());
    inv.found.push(new);
    assert!(report(&inv, &[stack("demo")]).orphans.is_empty());
}

#[test]
fn a_recorded_resource_gone_from_aws_is_missing() {
    let mut inv = clean_inventory();
    inv.found.retain(|f| f.kind != Kind::Instance);
    inv.absent.push(Recorded {
        kind: Kind::Instance,
        id: "i-1".into(),
    });
    let r = report(&inv, &[stack("demo")]);
    assert_eq!(r.missing.len(), 1);
    assert_eq!(r.missing[0].field, "instance_id");
    assert_eq!(r.missing[0].stack, "demo");
}

#[test]
fn a_destroyed_or_sandbox_stack_is_not_compared() {
    let mut gone = stack("gone");
    gone.status = StackStatus::Destroyed;
    let mut sandbox = stack("play");
    sandbox.provider = Provider::Sandbox;
    let inv = Inventory {
        found: Vec::new(),
        absent: vec![Recorded {
            kind: Kind::Instance,
            id: "i-1".into(),
        }],
    };
    assert!(report(&inv, &[gone, sandbox]).is_clean());
}

#[test]
fn an_extra_rule_is_drift() {
    let mut inv = clean_inventory();
    inv.found[0].facts.ingress = Some(vec![
        "5678 from 198.51.100.7/32".into(),
        "22 from 0.0.0.0/0".into(),
    ]);
    let r = report(&inv, &[stack("demo")]);
    assert_eq!(r.drift.len(), 1, "{:#?}", r.drift);
    assert_eq!(r.drift[0].what, "inbound rules");
    assert!(r.drift[0].actual.contains("22 from 0.0.0.0/0"));
}

#[test]
fn an_instance_type_is_drift_only_outside_the_allowed_types() {
    let mut inv = clean_inventory();
    inv.found[2].facts.instance_type = Some("t3a.medium".into());
    assert!(
        report(&inv, &[stack("demo")]).is_clean(),
        "an equivalent type"
    );
    inv.found[2].facts.instance_type = Some("m5.24xlarge".into());
    let r = report(&inv, &[stack("demo")]);
    assert_eq!(r.drift.len(), 1);
    assert_eq!(r.drift[0].what, "instance type");
}

#[test]
fn a_template_version_or_image_the_state_did_not_make_is_drift() {
    let mut inv = clean_inventory();
    inv.found[3].facts.template_version = Some(5);
    inv.found[3].facts.image = Some("ami-evil".into());
    let whats: Vec<String> = report(&inv, &[stack("demo")])
        .drift
        .into_iter()
        .map(|d| d.what)
        .collect();
    assert_eq!(whats, ["launch template version", "image"]);
}

#[test]
fn targets_other_than_the_instance_are_drift() {
    let mut st = stack("demo");
    st.target_group_arn = Some("arn:tg".into());
    let mut inv = clean_inventory();
    let mut tg = found(Kind::TargetGroup, "arn:tg", "demo", Some(ME));
    tg.facts.targets = Some(vec!["i-1".into(), "i-9".into()]);
    inv.found.push(tg);
    let r = report(&inv, &[st]);
    assert_eq!(r.drift.len(), 1);
    assert_eq!(r.drift[0].what, "targets");
}

#[test]
fn fields_round_trip_and_regions_come_from_the_states() {
    let mut st = stack("demo");
    for (_, name) in FIELDS {
        assert!(set_field(&mut st, name, Some(format!("x-{name}"))));
        assert_eq!(field(&st, name), Some(format!("x-{name}").as_str()));
    }
    assert!(!set_field(&mut st, "public_ip", None));
    let mut other = stack("eu");
    other.region = Some("eu-west-1".into());
    assert_eq!(
        state_regions(&[stack("demo"), other], "us-east-1"),
        ["eu-west-1", "us-east-1"]
    );
}
