//! Deserializers that refuse lists longer than a request can sensibly carry.
//!
//! A 64 KiB frame of one-character strings decodes into about a megabyte of `String`s; an
//! agent holding one such request per connection for a long login would multiply that by
//! its connection limit. Capping list lengths keeps a decoded request about as small as its
//! frame, and a hostile one is refused as a bad request instead of being held.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

/// Most elements any list in a request may have (scopes, browser variables).
pub const MAX_LIST: usize = 64;

/// A list of at most [`MAX_LIST`] elements; longer ones are an error, raised as soon as the
/// element past the limit is seen (nothing more is decoded).
pub fn short_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_seq(ShortList(PhantomData))
}

/// [`short_list`] for an optional list (`null` or absent is `None`).
pub fn short_list_opt<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_option(OptShortList(PhantomData))
}

struct OptShortList<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OptShortList<T> {
    type Value = Option<Vec<T>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "null or a list of at most {MAX_LIST} elements")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        short_list(d).map(Some)
    }
}

struct ShortList<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ShortList<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of at most {MAX_LIST} elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_LIST));
        while let Some(item) = seq.next_element()? {
            if out.len() == MAX_LIST {
                return Err(serde::de::Error::custom(format_args!(
                    "too many elements: at most {MAX_LIST} are allowed"
                )));
            }
            out.push(item);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "short_list")]
        list: Vec<String>,
        #[serde(default, deserialize_with = "short_list_opt")]
        opt: Option<Vec<String>>,
    }

    fn json_list(n: usize) -> String {
        let items: Vec<String> = (0..n).map(|i| format!("\"{i}\"")).collect();
        format!("[{}]", items.join(","))
    }

    #[test]
    fn lists_up_to_the_limit_decode() {
        let body = format!(r#"{{"list":{0},"opt":{0}}}"#, json_list(MAX_LIST));
        let h: Holder = serde_json::from_str(&body).expect("at the limit");
        assert_eq!(h.list.len(), MAX_LIST);
        assert_eq!(h.opt.map(|v| v.len()), Some(MAX_LIST));
        let h: Holder = serde_json::from_str(r#"{"opt":null}"#).expect("null");
        assert!(h.list.is_empty() && h.opt.is_none());
    }

    #[test]
    fn longer_lists_are_refused() {
        for field in ["list", "opt"] {
            let body = format!(r#"{{"{field}":{}}}"#, json_list(MAX_LIST + 1));
            let e = serde_json::from_str::<Holder>(&body).expect_err("over the limit");
            assert!(e.to_string().contains("too many elements"), "{e}");
        }
    }

    #[test]
    fn a_request_with_too_many_scopes_is_a_bad_request_not_a_held_one() {
        let body = |n: usize| {
            format!(
                r#"{{"type":"get_token","profile":{{"endpoint":"dns:///h","mode":"Pkce","scopes":{}}}}}"#,
                json_list(n)
            )
        };
        let ok: crate::Request = crate::frame::decode(body(3).as_bytes()).expect("3 scopes");
        let crate::Request::GetToken { profile, .. } = ok else {
            panic!("not a get_token: {ok:?}")
        };
        assert_eq!(profile.scopes.map(|s| s.len()), Some(3));
        let e = crate::frame::decode::<crate::Request>(body(10_000).as_bytes())
            .expect_err("10,000 scopes");
        assert!(e.to_string().contains("too many elements"), "{e}");
    }
}
