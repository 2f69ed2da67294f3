//! Errors from a cloud provider, each with a sentence a user can act on.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The provider asked us to slow down; worth retrying after a pause.
    #[error("{operation} was throttled by the cloud API")]
    Throttled { operation: String },
    #[error("no {market} capacity for {instance_type} in {zone}")]
    InsufficientCapacity {
        instance_type: String,
        zone: String,
        market: String,
    },
    /// A call the provider refused, with what to do about it.
    #[error("{operation} failed: {message}{}", hint.as_ref().map(|h| format!(". {h}")).unwrap_or_default())]
    Api {
        operation: String,
        code: String,
        message: String,
        hint: Option<String>,
    },
    /// The request cannot work as asked (found before anything was created).
    #[error("{0}")]
    Refused(String),
    #[error("{what} did not finish within {secs:.0}s")]
    Timeout { what: String, secs: f64 },
    /// Healthy on the instance, but not reachable from this machine: a
    /// reason to look at the network, never to roll back.
    #[error("{0}")]
    Unreachable(String),
    #[error("could not record the stack's state: {0}")]
    State(#[from] StoreError),
}

impl CloudError {
    pub fn api(operation: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Api {
            operation: operation.to_string(),
            code: code.to_string(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. })
    }

    /// The caller's own credentials or permissions were refused: a wait for
    /// an instance or a service cannot end well, so it should end now
    /// rather than at its timeout.
    pub fn waiting_cannot_fix(&self) -> bool {
        let Self::Api { code, .. } = self else {
            return false;
        };
        matches!(
            code.as_str(),
            "Credentials"
                | "UnauthorizedOperation"
                | "AccessDenied"
                | "AccessDeniedException"
                | "AuthFailure"
                | "InvalidClientTokenId"
                | "UnrecognizedClientException"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "RequestExpired"
        )
    }
}

pub type CloudResult<T> = Result<T, CloudError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refused_credentials_and_permissions_end_a_wait_early() {
        for code in ["Credentials", "AccessDeniedException", "ExpiredToken"] {
            assert!(CloudError::api("SendCommand", code, "no").waiting_cannot_fix());
        }
        for code in ["InvalidInstanceId", "Unreachable", "InternalError"] {
            assert!(!CloudError::api("SendCommand", code, "no").waiting_cannot_fix());
        }
        let throttled = CloudError::Throttled {
            operation: "SendCommand".into(),
        };
        assert!(!throttled.waiting_cannot_fix());
    }
}
