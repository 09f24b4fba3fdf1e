//! Builders for [`Verdict`].

use crate::types::{Action, Annotation, Deny, Finding, Header, Verdict};

impl Verdict {
    /// Allow, with nothing else.
    pub fn allow() -> Self {
        Verdict {
            action: Action::Allow,
            findings: Vec::new(),
            add_request_headers: Vec::new(),
            remove_request_headers: Vec::new(),
            annotations: Vec::new(),
        }
    }

    /// Deny with the tenant's deny status and a reason for the log.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self::deny_status(0, reason)
    }

    /// Deny with an explicit status (e.g. 401, 429).
    pub fn deny_status(status: u16, reason: impl Into<String>) -> Self {
        Verdict {
            action: Action::Deny(Deny {
                status,
                reason: reason.into(),
                headers: Vec::new(),
            }),
            ..Self::allow()
        }
    }

    /// Redirect (302) to `location`.
    pub fn redirect(location: impl Into<String>) -> Self {
        Verdict {
            action: Action::Redirect(location.into()),
            ..Self::allow()
        }
    }

    /// The policy could not decide (state it needs is missing or broken):
    /// the chain treats it as a policy error, like a trap, and applies the
    /// tenant's `on_error` (deny in block mode by default, go on in detect
    /// mode); the rest of the verdict is ignored. Prefer it to panicking: a
    /// trap cannot be caught inside a wasi:http bundle (the runtime answers
    /// 500), a `fail` verdict gets `on_error` there as on the host.
    pub fn fail(reason: impl Into<String>) -> Self {
        Verdict {
            action: Action::Fail(reason.into()),
            ..Self::allow()
        }
    }

    /// Adds a finding.
    pub fn with_finding(mut self, finding: Finding) -> Self {
        self.findings.push(finding);
        self
    }

    /// Adds findings.
    pub fn with_findings(mut self, findings: impl IntoIterator<Item = Finding>) -> Self {
        self.findings.extend(findings);
        self
    }

    /// Adds a response header to a deny (ignored for other actions).
    pub fn with_deny_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        if let Action::Deny(deny) = &mut self.action {
            deny.headers.push(Header::new(name, value));
        }
        self
    }

    /// Sets a header on the request sent upstream.
    pub fn with_request_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.add_request_headers.push(Header::new(name, value));
        self
    }

    /// Removes a header from the request sent upstream.
    pub fn without_request_header(mut self, name: &str) -> Self {
        self.remove_request_headers.push(name.to_ascii_lowercase());
        self
    }

    /// Adds an annotation for later policies and the decision log.
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.push(Annotation {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// True when the action is deny.
    pub fn is_deny(&self) -> bool {
        matches!(self.action, Action::Deny(_))
    }

    /// True when the action is allow.
    pub fn is_allow(&self) -> bool {
        matches!(self.action, Action::Allow)
    }

    /// True when the policy could not decide ([`Verdict::fail`]).
    pub fn is_fail(&self) -> bool {
        matches!(self.action, Action::Fail(_))
    }

    /// The deny status, if the action is deny.
    pub fn deny_status_code(&self) -> Option<u16> {
        match &self.action {
            Action::Deny(d) => Some(d.status),
            _ => None,
        }
    }

    /// Rule ids of the findings.
    pub fn rule_ids(&self) -> Vec<&str> {
        self.findings.iter().map(|f| f.rule_id.as_str()).collect()
    }
}
