//! Notifications, on the sandbox: a webhook fake on loopback (HTTPS, a test
//! CA) receives one event each for a budget warning, a rollback and a spot
//! recovery, and a refused send is tried again.

use std::time::Duration;

use geusemaker::cloud::DeployOptions;
use geusemaker::cloud::sandbox::Fault;
use geusemaker::domain::Service;
use geusemaker::domain::budget::{Budget, BudgetAction};
use geusemaker::domain::notify::NotifyFormat;
use geusemaker::health::policy::Policy;
use geusemaker::http::Http;
use geusemaker::notify::Notifier;

use crate::https_fake::HttpsFake;
use crate::monitor::{Sandbox, sweep_until_action};

const HOST: &str = "hooks.example.test";

/// The hooks received once there are `n` (bounded), their kinds in order.
pub async fn kinds_once(fake: &HttpsFake, n: usize) -> Vec<String> {
    for _ in 0..500 {
        let hooks = fake.hooks();
        if hooks.len() >= n {
            return hooks
                .iter()
                .map(|h| h["kind"].as_str().unwrap_or("?").to_string())
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("only {:?} arrived", fake.hooks());
}

/// A webhook fake on loopback, and a notifier that posts JSON to it.
async fn json_webhook() -> (HttpsFake, Notifier) {
    let fake = HttpsFake::start(HOST).await;
    let client = Http::with_ca(Some(&fake.ca_pem))
        .and_then(|http| http.resolving(HOST, fake.addr))
        .expect("a client for the fake");
    let notifier =
        Notifier::with_client(client, &format!("https://{HOST}/hook"), NotifyFormat::Json);
    (fake, notifier)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_a_spot_recovery_and_a_budget_warning_are_each_told_once() {
    let (fake, notifier) = json_webhook().await;
    // The first POST is refused: it is tried again.
    fake.fail_next(1);

    let sb = Sandbox::new();
    // A dollar a month: any projection is past 80% of it; nothing is spent yet.
    let options = DeployOptions {
        budget: Some(Budget {
            monthly_usd: 1.0,
            action: BudgetAction::Warn,
        }),
        over_budget: true,
        ..DeployOptions::default()
    };
    let before = sb.deploy_with("nt", options).await;
    let watch = sb
        .watch("nt", Policy::default())
        .with_notifier(Some(notifier));
    watch.sweep().await.unwrap();
    assert_eq!(kinds_once(&fake, 1).await, ["budget_warning"]);
    watch.sweep().await.unwrap();

    sb.cloud
        .inject("nt", Fault::KillService(Service::N8n))
        .unwrap();
    let report = sweep_until_action(&watch).await;
    assert_eq!(report.verdict, "rollback");
    assert_eq!(kinds_once(&fake, 2).await, ["budget_warning", "rollback"]);

    let rolled = sb.state("nt");
    assert_ne!(rolled.instance_id, before.instance_id);
    sb.cloud.inject("nt", Fault::SpotInterruption).unwrap();
    for _ in 0..1500 {
        watch.sweep().await.unwrap();
        let state = sb.state("nt");
        if state.recoveries.last().is_some_and(|r| r.finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kinds = kinds_once(&fake, 3).await;
    assert_eq!(kinds, ["budget_warning", "rollback", "spot_recovery"]);
    // A few more sweeps tell nothing new.
    for _ in 0..3 {
        watch.sweep().await.unwrap();
    }
    let hooks = fake.hooks();
    assert_eq!(hooks.len(), 3, "each once: {hooks:?}");
    assert!(
        hooks[2]["text"]
            .as_str()
            .is_some_and(|t| t.contains("spot interruption")),
        "the recovery's timeline: {}",
        hooks[2]
    );
    assert_eq!(hooks[0]["stack"], "nt");
    assert_eq!(fake.requests(), 4, "three events and one retry");
}

fn with_webhook(home: &crate::support::Home, url: &str) {
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let settings = serde_json::json!({"notify": {"webhook_url": url, "format": "slack"}});
    std::fs::write(config.join("settings.json"), settings.to_string()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_posts_one_event_and_a_bad_webhook_is_refused_by_name() {
    let fake = HttpsFake::start("127.0.0.1").await;
    let home = crate::support::Home::new();
    let none = home.cmd().args(["notify", "test"]).output().unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("notify.webhook_url"));

    with_webhook(
        &home,
        &format!("https://127.0.0.1:{}/hook", fake.addr.port()),
    );
    let out = tokio::task::block_in_place(|| {
        home.cmd()
            .env("GEUSEMAKER_EXTRA_CA", &fake.ca_path)
            .args(["notify", "test"])
            .output()
    })
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("took the test event"), "{said}");
    assert!(
        !said.contains("/hook"),
        "the webhook's path is not printed: {said}"
    );
    let hooks = fake.hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        hooks[0]["text"],
        "geusemaker · test: a test event from geusemaker-tui notify test"
    );

    with_webhook(&home, "http://127.0.0.1:9/hook");
    let plain = home.cmd().args(["notify", "test"]).output().unwrap();
    assert_eq!(plain.status.code(), Some(2));
    let why = String::from_utf8_lossy(&plain.stderr);
    assert!(
        why.contains("notify.webhook_url") && why.contains("https://"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_budget_is_told_once_whichever_monitor_sees_it_first() {
    let (fake, notifier) = json_webhook().await;
    let sb = Sandbox::new();
    // Each stack alone is under its own (large) budget; together they are
    // over the account's dollar.
    let stopping = DeployOptions {
        budget: Some(Budget {
            monthly_usd: 10_000.0,
            action: BudgetAction::Stop,
        }),
        ..DeployOptions::default()
    };
    sb.deploy_with("acc-a", stopping.clone()).await;
    sb.deploy_with("acc-b", stopping).await;
    let policy = Policy {
        account_budget_usd: Some(1.0),
        ..Policy::default()
    };
    let watches: Vec<_> = ["acc-a", "acc-b"]
        .into_iter()
        .map(|s| {
            sb.watch(s, policy.clone())
                .with_notifier(Some(notifier.clone()))
        })
        .collect();
    let mut verdicts = Vec::new();
    for _ in 0..3 {
        for w in &watches {
            verdicts.push(w.sweep().await.unwrap().verdict);
        }
    }
    assert!(verdicts.contains(&"over_account_budget"), "{verdicts:?}");
    // Every sweep saw it; one claimed the telling (Store::claim_once).
    assert_eq!(kinds_once(&fake, 1).await, ["budget_exceeded"]);
    let told: Vec<_> = std::fs::read_dir(sb.store.root().join("told"))
        .expect("told")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(told.len(), 1, "one claim a month and level: {told:?}");
    assert!(told[0].starts_with("account-budget-") && told[0].ends_with("-exceeded"));
    let hooks = fake.hooks();
    assert_eq!(hooks[0]["stack"], "all stacks");
    let text = hooks[0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("stopped"), "says what it stopped: {text}");
}
