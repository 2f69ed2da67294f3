//! The stage markers an instance leaves on the stack's EFS
//! (`assets/instance/mark.sh`): the same "name timestamp" lines as its own
//! marker file, in one file per instance id, so they outlive the instance.
//! The next instance reads a lost one's drain through them.

use crate::domain::Timestamp;

/// Where each instance's copy of its markers lives on the instance.
pub const EFS_MARKERS_DIR: &str = "/mnt/efs/.geusemaker/markers";

/// The tag line the strict emulator answers this Run Command by.
pub const READ_TAG: &str = "# geusemaker:efs-markers";

/// What starts each instance's section of the command's output.
const SECTION: &str = "== ";

/// An EC2 instance id: `i-` and hex, nothing a shell gives a meaning to.
fn is_instance_id(id: &str) -> bool {
    id.strip_prefix("i-")
        .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The Run Command that prints the EFS markers of `ids`, one section each
/// ("== i-…" then its lines); ids that are not instance ids are left out.
pub fn read_command(ids: &[String]) -> String {
    let mut command = format!("{READ_TAG}\n");
    for id in ids.iter().filter(|id| is_instance_id(id)) {
        command.push_str(&format!(
            "echo '{SECTION}{id}'; cat '{EFS_MARKERS_DIR}/{id}' 2>/dev/null || true\n"
        ));
    }
    command
}

/// The command's output as (instance id, its marker file's text).
pub fn split_sections(output: &str) -> Vec<(String, String)> {
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in output.lines() {
        if let Some(id) = line.strip_prefix(SECTION) {
            sections.push((id.trim().to_string(), String::new()));
        } else if let Some((_, text)) = sections.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    sections
}

/// The markers of one file with the time each was written, in the order
/// written; lines that are not "name timestamp" are skipped.
pub fn with_times(file: &str) -> Vec<(String, Timestamp)> {
    file.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            // Whole seconds on an instance (`date -u`), finer in the sandbox;
            // a line cut short by a crash has no closing Z.
            let at = words.next().filter(|w| w.len() >= 20 && w.ends_with('Z'))?;
            let at = at.parse().ok()?;
            Some((name.to_string(), at))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_reads_only_instance_ids_and_its_output_splits_per_instance() {
        let ids = ["i-0abc".to_string(), "i-x; rm -rf /".to_string()];
        let command = read_command(&ids);
        assert!(command.starts_with(READ_TAG));
        assert!(command.contains("/mnt/efs/.geusemaker/markers/i-0abc"));
        assert!(!command.contains("rm -rf"), "{command}");
        let output = "== i-0abc\ndrained 2026-12-02T02:14:40Z\n== i-0def\n";
        assert_eq!(
            split_sections(output),
            [
                (
                    "i-0abc".to_string(),
                    "drained 2026-12-02T02:14:40Z\n".to_string()
                ),
                ("i-0def".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn markers_read_with_their_times_and_a_torn_line_is_skipped() {
        let file = "drain-started:spot-notice 2026-12-02T02:14:02Z\ndrained 2026-12-02T02:14:4";
        let read = with_times(file);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].0, "drain-started:spot-notice");
        assert_eq!(read[0].1, "2026-12-02T02:14:02Z".parse().unwrap());
    }
}
