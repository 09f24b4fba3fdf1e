//! The values of a request worth inspecting, each with the place it came
//! from (named the way ModSecurity and Coraza name variables, so a finding's
//! `ARGS:id` means what an operator expects).

use crate::rules::targets as t;
use edgewaf_sdk::Request;
use serde_json::Value;

/// One value to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// [`crate::rules::targets`] bits this value belongs to.
    pub kinds: u16,
    /// Where it came from, e.g. `ARGS:id` or `REQUEST_HEADERS:user-agent`.
    pub location: String,
    /// The value, not yet normalised (query and form values were
    /// percent-decoded once by the SDK).
    pub value: Vec<u8>,
}

/// Headers applications commonly log or store, inspected at paranoia 1.
const MAIN_HEADERS: &[&str] = &["user-agent", "referer", "x-forwarded-for"];

/// Upper bound on JSON nesting walked (serde_json itself stops at 128).
const MAX_JSON_DEPTH: usize = 64;

/// Every value of `req` worth inspecting.
pub fn collect(req: &Request) -> Vec<Target> {
    let mut out = Vec::new();
    let mut push = |kinds: u16, location: String, value: Vec<u8>| {
        if !value.is_empty() {
            out.push(Target {
                kinds,
                location,
                value,
            });
        }
    };

    push(
        t::PATH,
        "REQUEST_FILENAME".into(),
        req.path().as_bytes().to_vec(),
    );
    for (name, value) in req.query_params() {
        push(
            t::ARGS_NAMES,
            format!("ARGS_NAMES:{name}"),
            name.clone().into_bytes(),
        );
        push(t::ARGS, format!("ARGS:{name}"), value.into_bytes());
    }

    for h in &req.headers {
        push(
            t::HEADER_NAMES,
            format!("REQUEST_HEADERS_NAMES:{}", h.name),
            h.name.clone().into_bytes(),
        );
        if h.name == "cookie" {
            continue;
        }
        let mut kinds = if MAIN_HEADERS.contains(&h.name.as_str()) {
            t::HEADERS_MAIN
        } else {
            t::HEADERS_OTHER
        };
        if h.name == "user-agent" {
            kinds |= t::USER_AGENT;
        }
        push(
            kinds,
            format!("REQUEST_HEADERS:{}", h.name),
            h.value.clone(),
        );
    }
    for (name, value) in req.cookies() {
        push(
            t::COOKIE_NAMES,
            format!("REQUEST_COOKIES_NAMES:{name}"),
            name.clone().into_bytes(),
        );
        push(
            t::COOKIES,
            format!("REQUEST_COOKIES:{name}"),
            value.into_bytes(),
        );
    }

    if !req.body.is_empty() {
        collect_body(req, &mut push);
    }
    out
}

fn collect_body(req: &Request, push: &mut impl FnMut(u16, String, Vec<u8>)) {
    let ct = req.content_type().unwrap_or_default();
    if ct == "application/x-www-form-urlencoded" {
        for (name, value) in req.form() {
            push(
                t::ARGS_NAMES,
                format!("ARGS_NAMES:{name}"),
                name.clone().into_bytes(),
            );
            push(t::ARGS, format!("ARGS:{name}"), value.into_bytes());
        }
        return;
    }
    if ct == "application/json" || ct.ends_with("+json") {
        // A body that does not parse (or was truncated) is inspected raw below.
        if let Ok(v) = serde_json::from_slice::<Value>(&req.body) {
            walk_json(&v, "json", 0, push);
            return;
        }
    }
    if ct == "multipart/form-data"
        && let Some(parts) = crate::multipart::parse(
            &req.header_str("content-type").unwrap_or_default(),
            &req.body,
        )
    {
        for part in parts {
            push(
                t::ARGS_NAMES,
                format!("ARGS_NAMES:{}", part.name),
                part.name.clone().into_bytes(),
            );
            match part.filename {
                // Uploaded file contents are not inspected; their names are.
                Some(filename) => push(
                    t::ARGS,
                    format!("FILES:{}", part.name),
                    filename.into_bytes(),
                ),
                None => push(t::ARGS, format!("ARGS:{}", part.name), part.value),
            }
        }
        return;
    }
    push(t::BODY, "REQUEST_BODY".into(), req.body.clone());
}

/// String leaves are `ARGS:json.a.b.0`, object keys `ARGS_NAMES:json.a.b`.
fn walk_json(v: &Value, path: &str, depth: usize, push: &mut impl FnMut(u16, String, Vec<u8>)) {
    if depth > MAX_JSON_DEPTH {
        return;
    }
    match v {
        Value::String(s) => push(t::ARGS, format!("ARGS:{path}"), s.clone().into_bytes()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_json(item, &format!("{path}.{i}"), depth + 1, push);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let child = format!("{path}.{k}");
                push(
                    t::ARGS_NAMES,
                    format!("ARGS_NAMES:{child}"),
                    k.clone().into_bytes(),
                );
                walk_json(item, &child, depth + 1, push);
            }
        }
        // Numbers, booleans and null cannot carry an attack string.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(ts: &'a [Target], loc: &str) -> Option<&'a Target> {
        ts.iter().find(|t| t.location == loc)
    }

    #[test]
    fn query_path_headers_cookies() {
        let req = Request::builder()
            .target("/a%2fb?id=1%27&flag")
            .header("User-Agent", "curl/8")
            .header("Accept", "*/*")
            .header("Cookie", "sid=abc; theme=dark")
            .build();
        let ts = collect(&req);
        assert_eq!(find(&ts, "REQUEST_FILENAME").unwrap().value, b"/a%2fb");
        assert_eq!(find(&ts, "ARGS:id").unwrap().value, b"1'");
        assert_eq!(find(&ts, "ARGS_NAMES:flag").unwrap().kinds, t::ARGS_NAMES);
        assert!(find(&ts, "ARGS:flag").is_none(), "empty values are skipped");
        let ua = find(&ts, "REQUEST_HEADERS:user-agent").unwrap();
        assert_eq!(ua.kinds, t::HEADERS_MAIN | t::USER_AGENT);
        assert_eq!(
            find(&ts, "REQUEST_HEADERS:accept").unwrap().kinds,
            t::HEADERS_OTHER
        );
        assert!(
            find(&ts, "REQUEST_HEADERS:cookie").is_none(),
            "cookies are split instead"
        );
        assert_eq!(find(&ts, "REQUEST_COOKIES:theme").unwrap().value, b"dark");
        assert!(find(&ts, "REQUEST_COOKIES_NAMES:sid").is_some());
        assert!(find(&ts, "REQUEST_HEADERS_NAMES:user-agent").is_some());
    }

    #[test]
    fn json_leaves_and_keys() {
        let req = Request::builder()
            .method("POST")
            .header("content-type", "application/json")
            .body(r#"{"user":{"name":"x","tags":["a","b"],"age":7},"<k>":null}"#)
            .build();
        let ts = collect(&req);
        assert_eq!(find(&ts, "ARGS:json.user.name").unwrap().value, b"x");
        assert_eq!(find(&ts, "ARGS:json.user.tags.1").unwrap().value, b"b");
        assert!(find(&ts, "ARGS:json.user.age").is_none());
        assert_eq!(find(&ts, "ARGS_NAMES:json.<k>").unwrap().value, b"<k>");
        assert!(find(&ts, "REQUEST_BODY").is_none());
    }

    #[test]
    fn form_body() {
        let req = Request::builder()
            .method("POST")
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body("comment=%3Cb%3Ehi&x=1")
            .build();
        let ts = collect(&req);
        assert_eq!(find(&ts, "ARGS:comment").unwrap().value, b"<b>hi");
        assert!(find(&ts, "REQUEST_BODY").is_none());
    }

    #[test]
    fn multipart_fields_and_file_names() {
        let req = Request::builder()
            .method("POST")
            .header("content-type", "multipart/form-data; boundary=zz")
            .body("--zz\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\nhello\r\n--zz\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\n\r\n<binary>\r\n--zz--")
            .build();
        let ts = collect(&req);
        assert_eq!(find(&ts, "ARGS:c").unwrap().value, b"hello");
        assert_eq!(find(&ts, "FILES:f").unwrap().value, b"a.png");
        assert!(ts.iter().all(|t| t.value != b"<binary>"));
        assert!(find(&ts, "REQUEST_BODY").is_none());
    }

    #[test]
    fn other_and_broken_bodies_are_raw() {
        let req = Request::builder()
            .method("POST")
            .header("content-type", "application/json")
            .body(r#"{"a": "unterminated"#)
            .build();
        assert!(find(&collect(&req), "REQUEST_BODY").is_some());
        let req = Request::builder()
            .method("POST")
            .header("content-type", "text/xml")
            .body("<a/>")
            .build();
        assert_eq!(find(&collect(&req), "REQUEST_BODY").unwrap().kinds, t::BODY);
        let req = Request::builder().method("POST").body("raw").build();
        assert!(find(&collect(&req), "REQUEST_BODY").is_some());
    }
}
