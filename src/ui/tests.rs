//! Snapshot tests of every pane, dialog and notice, through `TestBackend`.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

use crate::app::model::{HealthPoint, Model, Overlay, Pane};
use crate::app::msg::Msg;
use crate::app::update::update;
use crate::domain::stage::{Operation, OperationKind, OperationResult, StageStatus};
use crate::domain::state::{CostTracking, ServiceStatus};
use crate::domain::{DeploymentState, Provider, Service, StackStatus, Tier, Timestamp};
use crate::instance::log_line;

pub(super) fn t(secs: f64) -> Timestamp {
    "2026-11-23T20:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .plus_secs(secs)
}

/// A dev stack halfway through its deploy: EFS done, instance launching.
fn deploying() -> DeploymentState {
    let mut s = DeploymentState::new("prod-ai", Tier::Dev, "us-east-1", Provider::Sandbox, t(0.0));
    s.vpc_id = Some("vpc-0ab12cd34ef567890".into());
    s.security_group_id = Some("sg-0123456789abcdef0".into());
    s.efs_id = Some("fs-0cd12ef34ab567890".into());
    s.iam_role_name = Some("prod-ai-instance-role".into());
    s.instance_id = Some("i-0ef1234567890abcd".into());
    let mut cost = CostTracking::new("t3.medium", true);
    cost.spot_price_per_hour = Some(0.0125);
    cost.on_demand_price_per_hour = Some(0.0416);
    s.cost = Some(cost);
    let stages = Tier::Dev.deploy_stages();
    let mut op = Operation::new(OperationKind::Deploy, t(0.0), &stages);
    let mut at = 0.0;
    // The image was baked before: a re-run finds it at once.
    for (record, secs) in op.stages.iter_mut().zip([0.4, 1.2, 1.0, 0.0, 41.0, 1.4]) {
        record.status = StageStatus::Done;
        record.started_at = Some(t(at));
        at += secs;
        record.finished_at = Some(t(at));
        record.progress = Some(1.0);
    }
    op.stages[3].detail = Some("baked image is current".into());
    s.images.push(crate::domain::image::BakedImage {
        image_id: "ami-0b1c2d3e4f5a6b7c8".into(),
        key: "0123456789abcdef".into(),
        base_ami: "ami-0a1b2c3d4e5f60718".into(),
        snapshot_ids: vec!["snap-0a1b2c3d4e5f60718".into()],
        size_gb: 30,
        ready: true,
        created_at: t(-86_400.0),
    });
    op.stages[4].detail = Some("mount targets 2/2".into());
    let instance = &mut op.stages[6];
    instance.status = StageStatus::Running;
    instance.started_at = Some(t(at));
    instance.expected_secs = Some(60.0);
    instance.detail = Some("spot t3.medium pending".into());
    s.operation = Some(op);
    s
}

fn running(name: &str) -> DeploymentState {
    let mut s = DeploymentState::new(
        name,
        Tier::Automation,
        "eu-west-1",
        Provider::Sandbox,
        t(-7200.0),
    );
    s.status = StackStatus::Running;
    s.instance_id = Some("i-0aaaabbbbccccdddd".into());
    s.efs_id = Some("fs-0aaaabbbbccccdddd".into());
    s.efs_size_bytes = Some(2_587_000_000);
    s.alb_arn = Some("arn:aws:elasticloadbalancing:eu-west-1:0:loadbalancer/app/x/1".into());
    let mut cost = CostTracking::new("t3.large", false);
    cost.on_demand_price_per_hour = Some(0.0832);
    cost.instance_start_time = Some(t(-7200.0));
    s.cost = Some(cost);
    s
}

fn destroyed(name: &str) -> DeploymentState {
    let mut s = DeploymentState::new(
        name,
        Tier::Dev,
        "us-east-1",
        Provider::Sandbox,
        t(-86_400.0),
    );
    s.status = StackStatus::Destroyed;
    s.efs_id = Some("fs-0keptkeptkeptkept".into());
    s.efs_size_bytes = Some(5 * 1024 * 1024 * 1024);
    let mut cost = CostTracking::new("t3.medium", true);
    cost.spot_price_per_hour = Some(0.0125);
    cost.closed_runtime_hours = 20.0;
    cost.closed_instance_cost = 0.25;
    s.cost = Some(cost);
    s
}

pub(super) fn model() -> Model {
    let mut m = Model::new(Provider::Sandbox, "us-east-1".into(), t(50.0));
    let mut failed = running("failed-one");
    failed.status = StackStatus::Failed;
    update(
        &mut m,
        Msg::StacksLoaded {
            stacks: vec![
                deploying(),
                running("chat-bot"),
                destroyed("old-lab"),
                failed,
            ],
            problems: vec![],
        },
    );
    update(
        &mut m,
        Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('j'),
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    // Select prod-ai: stacks sort as chat-bot, failed-one, old-lab, prod-ai.
    m.selected = Some("prod-ai".into());
    m.logs = crate::app::model::LogView::for_stack(Some("prod-ai".into()), 1000);
    let raw = [
        "user-data   | 2026-11-23T20:00:40Z mounted EFS at /mnt/efs (tls, _netdev, nofail)",
        "postgres-1  | 2026-11-23T20:00:41Z database system is ready to accept connections",
        "qdrant-1    | 2026-11-23T20:00:42Z Qdrant HTTP listening on 6333",
        "ollama-1    | 2026-11-23T20:00:43Z Listening on [::]:11434 (version 0.5.7)",
        "crawl4ai-1  | 2026-11-23T20:00:44Z Application startup complete.",
        "n8n-1       | 2026-11-23T20:00:45Z Editor is now accessible via: http://localhost:5678",
        "n8n-1       | 2026-11-23T20:00:46Z ERROR Workflow \"ingest\" failed: timeout",
    ];
    update(
        &mut m,
        Msg::LogLines {
            stack: "prod-ai".into(),
            lines: raw.iter().map(|l| log_line::parse(l)).collect(),
        },
    );
    let history = m.health.entry("prod-ai".into()).or_default();
    for (service, latencies) in [
        (
            Service::N8n,
            vec![Some(45), Some(52), Some(40), Some(61), Some(45)],
        ),
        (Service::Ollama, vec![Some(23), Some(21), Some(25)]),
        (Service::Qdrant, vec![Some(12), Some(11)]),
        (Service::Crawl4ai, vec![None, None]),
        (Service::Postgres, vec![Some(8), None]),
    ] {
        let points = history.points.entry(service).or_default();
        for (i, ms) in latencies.into_iter().enumerate() {
            let status = match (service, ms) {
                (_, Some(_)) => ServiceStatus::Healthy,
                (Service::Crawl4ai, None) => ServiceStatus::Starting,
                _ => ServiceStatus::Stopped,
            };
            points.push_back(HealthPoint {
                at: t(i as f64),
                status,
                latency_ms: ms,
            });
        }
    }
    m
}

pub(super) fn draw(m: &Model, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| super::view(m, f)).unwrap();
    terminal
}

pub(super) fn draw_pane(
    m: &Model,
    width: u16,
    height: u16,
    pane: fn(&Model, &mut ratatui::Frame, Rect),
) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| pane(m, f, f.area())).unwrap();
    terminal
}

#[test]
fn dashboard_at_80x24() {
    insta::assert_snapshot!(draw(&model(), 80, 24).backend());
}

#[test]
fn dashboard_wide() {
    insta::assert_snapshot!(draw(&model(), 132, 36).backend());
}

#[test]
fn empty_dashboard_offers_to_deploy() {
    let m = Model::new(Provider::Sandbox, "us-east-1".into(), t(0.0));
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
}

#[test]
fn aws_mode_says_aws_not_sandbox() {
    let mut m = model();
    m.provider = Provider::Aws;
    let screen = draw(&m, 80, 24).backend().to_string();
    assert!(!screen.contains("SANDBOX"));
    assert!(screen.contains(" AWS "));
}

#[test]
fn stacks_pane() {
    insta::assert_snapshot!(draw_pane(&model(), 30, 12, super::stacks::render).backend());
}

#[test]
fn stacks_pane_wide_shows_one_row_per_stack() {
    insta::assert_snapshot!(draw_pane(&model(), 60, 7, super::stacks::render).backend());
}

#[test]
fn pipeline_pane_with_a_running_stage() {
    insta::assert_snapshot!(draw_pane(&model(), 60, 10, super::pipeline::render).backend());
}

#[test]
fn pipeline_pane_of_a_failed_deploy() {
    let mut m = model();
    let stack = m
        .stacks
        .iter_mut()
        .find(|s| s.stack_name == "prod-ai")
        .unwrap();
    let op = stack.operation.as_mut().unwrap();
    op.stages[5].status = StageStatus::Failed;
    op.stages[5].finished_at = Some(t(60.0));
    op.stages[5].detail = Some("InsufficientInstanceCapacity".into());
    op.result = Some(OperationResult::Failed);
    op.error = Some("Instance failed: no spot capacity for t3.medium in us-east-1a".into());
    insta::assert_snapshot!(draw_pane(&m, 60, 11, super::pipeline::render).backend());
}

#[test]
fn pipeline_pane_of_a_python_stack_lists_its_resources() {
    let mut m = model();
    let text = include_str!("../../tests/fixtures/python-geusemaker-v2-state.json");
    let mut python: DeploymentState = serde_json::from_str(text).unwrap();
    python.normalize();
    update(&mut m, Msg::StackChanged(Box::new(python)));
    m.selected = Some("stack-000".into());
    insta::assert_snapshot!(draw_pane(&m, 60, 10, super::pipeline::render).backend());
}

#[test]
fn logs_pane_colours_by_service_and_follows() {
    insta::assert_snapshot!(draw_pane(&model(), 60, 9, super::logs::render).backend());
}

#[test]
fn logs_pane_paused_and_filtered() {
    let mut m = model();
    m.logs.follow = false;
    m.logs.scroll = 1;
    m.logs.service = Some(Service::N8n);
    m.focus = Pane::Logs;
    insta::assert_snapshot!(draw_pane(&m, 60, 5, super::logs::render).backend());
}

#[test]
fn health_pane_with_history() {
    insta::assert_snapshot!(draw_pane(&model(), 34, 8, super::health::render).backend());
}

#[test]
fn health_pane_last_known_from_state() {
    let mut m = model();
    m.health.clear();
    insta::assert_snapshot!(draw_pane(&m, 34, 8, super::health::render).backend());
}

#[test]
fn health_pane_shows_the_oom_kills_of_the_last_day() {
    let mut m = model();
    let now = m.now;
    let prod = m
        .stacks
        .iter_mut()
        .find(|s| s.stack_name.as_str() == "prod-ai");
    prod.expect("prod-ai").services = vec![crate::domain::state::ServiceHealth {
        service_name: Service::Ollama,
        port: Some(11434),
        status: ServiceStatus::Healthy,
        last_check: Some(now),
        response_time_ms: Some(25),
        consecutive_failures: 0,
        error_message: None,
        oom_kills: vec![now.plus_secs(-3_600.0), now.plus_secs(-600.0)],
        image: None,
        started_at: None,
        starts: None,
        loaded: None,
        extra: Default::default(),
    }];
    let drawn = draw_pane(&m, 44, 8, super::health::render);
    insta::assert_snapshot!(drawn.backend());
}

/// The model with chat-bot selected, changed by `edit`.
pub(super) fn chat_bot_with(edit: impl FnOnce(&mut DeploymentState, Timestamp)) -> Model {
    let mut m = model();
    m.selected = Some("chat-bot".into());
    let now = m.now;
    let stack = m
        .stacks
        .iter_mut()
        .find(|s| s.stack_name.as_str() == "chat-bot")
        .expect("chat-bot");
    edit(stack, now);
    m
}

fn behind_an_alb(target: &str) -> Model {
    chat_bot_with(|stack, _| stack.alb_target_health = Some(target.into()))
}

#[test]
fn health_pane_names_the_alb_target_state_in_its_title_when_short() {
    let m = behind_an_alb("unhealthy (Target.Timeout)");
    insta::assert_snapshot!(draw_pane(&m, 34, 8, super::health::render).backend());
}

#[test]
fn health_pane_gives_the_alb_target_a_row_when_tall() {
    let m = behind_an_alb("unhealthy (Target.Timeout)");
    insta::assert_snapshot!(draw_pane(&m, 40, 9, super::health::render).backend());
}

fn searching(pattern: &str) -> Model {
    let mut m = model();
    m.focus = Pane::Logs;
    m.logs.search = pattern.into();
    m.logs.follow = false;
    m
}

#[test]
fn logs_pane_highlights_search_matches() {
    let m = searching("ready");
    insta::assert_snapshot!(draw_pane(&m, 70, 8, super::logs::render).backend());
}

#[test]
fn only_the_matched_text_is_highlighted() {
    let t = draw_pane(&searching("ready"), 70, 8, super::logs::render);
    let buffer = t.backend().buffer();
    let row: String = (0..70)
        .map(|x| buffer[(x, 1)].symbol().to_string())
        .collect();
    let byte = row.find("ready").expect("the matching line");
    let at = row[..byte].chars().count() as u16;
    let highlighted = |x: u16| buffer[(x, 1)].bg == ratatui::style::Color::Yellow;
    assert!((at..at + 5).all(highlighted), "{row}");
    assert!(!highlighted(at - 2) && !highlighted(at + 6));
}

#[test]
fn a_line_that_came_in_colour_is_drawn_in_colour() {
    let mut m = model();
    m.focus = Pane::Logs;
    let line = log_line::parse(
        "crawl4ai-1 | 2026-11-23T20:00:47Z \u{1b}[32mINFO\u{1b}[0m:     GET /health 200 OK",
    );
    update(
        &mut m,
        Msg::LogLines {
            stack: "prod-ai".into(),
            lines: vec![line],
        },
    );
    let t = draw_pane(&m, 60, 4, super::logs::render);
    let buffer = t.backend().buffer();
    let row: String = (0..60)
        .map(|x| buffer[(x, 2)].symbol().to_string())
        .collect();
    assert!(row.contains("INFO:     GET /health 200 OK"), "{row}");
    let byte = row.find("INFO").unwrap();
    let at = row[..byte].chars().count() as u16;
    assert_eq!(buffer[(at, 2)].fg, ratatui::style::Color::Green, "{row}");
    assert_ne!(
        buffer[(at + 5, 2)].fg,
        ratatui::style::Color::Green,
        "reset after INFO"
    );
}

#[test]
fn logs_pane_wraps_long_lines_with_a_regex_search() {
    let mut m = searching("EFS|port \\d+");
    m.logs.wrap = true;
    insta::assert_snapshot!(draw_pane(&m, 44, 10, super::logs::render).backend());
}

#[test]
fn logs_pane_too_narrow_still_reads() {
    let mut m = model();
    m.focus = Pane::Logs;
    m.logs.timestamps = Some(true);
    insta::assert_snapshot!(draw_pane(&m, 24, 5, super::logs::render).backend());
}

#[test]
fn logs_pane_while_typing_a_search() {
    let mut m = searching("postg");
    m.logs.searching = true;
    insta::assert_snapshot!(draw_pane(&m, 60, 6, super::logs::render).backend());
}

#[test]
fn the_focused_cost_pane_grows_to_show_the_breakdown() {
    let mut m = model();
    m.selected = Some("chat-bot".into());
    m.focus = Pane::Cost;
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
}

#[test]
fn help_scrolls_to_its_last_rows() {
    let mut m = model();
    m.overlay = Some(Overlay::Help);
    m.help_scroll = 99;
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
}

#[test]
fn cost_pane_of_a_spot_stack() {
    let mut m = model();
    m.selected = Some("chat-bot".into());
    insta::assert_snapshot!(draw_pane(&m, 30, 6, super::cost::render).backend());
}

#[test]
fn cost_pane_warns_of_a_budget_and_breaks_the_estimate_down_when_tall() {
    let m = chat_bot_with(|stack, now| {
        stack.budget = Some(crate::domain::budget::Budget {
            monthly_usd: 50.0,
            action: crate::domain::budget::BudgetAction::Stop,
        });
        stack.budget_status = crate::domain::budget::check(stack, now);
    });
    insta::assert_snapshot!(draw_pane(&m, 44, 10, super::cost::render).backend());
}

#[test]
fn cost_pane_of_a_destroyed_stack_shows_the_kept_efs() {
    let mut m = model();
    m.selected = Some("old-lab".into());
    insta::assert_snapshot!(draw_pane(&m, 30, 6, super::cost::render).backend());
}

#[test]
fn help_overlay_fits_80x24() {
    let mut m = model();
    m.overlay = Some(Overlay::Help);
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
}

#[test]
fn too_small_notice() {
    insta::assert_snapshot!(draw(&model(), 60, 20).backend());
}

#[test]
fn tiny_terminals_never_panic() {
    let m = model();
    for (w, h) in [(0, 0), (1, 1), (10, 3), (79, 24), (80, 23), (200, 5)] {
        draw(&m, w, h);
    }
}

pub(super) fn key(m: &mut Model, c: char) {
    update(
        m,
        Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        )),
    );
}

#[test]
fn destroy_dialog_keeps_data() {
    let mut m = model();
    m.selected = Some("chat-bot".into());
    key(&mut m, 'd');
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
}

#[test]
fn destroy_dialog_deleting_data_asks_for_the_name() {
    let mut m = model();
    m.selected = Some("chat-bot".into());
    key(&mut m, 'd');
    key(&mut m, 'D');
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
}

#[test]
fn fault_menu() {
    let mut m = model();
    key(&mut m, 'F');
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
}

#[test]
fn no_aws_offers_the_sandbox() {
    let mut m = Model::new(Provider::Aws, "us-east-1".into(), t(0.0));
    m.overlay = Some(Overlay::Offer(crate::app::model::Offer::Sandbox {
        reason: "No AWS credentials found. Tried, in order: environment variables; the profile in ~/.aws/config; IMDS.".into(),
    }));
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
}

#[test]
fn a_spot_interruption_shows_in_the_header() {
    let mut m = model();
    m.spot_notices.insert(
        "prod-ai".into(),
        crate::cloud::SpotNotice {
            instance_id: "i-0ef1234567890abcd".into(),
            terminate_at: Some(t(62.0)),
            detail: "marked-for-termination".into(),
        },
    );
    let screen = draw(&m, 120, 24).backend().to_string();
    let header = screen.lines().next().unwrap();
    assert!(
        header.contains("spot interruption: prod-ai's i-0ef1234567890abcd terminates in 12.0s"),
        "{header}"
    );
}

#[test]
fn rollback_dialog() {
    let mut m = model();
    m.selected = Some("chat-bot".into());
    key(&mut m, 'r');
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
}
