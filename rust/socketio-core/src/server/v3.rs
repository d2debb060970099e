//! What differs for the clients of Engine.IO protocol v3 (Socket.IO v1 and v2,
//! the 4th revision of the Socket.IO protocol), as Node's server treats them
//! when `allowEIO3` is on:
//!
//! - the connection joins the main namespace `/` at once, without a CONNECT of
//!   the client (with an empty auth);
//! - a CONNECT names its namespace with a query (`0/admin?token=abc,`): the
//!   path is the namespace and the query's parameters are the auth;
//! - the socket id is the engine session id (`/`), or `<nsp>#<sid>`;
//! - the CONNECT answer has no payload (`0`, `0/admin,`);
//! - a middleware's refusal (CONNECT_ERROR) carries `err.data`, or else
//!   `err.message`, instead of `{ message, data }`.
//!
//! Events, acks and binary attachments are the same.

use std::collections::HashMap;

use engineio_core::error::push_json_string;

use super::SocketServer;

/// The namespace and the auth of a v3 client's packet namespace (`/admin?x=1`):
/// the path, and the query's parameters as a JSON object of strings (the last
/// value of a repeated name wins); `None` without a query.
pub(super) fn split_namespace(nsp: &str) -> (String, Option<String>) {
    let without_fragment = nsp.split('#').next().unwrap_or_default();
    let (path, query) = match without_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (without_fragment, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    let auth = query.map(|q| {
        // In the order of first appearance, the last value of each name.
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for part in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let (k, v) = (form_decode(k), form_decode(v));
            match index.get(&k) {
                Some(&i) => {
                    if let Some(pair) = pairs.get_mut(i) {
                        pair.1 = v;
                    }
                }
                None => {
                    index.insert(k.clone(), pairs.len());
                    pairs.push((k, v));
                }
            }
        }
        let mut out = String::from("{");
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(k, &mut out);
            out.push(':');
            push_json_string(v, &mut out);
        }
        out.push('}');
        out
    });
    (path.to_owned(), auth)
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a
/// byte; bytes that are not UTF-8 become U+FFFD, as `URLSearchParams` reads them.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                if let Some(v) = hex {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The id of a v3 client's socket in `nsp`: its engine session id in `/`,
/// `<nsp>#<sid>` elsewhere.
pub(super) fn socket_id(sid: &str, nsp: &str) -> String {
    if nsp == "/" {
        sid.to_owned()
    } else {
        format!("{nsp}#{sid}")
    }
}

/// Whether a JSON value (as `JSON.stringify` writes it) is falsy in JavaScript.
fn is_falsy(json: &str) -> bool {
    matches!(json.trim(), "null" | "false" | "0" | "-0" | "\"\"")
}

/// The payload of a CONNECT_ERROR for a middleware's refusal, from the JSON of
/// `err.message` and of `err.data` (each absent when undefined): `{ message,
/// data }` for v4 clients; `err.data || err.message` for v3 clients.
pub(super) fn refusal_payload(
    v3: bool,
    message_json: Option<&str>,
    data_json: Option<&str>,
) -> Option<String> {
    if v3 {
        return match data_json {
            Some(d) if !is_falsy(d) => Some(d.to_owned()),
            _ => message_json.map(str::to_owned),
        };
    }
    let mut out = String::from("{");
    if let Some(m) = message_json {
        out.push_str("\"message\":");
        out.push_str(m);
    }
    if let Some(d) = data_json {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str("\"data\":");
        out.push_str(d);
    }
    out.push('}');
    Some(out)
}

impl SocketServer {
    /// Whether engine session `sid` speaks protocol v3 (a Socket.IO v2 client).
    pub fn is_v3(&self, sid: &str) -> bool {
        self.clients.get(sid).is_some_and(|c| c.v3)
    }

    /// The id [`SocketServer::accept`] gives the socket of engine session `sid`
    /// in `nsp` made with `random`: from the random bytes, or for a v3 client
    /// from its session id (see the module).
    pub fn socket_id_for(
        &self,
        sid: &str,
        nsp: &str,
        random: &[u8; engineio_core::SID_RANDOM_BYTES],
    ) -> String {
        if self.is_v3(sid) {
            socket_id(sid, nsp)
        } else {
            Self::socket_id_from_random(random)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_query_is_the_auth() {
        assert_eq!(split_namespace("/admin"), ("/admin".into(), None));
        assert_eq!(
            split_namespace("/admin?token=abc&x=1"),
            ("/admin".into(), Some(r#"{"token":"abc","x":"1"}"#.into()))
        );
        assert_eq!(
            split_namespace("/a?k=1&k=2&flag&=v&%41=%e2%82%ac+x&bad=%zz"),
            (
                "/a".into(),
                Some(r#"{"k":"2","flag":"","":"v","A":"€ x","bad":"%zz"}"#.into())
            )
        );
        assert_eq!(
            split_namespace("/q?s=%22%5C%0a"),
            ("/q".into(), Some(r#"{"s":"\"\\\n"}"#.into()))
        );
        assert_eq!(
            split_namespace("?x=1"),
            ("/".into(), Some(r#"{"x":"1"}"#.into()))
        );
        assert_eq!(split_namespace("/f#frag?x"), ("/f".into(), None));
        assert_eq!(
            split_namespace("/b?%ff=%"),
            ("/b".into(), Some("{\"\u{fffd}\":\"%\"}".into()))
        );
    }

    #[test]
    fn a_long_query_is_read_in_linear_time() {
        let query: String = (0..100_000).map(|i| format!("k{i}=v&")).collect();
        let (_, auth) = split_namespace(&format!("/n?{query}k0=last"));
        let auth = auth.unwrap_or_default();
        assert!(
            auth.starts_with(r#"{"k0":"last","k1":"v""#),
            "{}",
            &auth[..40]
        );
    }

    #[test]
    fn v3_socket_ids_are_the_session_id() {
        assert_eq!(socket_id("abc", "/"), "abc");
        assert_eq!(socket_id("abc", "/admin"), "/admin#abc");
    }

    #[test]
    fn refusals_have_the_shape_of_each_revision() {
        let m = Some(r#""no""#);
        let d = Some(r#"{"code":1}"#);
        assert_eq!(
            refusal_payload(false, m, d).as_deref(),
            Some(r#"{"message":"no","data":{"code":1}}"#)
        );
        assert_eq!(
            refusal_payload(false, m, None).as_deref(),
            Some(r#"{"message":"no"}"#)
        );
        assert_eq!(refusal_payload(false, None, None).as_deref(), Some("{}"));
        assert_eq!(
            refusal_payload(true, m, d).as_deref(),
            Some(r#"{"code":1}"#)
        );
        assert_eq!(refusal_payload(true, m, None).as_deref(), Some(r#""no""#));
        for falsy in ["null", "false", "0", "\"\""] {
            assert_eq!(
                refusal_payload(true, m, Some(falsy)).as_deref(),
                Some(r#""no""#)
            );
        }
        assert_eq!(refusal_payload(true, None, Some("0")), None);
        assert_eq!(refusal_payload(true, m, Some("1")).as_deref(), Some("1"));
    }
}
