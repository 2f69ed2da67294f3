//! Day two in the sandbox, through the binary: `history` keeps each
//! operation's stage timings; an update that falls back is reverted.

use crate::support::Home;

fn deploy(home: &Home, stack: &str) {
    home.json(&[
        "--sandbox",
        "deploy",
        stack,
        "--tier",
        "dev",
        "--yes",
        "--allow-cidr",
        "198.51.100.23/32",
        "--json",
    ]);
}

#[test]
fn history_shows_the_stage_timings_of_the_last_three_operations() {
    let home = Home::new();
    deploy(&home, "h3");
    home.json(&[
        "--sandbox",
        "update",
        "h3",
        "--instance-type",
        "t3.large",
        "--yes",
        "--json",
    ]);
    home.json(&["--sandbox", "rollback", "h3", "--yes", "--json"]);
    let history = home.json(&["--sandbox", "history", "h3", "--json"]);
    let ops = history["operations"].as_array().expect("operations");
    let kinds: Vec<&str> = ops
        .iter()
        .map(|o| o["operation"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["rollback", "update", "deploy"], "newest first");
    for op in ops {
        let stages = op["stages"].as_array().expect("stages");
        assert!(stages.len() >= 3, "{op}");
        for s in stages {
            assert!(
                s["secs"].as_f64().is_some_and(|secs| secs >= 0.0),
                "every stage ran and was timed: {op}"
            );
        }
    }
    let deploy_stages: Vec<&str> = ops[2]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    for stage in ["Validate", "EFS", "Instance", "Health"] {
        assert!(deploy_stages.contains(&stage), "{deploy_stages:?}");
    }
    assert!(
        history["events"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("switch to")),
        "the rollback's switch: {history}"
    );
    let out = home
        .cmd()
        .args(["--sandbox", "history", "h3"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("rollback") && text.contains("Instance "),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.contains(" · ")).count(),
        3,
        "one line of stage timings per operation: {text}"
    );
}

#[test]
fn an_update_that_never_gets_healthy_is_reverted_and_says_so() {
    let home = Home::new();
    deploy(&home, "rv");
    let first = home.json(&["--sandbox", "status", "rv", "--json"]);
    home.cmd()
        .args(["--sandbox", "fault", "rv", "never-healthy"])
        .assert()
        .success();
    let out = home
        .cmd()
        .args([
            "--sandbox",
            "update",
            "rv",
            "--instance-type",
            "t3.large",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("reverted"), "{said}");
    let after = home.json(&["--sandbox", "status", "rv", "--json"]);
    assert_eq!(after["status"], "running");
    assert_eq!(
        after["instance_id"], first["instance_id"],
        "the old one serves"
    );
    assert_eq!(
        after["cost"]["instance_type"],
        first["cost"]["instance_type"]
    );
    assert_eq!(
        after["cost"]["on_demand_price_per_hour"],
        first["cost"]["on_demand_price_per_hour"]
    );
    assert!(
        after["status_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("update_failed: ")),
        "{after}"
    );
    let rollbacks = after["rollback_history"].as_array().unwrap();
    assert_eq!(rollbacks.last().unwrap()["trigger"], "update_failed");
}

#[test]
fn deploy_refuses_to_change_a_running_stack_and_names_the_update() {
    let home = Home::new();
    deploy(&home, "same");
    let before = home.state("same");
    let out = home
        .cmd()
        .args(["--sandbox", "deploy", "same", "--on-demand", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("update same --on-demand"), "{said}");
    assert_eq!(home.state("same"), before);
    // Another CIDR is `access`'s to admit: deploy names it and changes nothing.
    let out = home
        .cmd()
        .args(["--sandbox", "deploy", "same", "--yes"])
        .args(["--allow-cidr", "203.0.113.7/32"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("geusemaker-tui --sandbox access same --add 203.0.113.7/32"),
        "{said}"
    );
    assert_eq!(home.state("same"), before);
    // With no flags, deploy converges the stack as it runs: nothing new.
    let again = home.json(&[
        "--sandbox",
        "deploy",
        "same",
        "--yes",
        "--allow-cidr",
        "198.51.100.23/32",
        "--json",
    ]);
    assert_eq!(again["status"], "running");
    assert_eq!(again["switches"].as_array().map_or(0, Vec::len), 0);
}

fn n8n_container(home: &Home, stack: &str) -> (u64, String) {
    let status = home.json(&["--sandbox", "status", stack, "--live", "--json"]);
    let n8n = status["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_name"] == "n8n")
        .cloned()
        .expect("n8n");
    (
        n8n["starts"].as_u64().expect("starts"),
        n8n["started_at"].as_str().expect("started_at").to_string(),
    )
}

#[test]
fn restart_moves_the_services_start_count_and_start_time() {
    let home = Home::new();
    deploy(&home, "rs");
    let (starts, started) = n8n_container(&home, "rs");
    assert_eq!(starts, 1, "compose up is the first start");
    let refused = home
        .cmd()
        .args(["--sandbox", "restart", "rs", "n8n"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "no terminal, no --yes");
    assert_eq!(n8n_container(&home, "rs").0, 1, "nothing restarted");
    let done = home.json(&["--sandbox", "restart", "rs", "n8n", "--yes", "--json"]);
    assert_eq!(done["restarted"], true);
    assert_eq!(done["starts"], 2);
    let (after, restarted_at) = n8n_container(&home, "rs");
    assert_eq!(after, 2);
    assert!(restarted_at > started, "{restarted_at} after {started}");
}

#[test]
fn models_pull_shows_progress_retries_a_stall_and_lists_then_removes_the_model() {
    let home = Home::new();
    deploy(&home, "md");
    let none = home.json(&["--sandbox", "models", "md", "--json"]);
    assert_eq!(none["installed"], serde_json::json!([]));
    home.cmd()
        .args(["--sandbox", "fault", "md", "pull-stalls"])
        .assert()
        .success();
    let out = home
        .cmd()
        .args(["--sandbox", "models", "md", "pull", "llama3.2:1b", "--json"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let pulled: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pulled["retries"], 1, "{said}");
    assert_eq!(pulled["progress"]["status"], "success");
    assert!(said.contains("pulling llama3.2:1b again"), "{said}");
    assert!(said.contains("] 40% "), "the stall at 40%: {said}");
    assert!(said.contains("] 100% 1.32 GB of 1.32 GB"), "{said}");
    let listed = home.json(&["--sandbox", "models", "md", "--json"]);
    assert_eq!(listed["installed"][0]["name"], "llama3.2:1b");
    assert_eq!(listed["loaded"][0]["vram_bytes"], 0, "dev: on the CPU");
    let bad = home
        .cmd()
        .args(["--sandbox", "models", "md", "pull", "x;id"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    home.json(&[
        "--sandbox",
        "models",
        "md",
        "rm",
        "llama3.2:1b",
        "--yes",
        "--json",
    ]);
    let after = home.json(&["--sandbox", "models", "md", "--json"]);
    assert_eq!(after["installed"], serde_json::json!([]));
}

/// The image n8n runs on the stack's instance now, from the inside view.
fn n8n_image(home: &Home, stack: &str) -> String {
    let status = home.json(&["--sandbox", "status", stack, "--live", "--json"]);
    let services = status["services"].as_array().expect("services");
    let n8n = services.iter().find(|s| s["service_name"] == "n8n");
    n8n.and_then(|s| s["image"].as_str())
        .unwrap_or_else(|| panic!("no n8n image in {status}"))
        .to_string()
}

#[test]
fn an_image_update_plans_its_dump_runs_the_new_tag_and_a_revert_restores_the_database() {
    let home = Home::new();
    deploy(&home, "im");
    assert_eq!(n8n_image(&home, "im"), "n8nio/n8n:1.81.4");
    let plan = home.json(&[
        "--sandbox",
        "update",
        "im",
        "--images",
        "n8n=1.91.3",
        "--plan",
        "--json",
    ]);
    let step = &plan["images"][0];
    assert_eq!(step["to"], "n8nio/n8n:1.91.3", "{plan}");
    assert_eq!(step["tested"], false, "not in images.toml's tested list");
    let dump = plan["database_dump"].as_str().expect("a minor dumps first");
    assert!(
        dump.starts_with("/mnt/efs/backups/im-n8n-1.81.4-"),
        "{dump}"
    );
    let before = home.state("im");
    for (words, why) in [
        ("postgres=17.2-alpine", "pg_upgrade"),
        ("qdrant=v1.14.0", "one minor version at a time"),
        ("n8n=latest", "no version"),
    ] {
        let out = home
            .cmd()
            .args(["--sandbox", "update", "im", "--images", words, "--yes"])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{words}: {said}");
        assert!(said.contains(why), "{words}: {said}");
    }
    assert_eq!(home.state("im"), before, "a refused update changes nothing");

    let updated = home.json(&[
        "--sandbox",
        "update",
        "im",
        "--images",
        "n8n=1.91.3",
        "--yes",
        "--json",
    ]);
    assert_eq!(updated["config"]["images"]["n8n"], "1.91.3", "{updated}");
    let switch = updated["switches"].as_array().unwrap().last().unwrap();
    assert_eq!(switch["outcome"], "switched");
    assert!(switch["database_dump"].as_str().is_some(), "{switch}");
    assert_eq!(n8n_image(&home, "im"), "n8nio/n8n:1.91.3");

    home.cmd()
        .args(["--sandbox", "fault", "im", "never-healthy"])
        .assert()
        .success();
    let out = home
        .cmd()
        .args([
            "--sandbox",
            "update",
            "im",
            "--images",
            "n8n=1.92.0",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let after = home.json(&["--sandbox", "status", "im", "--json"]);
    assert_eq!(
        after["config"]["images"]["n8n"], "1.91.3",
        "still the old tag"
    );
    let switch = after["switches"].as_array().unwrap().last().unwrap();
    assert_eq!(switch["outcome"], "fell_back");
    assert_eq!(switch["database_restored"], true, "{switch}");
    assert_eq!(n8n_image(&home, "im"), "n8nio/n8n:1.91.3");
}
