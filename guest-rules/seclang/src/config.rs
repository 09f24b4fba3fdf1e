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
pub enum LimitAction {
    /// Refuse the request (413) when the engine is On.
    Reject,
    /// Inspect the part within the limit.
    ProcessPartial,
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `SecRuleEngine` (default On).
    pub rule_engine: EngineMode,
    /// `SecRequestBodyAccess` (default Off).
    pub request_body_access: bool,
    /// `SecResponseBodyAccess` (default Off).
    pub response_body_access: bool,
    /// `SecRequestBodyLimit` in bytes.
    pub request_body_limit: u64,
    /// `SecRequestBodyNoFilesLimit` in bytes.
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
    /// `SecComponentSignature` values.
    pub component_signatures: Vec<String>,
    /// `SecAuditEngine` as written (mapped to the host's decision log).
    pub audit_engine: String,
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
            component_signatures: Vec::new(),
            audit_engine: "Off".into(),
        }
    }
}
