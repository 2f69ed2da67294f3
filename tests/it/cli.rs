//! The headless CLI, end to end, against the sandbox.

use predicates::prelude::*;

use geusemaker::domain::Timestamp;
use geusemaker::store::{LockHolder, Store};

use crate::support::Home;

#[test]
fn sandbox_deploy_status_destroy_and_delete() {
    let home = Home::new();
    let deployed = home.json(&[
        "--sandbox",
        "deploy",
        "demo",
        "--tier",
        "dev",
        "--yes",
        "--json",
    ]);
    assert_eq!(deployed["status"], "running");

    let status = home.json(&["--sandbox", "status", "demo", "--json"]);
    assert_eq!(status["status"], "running");
    for key in [
        "stack_name",
        "tier",
        "instance_id",
        "efs_id",
        "security_group_id",
        "cost",
        "rollback_history",
    ] {
        assert!(status.get(key).is_some(), "status --json lacks {key}");
    }
    let services = status["services"].as_array().unwrap();
    assert_eq!(services.len(), 5);
    for s in services {
        assert_eq!(s["status"], "healthy", "{s}");
        assert!(s["response_time_ms"].as_u64().is_some(), "{s}");
    }
    let efs_id = status["efs_id"].as_str().unwrap().to_string();

    home.cmd()
        .args(["--sandbox", "destroy", "demo", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Kept EFS").and(predicate::str::contains(&efs_id)));
    let list = home.json(&["list", "--json"]);
    let demo = &list.as_array().unwrap()[0];
    assert_eq!(demo["status"], "destroyed");
    assert_eq!(demo["kept_data"]["efs_id"], efs_id.as_str());
    assert!(demo["kept_data"]["monthly_cost"].as_f64().unwrap() > 0.0);
    assert!(demo["instance_id"].is_null());

    home.cmd()
        .args(["--sandbox", "destroy", "demo", "--yes", "--delete-data"])
        .assert()
        .success();
    assert_eq!(home.json(&["list", "--json"]), serde_json::json!([]));
    assert!(home.deployments().is_empty());
}

#[test]
fn redeploying_a_destroyed_stack_reuses_its_efs() {
    let home = Home::new();
    home.json(&["--sandbox", "deploy", "lab", "--yes", "--json"]);
    let efs = home.json(&["status", "lab", "--json"])["efs_id"].clone();
    home.cmd()
        .args(["--sandbox", "destroy", "lab", "--yes"])
        .assert()
        .success();
    let again = home.json(&["--sandbox", "deploy", "lab", "--yes", "--json"]);
    assert_eq!(again["efs_id"], efs);
    assert_eq!(again["status"], "running");
}

#[test]
fn rerunning_deploy_on_a_running_stack_changes_no_resource() {
    let home = Home::new();
    let first = home.json(&["--sandbox", "deploy", "same", "--yes", "--json"]);
    let second = home.json(&["--sandbox", "deploy", "same", "--yes", "--json"]);
    for key in [
        "vpc_id",
        "security_group_id",
        "efs_id",
        "instance_id",
        "efs_mount_target_ids",
    ] {
        assert_eq!(first[key], second[key], "{key} changed");
    }
}

#[test]
fn a_bad_stack_name_exits_2_and_creates_nothing() {
    let home = Home::new();
    home.cmd()
        .args(["--sandbox", "deploy", "Bad_Name", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid stack name"));
    assert!(home.deployments().is_empty());
    assert!(!home.path().join("sandbox").exists());
}

#[test]
fn other_bad_input_exits_2_with_what_to_do() {
    let home = Home::new();
    let cases: &[(&[&str], &str)] = &[
        (&["status", "nope"], "no stack named nope"),
        (
            &[
                "--sandbox",
                "deploy",
                "x1",
                "--instance-type",
                "huge",
                "--yes",
            ],
            "not an EC2 instance type",
        ),
        (&["--region", "mars", "list"], "not an AWS region"),
        (&["fault", "x1", "throttle"], "add --sandbox"),
        (&["--sandbox", "deploy", "x1"], "Add --yes"),
        (
            &["--sandbox", "fault", "x1", "kill-service"],
            "needs a SERVICE",
        ),
        (
            &[
                "--sandbox",
                "deploy",
                "x1",
                "--tier",
                "automation",
                "--certificate-arn",
                "my-cert",
                "--yes",
            ],
            "not an ACM certificate ARN",
        ),
        (
            &["--sandbox", "deploy", "x1", "--ami-id", "ubuntu", "--yes"],
            "not an AMI id",
        ),
        (
            &[
                "--sandbox",
                "deploy",
                "x1",
                "--tier",
                "dev",
                "--certificate-arn",
                "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                "--yes",
            ],
            "no load balancer",
        ),
    ];
    for (args, says) in cases {
        home.cmd()
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*says));
    }
    assert!(home.deployments().is_empty());
}

#[test]
fn without_a_terminal_the_dashboard_is_never_opened() {
    let home = Home::new();
    home.cmd()
        .arg("--sandbox")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs a terminal"));
}

#[test]
fn a_second_mutating_process_is_refused_naming_the_holder() {
    let home = Home::new();
    home.json(&["--sandbox", "deploy", "busy", "--yes", "--json"]);
    let store = Store::open(home.path()).unwrap();
    let holder = LockHolder::this_process("deploy", Timestamp::from_unix_millis(0));
    let _lock = store.lock(&"busy".parse().unwrap(), &holder).unwrap();
    home.cmd()
        .args(["--sandbox", "destroy", "busy", "--yes"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("busy: deploy").and(predicate::str::contains(format!(
                "pid {}",
                std::process::id()
            ))),
        );
    assert_eq!(
        home.json(&["status", "busy", "--json"])["status"],
        "running"
    );
}

#[test]
fn the_python_state_file_lists_and_shows() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join("deployments")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/python-geusemaker-v2-state.json"
        ),
        home.path().join("deployments/stack-000.json"),
    )
    .unwrap();
    let list = home.json(&["list", "--json"]);
    assert_eq!(list[0]["stack_name"], "stack-000");
    assert_eq!(list[0]["tier"], "dev");
    assert_eq!(list[0]["provider"], "aws");
    let status = home.json(&["status", "stack-000", "--json"]);
    assert_eq!(status["status"], "creating");
    assert_eq!(status["instance_id"], "i-0a1b2c3d4e5f60718");
    home.cmd()
        .args(["status", "stack-000"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("stack-000")
                .and(predicate::str::contains("fs-0a1b2c3d4e5f60718")),
        );
    // A sandbox process may look but not touch.
    home.cmd()
        .args(["--sandbox", "destroy", "stack-000", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("lives in aws"));
}

#[test]
fn a_corrupt_state_file_is_quarantined_and_reported() {
    let home = Home::new();
    home.json(&["--sandbox", "deploy", "good", "--yes", "--json"]);
    let bad = home.path().join("deployments/bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let out = home.cmd().args(["list", "--json"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.json") && stderr.contains("moved to"),
        "{stderr}"
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!bad.exists());
    let names = home.deployments();
    assert!(
        names.iter().any(|n| n.starts_with("bad.json.corrupt-")),
        "{names:?}"
    );
}

#[test]
fn logs_tail_and_filter_by_service() {
    let home = Home::new();
    home.json(&["--sandbox", "deploy", "talk", "--yes", "--json"]);
    let out = home
        .cmd()
        .args(["--sandbox", "logs", "talk", "--tail", "5"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 5);
    let out = home
        .cmd()
        .args([
            "--sandbox",
            "logs",
            "talk",
            "--service",
            "postgres",
            "--json",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l["service"] == "postgres"));
    assert!(lines.iter().any(|l| {
        l["message"]
            .as_str()
            .unwrap()
            .contains("ready to accept connections")
    }));
}

#[test]
fn a_killed_service_shows_in_logs() {
    let home = Home::new();
    home.json(&["--sandbox", "deploy", "flaky", "--yes", "--json"]);
    home.cmd()
        .args(["--sandbox", "fault", "flaky", "kill-service", "n8n"])
        .assert()
        .success()
        .stdout(predicate::str::contains("n8n"));
    home.cmd()
        .args(["--sandbox", "fault", "flaky", "kill-service", "n8n"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already killed"));
    home.cmd()
        .args([
            "--sandbox",
            "logs",
            "flaky",
            "--service",
            "n8n",
            "--tail",
            "1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("exited with code 137"));
}

#[test]
fn a_changed_caller_ip_is_unreachable_from_here_until_access_admits_it() {
    let home = Home::new();
    home.json(&["--sandbox", "deploy", "moved", "--yes", "--json"]);
    home.cmd()
        .args(["--sandbox", "fault", "moved", "caller-ip-changed"])
        .assert()
        .success()
        .stdout(predicate::str::contains("now 198.51.100.77/32"));
    let live = home.json(&["--sandbox", "status", "moved", "--live", "--json"]);
    assert_eq!(live["outside"]["reachable"], false, "{live}");
    let why = live["outside"]["error"].as_str().unwrap();
    assert!(
        why.contains("198.51.100.77 is not among the allowed CIDRs (198.51.100.23/32)"),
        "{why}"
    );
    assert!(
        live["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "healthy"),
        "healthy inside: {live}"
    );
    let access = home.json(&[
        "--sandbox",
        "access",
        "moved",
        "--add",
        "198.51.100.77/32",
        "--json",
    ]);
    assert_eq!(
        access["allowed_cidrs"],
        serde_json::json!(["198.51.100.23/32", "198.51.100.77/32"])
    );
    let live = home.json(&["--sandbox", "status", "moved", "--live", "--json"]);
    assert_eq!(live["outside"]["reachable"], true, "{live}");
}

#[test]
fn cost_reports_rate_saving_and_monthly() {
    let home = Home::new();
    home.json(&["--sandbox", "deploy", "cheap", "--yes", "--json"]);
    let cost = home.json(&["cost", "cheap", "--json"]);
    assert_eq!(cost["hourly_rate"], 0.0125);
    assert_eq!(cost["on_demand_rate"], 0.0416);
    assert!((cost["spot_saving_pct"].as_f64().unwrap() - 70.0).abs() < 0.5);
    assert!(cost["monthly_estimate"].as_f64().unwrap() > 9.0);
}

#[test]
fn every_operation_leaves_one_audit_line() {
    let home = Home::new();
    home.json(&["--sandbox", "deploy", "audited", "--yes", "--json"]);
    home.cmd()
        .args(["--sandbox", "destroy", "audited", "--yes"])
        .assert()
        .success();
    let text = std::fs::read_to_string(home.path().join("audit.jsonl")).unwrap();
    let entries: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ops: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e["operation"].as_str().unwrap(),
                e["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ops, [("deploy", "succeeded"), ("destroy", "succeeded")]);
    assert!(
        entries
            .iter()
            .all(|e| e["stack"] == "audited" && e["start"].is_string() && e["end"].is_string())
    );
}

#[test]
fn settings_are_written_with_every_default() {
    let home = Home::new();
    home.cmd().arg("list").assert().success();
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("config/settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(settings["health_check_interval_seconds"], 30);
    assert_eq!(settings["default_tier"], "dev");
    for dir in ["deployments", "config", "cache", "logs", "locks"] {
        assert!(home.path().join(dir).is_dir(), "{dir} missing");
    }
}

#[cfg(unix)]
#[test]
fn state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    home.json(&["--sandbox", "deploy", "private", "--yes", "--json"]);
    let mode = std::fs::metadata(home.path().join("deployments/private.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn monitor_rolls_back_a_killed_n8n_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let home = Home::new();
    let deployed = home.json(&["--sandbox", "deploy", "demo", "--yes", "--json"]);
    let old = deployed["instance_id"].as_str().unwrap().to_string();
    let mut monitor = Command::new(assert_cmd::cargo::cargo_bin("geusemaker-tui"))
        .env("GEUSEMAKER_HOME", home.path())
        .env("GEUSEMAKER_SANDBOX_SPEED", crate::support::SPEED)
        .args([
            "--sandbox",
            "monitor",
            "demo",
            "--interval",
            "200ms",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(monitor.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["verdict"], "healthy", "{first}");

    home.cmd()
        .args(["--sandbox", "fault", "demo", "kill-service", "n8n"])
        .assert()
        .success();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        let status = home.json(&["status", "demo", "--json"]);
        let replaced = status["status"] == "running" && status["instance_id"] != old.as_str();
        if replaced && status["rollback_history"][0]["trigger"] == "health_check_failed" {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no rollback: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(status["efs_id"], deployed["efs_id"], "the same EFS");

    let killed = Command::new("kill")
        .args(["-TERM", &monitor.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = monitor.wait().unwrap();
    assert!(exit.success(), "monitor exit: {exit:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut monitor.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("Stopped monitoring demo"), "{err}");
    let rest: Vec<serde_json::Value> = lines
        .map_while(Result::ok)
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    assert!(
        rest.iter().any(|r| r["action"]
            .as_str()
            .is_some_and(|a| a.contains("health_check_failed"))),
        "{rest:?}"
    );
}

#[test]
fn rollback_by_hand_replaces_the_instance() {
    let home = Home::new();
    let before = home.json(&["--sandbox", "deploy", "byhand", "--yes", "--json"]);
    let after = home.json(&["--sandbox", "rollback", "byhand", "--yes", "--json"]);
    assert_eq!(after["status"], "running");
    assert_ne!(after["instance_id"], before["instance_id"]);
    assert_eq!(after["efs_id"], before["efs_id"]);
    assert_eq!(after["rollback_history"][0]["trigger"], "manual");
    home.cmd()
        .args(["--sandbox", "rollback", "nothing-here", "--yes"])
        .assert()
        .code(2);
}

#[test]
fn a_plan_over_its_budget_is_refused_and_leaves_nothing() {
    let home = Home::new();
    home.cmd()
        .args(["--sandbox", "deploy", "thrifty", "--yes", "--budget", "5"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("over thrifty's $5.00 monthly budget")
                .and(predicate::str::contains("--over-budget")),
        );
    assert!(
        home.deployments().is_empty(),
        "a refused plan leaves no state"
    );
    let audit = std::fs::read_to_string(home.path().join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"result\":\"refused\""), "{audit}");
}

#[test]
fn cost_lists_every_component_and_a_budget_below_the_projection_warns() {
    let home = Home::new();
    home.json(&[
        "--sandbox",
        "deploy",
        "demo",
        "--tier",
        "automation",
        "--yes",
        "--budget",
        "20",
        "--over-budget",
        "--json",
    ]);
    let cost = home.json(&["--sandbox", "cost", "demo", "--json"]);
    for key in [
        "hourly_rate",
        "monthly_estimate",
        "cost_to_date",
        "savings_percent",
    ] {
        assert!(cost[key].is_number(), "{key}: {cost}");
    }
    let items = cost["items"].as_array().unwrap();
    let names: Vec<&str> = items
        .iter()
        .map(|i| i["component"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "instance",
            "efs",
            "public_ipv4",
            "alb",
            "root_volume",
            "images",
            "efs_backups",
            "efs_elastic"
        ],
        "{cost}"
    );
    assert!(
        items
            .iter()
            .all(|i| i["estimate"].is_boolean() && i["monthly"].is_number())
    );
    assert_eq!(items[3]["estimate"], true, "LCUs are assumed");
    let total: f64 = items.iter().map(|i| i["monthly"].as_f64().unwrap()).sum();
    assert!((total - cost["monthly_estimate"].as_f64().unwrap()).abs() < 0.02);

    let status = home.json(&["status", "demo", "--json"]);
    assert_eq!(status["budget"]["monthly_usd"], 20.0);
    assert_eq!(status["budget_status"]["level"], "warning", "{status}");
    assert!(
        status["budget_status"]["message"]
            .as_str()
            .unwrap()
            .contains("of the $20.00 budget")
    );
    home.cmd()
        .args(["status", "demo"])
        .assert()
        .success()
        .stdout(predicate::str::contains("budget    ⚠ projected"));
}

#[test]
fn a_spent_budget_with_the_stop_action_stops_the_instance_and_keeps_the_efs() {
    use std::process::{Command, Stdio};

    let home = Home::new();
    let deployed = home.json(&["--sandbox", "deploy", "demo", "--yes", "--json"]);
    // A millionth of a dollar: spent within a second of running.
    home.cmd()
        .args(["budget", "demo", "0.000001", "--action", "stop"])
        .assert()
        .success();
    let mut monitor = Command::new(assert_cmd::cargo::cargo_bin("geusemaker-tui"))
        .env("GEUSEMAKER_HOME", home.path())
        .env("GEUSEMAKER_SANDBOX_SPEED", crate::support::SPEED)
        .args(["--sandbox", "monitor", "demo", "--interval", "200ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        let status = home.json(&["status", "demo", "--json"]);
        if status["status"] == "stopped" {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never stopped: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = monitor.kill();
    let _ = monitor.wait();
    assert!(status["instance_id"].is_null(), "{status}");
    assert_eq!(status["efs_id"], deployed["efs_id"], "the EFS is kept");
    assert_eq!(status["budget_status"]["level"], "exceeded");
    let audit = std::fs::read_to_string(home.path().join("audit.jsonl")).unwrap();
    let stop: serde_json::Value = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["operation"] == "stop")
        .expect("a stop line in the audit log");
    assert_eq!(stop["result"], "succeeded");
    assert!(
        stop["reason"]
            .as_str()
            .unwrap()
            .contains("spent this month"),
        "{stop}"
    );
    // Stopped, not failed: `deploy` starts it again on the same EFS.
    home.cmd()
        .args(["budget", "demo", "--clear"])
        .assert()
        .success();
    let again = home.json(&["--sandbox", "deploy", "demo", "--yes", "--json"]);
    assert_eq!(again["status"], "running");
    assert_eq!(again["efs_id"], deployed["efs_id"]);
}

#[test]
fn a_plan_lists_the_alb_and_its_cost_and_creates_nothing() {
    let home = Home::new();
    let plan = home.json(&[
        "deploy",
        "x1",
        "--tier",
        "automation",
        "--plan",
        "--json",
        "--sandbox",
    ]);
    let alb = plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "ALB")
        .expect("an ALB stage");
    assert!(
        alb["resources"][0]["what"]
            .as_str()
            .unwrap()
            .contains("Application Load Balancer"),
        "{alb}"
    );
    let cost = plan["costs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "alb")
        .expect("the ALB's cost");
    assert!(cost["monthly"].as_f64().unwrap() > 16.0, "{cost}");
    assert!(plan["monthly_estimate"].as_f64().unwrap() > cost["monthly"].as_f64().unwrap());
    assert!(home.deployments().is_empty(), "a plan creates nothing");
    assert!(
        !home.path().join("sandbox").exists()
            || std::fs::read_dir(home.path().join("sandbox"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    use std::process::{Command, Stdio};

    let home = Home::new();
    let dir = home.path().join("deployments");
    std::fs::create_dir_all(&dir).unwrap();
    // Enough stacks that `list` writes more than a pipe holds.
    let fixture = include_str!("../fixtures/python-geusemaker-v2-state.json");
    let value: serde_json::Value = serde_json::from_str(fixture).unwrap();
    let name = value["stack_name"].as_str().unwrap().to_string();
    for i in 0..600 {
        let text = fixture.replace(&name, &format!("stack-{i:03}"));
        std::fs::write(dir.join(format!("stack-{i:03}.json")), text).unwrap();
    }
    for args in [&["list"][..], &["list", "--json"][..]] {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("geusemaker-tui"))
            .env("GEUSEMAKER_HOME", home.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line, then close the pipe, as `| head -1` does.
        let mut first = [0u8; 1];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
    }
}

#[test]
fn bash_completion_loads_and_completes_de_to_deploy_and_destroy() {
    let home = Home::new();
    let out = home.cmd().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let script = home.path().join("geusemaker-tui.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let complete = |words: &str, cword: usize| {
        // Called as bash calls it: the function `complete` names, with the
        // command, the word being completed and the one before it.
        let line = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; \
             fn=$(complete -p geusemaker-tui | sed -E 's/.*-F ([^ ]+).*/\\1/'); \
             \"$fn\" geusemaker-tui \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "-c", &line])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let mut words: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        words.sort();
        words
    };
    assert_eq!(complete("geusemaker-tui de", 1), ["deploy", "destroy"]);
    assert!(complete("geusemaker-tui destroy demo --f", 3).contains(&"--force".to_string()));
    let man = home.cmd().arg("man").output().unwrap();
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        page.contains(".TH geusemaker-tui"),
        "{}",
        &page[..page.len().min(200)]
    );
}

#[test]
fn seed_spellings_force_and_service_all_are_taken() {
    let home = Home::new();
    for args in [
        &["--sandbox", "destroy", "nope", "--force"][..],
        &["--sandbox", "logs", "nope", "--service", "all"][..],
    ] {
        let out = home.cmd().args(args).output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        assert!(
            said.contains("no stack named nope"),
            "{args:?} parsed: {said}"
        );
    }
    let out = home
        .cmd()
        .args(["--sandbox", "logs", "nope", "--service", "redis"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("use all, n8n"), "{said}");
}

#[test]
fn settings_get_and_set_one_key_and_a_bad_value_changes_nothing() {
    let home = Home::new();
    let get = |key: &str| {
        let out = home.cmd().args(["settings", "get", key]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(get("notify.format"), "slack");
    home.cmd()
        .args(["settings", "set", "notify.format", "discord"])
        .assert()
        .success()
        .stdout("notify.format = discord\n");
    assert_eq!(get("notify.format"), "discord");
    let file = home.path().join("config/settings.json");
    let before = std::fs::read_to_string(&file).unwrap();
    let out = home
        .cmd()
        .args(["settings", "set", "health_check_interval_seconds", "5"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("health_check_interval_seconds") && said.contains("10 to 300"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before,
        "nothing changed"
    );
    let all = home.cmd().arg("settings").output().unwrap();
    assert!(String::from_utf8_lossy(&all.stdout).contains("notify.format = discord"));
}

#[test]
fn readonly_refuses_every_change_with_exit_2_and_still_shows() {
    let home = Home::new();
    home.json(&[
        "--sandbox",
        "deploy",
        "ro",
        "--tier",
        "dev",
        "--yes",
        "--json",
        "--allow-cidr",
        "198.51.100.23/32",
    ]);
    let before = home.state("ro");
    for args in [
        &["--sandbox", "--readonly", "destroy", "ro", "--yes"][..],
        &["--sandbox", "--readonly", "rollback", "ro", "--yes"],
        &[
            "--sandbox",
            "--readonly",
            "update",
            "ro",
            "--instance-type",
            "t3.large",
            "--yes",
        ],
        &[
            "--sandbox",
            "--readonly",
            "access",
            "ro",
            "--add",
            "198.51.100.7/32",
        ],
    ] {
        let out = home.cmd().args(args).output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        assert!(said.contains("read-only mode"), "{said}");
    }
    assert_eq!(home.state("ro"), before, "nothing changed");
    let status = home.json(&["--sandbox", "--readonly", "status", "ro", "--json"]);
    assert_eq!(status["status"], "running");
    // The settings' readonly does the same.
    home.cmd()
        .args(["settings", "set", "readonly", "true"])
        .assert()
        .success();
    let out = home
        .cmd()
        .args(["--sandbox", "destroy", "ro", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(home.state("ro"), before);
}
