//! Property tests of the settings parser and its range checks.

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::domain::state::proptests::{any_json, config, removed_in, replaced_in, tricky_string};

/// Every default, plus the optional values set.
fn base() -> Vec<Value> {
    let mut full = serde_json::to_value(Settings::default()).unwrap();
    full["aws_profile"] = "work".into();
    full["monthly_budget_usd"] = 25.0.into();
    full["notify"]["webhook_url"] = "https://hooks.example.com/x".into();
    full["notify"]["sns_topic_arn"] = "arn:aws:sns:us-east-1:123456789012:alerts".into();
    vec![full]
}

/// Parsed settings either pass `validate` or are refused with a checked
/// field named, and they write back to a file that parses.
fn validated_and_rewritable(s: &Settings) -> Result<(), TestCaseError> {
    if let Err(e) = s.validate() {
        prop_assert!(VALIDATED.contains(&e.field), "{e}");
        prop_assert!(e.to_string().contains(e.field), "{e}");
    }
    let written = serde_json::to_vec(s).unwrap();
    prop_assert!(Settings::from_json(&written).is_ok());
    Ok(())
}

const VALIDATED: [&str; 8] = [
    "health_check_interval_seconds",
    "consecutive_failures_threshold",
    "qdrant_snapshot_minutes",
    "monthly_budget_usd",
    "account_monthly_budget_usd",
    "default_region",
    "notify.webhook_url",
    "notify.sns_topic_arn",
];

/// Mostly near the ranges, sometimes anywhere.
fn count() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..400, any::<u32>()]
}

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(s) = Settings::from_json(&bytes) {
            validated_and_rewritable(&s)?;
        }
    }

    #[test]
    fn arbitrary_json_never_panics(doc in any_json()) {
        if let Ok(s) = Settings::from_json(&serde_json::to_vec(&doc).unwrap()) {
            validated_and_rewritable(&s)?;
        }
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named((bytes, path) in replaced_in(base())) {
        match Settings::from_json(&bytes) {
            Ok(s) => validated_and_rewritable(&s)?,
            Err(e) => {
                let field = e.field.clone().unwrap_or_default();
                prop_assert!(field.starts_with(&path), "replaced {path}, named {field:?}: {e}");
                prop_assert!(e.to_string().contains(&field), "{e}");
            }
        }
    }

    #[test]
    fn a_missing_key_takes_its_default((bytes, _) in removed_in(base())) {
        let s = Settings::from_json(&bytes);
        prop_assert!(s.is_ok(), "{:?}", s.err());
    }

    #[test]
    fn validate_refuses_exactly_what_is_out_of_range(
        interval in count(),
        threshold in count(),
        region in tricky_string(),
    ) {
        let s = Settings {
            health_check_interval_seconds: interval,
            consecutive_failures_threshold: threshold,
            default_region: region.clone(),
            ..Settings::default()
        };
        let expected = if !(10..=300).contains(&interval) {
            Some(VALIDATED[0])
        } else if !(1..=10).contains(&threshold) {
            Some(VALIDATED[1])
        } else if region.is_empty() {
            Some(VALIDATED[2])
        } else {
            None
        };
        prop_assert_eq!(s.validate().err().map(|e| e.field), expected);
    }
}
