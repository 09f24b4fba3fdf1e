//! A test policy that returns the verdict written in its config, so that one
//! table of chain cases (libs/chain/testdata/cases.json) runs through the
//! edgewaf host and the wasi:http bundle with real components. Never deploy it.
//!
//! The config is one verdict of the table:
//!
//! ```json
//! {"policy": "auth", "action": "deny", "status": 401, "reason": "no token",
//!  "headers": [["www-authenticate", "Bearer"]], "add": [["x-user", "alice"]],
//!  "remove": ["cookie"], "annotations": [["risk", "low"]], "rule_ids": ["A1"],
//!  "report_annotations": "x-seen"}
//! ```
//!
//! `action` is `allow`, `deny`, `redirect` (to `location`), `error` (the
//! policy answers `fail` with `reason`: a policy error the chain's `on_error`
//! handles) or `trap` (the policy panics, which a bundle cannot survive).
//! `report_annotations` adds a request header listing the annotations the
//! policy saw (`key=value; ...`), which makes the chain's annotations visible
//! at the origin. `policy` is the name the table gives it.

use edgewaf_sdk::prelude::*;
use serde::Deserialize;

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Act {
    Allow,
    Deny,
    Redirect,
    Error,
    Trap,
}

/// The scripted verdict.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Scripted {
    #[serde(default)]
    policy: Option<String>,
    action: Act,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    add: Vec<(String, String)>,
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    annotations: Vec<(String, String)>,
    #[serde(default)]
    rule_ids: Vec<String>,
    #[serde(default)]
    report_annotations: Option<String>,
}

impl Scripted {
    fn base(&self) -> Verdict {
        match self.action {
            Act::Allow => Verdict::allow(),
            Act::Deny => {
                let mut v = Verdict::deny_status(self.status, self.reason.clone());
                for (n, value) in &self.headers {
                    v = v.with_deny_header(n, value.as_bytes());
                }
                v
            }
            Act::Redirect => Verdict::redirect(self.location.clone().unwrap_or_default()),
            Act::Error => Verdict::fail(self.reason.clone()),
            Act::Trap => panic!("scripted: trap as configured"),
        }
    }
}

impl Policy for Scripted {
    fn init(config: &str) -> Result<Self, String> {
        let s: Scripted =
            serde_json::from_str(config).map_err(|e| format!("scripted config: {e}"))?;
        if s.action == Act::Redirect && s.location.is_none() {
            return Err("scripted config: a redirect needs `location`".into());
        }
        Ok(s)
    }

    fn on_request(&self, req: &Request) -> Verdict {
        // A `fail` verdict gets the rest too: the chain must ignore it.
        let mut v = self.base();
        let who = self.policy.as_deref().unwrap_or("scripted");
        for id in &self.rule_ids {
            v = v.with_finding(Finding::new(id, format!("scripted by {who}")));
        }
        for (n, value) in &self.add {
            v = v.with_request_header(n, value.as_bytes());
        }
        // As given (not lowercased): the chain lowercases.
        v.remove_request_headers.extend(self.remove.iter().cloned());
        for (k, value) in &self.annotations {
            v = v.with_annotation(k, value);
        }
        if let Some(h) = &self.report_annotations {
            let seen: Vec<String> = req
                .annotations
                .iter()
                .map(|a| format!("{}={}", a.key, a.value))
                .collect();
            v = v.with_request_header(h, seen.join("; ").into_bytes());
        }
        v
    }
}

edgewaf_sdk::export_policy!(Scripted);

#[cfg(test)]
mod tests {
    use super::*;
    use edgewaf_sdk::testing::Harness;

    #[test]
    fn the_config_is_the_verdict() {
        let h = Harness::<Scripted>::new(
            r#"{"policy":"a","action":"deny","status":401,"reason":"r",
                "headers":[["www-authenticate","Bearer"]],"add":[["X-U","v"]],
                "remove":["Cookie"],"annotations":[["k","v"]],"rule_ids":["A1"]}"#,
        )
        .unwrap();
        let v = h.on_request(&Request::builder().build());
        assert_eq!(v.deny_status_code(), Some(401));
        assert_eq!(v.rule_ids(), ["A1"]);
        assert_eq!(v.add_request_headers[0].value, b"v");
        assert_eq!(v.remove_request_headers, ["Cookie"]);
        assert_eq!(v.annotations[0].key, "k");
    }

    #[test]
    fn reports_the_annotations_it_sees() {
        let h = Harness::<Scripted>::new(r#"{"action":"allow","report_annotations":"x-seen"}"#)
            .unwrap();
        let req = Request::builder()
            .annotation("a", "1")
            .annotation("b", "2")
            .build();
        let v = h.on_request(&req);
        assert_eq!(v.add_request_headers[0].name, "x-seen");
        assert_eq!(v.add_request_headers[0].value, b"a=1; b=2");
    }

    #[test]
    fn error_is_a_fail_verdict() {
        let h = Harness::<Scripted>::new(r#"{"action":"error","reason":"store down"}"#).unwrap();
        let v = h.on_request(&Request::builder().build());
        assert_eq!(v.action, Action::Fail("store down".into()));
    }

    #[test]
    #[should_panic(expected = "trap as configured")]
    fn trap_panics() {
        let h = Harness::<Scripted>::new(r#"{"action":"trap"}"#).unwrap();
        h.on_request(&Request::builder().build());
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(Harness::<Scripted>::new(r#"{"action":"redirect"}"#).is_err());
        assert!(Harness::<Scripted>::new(r#"{"action":"allow","oops":1}"#).is_err());
        assert!(Harness::<Scripted>::new(r#"{"action":"maybe"}"#).is_err());
    }
}
