//! Day two through the real binary against the strict emulator: `connect`
//! says how to reach the stack, `deploy` refuses to change a running one,
//! and `update` plans, switches, and records the new type and its price.

use super::Harness;
use super::cli::{DEV_KEYS, deploy, run};
use crate::support::Home;

fn json(out: &std::process::Output, what: &str) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"))
}

/// `update d2 --instance-type t3.large` with `flags`, its JSON answer.
fn to_t3_large(h: &Harness, home: &Home, flags: &[&str], what: &str) -> serde_json::Value {
    let mut args = vec!["update", "d2", "--instance-type", "t3.large"];
    args.extend_from_slice(flags);
    json(&run(h, home, &args), what)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_lists_the_ways_in_and_update_switches_to_the_new_type_at_its_price() {
    let h = Harness::start().await;
    let home = Home::new();
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let topic = "arn:aws:sns:us-east-1:123456789012:geusemaker-alerts";
    let settings = serde_json::json!({"notify": {"sns_topic_arn": topic}});
    std::fs::write(config.join("settings.json"), settings.to_string()).unwrap();
    let first = deploy(&h, &home, "d2", "dev", &[DEV_KEYS]);
    assert_eq!(first["config"]["sns_topic_arn"], topic);
    assert_publishes_to(&h, &first, topic).await;

    let c = json(&run(&h, &home, &["connect", "d2", "--json"]), "connect");
    let url = first["n8n_url"]
        .as_str()
        .expect("a URL")
        .trim_end_matches('/');
    assert_eq!(c["n8n"]["url"], url);
    assert_eq!(c["n8n"]["webhook_base"], format!("{url}/webhook/"));
    assert_eq!(
        c["n8n"]["password_command"],
        "geusemaker-tui secret d2 n8n-owner-password"
    );
    let forwards: Vec<(&str, &str)> = c["internal"]
        .as_array()
        .expect("internal services")
        .iter()
        .map(|f| {
            (
                f["forward_command"].as_str().unwrap(),
                f["local_url"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        forwards,
        [
            ("geusemaker-tui forward d2 ollama", "http://127.0.0.1:11434"),
            ("geusemaker-tui forward d2 qdrant", "http://127.0.0.1:6333"),
            (
                "geusemaker-tui forward d2 crawl4ai",
                "http://127.0.0.1:11235"
            ),
            (
                "geusemaker-tui forward d2 postgres",
                "postgresql://n8n@127.0.0.1:5432/n8n"
            ),
        ]
    );

    // deploy does not change a running stack: exit 2, nothing written.
    let before = home.state("d2");
    let refused = run(
        &h,
        &home,
        &["deploy", "d2", "--instance-type", "t3.large", "--yes"],
    );
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("update d2 --instance-type t3.large"),
        "{said}"
    );
    assert_eq!(home.state("d2"), before, "the refusal changed the state");

    let plan = to_t3_large(&h, &home, &["--plan", "--json"], "update --plan");
    assert_eq!(plan["changes"][0]["setting"], "instance type");
    assert_eq!(plan["changes"][0]["from"], "t3.medium");
    assert_eq!(plan["changes"][0]["to"], "t3.large");
    assert!(
        plan["monthly_after"].as_f64() >= plan["monthly_before"].as_f64(),
        "{plan}"
    );
    // moto's spot history prices every type alike; on-demand tells them apart.
    let dearer = to_t3_large(
        &h,
        &home,
        &["--on-demand", "--plan", "--json"],
        "update --on-demand --plan",
    );
    assert_eq!(dearer["changes"][1]["to"], "on-demand");
    assert!(
        dearer["monthly_after"].as_f64().unwrap()
            > dearer["monthly_before"].as_f64().unwrap() + 50.0,
        "730 h of t3.large on-demand: {dearer}"
    );
    assert_eq!(home.state("d2"), before, "a plan changes nothing");

    let updated = to_t3_large(&h, &home, &["--yes", "--json"], "update");
    assert_eq!(updated["status"], "running");
    assert_ne!(updated["instance_id"], first["instance_id"]);
    assert_eq!(updated["cost"]["instance_type"], "t3.large");
    assert_eq!(
        updated["cost"]["on_demand_price_per_hour"].as_f64(),
        Some(0.0832),
        "t3.large's price: {}",
        updated["cost"]
    );
    assert_ne!(
        updated["cost"]["on_demand_price_per_hour"],
        first["cost"]["on_demand_price_per_hour"]
    );
    let switch = &updated["switches"][0];
    assert_eq!(switch["outcome"], "switched");
    assert_eq!(switch["from_instance"], first["instance_id"]);
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk().await);
    let id = updated["instance_id"].as_str().unwrap();
    let found = ec2
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .unwrap();
    let instance = &found.reservations()[0].instances()[0];
    assert_eq!(
        instance.instance_type().map(|t| t.as_str()),
        Some("t3.large")
    );
    let history = json(&run(&h, &home, &["status", "d2", "--json"]), "status");
    assert_eq!(history["operation"]["kind"], "update");
    assert_eq!(history["operation"]["result"], "succeeded");

    // A newer n8n: a template version whose compose runs it, and a drain
    // told to dump the database first.
    let args = ["update", "d2", "--images", "n8n=1.91.3", "--yes", "--json"];
    let imaged = json(&run(&h, &home, &args), "update --images");
    assert_eq!(imaged["config"]["images"]["n8n"], "1.91.3", "{imaged}");
    let switch = imaged["switches"].as_array().unwrap().last().unwrap();
    assert_eq!(switch["outcome"], "switched", "{switch}");
    let dump = switch["database_dump"].as_str().expect("dumped");
    assert!(
        dump.starts_with("/mnt/efs/backups/d2-n8n-1.81.4-"),
        "{dump}"
    );
    let compose = launched_user_data(&h, &imaged).await;
    assert!(compose.contains("    image: n8nio/n8n:1.91.3\n"));
    assert!(!compose.contains("n8nio/n8n:1.81.4"));
    let ssm = aws_sdk_ssm::Client::new(&h.sdk().await);
    let sent = ssm.list_commands().send().await.expect("commands");
    let told = sent.commands().iter().any(|c| {
        c.parameters()
            .and_then(|p| p.get("commands"))
            .is_some_and(|lines| {
                lines
                    .iter()
                    .any(|l| l.contains(&format!("switch.sh release --dump {dump}")))
            })
    });
    assert!(told, "the old instance's drain was told to dump to {dump}");
}

/// The instance's role may publish to `topic`, and its boot script names it.
async fn assert_publishes_to(h: &Harness, state: &serde_json::Value, topic: &str) {
    let iam = aws_sdk_iam::Client::new(&h.sdk().await);
    let role = state["iam_role_name"].as_str().expect("a role");
    let names = iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    let name = names.policy_names().first().expect("an inline policy");
    let doc = iam
        .get_role_policy()
        .role_name(role)
        .policy_name(name)
        .send()
        .await
        .unwrap();
    let text = urlencoding_decode(doc.policy_document());
    let policy: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let publish = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == "sns:Publish")
        .unwrap_or_else(|| panic!("no sns:Publish in {policy}"));
    assert_eq!(publish["Resource"], topic, "that topic alone");
    let script = launched_user_data(h, state).await;
    assert!(script.contains(&format!("SNS_TOPIC=\"{topic}\"")));
}

/// IAM answers policy documents URL-encoded (RFC 3986).
fn urlencoding_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                let hex = std::str::from_utf8(hex).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The boot script of the template version the stack's group launches.
async fn launched_user_data(h: &Harness, state: &serde_json::Value) -> String {
    use base64::Engine;
    use std::io::Read;
    let template = state["launch_template_id"].as_str().expect("template");
    let version = state["launch_template_version"].as_i64().expect("version");
    let data = h.template_data(template, version).await;
    let data = data.user_data().expect("user data");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64");
    let mut text = String::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .expect("gzip");
    } else {
        text = String::from_utf8(bytes).expect("text");
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_pull_shows_its_progress_to_completion_and_a_stall_is_retried() {
    use geusemaker::domain::models::{PullProgress, STALL_POLLS};

    let h = Harness::start().await;
    let state = h
        .deploy_request(
            &Harness::request_for("mp", geusemaker::domain::Tier::Dev),
            None,
        )
        .await
        .expect("deploy");
    let ctx = h.context(h.cloud(None).await);
    assert!(ctx.cloud.models(&state).await.unwrap().installed.is_empty());
    // The pull stops at 30% (its process still running) until pulled again.
    h.moto.ollama(serde_json::json!({"stall_next_at": 0.3}));
    let mut seen: Vec<(PullProgress, bool)> = Vec::new();
    let pulled = geusemaker::deploy::models::pull(&ctx, &state, "llama3.2:3b", |p, _, retry| {
        seen.push((p.clone(), retry))
    })
    .await
    .expect("the pull completes");
    assert_eq!(pulled.retries, 1, "one stall, one retry");
    assert!(pulled.progress.is_done());
    let total = 2_019_393_189;
    let completed: Vec<u64> = seen.iter().filter_map(|(p, _)| p.completed).collect();
    assert!(
        completed.windows(2).all(|w| w[0] <= w[1]),
        "never backwards: {completed:?}"
    );
    let stop = total * 3 / 10;
    let at_stop = completed.iter().filter(|c| **c == stop).count();
    assert!(
        at_stop as u32 >= STALL_POLLS,
        "it sat at the stall for {at_stop} polls: {completed:?}"
    );
    assert!(
        completed.iter().any(|c| *c > stop && *c < total),
        "resumed past the stall"
    );
    assert!(seen.iter().any(|(p, _)| p.total == Some(total)));
    let retried_at = seen.iter().position(|(_, retry)| *retry).expect("a retry");
    assert_eq!(seen[retried_at].0.completed, Some(stop));
    let view = ctx.cloud.models(&state).await.unwrap();
    assert_eq!(view.installed[0].name, "llama3.2:3b");
    assert_eq!(view.installed[0].size_bytes, total);
    assert_eq!(view.loaded[0].processor(), "CPU");
    ctx.cloud
        .remove_model(&state, "llama3.2:3b")
        .await
        .expect("rm");
    assert!(ctx.cloud.models(&state).await.unwrap().installed.is_empty());
    let unknown = geusemaker::deploy::models::pull(&ctx, &state, "gpt5", |_, _, _| {}).await;
    assert!(unknown.unwrap_err().contains("file does not exist"));
}
