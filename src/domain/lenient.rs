//! Serde helpers for numbers the Python GeuseMaker writes as strings
//! (`Decimal` fields serialise as `"0.0301"`).

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged, expecting = "expected a number, or a string holding one")]
enum NumberOrString<'a> {
    Number(f64),
    #[serde(borrow)]
    Text(std::borrow::Cow<'a, str>),
}

fn to_f64<E: serde::de::Error>(v: NumberOrString<'_>) -> Result<f64, E> {
    match v {
        NumberOrString::Number(n) => Ok(n),
        // "NaN" and "inf" parse, but JSON cannot hold them: a save would
        // write null, which the next load refuses.
        NumberOrString::Text(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| E::custom(format!("expected a number, found {s:?}"))),
    }
}

pub fn f64_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    to_f64(NumberOrString::deserialize(d)?)
}

pub fn opt_f64_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Option::<NumberOrString>::deserialize(d)?
        .map(to_f64)
        .transpose()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Prices {
        #[serde(deserialize_with = "super::f64_or_string")]
        a: f64,
        #[serde(default, deserialize_with = "super::opt_f64_or_string")]
        b: Option<f64>,
    }

    #[test]
    fn numbers_and_strings_both_read() {
        let p: Prices = serde_json::from_str(r#"{"a":"0.0301","b":0.5}"#).unwrap();
        assert_eq!((p.a, p.b), (0.0301, Some(0.5)));
        let p: Prices = serde_json::from_str(r#"{"a":1,"b":null}"#).unwrap();
        assert_eq!((p.a, p.b), (1.0, None));
        assert!(serde_json::from_str::<Prices>(r#"{"a":"cheap"}"#).is_err());
    }

    #[test]
    fn numbers_json_cannot_hold_are_refused() {
        for text in ["NaN", "inf", "-Infinity"] {
            let doc = format!(r#"{{"a":1,"b":"{text}"}}"#);
            let err = serde_json::from_str::<Prices>(&doc).err().unwrap();
            assert!(err.to_string().contains(text), "{err}");
        }
        let err = serde_json::from_str::<Prices>(r#"{"a":true}"#)
            .err()
            .unwrap();
        assert!(err.to_string().contains("a string holding one"), "{err}");
    }
}
