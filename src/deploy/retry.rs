//! Retrying what the cloud throttled, with the wait shown on the stage.

use std::time::Duration;

use crate::cloud::{CloudError, Session};

pub const MAX_ATTEMPTS: u32 = 6;

/// 1, 2, 4, 8, 8, 8 × base.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    base * 2u32.pow(attempt.saturating_sub(1).min(3))
}

/// Whether to try again after `error`, and if so, say so on the stage and wait.
pub async fn should_retry(
    s: &mut Session,
    error: &CloudError,
    attempt: u32,
    base: Duration,
) -> bool {
    if !error.is_retryable() || attempt >= MAX_ATTEMPTS {
        return false;
    }
    let wait = backoff(base, attempt);
    let note = format!(
        "{error}; retry {attempt}/{} in {:.1}s",
        MAX_ATTEMPTS - 1,
        wait.as_secs_f64()
    );
    if s.progress(None, note).is_err() {
        return false;
    }
    tokio::time::sleep(wait).await;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_levels_off() {
        let b = Duration::from_secs(1);
        let waits: Vec<_> = (1..=6).map(|a| backoff(b, a).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 8, 8]);
    }
}
