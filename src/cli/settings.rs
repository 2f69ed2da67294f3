//! `settings [get KEY | set KEY VALUE]`: the settings file, read and
//! changed one dotted key at a time (`notify.webhook_url`), each change
//! validated as the file is when it is read. A bad value changes nothing.

use serde_json::Value;

use super::Failure;
use super::args::{SettingsArgs, SettingsCommand};
use super::output::print_json;
use crate::domain::settings::Settings;
use crate::runtime::Runtime;

pub fn settings(rt: &Runtime, args: SettingsArgs, json: bool) -> Result<(), Failure> {
    let current = to_value(&rt.settings)?;
    match args.command {
        None if json => print_json(&current),
        None => {
            for (key, value) in leaves(&current, "") {
                println!("{key} = {}", shown(&value));
            }
            Ok(())
        }
        Some(SettingsCommand::Get { key }) => {
            let value = lookup(&current, &key)?;
            if json {
                return print_json(&value);
            }
            println!("{}", shown(&value));
            Ok(())
        }
        Some(SettingsCommand::Set { key, value }) => {
            let settings = with_value(&rt.settings, &key, &value)?;
            rt.store.save_settings(&settings)?;
            let now = lookup(&to_value(&settings)?, &key)?;
            if json {
                return print_json(&serde_json::json!({ "key": key, "value": now }));
            }
            println!("{key} = {}", shown(&now));
            Ok(())
        }
    }
}

fn to_value(settings: &Settings) -> Result<Value, Failure> {
    serde_json::to_value(settings).map_err(|e| Failure::failed(e.to_string()))
}

/// The settings with `key` set to `text`: JSON when it reads as JSON (a
/// number, true, null), else the text itself; then validated whole.
pub fn with_value(settings: &Settings, key: &str, text: &str) -> Result<Settings, Failure> {
    let known = to_value(&Settings::default())?;
    lookup(&known, key)?;
    let typed = serde_json::from_str::<Value>(text).ok();
    let mut tried = Vec::new();
    for value in typed.into_iter().chain([Value::String(text.to_string())]) {
        let mut tree = to_value(settings)?;
        set(&mut tree, key, value);
        let bytes = serde_json::to_vec(&tree).map_err(|e| Failure::failed(e.to_string()))?;
        match Settings::from_json(&bytes) {
            Ok(parsed) => {
                return parsed
                    .validate()
                    .map(|()| parsed)
                    .map_err(|e| Failure::bad_input(format!("{e}. Nothing was changed")));
            }
            Err(e) => tried.push(e.to_string()),
        }
    }
    Err(Failure::bad_input(format!(
        "{key} cannot be {text:?}: {}. Nothing was changed",
        tried.last().map_or("", String::as_str)
    )))
}

/// The value at a dotted key, or which keys there are.
fn lookup(tree: &Value, key: &str) -> Result<Value, Failure> {
    let mut at = tree;
    for part in key.split('.') {
        at = at.get(part).ok_or_else(|| {
            let known: Vec<String> = leaves(tree, "").into_iter().map(|(k, _)| k).collect();
            Failure::bad_input(format!(
                "there is no setting {key:?}; the settings are: {}",
                known.join(", ")
            ))
        })?;
    }
    Ok(at.clone())
}

fn set(tree: &mut Value, key: &str, value: Value) {
    let mut at = tree;
    let parts: Vec<&str> = key.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        at = &mut at[*part];
    }
    at[parts[parts.len() - 1]] = value;
}

/// Every leaf as (dotted key, value), in the file's order.
fn leaves(tree: &Value, prefix: &str) -> Vec<(String, Value)> {
    match tree {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &key)
            })
            .collect(),
        leaf => vec![(prefix.to_string(), leaf.clone())],
    }
}

/// A string as it is; anything else as JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_to(key: &str, text: &str) -> Result<Settings, String> {
        with_value(&Settings::default(), key, text).map_err(|f| f.message)
    }

    #[test]
    fn a_key_is_set_by_its_type_and_validated_as_the_file_is() {
        let s = set_to("health_check_interval_seconds", "60").unwrap();
        assert_eq!(s.health_check_interval_seconds, 60);
        let s = set_to("notify.webhook_url", "https://hooks.example.com/x").unwrap();
        assert_eq!(
            s.notify.webhook_url.as_deref(),
            Some("https://hooks.example.com/x")
        );
        let s = set_to("aws_profile", "123").unwrap();
        assert_eq!(
            s.aws_profile.as_deref(),
            Some("123"),
            "a string field takes digits as text"
        );
        let s = set_to("notify.webhook_url", "null").unwrap();
        assert_eq!(s.notify.webhook_url, None);
    }

    #[test]
    fn a_bad_value_names_the_field_and_the_range_and_an_unknown_key_lists_the_known() {
        let why = set_to("health_check_interval_seconds", "5").unwrap_err();
        assert!(
            why.contains("health_check_interval_seconds") && why.contains("10 to 300"),
            "{why}"
        );
        let why = set_to("notify.webhook_url", "http://plain.example").unwrap_err();
        assert!(why.contains("https://"), "{why}");
        let why = set_to("prefer_spot", "maybe").unwrap_err();
        assert!(
            why.contains("prefer_spot") && why.contains("Nothing was changed"),
            "{why}"
        );
        let why = set_to("colour", "blue").unwrap_err();
        assert!(
            why.contains("no setting") && why.contains("default_region"),
            "{why}"
        );
    }
}
