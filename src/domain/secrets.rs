//! The secrets every stack keeps, as SecureString parameters under
//! `/geusemaker/<stack>/`: their names only; values never leave SSM but to
//! the instance's tmpfs and, on request, the user's terminal.

/// In the order `secret` and the dashboard's picker list them.
pub const SECRET_NAMES: [&str; 5] = [
    "n8n-owner-password",
    "postgres-password",
    "n8n-encryption-key",
    "qdrant-api-key",
    "crawl4ai-api-token",
];
