//! Engine-wide settings set by directives (`SecRuleEngine`, body limits, ...).

/// `SecRuleEngine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineMode {
    /// Evaluate rules and enforce disruptive actions.
    On,
    /// Do not evaluate rules.
    Off,
    /// Evaluate and log, never disrupt.
    DetectionOnly,
}

impl EngineMode {
    /// Parses `On`, `Off` or `DetectionOnly` (case-insensitive).
    pub fn parse(s: &str) -> Result<EngineMode, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "on" => Ok(EngineMode::On),
            "off" => Ok(EngineMode::Off),
            "detectiononly" => Ok(EngineMode::DetectionOnly),
            _ => Err(format!("expected On, Off or DetectionOnly, got {s:?}")),
        }
    }
}

/// What to do with a body over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitAction {
    /// Refuse the request (413) when the engine is On.
    Reject,
    /// Inspect the part within the limit.
    ProcessPartial,
}

/// Engine settings.
#[derive(Debug, Clone)]
pub(crate) struct EngineConfig {
    /// `SecRuleEngine` (default On).
    pub rule_engine: EngineMode,
    /// `SecRequestBodyAccess` (default Off).
    pub request_body_access: bool,
    /// `SecResponseBodyAccess` (default Off).
    pub response_body_access: bool,
    /// `SecRequestBodyLimit` in bytes.
    pub request_body_limit: u64,
    /// `SecRequestBodyNoFilesLimit` in bytes: the body without the content
    /// of uploaded files (all of it unless multipart). Over it, the body is
    /// handled as over `SecRequestBodyLimit` (`SecRequestBodyLimitAction`).
    pub request_body_no_files_limit: u64,
    /// `SecRequestBodyLimitAction`.
    pub request_body_limit_action: LimitAction,
    /// `SecResponseBodyLimit` in bytes.
    pub response_body_limit: u64,
    /// `SecResponseBodyLimitAction`.
    pub response_body_limit_action: LimitAction,
    /// `SecResponseBodyMimeType`: inspected response content types.
    pub response_body_mime_types: Vec<String>,
    /// `SecArgumentSeparator` (default `&`).
    pub argument_separator: u8,
    /// `SecArgumentsLimit` (default none, as ModSecurity): arguments beyond
    /// it (query string first, then body) are not collected, and a body
    /// holding some sets `REQBODY_ERROR`.
    pub arguments_limit: Option<usize>,
    /// `SecRequestBodyJsonDepthLimit`: nesting of JSON objects and arrays
    /// beyond it sets `REQBODY_ERROR` (default and maximum
    /// [`crate::bodyprocessors::json::MAX_DEPTH`]).
    pub json_depth_limit: usize,
    /// `SecComponentSignature` values, in load order (the CRS names its
    /// version here: `OWASP_CRS/4.28.0`).
    pub component_signatures: Vec<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            rule_engine: EngineMode::On,
            request_body_access: false,
            response_body_access: false,
            request_body_limit: 13_107_200,
            request_body_no_files_limit: 131_072,
            request_body_limit_action: LimitAction::Reject,
            response_body_limit: 524_288,
            response_body_limit_action: LimitAction::ProcessPartial,
            response_body_mime_types: vec!["text/plain".into(), "text/html".into()],
            argument_separator: b'&',
            arguments_limit: None,
            json_depth_limit: crate::bodyprocessors::json::MAX_DEPTH,
            component_signatures: Vec::new(),
        }
    }
}
