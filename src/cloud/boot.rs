//! The user-data stage markers: the boot script appends one line per step
//! ("name timestamp") to a file on the instance; GeuseMaker reads it.

use crate::domain::Tier;

/// Every tier's markers, in the order the script writes them.
pub const BOOT_MARKERS: [&str; 6] = [
    "cloud-init",
    "packages",
    "efs-mounted",
    "secrets",
    "images-pulled",
    "compose-up",
];

/// The gpu tier's last marker says where Ollama ended up running.
pub const OLLAMA_ON_GPU: &str = "ollama-gpu";
pub const OLLAMA_ON_CPU: &str = "ollama-cpu";

/// How many markers a finished boot has written.
pub fn marker_total(tier: Tier) -> usize {
    BOOT_MARKERS.len() + usize::from(tier == Tier::Gpu)
}

/// The markers in `file`, in script order; on the gpu tier either Ollama
/// marker counts as the last step.
pub fn markers_done(tier: Tier, file: &str) -> Vec<String> {
    let written: Vec<&str> = file
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut done: Vec<String> = BOOT_MARKERS
        .iter()
        .filter(|m| written.contains(m))
        .map(|m| m.to_string())
        .collect();
    if tier == Tier::Gpu
        && let Some(device) = [OLLAMA_ON_GPU, OLLAMA_ON_CPU]
            .into_iter()
            .find(|m| written.contains(m))
    {
        done.push(device.to_string());
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "cloud-init 2026-11-23T10:00:00Z\npackages 2026-11-23T10:01:00Z\n\
        efs-mounted 2026-11-23T10:01:10Z\nsecrets 2026-11-23T10:01:11Z\n\
        images-pulled 2026-11-23T10:03:00Z\ncompose-up 2026-11-23T10:03:20Z\n";

    #[test]
    fn a_dev_boot_is_done_at_compose_up() {
        assert_eq!(markers_done(Tier::Dev, FILE).len(), marker_total(Tier::Dev));
        assert_eq!(
            markers_done(Tier::Dev, "cloud-init x\n"),
            vec!["cloud-init"]
        );
    }

    #[test]
    fn a_gpu_boot_ends_saying_where_ollama_runs() {
        assert_eq!(
            markers_done(Tier::Gpu, FILE).len(),
            marker_total(Tier::Gpu) - 1
        );
        let on_cpu = format!("{FILE}ollama-cpu 2026-11-23T10:03:40Z\n");
        let done = markers_done(Tier::Gpu, &on_cpu);
        assert_eq!(done.len(), marker_total(Tier::Gpu));
        assert_eq!(done.last().map(String::as_str), Some(OLLAMA_ON_CPU));
    }
}
