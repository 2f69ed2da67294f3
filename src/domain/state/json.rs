//! Reading JSON documents (state files, settings) so that an error names the
//! field it is about: serde_json alone says "invalid type: integer `5`,
//! expected a string at line 9 column 18", which leaves the reader to count.

use std::fmt;

use serde::de::DeserializeOwned;

/// A document that did not parse, and where in it.
#[derive(Debug, thiserror::Error)]
pub struct JsonError {
    /// The offending field as a path (`cost.spot_price_per_hour`,
    /// `subnet_ids[2]`); `None` when the error is about the document itself
    /// (not JSON, trailing bytes, a missing field, which serde names).
    pub field: Option<String>,
    #[source]
    pub source: serde_json::Error,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field {field}: {}", self.source),
            None => self.source.fmt(f),
        }
    }
}

/// `serde_json::from_slice`, with the path of the field an error is about.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        JsonError {
            field: (path != ".").then_some(path),
            source: e.into_inner(),
        }
    })?;
    de.end().map_err(|source| JsonError {
        field: None,
        source,
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Doc {
        name: String,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    struct Inner {
        ids: Vec<u32>,
    }

    #[test]
    fn a_wrong_type_names_its_field() {
        let err = from_slice::<Doc>(br#"{"name": 5}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("name"));
        assert!(
            err.to_string().starts_with("field name: invalid type"),
            "{err}"
        );
        let err = from_slice::<Doc>(br#"{"name": "a", "inner": {"ids": [1, "x"]}}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("inner.ids[1]"));
    }

    #[test]
    fn document_errors_have_no_field() {
        let err = from_slice::<Doc>(br#"{"name": "a"} trailing"#).unwrap_err();
        assert_eq!(err.field, None);
        let err = from_slice::<Doc>(b"{}").unwrap_err();
        assert_eq!(err.field, None);
        assert!(err.to_string().contains("missing field `name`"), "{err}");
        let doc = from_slice::<Doc>(br#" {"name": "a", "inner": {"ids": [7]}} "#).unwrap();
        assert_eq!((doc.name.as_str(), doc.inner.unwrap().ids), ("a", vec![7]));
    }
}
