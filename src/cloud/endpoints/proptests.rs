//! Property tests of `GEUSEMAKER_SERVICE_ENDPOINTS` parsing.

use proptest::prelude::*;

use super::*;
use crate::domain::state::proptests::config;

fn service() -> impl Strategy<Value = Service> {
    prop::sample::select(Service::ALL.to_vec())
}

/// A host name or an IPv6 address (written in brackets).
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9][a-z0-9.-]{0,15}",
        "[0-9a-f]{1,4}(:[0-9a-f]{0,4}){1,4}",
    ]
}

fn endpoint() -> impl Strategy<Value = (Service, Endpoint)> {
    (service(), host(), 1u16..).prop_map(|(s, host, port)| (s, Endpoint { host, port }))
}

fn good_entry() -> impl Strategy<Value = String> {
    endpoint().prop_map(|(s, ep)| format!("{s}={ep}"))
}

/// Joined with commas, with spaces around some entries and empty ones between.
fn joined(entries: &[String], pad: &[bool]) -> String {
    entries
        .iter()
        .zip(pad.iter().cycle())
        .map(|(e, &pad)| if pad { format!("  {e} ,") } else { e.clone() })
        .collect::<Vec<_>>()
        .join(",")
}

/// An entry that is wrong in one way.
fn bad_entry() -> impl Strategy<Value = String> {
    let port = prop::sample::select(vec!["", "0", "65536", "99999", "-1", "x", "80x"]);
    prop_oneof![
        "[a-z0-9.:\\[\\] ]{0,20}",
        ("[a-z]{1,8}", host())
            .prop_filter("a real service", |(n, _)| Service::from_str(n).is_err())
            .prop_map(|(n, h)| format!("{n}={h}:80")),
        (service(), "[a-z0-9.-]{0,15}").prop_map(|(s, h)| format!("{s}={h}")),
        (service(), host(), port).prop_map(|(s, h, p)| format!("{s}={h}:{p}")),
        (service(), prop::sample::select(vec!["", "[]", "[[]]"]))
            .prop_map(|(s, h)| format!("{s}={h}:80")),
    ]
}

proptest! {
    #![proptest_config(config(5000))]

    #[test]
    fn arbitrary_text_never_panics_and_an_error_names_its_entry(text in any::<String>()) {
        if let Err(e) = parse_overrides(&text) {
            let entries: Vec<&str> = text.split(',').map(str::trim).collect();
            prop_assert!(entries.contains(&e.entry.as_str()), "{e}");
            prop_assert!(e.to_string().contains(&format!("{:?}", e.entry)), "{e}");
        }
    }

    #[test]
    fn what_is_written_reads_back(
        eps in prop::collection::vec(endpoint(), 0..8),
        pad in prop::collection::vec(any::<bool>(), 1..4),
    ) {
        let texts: Vec<String> = eps.iter().map(|(s, ep)| format!("{s}={ep}")).collect();
        let parsed = parse_overrides(&joined(&texts, &pad));
        let expected: Endpoints = eps.into_iter().collect();
        prop_assert_eq!(parsed, Ok(expected));
    }

    #[test]
    fn the_first_bad_entry_is_the_one_named(
        before in prop::collection::vec(good_entry(), 0..4),
        bad in bad_entry().prop_filter("a blank entry is skipped", |b| !b.trim().is_empty()),
        after in prop::collection::vec(prop_oneof![good_entry(), bad_entry()], 0..4),
    ) {
        let mut texts = before;
        texts.push(bad.clone());
        texts.extend(after);
        let text = texts.join(",");
        let err = parse_overrides(&text).err();
        prop_assert_eq!(err.map(|e| e.entry), Some(bad.trim().to_string()), "{:?}", text);
    }
}
