//! The instance's own files: memory limits and swap, the writer lease and
//! the units under it, the watchdog, the spot-signal drain, and Qdrant on
//! block storage with its snapshots.

use super::tests::{compose_of, input};
use super::*;

#[test]
fn every_service_has_a_memory_limit_the_boot_sizes_and_swap_backs() {
    let script = render(&input(false)).unwrap();
    let compose = compose_of(&script);
    for service in crate::domain::Service::ALL {
        let var = format!("{}_MEMORY", service.name().to_uppercase());
        assert!(
            compose.contains(&format!("mem_limit: ${{{var}:-512m}}")),
            "{service} has no limit"
        );
        assert!(
            script.contains(&format!("echo \"{var}=$((usable * ")),
            "{var} not sized"
        );
    }
    let shares: u32 = script
        .lines()
        .filter_map(|l| {
            l.split("usable * ")
                .nth(1)?
                .split(" / 100")
                .next()?
                .parse::<u32>()
                .ok()
        })
        .sum();
    assert_eq!(shares, 100, "the shares add up to what is usable");
    let sized = script.find("\nsize_memory\n").expect("sized");
    let written = script.find("cat >\"$COMPOSE_FILE\"").unwrap();
    assert!(sized < written);
    assert!(script.contains("\nadd_swap\n") && script.contains("fallocate -l 4G /swapfile"));
}

#[test]
fn services_start_only_under_the_writer_lease_and_the_watchdog_is_bounded() {
    let script = render(&input(false)).unwrap();
    let unit = |name: &str| {
        let from = script
            .find(&format!(
                "cat >/etc/systemd/system/{name} <<'GEUSEMAKER_FILE'\n"
            ))
            .unwrap_or_else(|| panic!("{name} not installed"));
        let body = &script[from..];
        body[..body.find("\nGEUSEMAKER_FILE\n").unwrap()].to_string()
    };
    let stack = unit("geusemaker-stack.service");
    assert!(stack.contains("\nBindsTo=geusemaker-lease.service\n"));
    assert!(stack.contains("\nRequires=docker.service geusemaker-lease.service\n"));
    assert!(unit("geusemaker-lease.service").contains("\nType=notify\n"));
    assert!(
        unit("docker.service.d/geusemaker-after-lease.conf")
            .contains("After=geusemaker-lease.service")
    );
    // Compose is started by the unit alone.
    assert_eq!(
        script.matches(" up -d").count(),
        1,
        "one place starts the services"
    );
    let lease = units::WRITER_LEASE;
    assert!(lease.contains("flock --exclusive 9") && lease.contains("exec sleep infinity"));
    let watchdog = unit("geusemaker-watchdog.timer");
    assert!(watchdog.contains(&format!("OnUnitActiveSec={WATCH_SECS}")));
    let dog = &script[script.find("cat >/opt/geusemaker/watchdog.sh").unwrap()..];
    assert!(
        dog.contains("THRESHOLD=\"5\""),
        "the setting, not the default"
    );
    assert!(dog.contains("REPLACEMENTS_PER_HOUR=2"));
    assert!(
        dog.contains("[ -e \"$STATE/switching\" ]; then"),
        "disarmed in a switch"
    );
    assert!(dog.contains("--tail 500"));
    // The boot's, after the installed files (switch.sh re-arms it too).
    let armed = script
        .rfind("touch /run/geusemaker/watchdog-armed")
        .unwrap();
    assert!(
        script.find("mark owner-ready").unwrap() < armed,
        "armed once the boot is done"
    );
    let signals = units::SPOT_SIGNALS;
    assert!(signals.contains("meta-data/spot/instance-action"));
    assert!(signals.contains("meta-data/autoscaling/target-lifecycle-state"));
    assert!(signals.contains("meta-data/events/recommendations/rebalance"));
    assert!(signals.contains("while sleep 5; do"));
    let notice = &signals[signals.find("drain() {").unwrap()..];
    assert!(
        notice.find("drain.sh").unwrap() < notice.find("set-instance-health").unwrap(),
        "on a notice: drained, then marked unhealthy so the replacement starts"
    );
    let order = [
        "stop --timeout 30 n8n",
        "CHECKPOINT",
        "stop --timeout 40 postgres",
        "qdrant-snapshots.sh snapshot drain",
        "geusemaker-lease.service",
        "mark drained",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|s| units::DRAIN.find(s).expect(s))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "drain order: {at:?}");
}

#[test]
fn a_switch_drains_without_marking_unhealthy_and_resumes_through_the_lease() {
    let switch = units::SWITCH;
    let release = &switch[switch.find("release)").unwrap()..switch.find("resume)").unwrap()];
    assert!(release.contains("is-active --quiet geusemaker-lease.service"));
    assert!(
        release
            .find("geusemaker-spot-signals.service geusemaker-watchdog.timer")
            .unwrap()
            < release.find("drain.sh switch").unwrap(),
        "no second drain, no watchdog counting the stop"
    );
    assert!(
        !switch.contains("set-instance-health"),
        "the group keeps it: GeuseMaker terminates it, or resumes it"
    );
    let resume = &switch[switch.find("resume)").unwrap()..];
    assert!(
        resume
            .find("systemctl start geusemaker-stack.service")
            .unwrap()
            < resume.find("touch /run/geusemaker/watchdog-armed").unwrap()
    );
    let script = render(&input(false)).unwrap();
    for file in ["/opt/geusemaker/drain.sh", "/opt/geusemaker/switch.sh"] {
        assert!(
            script.contains(&format!("cat >{file} <<'GEUSEMAKER_FILE'")),
            "{file}"
        );
    }
}

#[test]
fn qdrant_lives_on_block_storage_and_snapshots_to_efs() {
    let script = render(&input(false)).unwrap();
    let compose = compose_of(&script);
    let qdrant = &compose[compose.find("\n  qdrant:\n").unwrap()..];
    let qdrant = &qdrant[..qdrant[1..].find("\n  crawl4ai:").unwrap()];
    assert!(qdrant.contains("- /var/lib/geusemaker/qdrant:/qdrant/storage"));
    assert!(qdrant.contains("- /mnt/efs/qdrant-snapshots:/qdrant/snapshots"));
    assert!(qdrant.contains("QDRANT__STORAGE__SNAPSHOTS_PATH: /qdrant/snapshots"));
    assert!(
        !compose.contains("/mnt/efs/qdrant:"),
        "no live Qdrant data on NFS"
    );
    // Migrated under the lease before compose; restored after it.
    let at = |text: &str| script.find(text).unwrap_or_else(|| panic!("{text}"));
    let lease = at("\nsystemctl start geusemaker-lease.service\n");
    let migrate = at("\n/opt/geusemaker/qdrant-snapshots.sh migrate\n");
    let stack = at("\nsystemctl start geusemaker-stack.service\n");
    let restore = at("\n/opt/geusemaker/qdrant-snapshots.sh restore");
    assert!(lease < migrate && migrate < stack && stack < restore);
    let timer = &script[at("cat >/etc/systemd/system/geusemaker-qdrant-snapshots.timer")..];
    assert!(timer.contains("OnUnitActiveSec=30min"), "the setting");
    let snapshots = units::QDRANT_SNAPSHOTS;
    assert!(snapshots.contains("KEEP=3"));
    assert!(
        snapshots.contains("-newer \"$STAMPS/$name\""),
        "unchanged ones skipped"
    );
    assert!(
        snapshots.contains("-H \"@$HEADER\""),
        "the key never in argv"
    );
    let drain = units::DRAIN;
    let postgres = drain.find("stop --timeout 40 postgres").unwrap();
    let last = drain.find("qdrant-snapshots.sh snapshot drain").unwrap();
    let lease_off = drain.find("geusemaker-lease.service").unwrap();
    assert!(postgres < last && last < lease_off);
}

#[test]
fn a_marker_is_copied_to_efs_once_it_is_mounted_and_every_script_marks_through_it() {
    use std::os::unix::fs::PermissionsExt;
    for (mountpoint, copied) in [("exit 0", true), ("exit 1", false)] {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let stub = bin.join("mountpoint");
        std::fs::write(&stub, format!("#!/bin/bash\n{mountpoint}\n")).unwrap();
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        let at = |p: &str| dir.path().join(p).display().to_string();
        std::fs::write(at("instance-id"), "i-0abc\n").unwrap();
        let mark = units::MARK
            .replace("/var/lib/geusemaker/stage", &at("stage"))
            .replace("/var/lib/geusemaker/instance-id", &at("instance-id"))
            .replace("/mnt/efs/.geusemaker/markers", &at("efs"));
        std::fs::write(at("mark.sh"), mark).unwrap();
        let out = std::process::Command::new("bash")
            .args([
                "-euc",
                ". \"$1\"; mark drain-n8n-stopped",
                "_",
                &at("mark.sh"),
            ])
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let local = std::fs::read_to_string(at("stage")).unwrap();
        assert!(local.starts_with("drain-n8n-stopped 20") && local.ends_with("Z\n"));
        let on_efs = std::fs::read_to_string(at("efs/i-0abc")).ok();
        assert_eq!(
            on_efs.as_deref(),
            copied.then_some(local.as_str()),
            "{mountpoint}"
        );
    }
    for (name, text) in units::scripts("us-east-1") {
        let own = text.contains("\nmark() {");
        assert!(
            !own || name.ends_with("/mark.sh"),
            "{name} marks on its own"
        );
        let marks = [
            "\n  mark ",
            "\nmark ",
            "\n  notify ",
            "\nnotify ",
            "    notify ",
        ]
        .iter()
        .any(|call| text.contains(call));
        assert!(
            !marks
                || text.contains(". /opt/geusemaker/mark.sh")
                || text.contains(". \"$OPT/mark.sh\""),
            "{name}"
        );
    }
}

/// The watchdog run with fakes: a container Docker started again since the
/// last check is a failed check though healthy now; one the user restarted
/// is none.
#[test]
fn the_watchdog_counts_a_restart_it_did_not_ask_for_and_not_the_users() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let run_dir = dir.path().join("run");
    let opt = dir.path().join("opt");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::create_dir_all(&opt).unwrap();
    std::fs::write(run_dir.join("watchdog-armed"), "").unwrap();
    std::fs::write(opt.join("mark.sh"), "MARKERS=/dev/null\nmark() { :; }\n").unwrap();
    // `docker events --since T`: one start at the time in `started`, if any.
    let docker = format!(
        r#"case "$1" in
  ps) echo c0ffee ;;
  inspect) echo healthy ;;
  events) [ -f {d}/started ] && [ "$(cat {d}/started)" -ge "$3" ] && echo x ;;
esac
exit 0"#
    );
    let bin = dir.path().join("docker");
    std::fs::write(&bin, format!("#!/bin/bash\n{docker}\n")).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = super::units::WATCHDOG
        .replace("{{REGION}}", "us-east-1")
        .replace("{{THRESHOLD}}", "5");
    let check = || {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("PATH", format!("{d}:{}", std::env::var("PATH").unwrap()))
            .env("GEUSEMAKER_RUN", &run_dir)
            .env("GEUSEMAKER_OPT", &opt)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let failures = std::fs::read_to_string(run_dir.join("watchdog-failures")).unwrap();
        (
            failures.trim().to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let last_check = run_dir.join("watchdog-last-check");
    assert_eq!(check().0, "0", "healthy, nothing started");
    // Docker restarted n8n after the last check; it is healthy again.
    std::fs::write(&last_check, format!("{}", now() - 60)).unwrap();
    std::fs::write(dir.path().join("started"), format!("{}", now() - 30)).unwrap();
    let (failures, said) = check();
    assert_eq!(failures, "1", "{said}");
    assert!(said.contains("n8n (restarted by Docker)"), "{said}");
    // The next check, after that start: healthy, and the count is reset.
    std::fs::write(&last_check, format!("{}", now() - 10)).unwrap();
    assert_eq!(check().0, "0");
    // The user restarted n8n: its start is no failure (postgres has none).
    std::fs::write(&last_check, format!("{}", now() - 60)).unwrap();
    std::fs::write(
        run_dir.join("user-restarts"),
        format!("n8n {}\n", now() - 30),
    )
    .unwrap();
    let (failures, said) = check();
    assert_eq!(failures, "1", "postgres's start still counts: {said}");
    assert!(!said.contains("n8n ("), "{said}");
    // Disarmed (as in a switch): the next armed check starts afresh.
    std::fs::remove_file(run_dir.join("watchdog-armed")).unwrap();
    check();
    assert!(!last_check.exists());
}

/// switch.sh and drain.sh, run with fakes for docker and systemctl: what
/// each step asks of them, in order, and what it printed.
struct SwitchRun {
    out: String,
    calls: Vec<String>,
    markers: String,
}

fn run_switch(args: &[&str], fail: &str) -> (SwitchRun, tempfile::TempDir) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let (opt, run, bin) = (format!("{d}/opt"), format!("{d}/run"), format!("{d}/bin"));
    for p in [&opt, &run, &bin] {
        std::fs::create_dir_all(p).unwrap();
    }
    let write = |path: String, text: String| {
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let ours = |text: &str| {
        text.replace("/opt/geusemaker", &opt)
            .replace("/run/geusemaker", &run)
    };
    write(format!("{opt}/switch.sh"), ours(units::SWITCH));
    write(format!("{opt}/drain.sh"), ours(units::DRAIN));
    write(format!("{opt}/qdrant-snapshots.sh"), "#!/bin/bash\n".into());
    write(
        format!("{opt}/mark.sh"),
        format!("mark() {{ echo \"$1\" >>{d}/markers; }}\n"),
    );
    // The fakes log their words; `fail` names the one that fails.
    let fake = |name: &str, body: &str| {
        write(
            format!("{bin}/{name}"),
            format!(
                "#!/bin/bash\necho \"{name} $*\" >>{d}/calls\ncase \"$*\" in *{fail}*) exit 1 ;; esac\n{body}\n"
            ),
        )
    };
    fake(
        "docker",
        &format!(
            r#"case "$*" in
  *pg_dump*) echo the-database ;;
  *pg_restore*) cat >{d}/restored ;;
esac
exit 0"#
        ),
    );
    fake("systemctl", "exit 0");
    write(
        format!("{bin}/timeout"),
        "#!/bin/bash\nshift\nexec \"$@\"\n".into(),
    );
    write(format!("{bin}/sleep"), "#!/bin/bash\n".into());
    let args: Vec<String> = args.iter().map(|a| a.replace("DIR", &d)).collect();
    let out = std::process::Command::new("bash")
        .arg(format!("{opt}/switch.sh"))
        .args(&args)
        .env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let read = |name: &str| std::fs::read_to_string(format!("{d}/{name}")).unwrap_or_default();
    let run = SwitchRun {
        out: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        calls: read("calls").lines().map(str::to_string).collect(),
        markers: read("markers"),
    };
    (run, dir)
}

fn position(calls: &[String], needle: &str) -> usize {
    calls
        .iter()
        .position(|c| c.contains(needle))
        .unwrap_or_else(|| panic!("no call with {needle}: {calls:#?}"))
}

#[test]
fn a_switch_to_a_newer_n8n_dumps_its_database_once_n8n_stops_and_serves_on_if_it_cannot() {
    let (run, dir) = run_switch(&["release", "--dump", "DIR/efs/backups/demo.dump"], "none");
    assert_eq!(run.out, "released");
    let dump = dir.path().join("efs/backups/demo.dump");
    assert_eq!(std::fs::read_to_string(&dump).unwrap(), "the-database\n");
    let c = &run.calls;
    assert!(position(c, "stop --timeout 30 n8n") < position(c, "pg_dump"));
    assert!(position(c, "pg_dump") < position(c, "stop --timeout 40 postgres"));
    assert!(run.markers.contains("database-dumped"));

    let (run, dir) = run_switch(
        &["release", "--dump", "DIR/efs/backups/demo.dump"],
        "pg_dump",
    );
    assert_eq!(run.out, "dump-failed");
    assert!(!dir.path().join("efs/backups/demo.dump").exists());
    assert!(!dir.path().join("efs/backups/demo.dump.part").exists());
    let c = &run.calls;
    assert!(
        position(c, "start n8n") > position(c, "pg_dump"),
        "n8n serves on"
    );
    assert!(
        !c.iter()
            .any(|l| l.contains("postgres") && l.contains("stop"))
    );
    assert!(
        !c.iter()
            .any(|l| l.starts_with("systemctl stop") && l.contains("lease")),
        "the lease stays: {c:#?}"
    );
    assert!(position(c, "start geusemaker-spot-signals.service") > position(c, "pg_dump"));

    // No dump asked: the drain as before.
    let (run, _dir) = run_switch(&["release"], "none");
    assert_eq!(run.out, "released");
    assert!(!run.calls.iter().any(|l| l.contains("pg_dump")));
}

#[test]
fn a_revert_restores_the_dump_under_the_lease_before_n8n_starts_and_never_starts_it_on_a_failed_one()
 {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("before.dump");
    std::fs::write(&dump, "the-old-database").unwrap();
    let path = dump.display().to_string();
    let (run, tmp) = run_switch(&["resume", "--restore", &path], "none");
    let restored = std::fs::read_to_string(tmp.path().join("restored")).unwrap();
    assert_eq!(restored, "the-old-database", "pg_restore read the dump");
    assert_eq!(run.out, "resuming");
    let c = &run.calls;
    let lease = position(c, "start geusemaker-lease.service");
    assert!(lease < position(c, "start postgres"));
    assert!(position(c, "DROP DATABASE IF EXISTS n8n") < position(c, "pg_restore"));
    assert!(position(c, "pg_restore") < position(c, "start geusemaker-stack.service"));
    assert!(run.markers.contains("database-restored") && run.markers.contains("resumed"));

    let (run, _tmp) = run_switch(&["resume", "--restore", &path], "pg_restore");
    assert_eq!(run.out, "restore-failed");
    assert!(
        !run.calls
            .iter()
            .any(|l| l.contains("geusemaker-stack.service"))
    );
    assert!(run.markers.contains("database-restore-failed"));
}

/// `notify`, sourced from mark.sh with a fake `aws`: what it publishes,
/// and that a failure is only said.
fn notify_with(topic: Option<&str>, aws_exit: u8) -> (String, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    std::fs::write(format!("{d}/instance-id"), "i-0abc\n").unwrap();
    let mark = units::MARK
        .replace("{{SNS_TOPIC}}", topic.unwrap_or_default())
        .replace("{{STACK}}", "demo")
        .replace(
            "/var/lib/geusemaker/instance-id",
            &format!("{d}/instance-id"),
        );
    std::fs::write(format!("{d}/mark.sh"), mark).unwrap();
    let aws = format!("{d}/aws");
    let body = format!(
        "#!/bin/bash\nprintf '%s|' \"$@\" >>{d}/published\necho \"$AWS_MAX_ATTEMPTS\" >>{d}/published\nexit {aws_exit}\n"
    );
    std::fs::write(&aws, body).unwrap();
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("bash")
        .args([
            "-euc",
            ". \"$1\"; notify 'watchdog: n8n (unhealthy) failed'; echo done",
            "_",
        ])
        .arg(format!("{d}/mark.sh"))
        .env("PATH", format!("{d}:{}", std::env::var("PATH").unwrap()))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n", "{out:?}");
    let published = std::fs::read_to_string(format!("{d}/published")).unwrap_or_default();
    (published, String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn notify_publishes_to_the_stacks_topic_in_its_region_and_a_failure_holds_nothing_up() {
    let topic = "arn:aws:sns:eu-west-1:123456789012:alerts";
    let (published, said) = notify_with(Some(topic), 0);
    assert_eq!(
        published,
        format!(
            "sns|publish|--region|eu-west-1|--topic-arn|{topic}|--subject|GeuseMaker: demo|\
             --message|demo on i-0abc: watchdog: n8n (unhealthy) failed|--output|text|3\n"
        )
    );
    assert!(said.is_empty(), "{said}");
    let (_, said) = notify_with(Some(topic), 255);
    assert!(said.contains("could not publish"), "{said}");
    let (published, said) = notify_with(None, 0);
    assert!(
        published.is_empty() && said.is_empty(),
        "no topic: nothing sent"
    );
    // The watchdog tells of a replacement and of being capped; a drain of
    // a notice or a loss, not of the product's own switch.
    let dog = units::WATCHDOG;
    assert!(
        dog.rfind("notify \"watchdog:").unwrap() > dog.find("mark watchdog-unhealthy").unwrap()
    );
    assert_eq!(dog.matches("notify \"watchdog:").count(), 2);
    let drain = units::DRAIN;
    let told = drain.find("notify \"drained for").unwrap();
    assert!(told > drain.find("mark drained").unwrap());
    assert!(drain.contains("if [ \"$1\" != switch ]; then"));
}
