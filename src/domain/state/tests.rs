use super::*;

const PYTHON_V2: &str = include_str!("../../../tests/fixtures/python-geusemaker-v2-state.json");

#[test]
fn reads_the_python_v2_fixture() {
    let s: DeploymentState = serde_json::from_str(PYTHON_V2).unwrap();
    assert_eq!(s.stack_name, "stack-000");
    assert_eq!(s.status, StackStatus::Creating);
    assert_eq!(s.tier(), Tier::Dev, "tier comes from the nested config");
    assert_eq!(s.region(), "us-east-1");
    assert_eq!(s.provider, Provider::Aws);
    let cost = s.cost.as_ref().unwrap();
    assert_eq!(cost.spot_price_per_hour, Some(0.0301));
    assert_eq!(cost.estimated_monthly_cost, Some(21.973));
    assert_eq!(s.instance_type(), Some("t3.large"));
    assert!(s.created("efs"));
    assert!(s.extra.contains_key("efs_mount_target_ip"));
}

#[test]
fn unknown_fields_survive_a_rewrite() {
    let mut s: DeploymentState = serde_json::from_str(PYTHON_V2).unwrap();
    s.normalize();
    let written = serde_json::to_value(&s).unwrap();
    let original: Value = serde_json::from_str(PYTHON_V2).unwrap();
    for (key, value) in original.as_object().unwrap() {
        let kept = &written[key];
        if key == "cost" || key == "config" {
            for (k, v) in value.as_object().unwrap() {
                assert!(kept.get(k).is_some(), "{key}.{k} was dropped");
                if !v.is_string() {
                    assert_eq!(&kept[k], v, "{key}.{k} changed");
                }
            }
            continue;
        }
        assert_eq!(kept, value, "{key} changed on rewrite");
    }
    assert_eq!(written["tier"], "dev");
    assert_eq!(written["config"]["os_type"], "ubuntu-22.04");
    assert_eq!(written["cost"]["cost_history"], serde_json::json!([]));
}

#[test]
fn reads_the_seed_000_example_with_nulls() {
    let doc = r#"{"stack_name":"prod-ai-stack","status":"running","tier":"automation",
        "region":"us-east-1","created_at":"2024-01-15T10:30:00Z","cloudfront_id":null,
        "services":[{"service_name":"n8n","port":5678,"status":"healthy",
        "last_check":"2024-01-15T11:44:30Z","response_time_ms":45,"consecutive_failures":0}],
        "cost":{"instance_type":"t3.medium","is_spot":true,"spot_price_per_hour":0.0125,
        "on_demand_price_per_hour":0.0416,"estimated_monthly_cost":14.125},
        "last_healthy_state":null,"rollback_history":[{"timestamp":"2024-01-15T11:00:00Z",
        "trigger":"manual","resources_deleted":["i-1"],"success":true}]}"#;
    let s: DeploymentState = serde_json::from_str(doc).unwrap();
    assert_eq!(s.tier(), Tier::Automation);
    assert_eq!(s.services[0].response_time_ms, Some(45));
    assert_eq!(s.rollback_history[0].trigger, RollbackTrigger::Manual);
    assert!(s.rollback_history[0].efs_preserved);
}

#[test]
fn seed_001_terminated_reads_as_destroyed() {
    let doc = r#"{"stack_name":"ab","status":"terminated","created_at":"2024-01-15T10:30:00"}"#;
    let s: DeploymentState = serde_json::from_str(doc).unwrap();
    assert_eq!(s.status, StackStatus::Destroyed);
}

/// Found by `proptests`: "NaN" read as a price, was saved as null, and the
/// next load quarantined the file.
#[test]
fn a_price_json_cannot_hold_is_refused_with_its_field_named() {
    let doc = PYTHON_V2.replace(
        r#""total_runtime_hours": 0.0"#,
        r#""total_runtime_hours": "NaN""#,
    );
    let err = DeploymentState::from_json(doc.as_bytes()).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("cost.total_runtime_hours"));
    assert!(err.to_string().contains("NaN"), "{err}");
}

#[test]
fn a_field_of_the_wrong_type_is_named_in_the_error() {
    let value: Value = serde_json::from_str(PYTHON_V2).unwrap();
    for (field, path, bad) in [
        ("instance_id", "instance_id", serde_json::json!(5)),
        ("subnet_ids", "subnet_ids[0]", serde_json::json!([true])),
        ("status", "status", serde_json::json!("sleeping")),
        ("created_at", "created_at", serde_json::json!("yesterday")),
        (
            "cost",
            "cost.is_spot",
            serde_json::json!({"is_spot": "yes"}),
        ),
        ("config", "config.tier", serde_json::json!({"tier": 3})),
    ] {
        let mut doc = value.clone();
        doc[field] = bad;
        let err = DeploymentState::from_json(doc.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some(path), "{err}");
        assert!(
            err.to_string().starts_with(&format!("field {path}: ")),
            "{err}"
        );
    }
}
