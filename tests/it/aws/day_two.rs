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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_lists_the_ways_in_and_update_switches_to_the_new_type_at_its_price() {
    let h = Harness::start().await;
    let home = Home::new();
    let first = deploy(&h, &home, "d2", "dev", &[DEV_KEYS]);

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

    let plan = json(
        &run(
            &h,
            &home,
            &[
                "update",
                "d2",
                "--instance-type",
                "t3.large",
                "--plan",
                "--json",
            ],
        ),
        "update --plan",
    );
    assert_eq!(plan["changes"][0]["setting"], "instance type");
    assert_eq!(plan["changes"][0]["from"], "t3.medium");
    assert_eq!(plan["changes"][0]["to"], "t3.large");
    assert!(
        plan["monthly_after"].as_f64() >= plan["monthly_before"].as_f64(),
        "{plan}"
    );
    // moto's spot history prices every type alike; on-demand tells them apart.
    let dearer = json(
        &run(
            &h,
            &home,
            &[
                "update",
                "d2",
                "--instance-type",
                "t3.large",
                "--on-demand",
                "--plan",
                "--json",
            ],
        ),
        "update --on-demand --plan",
    );
    assert_eq!(dearer["changes"][1]["to"], "on-demand");
    assert!(
        dearer["monthly_after"].as_f64().unwrap()
            > dearer["monthly_before"].as_f64().unwrap() + 50.0,
        "730 h of t3.large on-demand: {dearer}"
    );
    assert_eq!(home.state("d2"), before, "a plan changes nothing");

    let updated = json(
        &run(
            &h,
            &home,
            &[
                "update",
                "d2",
                "--instance-type",
                "t3.large",
                "--yes",
                "--json",
            ],
        ),
        "update",
    );
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
}
