//! Attack classes of findings, for the dashboard and the compliance report.
//!
//! In order: an `attack-<class>` tag (the CRS and the signatures policy tag
//! their findings so), a `sig-<class>-<n>` rule id, the CRS rule file's number
//! (942xxx is SQL injection, ...), an `ip-filter-*` rule (`ip-block`), an auth
//! policy's rule (`auth`), a rate limit (`rate-limit`); anything else is `other`.

use crate::observe::events::DecisionEvent;

/// CRS rule id prefixes (the rule file's number) and their classes.
const CRS_FILES: &[(&str, &str)] = &[
    ("911", "method"),
    ("913", "scanner"),
    ("920", "protocol"),
    ("921", "protocol"),
    ("922", "multipart"),
    ("930", "lfi"),
    ("931", "rfi"),
    ("932", "rce"),
    ("933", "php"),
    ("934", "generic"),
    ("941", "xss"),
    ("942", "sqli"),
    ("943", "session-fixation"),
    ("944", "java"),
    ("949", "anomaly"),
    ("950", "data-leakage"),
    ("951", "data-leakage"),
    ("952", "data-leakage"),
    ("953", "data-leakage"),
    ("954", "data-leakage"),
    ("955", "web-shell"),
    ("959", "anomaly"),
];

/// The class of one finding.
pub fn class_of(rule_id: &str, tags: &[String]) -> String {
    if let Some(class) = tags.iter().find_map(|t| t.strip_prefix("attack-")) {
        return class.to_string();
    }
    if let Some(rest) = rule_id.strip_prefix("sig-")
        && let Some((class, _)) = rest.rsplit_once('-')
    {
        return class.to_string();
    }
    if rule_id.len() == 6 && rule_id.bytes().all(|b| b.is_ascii_digit()) {
        let file = &rule_id[..3];
        if let Some((_, class)) = CRS_FILES.iter().find(|(f, _)| *f == file) {
            return class.to_string();
        }
    }
    let prefixes = [
        ("ip-filter", "ip-block"),
        ("auth", "auth"),
        ("jwt", "auth"),
        ("apikey", "auth"),
        ("hmac", "auth"),
        ("mtls", "auth"),
        ("rate", "rate-limit"),
        ("rl-", "rate-limit"),
    ];
    prefixes
        .iter()
        .find(|(p, _)| rule_id.starts_with(p))
        .map(|(_, c)| c.to_string())
        .unwrap_or_else(|| "other".to_string())
}

/// The class of an event: its first finding whose class is not an anomaly
/// score, else its first finding's, else empty (no findings).
pub fn event_class(event: &DecisionEvent) -> String {
    let classes: Vec<String> = event
        .findings
        .iter()
        .map(|f| class_of(&f.rule_id, &f.tags))
        .collect();
    classes
        .iter()
        .find(|c| *c != "anomaly" && *c != "other")
        .or(classes.first())
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_from_tags_ids_and_files() {
        assert_eq!(class_of("x", &["attack-xss".into()]), "xss");
        assert_eq!(class_of("sig-sqli-3", &[]), "sqli");
        assert_eq!(class_of("sig-log4shell-1", &[]), "log4shell");
        assert_eq!(class_of("942100", &[]), "sqli");
        assert_eq!(class_of("949110", &[]), "anomaly");
        assert_eq!(class_of("ip-filter-list", &[]), "ip-block");
        assert_eq!(class_of("auth-jwt-missing", &[]), "auth");
        assert_eq!(class_of("mystery", &[]), "other");
    }
}
