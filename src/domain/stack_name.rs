//! Stack names: the one identifier that reaches file paths, AWS tags and
//! resource names, so it is validated once, at the edge, and carried as a type.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest name the schema allows (seed 000: `^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$`).
pub const MAX_LEN: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StackName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid stack name {name:?}: {reason}. Use 2-64 characters: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. \"prod-ai\")"
)]
pub struct InvalidStackName {
    pub name: String,
    pub reason: &'static str,
}

impl StackName {
    pub fn parse(name: &str) -> Result<Self, InvalidStackName> {
        let fail = |reason| {
            Err(InvalidStackName {
                name: name.to_string(),
                reason,
            })
        };
        let bytes = name.as_bytes();
        if bytes.len() < 2 {
            return fail("it is shorter than 2 characters");
        }
        if bytes.len() > MAX_LEN {
            return fail("it is longer than 64 characters");
        }
        let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
        if !bytes.iter().all(allowed) {
            return fail("it contains a character other than a-z, 0-9 and '-'");
        }
        if bytes[0] == b'-' || bytes[bytes.len() - 1] == b'-' {
            return fail("it starts or ends with '-'");
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for StackName {
    type Err = InvalidStackName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for StackName {
    type Error = InvalidStackName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<StackName> for String {
    fn from(n: StackName) -> String {
        n.0
    }
}

impl fmt::Display for StackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for StackName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_schema_names() {
        for ok in ["ab", "prod-ai", "stack-000", "a1", &"a".repeat(64)] {
            assert!(StackName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_what_the_schema_rejects() {
        for bad in [
            "",
            "a",
            "-ab",
            "ab-",
            "Prod",
            "a_b",
            "../etc",
            "a b",
            "é1",
            &"a".repeat(65),
        ] {
            let err = StackName::parse(bad).unwrap_err();
            assert_eq!(err.name, bad);
        }
    }

    #[test]
    fn error_says_what_to_do() {
        let msg = StackName::parse("Bad_Name").unwrap_err().to_string();
        assert!(msg.contains("lowercase letters"), "{msg}");
    }
}
