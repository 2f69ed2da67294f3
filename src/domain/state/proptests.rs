//! Property tests of the state parser: no input makes it panic, a field of
//! the wrong type is named in the error, and whatever loads saves and loads
//! again. `config` is the one setting every property test of the crate uses.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use serde_json::{Map, Value, json};

use super::*;
use crate::domain::budget::{Budget, BudgetAction, BudgetLevel, BudgetStatus};
use crate::domain::stage::{Operation, OperationKind, OperationResult, Stage};

/// `cases` cases from a fixed seed (the same cases on every run), and no
/// regression files written into the source tree.
pub(crate) fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x6765_7573_656d_616b),
        ..ProptestConfig::default()
    }
}

/// Strings a parser treats specially, mixed with arbitrary ones.
pub(crate) fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        1 => prop::sample::select(vec![
            "", " ", "NaN", "inf", "-Infinity", "1e999", "0.0301", "-1", "running", "terminated",
            "gpu", "n8n", "healthy", "manual", "deploy", "2026-07-01T10:30:00Z",
            "2026-07-01 10:30:00.5", "+10000-01-01T00:00:00", "9999-12-31T23:59:59Z",
            "0000-01-01T00:00:00Z", "0000-01-01T00:00:00+01:00", "-0001-01-01 00:00:00",
            "9999-12-31T23:30:00-01:00", "\u{0}", "\u{1b}[2J",
        ])
        .prop_map(str::to_string),
    ]
}

/// Any JSON value, a few levels deep.
pub(crate) fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        tricky_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((tricky_string(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The path as serde_path_to_error prints it: `cost.history[0].spot`.
fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => out.push_str(&format!(".{k}")),
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Every path to a value inside `v` (not the root).
fn paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    let children: Vec<(Seg, &Value)> = match v {
        Value::Object(map) => map.iter().map(|(k, v)| (Seg::Key(k.clone()), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (Seg::Index(i), v))
            .collect(),
        _ => Vec::new(),
    };
    for (seg, child) in children {
        prefix.push(seg);
        out.push(prefix.clone());
        paths(child, prefix, out);
        prefix.pop();
    }
}

fn value_at<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, seg| match seg {
        Seg::Key(k) => v.get(k.as_str()),
        Seg::Index(i) => v.get(*i),
    })
}

fn at_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::Index(i) => v.get_mut(*i),
    })
}

const PYTHON_V2: &str = include_str!("../../../tests/fixtures/python-geusemaker-v2-state.json");

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A running gpu stack with every optional part filled in, so that every
/// field of the schema is somewhere a mutation can reach.
fn rich_state() -> Value {
    let t = ts("2026-07-01T10:30:00Z");
    let mut s = DeploymentState::new("rich-1", Tier::Gpu, "eu-west-1", Provider::Aws, t);
    s.status = StackStatus::Running;
    s.status_reason = Some("why".into());
    s.account_id = Some("123456789012".into());
    for (field, id) in [
        (&mut s.vpc_id, "vpc-1"),
        (&mut s.security_group_id, "sg-1"),
        (&mut s.efs_id, "fs-1"),
        (&mut s.instance_id, "i-1"),
        (&mut s.alb_arn, "arn:alb"),
        (&mut s.cloudfront_id, "E1"),
        (&mut s.public_ip, "203.0.113.1"),
    ] {
        *field = Some(id.to_string());
    }
    s.subnet_ids = vec!["subnet-1".into(), "subnet-2".into()];
    s.listener_arns = vec!["arn:l".into()];
    s.efs_size_bytes = Some(1 << 30);
    s.budget = Some(Budget {
        monthly_usd: 50.0,
        action: BudgetAction::Stop,
    });
    s.budget_status = Some(BudgetStatus {
        level: BudgetLevel::Warning,
        monthly_usd: 50.0,
        projected_monthly: 45.0,
        spent_this_month: 3.0,
        action: BudgetAction::Stop,
        message: "80%".into(),
    });
    s.set_provenance("efs", true);
    s.services = vec![ServiceHealth {
        service_name: Service::N8n,
        port: Some(5678),
        status: ServiceStatus::Healthy,
        last_check: Some(t),
        response_time_ms: Some(40),
        consecutive_failures: 0,
        error_message: None,
        oom_kills: Vec::new(),
        image: None,
        started_at: None,
        starts: None,
        loaded: None,
        extra: Map::new(),
    }];
    s.push_health(HealthSample::of(&s.services, t));
    let mut cost = CostTracking::new("g4dn.xlarge", true);
    cost.spot_price_per_hour = Some(0.2);
    cost.instance_start_time = Some(t);
    cost.closed_runtime_hours = 1.5;
    cost.history.push(InstancePeriod {
        instance_id: Some("i-0".into()),
        instance_type: Some("g4dn.xlarge".into()),
        spot: true,
        started_at: t,
        ended_at: t,
        hourly_rate: 0.2,
    });
    s.cost = Some(cost);
    s.rollback_history.push(RollbackRecord {
        timestamp: t,
        trigger: RollbackTrigger::SpotInterruption,
        resources_deleted: vec!["i-0".into()],
        efs_preserved: true,
        success: true,
        error_message: None,
        finished_at: Some(t),
        extra: Map::new(),
    });
    let mut op = Operation::new(
        OperationKind::Deploy,
        t,
        &[Stage::Validate, Stage::Instance],
    );
    op.finished_at = Some(t);
    op.result = Some(OperationResult::Succeeded);
    s.operation = Some(op);
    s.config = Some(DeploymentConfig {
        tier: Some(Tier::Gpu),
        use_spot: Some(true),
        rollback_timeout_minutes: Some(15),
        ..DeploymentConfig::default()
    });
    s.last_healthy_state = Some(json!({"instance_id": "i-0"}));
    serde_json::to_value(&s).unwrap()
}

/// The documents mutations start from, and every path inside each.
fn with_paths(docs: Vec<Value>) -> Vec<(Value, Vec<Vec<Seg>>)> {
    docs.into_iter()
        .map(|doc| {
            let mut out = Vec::new();
            paths(&doc, &mut Vec::new(), &mut out);
            (doc, out)
        })
        .collect()
}

/// The Python GeuseMaker's v2 fixture, and a state with every part filled in.
fn base_docs() -> Vec<Value> {
    vec![serde_json::from_str(PYTHON_V2).unwrap(), rich_state()]
}

fn bases() -> Vec<(Value, Vec<Vec<Seg>>)> {
    with_paths(base_docs())
}

/// One of `docs` with the value at one of its paths replaced by any JSON:
/// (the document, the path as a parse error names it).
pub(crate) fn replaced_in(docs: Vec<Value>) -> impl Strategy<Value = (Vec<u8>, String)> {
    let bases = with_paths(docs);
    (0..bases.len(), any::<prop::sample::Index>(), any_json()).prop_map(move |(b, i, value)| {
        let (doc, paths) = &bases[b];
        let path = i.get(paths);
        let mut doc = doc.clone();
        if let Some(slot) = at_mut(&mut doc, path) {
            *slot = value;
        }
        (serde_json::to_vec(&doc).unwrap(), render(path))
    })
}

/// A base document with one of its numbers or strings (prices, times,
/// names) replaced by a string a parser treats specially.
fn restrung() -> impl Strategy<Value = String> {
    let bases: Vec<(Value, Vec<Vec<Seg>>)> = bases()
        .into_iter()
        .map(|(doc, paths)| {
            let scalar =
                |p: &&Vec<Seg>| value_at(&doc, p).is_some_and(|v| v.is_number() || v.is_string());
            let paths: Vec<Vec<Seg>> = paths.iter().filter(scalar).cloned().collect();
            (doc, paths)
        })
        .collect();
    (
        0..bases.len(),
        any::<prop::sample::Index>(),
        tricky_string(),
    )
        .prop_map(move |(b, i, text)| {
            let (doc, paths) = &bases[b];
            let path = i.get(paths);
            let mut doc = doc.clone();
            if let Some(slot) = at_mut(&mut doc, path) {
                *slot = Value::from(text);
            }
            serde_json::to_string(&doc).unwrap()
        })
}

/// One of `docs` with one field of an object removed: (the document, the
/// field's name, empty when the path was an array element).
pub(crate) fn removed_in(docs: Vec<Value>) -> impl Strategy<Value = (Vec<u8>, String)> {
    let bases = with_paths(docs);
    (0..bases.len(), any::<prop::sample::Index>()).prop_map(move |(b, i)| {
        let (doc, paths) = &bases[b];
        let path = i.get(paths);
        let mut doc = doc.clone();
        let (last, parent) = path.split_last().unwrap();
        let mut name = String::new();
        if let (Seg::Key(k), Some(Value::Object(map))) = (last, at_mut(&mut doc, parent)) {
            map.remove(k);
            name = k.clone();
        }
        (serde_json::to_vec(&doc).unwrap(), name)
    })
}

/// Whatever loads must save and load again (a save must never write a file
/// that the next load quarantines), and what `status` computes from a loaded
/// state must not panic either.
fn reloads(state: &DeploymentState) -> Result<(), TestCaseError> {
    let now = ts("2026-07-02T00:00:00Z");
    let _ = crate::domain::cost::summarize(state, now);
    let _ = crate::domain::budget::check(state, now);
    let _ = state.integrity_violations();
    let written = serde_json::to_vec(state).map_err(|e| TestCaseError::fail(e.to_string()))?;
    match DeploymentState::from_json(&written) {
        Ok(_) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!(
            "saved {} but it does not load: {e}",
            String::from_utf8_lossy(&written)
        ))),
    }
}

proptest! {
    #![proptest_config(config(4000))]


    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = DeploymentState::from_json(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(doc in any_json()) {
        if let Ok(state) = DeploymentState::from_json(&serde_json::to_vec(&doc).unwrap()) {
            reloads(&state)?;
        }
    }

    #[test]
    fn a_damaged_fixture_never_panics(
        cut in 0..PYTHON_V2.len(),
        byte in any::<u8>(),
        at in 0..PYTHON_V2.len(),
    ) {
        let mut bytes = PYTHON_V2.as_bytes()[..cut].to_vec();
        let _ = DeploymentState::from_json(&bytes);
        bytes = PYTHON_V2.as_bytes().to_vec();
        bytes[at] = byte;
        if let Ok(state) = DeploymentState::from_json(&bytes) {
            reloads(&state)?;
        }
    }

}

proptest! {
    // Each case parses a whole state twice (load, then save and load).
    #![proptest_config(config(2500))]

    #[test]
    fn a_field_of_the_wrong_type_is_named((bytes, path) in replaced_in(base_docs())) {
        match DeploymentState::from_json(&bytes) {
            Ok(state) => reloads(&state)?,
            Err(e) => {
                let field = e.field.clone().unwrap_or_default();
                prop_assert!(
                    field.starts_with(&path),
                    "replaced {path}, error names {field:?}: {e}"
                );
                prop_assert!(e.to_string().contains(&field), "{e}");
            }
        }
    }

    #[test]
    fn a_number_or_time_written_oddly_loads_and_reloads_or_is_named(doc in restrung()) {
        match DeploymentState::from_json(doc.as_bytes()) {
            Ok(state) => reloads(&state)?,
            Err(e) => prop_assert!(e.field.is_some(), "{e}"),
        }
    }

    #[test]
    fn a_missing_field_is_named((bytes, name) in removed_in(base_docs())) {
        match DeploymentState::from_json(&bytes) {
            Ok(state) => reloads(&state)?,
            Err(e) => {
                prop_assert!(e.to_string().contains(&format!("`{name}`")), "removed {name}: {e}")
            }
        }
    }
}

#[test]
fn both_bases_parse() {
    for (doc, paths) in bases() {
        let state = DeploymentState::from_json(&serde_json::to_vec(&doc).unwrap()).unwrap();
        reloads(&state).unwrap();
        assert!(paths.len() > 40, "{}", paths.len());
    }
}
