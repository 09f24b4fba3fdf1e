//! The WAF's own answer for a request it does not forward (a deny or a
//! redirect): status, the error text of the JSON body, and which of a
//! denying policy's headers go into it.

use crate::fold::Outcome;

/// Headers a policy cannot put in the WAF's answer: the WAF sets the body, its
/// framing, its type and caching, and the request id; hop-by-hop headers
/// belong to one connection.
const WAF_OWNED: [&str; 11] = [
    "content-length",
    "content-type",
    "cache-control",
    "x-request-id",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether a header a denying policy asked for (e.g. `www-authenticate`,
/// `retry-after`) goes into the answer.
pub fn policy_answer_header(name: &str) -> bool {
    !WAF_OWNED.iter().any(|o| o.eq_ignore_ascii_case(name))
}

impl Outcome {
    /// The answer's status and the `error` text of its JSON body; `None` for
    /// [`Outcome::Allow`] (the request is forwarded).
    pub fn answer(&self) -> Option<(u16, &'static str)> {
        match self {
            Outcome::Allow => None,
            Outcome::Deny { status, .. } => Some((*status, "request blocked")),
            Outcome::Redirect(_) => Some((302, "redirect")),
        }
    }
}

/// The JSON body of the WAF's answers: the error and the request id, never
/// rule ids or internals.
pub fn answer_body(error: &str, request_id: &str) -> String {
    serde_json::json!({ "error": error, "request_id": request_id }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_cannot_replace_what_the_waf_owns() {
        for h in ["WWW-Authenticate", "retry-after", "location", "x-custom"] {
            assert!(policy_answer_header(h), "{h}");
        }
        for h in [
            "Content-Type",
            "x-request-id",
            "Transfer-Encoding",
            "cache-control",
        ] {
            assert!(!policy_answer_header(h), "{h}");
        }
    }

    #[test]
    fn answers() {
        let deny = Outcome::Deny {
            status: 401,
            headers: Vec::new(),
        };
        assert_eq!(deny.answer(), Some((401, "request blocked")));
        assert_eq!(
            Outcome::Redirect("/l".into()).answer(),
            Some((302, "redirect"))
        );
        assert_eq!(Outcome::Allow.answer(), None);
        assert_eq!(
            answer_body("request blocked", "abc"),
            r#"{"error":"request blocked","request_id":"abc"}"#
        );
    }
}
