//! A small evaluator of IAM identity policies, for tests that prove what a
//! role's documents allow without asking AWS. It follows IAM's order: an
//! explicit Deny wins, then an Allow, else the request is implicitly denied.
//!
//! It knows `Effect`, `Action`/`NotAction` (case-insensitive) and
//! `Resource`/`NotResource` (case-sensitive), each a string or a list, with
//! the `*` and `?` wildcards. Of conditions it knows `StringEquals` on the
//! resource's tags (`aws:ResourceTag/KEY`); a statement with any other
//! condition is taken as not applying, which for an Allow means it grants
//! nothing here, and for a Deny that nothing rests on it. Principals,
//! permission boundaries, SCPs and resource policies are out of its scope.

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// What `policies` (whole documents) decide for `action` on `resource`.
pub fn evaluate(policies: &[&Value], action: &str, resource: &str) -> Decision {
    evaluate_tagged(policies, action, resource, &[])
}

/// `evaluate` for a resource that carries `tags`.
pub fn evaluate_tagged(
    policies: &[&Value],
    action: &str,
    resource: &str,
    tags: &[(&str, &str)],
) -> Decision {
    let mut allowed = false;
    for statement in policies.iter().flat_map(|p| statements(p)) {
        if !applies(statement, action, resource) || !conditions_hold(statement, tags) {
            continue;
        }
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return Decision::ExplicitDeny,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

fn statements(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// Whether every condition of `statement` holds for a resource with `tags`.
fn conditions_hold(statement: &Value, tags: &[(&str, &str)]) -> bool {
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return statement.get("Condition").is_none();
    };
    conditions.iter().all(|(operator, tests)| {
        let Some(tests) = tests.as_object().filter(|_| operator == "StringEquals") else {
            return false;
        };
        tests.iter().all(|(key, wanted)| {
            let Some(tag) = key.strip_prefix("aws:ResourceTag/") else {
                return false;
            };
            let have = tags.iter().find(|(k, _)| *k == tag).map(|(_, v)| *v);
            have.is_some_and(|v| strings(wanted).contains(&v))
        })
    })
}

fn applies(statement: &Value, action: &str, resource: &str) -> bool {
    let action_matches = |pattern: &str| glob(&pattern.to_lowercase(), &action.to_lowercase());
    let resource_matches = |pattern: &str| glob(pattern, resource);
    let action_ok = match (statement.get("Action"), statement.get("NotAction")) {
        (Some(list), None) => strings(list).into_iter().any(action_matches),
        (None, Some(list)) => !strings(list).into_iter().any(action_matches),
        _ => false,
    };
    let resource_ok = match (statement.get("Resource"), statement.get("NotResource")) {
        (Some(list), None) => strings(list).into_iter().any(resource_matches),
        (None, Some(list)) => !strings(list).into_iter().any(resource_matches),
        _ => false,
    };
    action_ok && resource_ok
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(one) => vec![one.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// IAM's wildcards: `*` any run of characters (`/` and `:` included), `?`
/// any one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(glob("*", ""));
        assert!(glob("*", "arn:aws:ssm:us-east-1:1:parameter/a/b"));
        assert!(glob(
            "arn:aws:ssm:*:*:parameter/a/*",
            "arn:aws:ssm:eu-west-1:1:parameter/a/b/c"
        ));
        assert!(!glob(
            "arn:aws:ssm:*:*:parameter/a/*",
            "arn:aws:ssm:eu-west-1:1:parameter/ab"
        ));
        assert!(glob("ssm:Get?arameter", "ssm:GetParameter"));
        assert!(!glob("ssm:Get?arameter", "ssm:GetParameters"));
        assert!(glob("ssm:GetParameter*", "ssm:GetParametersByPath"));
        assert!(!glob("a*b", "acbx"));
        assert!(glob("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn deny_wins_then_allow_else_implicit_deny() {
        let allow = json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
        let deny = json!({"Statement": {"Effect": "Deny", "Action": "S3:GetObject", "NotResource": "arn:x:*"}});
        assert_eq!(
            evaluate(&[&allow], "s3:GetObject", "arn:y:1"),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&[&allow, &deny], "s3:getobject", "arn:y:1"),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate(&[&allow, &deny], "s3:GetObject", "arn:x:1"),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&[&deny], "s3:GetObject", "arn:x:1"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&[], "s3:GetObject", "arn:x:1"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn not_action_and_conditions() {
        let everything_but_iam =
            json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]});
        assert_eq!(
            evaluate(&[&everything_but_iam], "ec2:RunInstances", "*"),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&[&everything_but_iam], "IAM:PassRole", "*"),
            Decision::ImplicitDeny
        );
        let conditional = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]});
        assert_eq!(
            evaluate(&[&conditional], "s3:GetObject", "arn:x"),
            Decision::ImplicitDeny
        );
        let malformed = json!({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x:*", "Resource": "*"}]});
        assert_eq!(
            evaluate(&[&malformed], "s3:GetObject", "arn:x"),
            Decision::ImplicitDeny
        );
    }
}
