//! The verdict fold: the policies' verdicts in chain order make one decision.

use crate::Header;
use crate::settings::{Mode, OnError};
use serde::{Deserialize, Serialize};

/// A key/value note a policy leaves for later policies and the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// Key; one value per key in a request.
    pub key: String,
    /// Value.
    pub value: String,
}

/// What one policy asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Let the request go on.
    Allow,
    /// Answer the client with this status (the tenant's when outside 400..=599).
    Deny {
        /// HTTP status.
        status: u16,
        /// Why (log only).
        reason: String,
        /// Headers for the client's answer (e.g. `www-authenticate`).
        headers: Vec<Header>,
    },
    /// Answer 302 with this location.
    Redirect(String),
    /// The policy could not decide: a policy error with this message, as
    /// [`Fold::error`] (the rest of the verdict is ignored).
    Fail(String),
}

/// One policy's verdict; `F` is the caller's finding type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<F> {
    /// The action.
    pub action: Action,
    /// Findings (for the log).
    pub findings: Vec<F>,
    /// Headers to set on the origin request (kept only from `allow`).
    pub add_request_headers: Vec<Header>,
    /// Headers to remove from the origin request (whatever the action).
    pub remove_request_headers: Vec<String>,
    /// Annotations (later policies see them).
    pub annotations: Vec<Annotation>,
}

/// What happens to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Forward it (or send the response on).
    Allow,
    /// Answer with this status and extra headers.
    Deny {
        /// HTTP status.
        status: u16,
        /// Headers the policy asked for.
        headers: Vec<Header>,
    },
    /// Answer 302 with this location.
    Redirect(String),
}

/// Whether the chain goes on after a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Run the next policy.
    Continue,
    /// The decision is made: run no more policies.
    Stop,
}

/// The chain's decision with everything the decision log needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<F> {
    /// What to do.
    pub outcome: Outcome,
    /// The policy that decided (denied, redirected or failed).
    pub policy: Option<String>,
    /// In detect mode: the first policy that would have denied or redirected.
    pub would_deny: Option<String>,
    /// The deciding (or first would-deny) policy's reason.
    pub reason: Option<String>,
    /// Findings with the policy that reported each.
    pub findings: Vec<(String, F)>,
    /// Policy errors, `name: message`.
    pub errors: Vec<String>,
    /// True when the outcome comes from `on_error`.
    pub failed: bool,
    /// Headers to set on the origin request.
    pub add_headers: Vec<Header>,
    /// Headers to remove from the origin request (lowercase).
    pub remove_headers: Vec<String>,
    /// The request's annotations, one per key.
    pub annotations: Vec<Annotation>,
}

impl<F> Decision<F> {
    /// The action name for logs and metrics.
    pub fn action(&self) -> &'static str {
        match (&self.outcome, self.failed) {
            (Outcome::Deny { .. }, true) => "error",
            (Outcome::Deny { .. }, false) => "deny",
            (Outcome::Redirect(_), _) => "redirect",
            (Outcome::Allow, _) => "allow",
        }
    }
}

/// Folds verdicts, in chain order, into a [`Decision`].
#[derive(Debug)]
pub struct Fold<F> {
    mode: Mode,
    deny_status: u16,
    on_error: OnError,
    d: Decision<F>,
}

impl<F> Fold<F> {
    /// A fold for a tenant's mode, deny status and error handling.
    pub fn new(mode: Mode, deny_status: u16, on_error: OnError) -> Self {
        Fold {
            mode,
            deny_status,
            on_error,
            d: Decision {
                outcome: Outcome::Allow,
                policy: None,
                would_deny: None,
                reason: None,
                findings: Vec::new(),
                errors: Vec::new(),
                failed: false,
                add_headers: Vec::new(),
                remove_headers: Vec::new(),
                annotations: Vec::new(),
            },
        }
    }

    /// Continues the fold of an earlier phase: the response phase's verdicts
    /// join the request phase's decision by the same rules.
    pub fn resume(mode: Mode, deny_status: u16, on_error: OnError, d: Decision<F>) -> Self {
        Fold {
            mode,
            deny_status,
            on_error,
            d,
        }
    }

    /// The annotations so far (what the next policy sees).
    pub fn annotations(&self) -> &[Annotation] {
        &self.d.annotations
    }

    /// Takes one policy's verdict; a [`Action::Fail`] is a policy error
    /// ([`Fold::error`]).
    pub fn take(&mut self, policy: &str, v: Verdict<F>) -> Step {
        let decided = match v.action {
            Action::Allow => None,
            Action::Deny {
                status,
                reason,
                headers,
            } => {
                let status = if (400..=599).contains(&status) {
                    status
                } else {
                    self.deny_status
                };
                Some((Outcome::Deny { status, headers }, reason))
            }
            Action::Redirect(to) => {
                let reason = format!("redirect to {to}");
                Some((Outcome::Redirect(to), reason))
            }
            Action::Fail(message) => return self.error(policy, &message),
        };
        let d = &mut self.d;
        d.findings
            .extend(v.findings.into_iter().map(|f| (policy.to_string(), f)));
        for a in v.annotations {
            d.annotations.retain(|x| x.key != a.key);
            d.annotations.push(a);
        }
        d.remove_headers
            .extend(v.remove_request_headers.into_iter().map(|mut h| {
                h.make_ascii_lowercase();
                h
            }));
        match decided {
            Some((outcome, reason)) => self.decide(policy, outcome, reason),
            None => {
                let added = v.add_request_headers.into_iter();
                d.add_headers.extend(added.map(|(mut n, v)| {
                    n.make_ascii_lowercase();
                    (n, v)
                }));
                Step::Continue
            }
        }
    }

    /// Records a policy's failure; `on_error = deny` in block mode ends the
    /// chain with the tenant's deny status (fail closed).
    pub fn error(&mut self, policy: &str, message: &str) -> Step {
        self.d.errors.push(format!("{policy}: {message}"));
        if self.mode == Mode::Block && self.on_error == OnError::Deny {
            let outcome = Outcome::Deny {
                status: self.deny_status,
                headers: Vec::new(),
            };
            self.d.failed = true;
            return self.decide(policy, outcome, format!("policy error: {message}"));
        }
        Step::Continue
    }

    fn decide(&mut self, policy: &str, outcome: Outcome, reason: String) -> Step {
        let d = &mut self.d;
        match self.mode {
            Mode::Block => {
                d.outcome = outcome;
                d.policy = Some(policy.to_string());
                d.reason = Some(reason);
                Step::Stop
            }
            Mode::Detect => {
                if d.would_deny.is_none() {
                    d.would_deny = Some(policy.to_string());
                    d.reason = Some(reason);
                }
                Step::Continue
            }
        }
    }

    /// The decision.
    pub fn finish(self) -> Decision<F> {
        self.d
    }
}
