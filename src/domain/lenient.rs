//! Serde helpers for numbers the Python GeuseMaker writes as strings
//! (`Decimal` fields serialise as `"0.0301"`).

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString<'a> {
    Number(f64),
    #[serde(borrow)]
    Text(std::borrow::Cow<'a, str>),
}

fn to_f64<E: serde::de::Error>(v: NumberOrString<'_>) -> Result<f64, E> {
    match v {
        NumberOrString::Number(n) => Ok(n),
        NumberOrString::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| E::custom(format!("expected a number, found {s:?}"))),
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
}
