//! The Orphans view: its snapshots (findings of every section, a failed
//! scan, a clean one, read-only, the confirmation), and its keys: `O`
//! scans, `x` on an orphan asks then deletes, `f` forgets only what is
//! missing, and read-only refuses every fix.

use super::tests::{draw, key, model};
use crate::app::effect::Effect;
use crate::app::model::{Model, Overlay};
use crate::app::msg::Msg;
use crate::app::update::update;
use crate::deploy::scan::{Fix, Scanned};
use crate::domain::scan::{Drift, Elsewhere, Facts, Found, Kind, Missing, Orphan, Report};

fn found(kind: Kind, id: &str, stack: &str) -> Found {
    Found {
        kind,
        id: id.into(),
        region: Some("us-east-1".into()),
        stack: Some(stack.into()),
        installation: Some("gm-7f3a".into()),
        name: Some(format!("geusemaker-{stack}-alb")),
        group: None,
        facts: Facts::default(),
    }
}

fn scanned() -> Scanned {
    let report = Report {
        regions: vec!["us-east-1".into()],
        global: true,
        orphans: vec![Orphan {
            kind: Kind::SecurityGroup,
            id: "sg-0aa11bb22cc33dd44".into(),
            region: Some("us-east-1".into()),
            stack: Some("chat-bot".into()),
            name: Some("geusemaker-chat-bot-alb".into()),
            adopt_into: Some("alb_security_group_id"),
            note: None,
        }],
        missing: vec![Missing {
            stack: "chat-bot".into(),
            kind: Kind::Instance,
            id: "i-0ff00ee11dd22cc33".into(),
            region: Some("us-east-1".into()),
            field: "instance_id",
        }],
        drift: vec![Drift {
            stack: "prod-ai".into(),
            kind: Kind::SecurityGroup,
            id: "sg-0123456789abcdef0".into(),
            what: "ingress".into(),
            expected: "5678 from 198.51.100.7/32".into(),
            actual: "5678 from 0.0.0.0/0".into(),
        }],
        managed_elsewhere: vec![Elsewhere {
            kind: Kind::SecurityGroup,
            id: "sg-0ee99dd88cc77bb66".into(),
            region: Some("us-east-1".into()),
            stack: Some("teammate".into()),
            installation: Some("gm-someone-else".into()),
        }],
    };
    Scanned {
        report,
        found: vec![found(
            Kind::SecurityGroup,
            "sg-0aa11bb22cc33dd44",
            "chat-bot",
        )],
        busy: Default::default(),
    }
}

fn answered(m: &mut Model, result: Result<Scanned, String>) {
    update(m, Msg::Scanned(result.map(Box::new)));
}

/// The test dashboard on AWS: the sandbox has no account to scan.
fn on_aws() -> Model {
    let mut m = model();
    m.provider = crate::domain::Provider::Aws;
    m
}

fn opened() -> Model {
    let mut m = on_aws();
    assert_eq!(press(&mut m, 'O'), [Effect::Scan { all_regions: false }]);
    m
}

fn press(m: &mut Model, c: char) -> Vec<Effect> {
    update(
        m,
        Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        )),
    )
}

fn said(m: &Model) -> String {
    m.notices.back().map(|n| n.text.clone()).unwrap_or_default()
}

#[test]
fn o_scans_and_the_view_shows_every_section_wide_and_at_80x24() {
    let mut m = opened();
    insta::assert_snapshot!("orphans_scanning", draw(&m, 100, 24).backend().to_string());
    assert!(press(&mut m, 'r').is_empty(), "one scan at a time");
    answered(&mut m, Ok(scanned()));
    insta::assert_snapshot!("orphans_wide", draw(&m, 120, 30).backend().to_string());
    insta::assert_snapshot!("orphans_80x24", draw(&m, 80, 24).backend().to_string());
    assert_eq!(
        press(&mut m, 'r'),
        [Effect::Scan { all_regions: false }],
        "r scans again"
    );
}

#[test]
fn a_failed_scan_and_a_clean_one_say_so() {
    let mut m = opened();
    answered(
        &mut m,
        Err("scanning us-east-1: DescribeSecurityGroups: AccessDenied".into()),
    );
    insta::assert_snapshot!("orphans_failed", draw(&m, 100, 24).backend().to_string());
    press(&mut m, 'r');
    answered(
        &mut m,
        Ok(Scanned {
            report: Report {
                regions: vec!["us-east-1".into(), "eu-west-1".into()],
                global: true,
                ..Report::default()
            },
            found: Vec::new(),
            busy: Default::default(),
        }),
    );
    insta::assert_snapshot!("orphans_clean", draw(&m, 100, 24).backend().to_string());
    let mut theirs = scanned();
    theirs.report.orphans.clear();
    theirs.report.missing.clear();
    theirs.report.drift.clear();
    answered(&mut m, Ok(theirs));
    insta::assert_snapshot!(
        "orphans_clean_but_a_teammates",
        draw(&m, 100, 24).backend().to_string()
    );
}

#[test]
fn x_on_an_orphan_asks_then_deletes_it() {
    let mut m = opened();
    answered(&mut m, Ok(scanned()));
    assert!(press(&mut m, 'x').is_empty(), "it asks first");
    let Some(Overlay::ConfirmFix { question, .. }) = &m.overlay else {
        panic!("{:?}", m.overlay);
    };
    assert_eq!(
        question,
        "Delete orphan security-group sg-0aa11bb22cc33dd44 (Stack=chat-bot)?"
    );
    insta::assert_snapshot!(
        "orphans_confirm_delete",
        draw(&m, 100, 24).backend().to_string()
    );
    assert_eq!(
        press(&mut m, 'y'),
        [Effect::Fix {
            id: "sg-0aa11bb22cc33dd44".into(),
            fix: Fix::Delete,
            all_regions: false
        }]
    );
    assert!(matches!(m.overlay, Some(Overlay::Orphans { .. })));
    assert!(press(&mut m, 'x').is_empty(), "nothing else while it runs");
    assert!(said(&m).contains("wait for it"), "{}", said(&m));
}

#[test]
fn each_row_offers_only_its_own_fixes() {
    let mut m = opened();
    answered(&mut m, Ok(scanned()));
    key(&mut m, 'f');
    assert!(matches!(m.overlay, Some(Overlay::Orphans { selected: 0 })));
    assert!(said(&m).contains("f forgets a missing"), "{}", said(&m));
    key(&mut m, 'j');
    key(&mut m, 'f');
    let Some(Overlay::ConfirmFix { fix, question, .. }) = &m.overlay else {
        panic!("f on a missing instance asks: {:?}", m.overlay);
    };
    assert_eq!(*fix, Fix::Forget);
    assert!(question.contains("i-0ff00ee11dd22cc33"), "{question}");
    key(&mut m, 'n');
    for _ in 0..5 {
        key(&mut m, 'j');
    }
    assert!(
        matches!(m.overlay, Some(Overlay::Orphans { selected: 3 })),
        "the cursor stops at the last row: {:?}",
        m.overlay
    );
    key(&mut m, 'x');
    assert!(said(&m).contains("another installation"), "{}", said(&m));
    assert!(matches!(m.overlay, Some(Overlay::Orphans { .. })));
}

#[test]
fn read_only_looks_and_refuses_every_fix() {
    let mut m = on_aws();
    m.readonly = true;
    assert_eq!(
        press(&mut m, 'O'),
        [Effect::Scan { all_regions: false }],
        "looking is allowed"
    );
    answered(&mut m, Ok(scanned()));
    for c in ['a', 'x'] {
        assert!(press(&mut m, c).is_empty());
        assert!(said(&m).starts_with("read-only"), "{}", said(&m));
        assert!(matches!(m.overlay, Some(Overlay::Orphans { .. })));
    }
    insta::assert_snapshot!("orphans_readonly", draw(&m, 100, 24).backend().to_string());
}

#[test]
fn a_smaller_answer_keeps_the_cursor_on_a_row() {
    let mut m = opened();
    answered(&mut m, Ok(scanned()));
    for _ in 0..3 {
        key(&mut m, 'j');
    }
    let mut one = scanned();
    one.report.missing.clear();
    one.report.drift.clear();
    one.report.managed_elsewhere.clear();
    answered(&mut m, Ok(one));
    assert!(matches!(m.overlay, Some(Overlay::Orphans { selected: 0 })));
}

#[test]
fn the_sandbox_says_it_has_no_account_to_scan() {
    let mut m = model();
    assert!(
        press(&mut m, 'O').is_empty(),
        "nothing to ask of the sandbox"
    );
    insta::assert_snapshot!("orphans_sandbox", draw(&m, 100, 24).backend().to_string());
}

#[test]
fn a_widens_the_scan_to_every_region_and_back() {
    let mut m = opened();
    answered(&mut m, Ok(scanned()));
    assert_eq!(press(&mut m, 'A'), [Effect::Scan { all_regions: true }]);
    assert!(press(&mut m, 'A').is_empty(), "not while it scans");
    let mut wide = scanned();
    wide.report.regions = [
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-west-3",
    ]
    .map(String::from)
    .to_vec();
    answered(&mut m, Ok(wide));
    insta::assert_snapshot!(
        "orphans_all_regions",
        draw(&m, 120, 30).backend().to_string()
    );
    key(&mut m, 'x');
    let effects = press(&mut m, 'y');
    assert!(
        matches!(
            &effects[..],
            [Effect::Fix {
                all_regions: true,
                ..
            }]
        ),
        "a fix looks as widely before it acts: {effects:?}"
    );
    answered(&mut m, Ok(scanned()));
    assert_eq!(press(&mut m, 'A'), [Effect::Scan { all_regions: false }]);
}

#[test]
fn the_palette_opens_it_by_its_name_or_the_clis_word() {
    for typed in ["orphans", "scan"] {
        let mut m = on_aws();
        key(&mut m, ':');
        for c in typed.chars() {
            key(&mut m, c);
        }
        let effects = update(
            &mut m,
            Msg::Key(crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Enter,
                crossterm::event::KeyModifiers::NONE,
            )),
        );
        assert!(
            effects.contains(&Effect::Scan { all_regions: false }),
            ":{typed} scans: {effects:?}"
        );
        assert!(
            matches!(m.overlay, Some(Overlay::Orphans { .. })),
            ":{typed}"
        );
    }
}
