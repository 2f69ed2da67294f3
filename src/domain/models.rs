//! Ollama's models on a stack: what is on its EFS, what is loaded and where
//! (CPU or GPU), and a pull's progress as Ollama reports it (`total`,
//! `completed`), with its rate, time left and whether it stalled. Parsed
//! from Ollama's own API answers; pure, for the CLI, the view and the tests.

use serde::{Deserialize, Serialize};

use super::Tier;
use super::time::Timestamp;

/// A model on the stack's EFS (`/api/tags`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstalledModel {
    pub name: String,
    pub size_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<String>,
}

/// A model in memory now (`/api/ps`), and how much of it is on the GPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadedModel {
    pub name: String,
    pub size_bytes: u64,
    pub vram_bytes: u64,
}

impl LoadedModel {
    /// "GPU", "CPU", or "48% GPU" as `ollama ps` says.
    pub fn processor(&self) -> String {
        match (self.vram_bytes, self.size_bytes) {
            (0, _) => "CPU".into(),
            (v, s) if v >= s => "GPU".into(),
            (v, s) => format!("{:.0}% GPU", v as f64 / s as f64 * 100.0),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelsView {
    pub installed: Vec<InstalledModel>,
    pub loaded: Vec<LoadedModel>,
}

#[derive(Deserialize)]
struct Tags {
    #[serde(default)]
    models: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    modified_at: Option<String>,
    #[serde(default)]
    size_vram: u64,
}

/// `/api/tags` and `/api/ps`, as Ollama answers them.
pub fn parse_view(tags: &str, ps: &str) -> Result<ModelsView, String> {
    let tags: Tags = serde_json::from_str(tags)
        .map_err(|e| format!("Ollama's model list does not parse: {e}"))?;
    Ok(ModelsView {
        installed: tags
            .models
            .into_iter()
            .map(|t| InstalledModel {
                name: t.name,
                size_bytes: t.size,
                modified_at: t.modified_at,
            })
            .collect(),
        loaded: parse_loaded(ps)?,
    })
}

/// `/api/ps`: the models in memory now, and how much of each is on the GPU.
pub fn parse_loaded(ps: &str) -> Result<Vec<LoadedModel>, String> {
    let ps: Tags = serde_json::from_str(ps)
        .map_err(|e| format!("Ollama's list of loaded models does not parse: {e}"))?;
    Ok(ps
        .models
        .into_iter()
        .map(|t| LoadedModel {
            name: t.name,
            size_bytes: t.size,
            vram_bytes: t.size_vram,
        })
        .collect())
}

/// A name Ollama takes, and nothing a shell would read: `[a-z0-9._:/-]`,
/// 1 to 200 characters, starting with a letter or digit.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._:/-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a model name: use one like llama3.2:3b or qwen2.5:7b (a-z, 0-9, . _ : / -)"
        ))
    }
}

/// One line of Ollama's pull stream: `{"status": …, "total": …, "completed": …}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PullProgress {
    /// Absent on an error line (`{"error": …}`).
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The pull is still running on the instance.
    #[serde(default)]
    pub running: bool,
}

impl PullProgress {
    pub fn is_done(&self) -> bool {
        self.status == "success"
    }
}

/// A model of Ollama's library the product offers to pull at first boot,
/// with its download size (what it takes on the EFS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownModel {
    pub name: &'static str,
    pub size_bytes: u64,
    /// What it is for, in a few words.
    pub about: &'static str,
}

/// The models offered at first boot, smallest first.
pub const CATALOGUE: [KnownModel; 6] = [
    KnownModel {
        name: "nomic-embed-text",
        size_bytes: 274_000_000,
        about: "embeddings",
    },
    KnownModel {
        name: "llama3.2:1b",
        size_bytes: 1_320_000_000,
        about: "fast on CPU",
    },
    KnownModel {
        name: "llama3.2:3b",
        size_bytes: 2_020_000_000,
        about: "good on CPU",
    },
    KnownModel {
        name: "mistral:7b",
        size_bytes: 4_110_000_000,
        about: "7B, for a GPU",
    },
    KnownModel {
        name: "qwen2.5:7b",
        size_bytes: 4_680_000_000,
        about: "7B, for a GPU",
    },
    KnownModel {
        name: "llama3.1:8b",
        size_bytes: 4_920_000_000,
        about: "8B, for a GPU",
    },
];

/// The known model of that name (`name` or `name:latest`).
pub fn known(name: &str) -> Option<&'static KnownModel> {
    let bare = name.strip_suffix(":latest").unwrap_or(name);
    CATALOGUE.iter().find(|m| m.name == bare)
}

/// The model a tier pulls at first boot unless the user chooses: a small
/// CPU model, or a GPU-sized one.
pub fn default_model(tier: Tier) -> &'static KnownModel {
    let name = match tier {
        Tier::Gpu => "llama3.1:8b",
        Tier::Dev | Tier::Automation => "llama3.2:3b",
    };
    known(name).unwrap_or(&CATALOGUE[0])
}

/// What `size_bytes` on the EFS costs a month at `gb_month` dollars.
pub fn efs_monthly(size_bytes: u64, gb_month: f64) -> f64 {
    size_bytes as f64 / 1e9 * gb_month
}

/// "2.0 GB, $0.61/mo on EFS": a model's size and what keeping it costs.
pub fn size_and_cost(size_bytes: u64, gb_month: f64) -> String {
    format!(
        "{}, {}/mo on EFS",
        bytes(size_bytes),
        super::cost::dollars(efs_monthly(size_bytes, gb_month))
    )
}

/// Polls without a new byte before a pull counts as stalled.
pub const STALL_POLLS: u32 = 6;

/// What a pull's polls add up to: bytes, rate, time left, and a stall.
#[derive(Clone, Debug, Default)]
pub struct PullTracker {
    first: Option<(Timestamp, u64)>,
    last: Option<(Timestamp, u64)>,
    still: u32,
}

impl PullTracker {
    /// Take one poll's answer.
    pub fn saw(&mut self, at: Timestamp, progress: &PullProgress) {
        let completed = progress.completed.unwrap_or(0);
        match self.last {
            Some((_, before)) if completed <= before && !progress.is_done() => self.still += 1,
            _ => self.still = 0,
        }
        if self.first.is_none() && completed > 0 {
            self.first = Some((at, completed));
        }
        if self.last.is_none_or(|(_, before)| completed > before) || self.first.is_none() {
            self.last = Some((at, completed));
        }
    }

    /// No new byte for `STALL_POLLS` polls in a row.
    pub fn stalled(&self) -> bool {
        self.still >= STALL_POLLS
    }

    /// Forget the stall (after a retry); the bytes so far stay.
    pub fn retried(&mut self) {
        self.still = 0;
    }

    /// Bytes a second, from the first byte seen to the latest.
    pub fn rate(&self) -> Option<f64> {
        let ((t0, b0), (t1, b1)) = (self.first?, self.last?);
        let secs = t0.secs_until(t1);
        (secs > 0.0 && b1 > b0).then(|| (b1 - b0) as f64 / secs)
    }

    /// Seconds left at the rate so far.
    pub fn eta_secs(&self, total: u64) -> Option<f64> {
        let (_, done) = self.last?;
        Some(total.saturating_sub(done) as f64 / self.rate()?)
    }
}

/// "1.23 GB", "512 MB", "8.0 KB".
pub fn bytes(n: u64) -> String {
    let n = n as f64;
    match n {
        n if n >= 1e9 => format!("{:.2} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.0} MB", n / 1e6),
        n => format!("{:.1} KB", n / 1e3),
    }
}

/// `[██████░░░░] 61% 1.23 GB of 2.02 GB · 48 MB/s · 17s left`.
pub fn progress_line(p: &PullProgress, tracker: &PullTracker, width: usize) -> String {
    let Some(share) = share(p) else {
        return p.status.clone();
    };
    let filled = ((share * width as f64).round() as usize).min(width);
    let bar: String = "█".repeat(filled) + &"░".repeat(width - filled);
    format!("[{bar}] {}", progress_text(p, tracker))
}

/// How much of the model is on the EFS, 0.0..=1.0, once Ollama says.
pub fn share(p: &PullProgress) -> Option<f64> {
    match (p.total, p.completed) {
        (Some(0), Some(_)) => Some(0.0),
        (Some(total), Some(done)) => Some(done as f64 / total as f64),
        _ => None,
    }
}

/// `61% 1.23 GB of 2.02 GB · 48 MB/s · 17s left`, or Ollama's status.
pub fn progress_text(p: &PullProgress, tracker: &PullTracker) -> String {
    let (Some(total), Some(done), Some(share)) = (p.total, p.completed, share(p)) else {
        return p.status.clone();
    };
    let rate = tracker
        .rate()
        .map(|r| format!(" · {}/s", bytes(r as u64)))
        .unwrap_or_default();
    let left = tracker
        .eta_secs(total)
        .map(|s| format!(" · {} left", super::time::format_elapsed(s)))
        .unwrap_or_default();
    format!(
        "{:.0}% {} of {}{rate}{left}",
        share * 100.0,
        bytes(done),
        bytes(total)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> Timestamp {
        "2026-12-04T10:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .plus_secs(secs)
    }

    fn step(completed: u64) -> PullProgress {
        PullProgress {
            status: "pulling 6a0746a1ec1a".into(),
            total: Some(2_000_000_000),
            completed: Some(completed),
            error: None,
            running: true,
        }
    }

    #[test]
    fn ollamas_lists_parse_and_say_where_a_model_runs() {
        let tags = r#"{"models":[{"name":"llama3.2:3b","size":2019393189,"modified_at":"2026-12-01T10:00:00Z","digest":"a80c"}]}"#;
        let ps = r#"{"models":[{"name":"llama3.2:3b","size":3400000000,"size_vram":3400000000},{"name":"qwen2.5:7b","size":5000000000,"size_vram":2400000000}]}"#;
        let view = parse_view(tags, ps).unwrap();
        assert_eq!(view.installed[0].size_bytes, 2_019_393_189);
        assert_eq!(view.loaded[0].processor(), "GPU");
        assert_eq!(view.loaded[1].processor(), "48% GPU");
        let cpu = parse_view(tags, r#"{"models":[{"name":"x","size":10,"size_vram":0}]}"#).unwrap();
        assert_eq!(cpu.loaded[0].processor(), "CPU");
        assert!(parse_view("not json", "{}").is_err());
        assert_eq!(parse_view("{}", "{}").unwrap(), ModelsView::default());
    }

    #[test]
    fn a_model_name_is_refused_when_a_shell_could_read_it() {
        for good in [
            "llama3.2:3b",
            "qwen2.5:7b",
            "library/mistral:latest",
            "hf.co/x/y",
        ] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "x; rm -rf /", "$(id)", "Llama", "-x", "a b", "a'b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rate_and_time_left_come_from_the_bytes_seen() {
        let mut t = PullTracker::default();
        t.saw(at(0.0), &step(0));
        t.saw(at(5.0), &step(100_000_000));
        t.saw(at(10.0), &step(200_000_000));
        assert_eq!(t.rate(), Some(20_000_000.0));
        assert_eq!(t.eta_secs(2_000_000_000), Some(90.0));
        let line = progress_line(&step(200_000_000), &t, 10);
        assert_eq!(
            line,
            "[█░░░░░░░░░] 10% 200 MB of 2.00 GB · 20 MB/s · 1:30 left"
        );
    }

    #[test]
    fn six_polls_without_a_byte_are_a_stall_and_a_retry_clears_it() {
        let mut t = PullTracker::default();
        t.saw(at(0.0), &step(500));
        for n in 1..=STALL_POLLS {
            assert!(!t.stalled(), "poll {n}");
            t.saw(at(f64::from(n) * 5.0), &step(500));
        }
        assert!(t.stalled());
        t.retried();
        assert!(!t.stalled());
        t.saw(at(40.0), &step(900));
        assert!(!t.stalled());
        let done = PullProgress {
            status: "success".into(),
            ..PullProgress::default()
        };
        assert!(done.is_done());
    }
}
