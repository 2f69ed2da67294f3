//! User settings (seed 000 §8.4). Every default is written out on first run so
//! users can see and edit what they can change.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::state::DEFAULT_REGION;
use super::tier::Tier;

/// The dashboard's colours. `auto` is dark unless the terminal says its
/// background is light (`COLORFGBG`); `NO_COLOR` means `no-color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ColorTheme {
    #[default]
    Auto,
    Dark,
    Light,
    HighContrast,
    /// No red/green pair: blue and orange, status by symbol and shape.
    #[serde(alias = "colour-blind")]
    #[value(alias = "colour-blind")]
    ColorBlind,
    /// Bold and reverse video only, as `NO_COLOR` asks.
    NoColor,
}

impl ColorTheme {
    pub const NAMED: [ColorTheme; 5] = [
        Self::Dark,
        Self::Light,
        Self::HighContrast,
        Self::ColorBlind,
        Self::NoColor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Dark => "dark",
            Self::Light => "light",
            Self::HighContrast => "high-contrast",
            Self::ColorBlind => "color-blind",
            Self::NoColor => "no-color",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let text = if text == "colour-blind" {
            "color-blind"
        } else {
            text
        };
        [Self::Auto]
            .into_iter()
            .chain(Self::NAMED)
            .find(|t| t.name() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UiPreferences {
    pub show_ascii_banners: bool,
    pub show_emojis: bool,
    pub compact_mode: bool,
    pub color_theme: ColorTheme,
    /// The dashboard takes the mouse (click, wheel); off, the terminal
    /// selects text as usual. `m` switches it for the session.
    pub mouse: bool,
    /// Log lines the dashboard keeps per stack.
    pub log_buffer_lines: usize,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for UiPreferences {
    fn default() -> Self {
        Self {
            show_ascii_banners: true,
            show_emojis: true,
            compact_mode: false,
            color_theme: ColorTheme::Auto,
            mouse: true,
            log_buffer_lines: 50_000,
            extra: Map::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub default_region: String,
    pub default_tier: Tier,
    pub default_instance_type: String,
    pub prefer_spot: bool,
    pub auto_rollback_on_failure: bool,
    pub health_check_interval_seconds: u32,
    pub consecutive_failures_threshold: u32,
    /// How often the instance snapshots Qdrant's changed collections to EFS.
    pub qdrant_snapshot_minutes: u32,
    pub ui_preferences: UiPreferences,
    pub aws_profile: Option<String>,
    /// Every new stack's monthly budget in US dollars, unless `--budget`.
    pub monthly_budget_usd: Option<f64>,
    /// All live stacks together, a month (`budget --all`): warned of at 80%
    /// and 100%; at 100% the stacks whose own action is stop are stopped,
    /// the most expensive first, until the projection is under it.
    pub account_monthly_budget_usd: Option<f64>,
    /// What happens when a stack has spent its budget: warn or stop.
    pub budget_action: super::budget::BudgetAction,
    /// Where the monitor tells what happened: rollbacks, recoveries, budgets.
    pub notify: NotifySettings,
    /// Refuse every change (as `--readonly`): look, never touch.
    pub readonly: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifySettings {
    /// An HTTPS URL that takes a POST (Slack, Discord, or your own).
    pub webhook_url: Option<String>,
    pub format: super::notify::NotifyFormat,
    /// An SNS topic the instance's own watchdog and drain publish to
    /// (`sns:Publish` on this topic only): failures and replacements while
    /// no monitor runs. Taken at deploy.
    pub sns_topic_arn: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_region: DEFAULT_REGION.to_string(),
            default_tier: Tier::Dev,
            default_instance_type: Tier::Dev.default_instance_type().to_string(),
            prefer_spot: true,
            auto_rollback_on_failure: true,
            health_check_interval_seconds: 30,
            consecutive_failures_threshold: 3,
            qdrant_snapshot_minutes: 15,
            ui_preferences: UiPreferences::default(),
            aws_profile: None,
            monthly_budget_usd: None,
            account_monthly_budget_usd: None,
            budget_action: super::budget::BudgetAction::Warn,
            notify: NotifySettings::default(),
            readonly: false,
            extra: Map::new(),
        }
    }
}

/// What the instance's own checks use: the watchdog's failures in a row
/// before it asks for a replacement, and Qdrant's snapshot period. From the
/// settings at deploy, kept in the stack's config for its rollbacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceChecks {
    pub watchdog_threshold: u32,
    pub qdrant_snapshot_minutes: u32,
}

impl Default for InstanceChecks {
    fn default() -> Self {
        Settings::default().instance_checks()
    }
}

impl Settings {
    pub fn instance_checks(&self) -> InstanceChecks {
        InstanceChecks {
            watchdog_threshold: self.consecutive_failures_threshold,
            qdrant_snapshot_minutes: self.qdrant_snapshot_minutes,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {field} = {value} is out of range: {expected}")]
pub struct InvalidSetting {
    pub field: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl Settings {
    /// Parse `config/settings.json` (missing keys take their defaults); an
    /// error names the offending field. Range checks are `validate`'s.
    pub fn from_json(bytes: &[u8]) -> Result<Self, super::state::JsonError> {
        super::state::json::from_slice(bytes)
    }

    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let range = |field, v: u32, lo, hi, expected| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(InvalidSetting {
                    field,
                    value: v.to_string(),
                    expected,
                })
            }
        };
        range(
            "health_check_interval_seconds",
            self.health_check_interval_seconds,
            10,
            300,
            "use 10 to 300 seconds",
        )?;
        range(
            "consecutive_failures_threshold",
            self.consecutive_failures_threshold,
            1,
            10,
            "use 1 to 10",
        )?;
        range(
            "qdrant_snapshot_minutes",
            self.qdrant_snapshot_minutes,
            5,
            1440,
            "use 5 to 1440 minutes",
        )?;
        for (field, usd) in [
            ("monthly_budget_usd", self.monthly_budget_usd),
            (
                "account_monthly_budget_usd",
                self.account_monthly_budget_usd,
            ),
        ] {
            if let Some(v) = usd
                && !(v.is_finite() && v > 0.0)
            {
                return Err(InvalidSetting {
                    field,
                    value: v.to_string(),
                    expected: "more than 0 US dollars, or null for none",
                });
            }
        }
        if let Some(url) = &self.notify.webhook_url
            && !is_https_url(url)
        {
            return Err(InvalidSetting {
                field: "notify.webhook_url",
                value: format!("{url:?}"),
                expected: "an https:// URL (events are sent over HTTPS only)",
            });
        }
        if let Some(arn) = &self.notify.sns_topic_arn
            && !super::notify::is_topic_arn(arn)
        {
            return Err(InvalidSetting {
                field: "notify.sns_topic_arn",
                value: format!("{arn:?}"),
                expected: "an SNS topic ARN, arn:aws:sns:REGION:ACCOUNT:NAME",
            });
        }
        if self.default_region.is_empty() {
            return Err(InvalidSetting {
                field: "default_region",
                value: "\"\"".into(),
                expected: "name a region such as us-east-1",
            });
        }
        Ok(())
    }
}

/// `https://host[:port][/path]`, with a host.
fn is_https_url(url: &str) -> bool {
    url.strip_prefix("https://")
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .is_some_and(|host| !host.is_empty() && !host.contains(char::is_whitespace))
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_of_seed_000_is_written() {
        let v = serde_json::to_value(Settings::default()).unwrap();
        for key in [
            "default_region",
            "default_tier",
            "default_instance_type",
            "prefer_spot",
            "auto_rollback_on_failure",
            "health_check_interval_seconds",
            "consecutive_failures_threshold",
            "ui_preferences",
            "aws_profile",
        ] {
            assert!(v.get(key).is_some(), "{key} missing");
        }
        assert_eq!(v["health_check_interval_seconds"], 30);
        assert_eq!(v["ui_preferences"]["color_theme"], "auto");
        assert!(v["aws_profile"].is_null());
    }

    #[test]
    fn partial_files_take_defaults_and_keep_unknown_keys() {
        let s: Settings = serde_json::from_str(r#"{"prefer_spot":false,"theme_x":1}"#).unwrap();
        assert!(!s.prefer_spot);
        assert_eq!(s.consecutive_failures_threshold, 3);
        assert_eq!(serde_json::to_value(&s).unwrap()["theme_x"], 1);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused_with_the_field_named() {
        let err =
            Settings::from_json(br#"{"ui_preferences": {"color_theme": "pink"}}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("ui_preferences.color_theme"));
        let err = Settings::from_json(br#"{"health_check_interval_seconds": -1}"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("field health_check_interval_seconds: "),
            "{err}"
        );
    }

    #[test]
    fn a_webhook_must_be_https() {
        let with = |url: &str| Settings {
            notify: NotifySettings {
                webhook_url: Some(url.into()),
                ..NotifySettings::default()
            },
            ..Settings::default()
        };
        assert!(
            with("https://hooks.slack.com/services/T/B/x")
                .validate()
                .is_ok()
        );
        assert!(with("https://127.0.0.1:8443/hook").validate().is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "hooks.example.com",
            "https://",
            "https:// x",
        ] {
            let err = with(bad).validate().unwrap_err();
            assert_eq!(err.field, "notify.webhook_url", "{bad}");
        }
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_field_named() {
        let s = Settings {
            health_check_interval_seconds: 5,
            ..Settings::default()
        };
        let err = s.validate().unwrap_err();
        assert_eq!(err.field, "health_check_interval_seconds");
        assert!(err.to_string().contains("10 to 300"));
    }
}
