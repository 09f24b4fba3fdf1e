//! The policy's configuration.

use crate::exclusions::{self, Exclusion};
use serde::Deserialize;

/// CRS policy configuration (JSON).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrsConfig {
    /// `"rules": ["/crs/crs-setup.conf.example", "/crs/rules/*.conf"]`: rule files in load order.
    pub rules: Vec<String>,
    /// `"paranoia_level": 1` (1-4): blocking paranoia level.
    #[serde(default = "one")]
    pub paranoia_level: u8,
    /// `"detection_paranoia_level": 2`: rules up to this level run and log (default: paranoia_level).
    #[serde(default)]
    pub detection_paranoia_level: Option<u8>,
    /// `"inbound_anomaly_threshold": 5`.
    #[serde(default = "five")]
    pub inbound_anomaly_threshold: u32,
    /// `"outbound_anomaly_threshold": 4`.
    #[serde(default = "four")]
    pub outbound_anomaly_threshold: u32,
    /// `"rules_text": "SecRuleRemoveById 920350"`: tenant SecLang loaded after the files.
    #[serde(default)]
    pub rules_text: String,
    /// `"setup_text": "SecAction ..."`: SecLang loaded before the files (after the preamble).
    #[serde(default)]
    pub setup_text: String,
    /// `"detection_only": false`: log, never block.
    #[serde(default)]
    pub detection_only: bool,
    /// `"reject_unparsable_body": true`: deny (400) a request whose body the
    /// declared processor cannot parse (rule 200002 of ModSecurity's recommended setup).
    #[serde(default = "yes")]
    pub reject_unparsable_body: bool,
    /// `"max_pending": 64`: transactions kept between on_request and on_response.
    #[serde(default = "sixty_four")]
    pub max_pending: usize,
    /// `"profile": "api"`: load a profile's SecLang files from the folder mounted at
    /// `/profile` (crs/profiles/api): `before.conf` after the first file of `rules`
    /// (the CRS setup file), `after.conf` after the last. `"api+detect"` also loads
    /// `with-detect.conf`, for tenants that run the detect policy after this one.
    /// Default: none, the CRS exactly as released.
    #[serde(default)]
    pub profile: Option<String>,
    /// `[[policy.config.exclusions]]` tables `{ rules = [941130], path = "/v1/articles",
    /// args = ["json.body_html"] }`: rules turned off for a path prefix and/or
    /// for some arguments, compiled to SecLang (see [`crate::exclusions`]).
    #[serde(default)]
    pub exclusions: Vec<Exclusion>,
}

/// Where a profile's files are read: the tenant mounts the profile folder here.
pub const PROFILE_DIR: &str = "/profile";
/// The profiles `profile` accepts, and the files each adds after the CRS rules.
const PROFILES: &[(&str, &[&str])] = &[
    ("api", &["after.conf"]),
    ("api+detect", &["after.conf", "with-detect.conf"]),
];

fn one() -> u8 {
    1
}
fn five() -> u32 {
    5
}
fn four() -> u32 {
    4
}
fn yes() -> bool {
    true
}
fn sixty_four() -> usize {
    64
}

impl CrsConfig {
    /// Parses and checks the config.
    pub fn parse(json: &str) -> Result<CrsConfig, String> {
        let c: CrsConfig = serde_json::from_str(json).map_err(|e| format!("crs config: {e}"))?;
        if !(1..=4).contains(&c.paranoia_level) {
            return Err(format!(
                "crs config: paranoia_level must be 1-4, got {}",
                c.paranoia_level
            ));
        }
        if let Some(d) = c.detection_paranoia_level
            && !(c.paranoia_level..=4).contains(&d)
        {
            return Err(format!(
                "crs config: detection_paranoia_level must be {}-4, got {d}",
                c.paranoia_level
            ));
        }
        if c.rules.is_empty() {
            return Err("crs config: \"rules\" must name at least one file".into());
        }
        if c.max_pending == 0 {
            return Err("crs config: max_pending must be at least 1".into());
        }
        if let Some(p) = &c.profile
            && !PROFILES.iter().any(|(name, _)| name == p)
        {
            let known: Vec<&str> = PROFILES.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "crs config: profile {p:?} is unknown (known: {}; omit it for the CRS as released)",
                known.join(", ")
            ));
        }
        exclusions::check(&c.exclusions)?;
        Ok(c)
    }

    /// The rule files in load order: `rules`, with the profile's files around
    /// them when `profile` is set.
    pub fn rule_files(&self) -> Vec<String> {
        let Some((_, after)) = self
            .profile
            .as_ref()
            .and_then(|p| PROFILES.iter().find(|(name, _)| name == p))
        else {
            return self.rules.clone();
        };
        let mut files = vec![self.rules[0].clone(), format!("{PROFILE_DIR}/before.conf")];
        files.extend(self.rules[1..].iter().cloned());
        files.extend(after.iter().map(|f| format!("{PROFILE_DIR}/{f}")));
        files
    }

    /// The exclusions that act at run time (with a `path`), loaded before the
    /// rule files: phase-1 `ctl` rules.
    pub fn exclusions_before(&self) -> String {
        exclusions::before_rules(&self.exclusions)
    }

    /// The exclusions that change the loaded rules (without a `path`),
    /// loaded after the rule files and the profile's files.
    pub fn exclusions_after(&self) -> String {
        exclusions::after_rules(&self.exclusions)
    }

    /// The SecLang loaded before the rule files.
    pub fn preamble(&self) -> String {
        let mode = if self.detection_only {
            "DetectionOnly"
        } else {
            "On"
        };
        let mut s = format!(
            "SecRuleEngine {mode}\n\
             SecRequestBodyAccess On\n\
             SecResponseBodyAccess On\n\
             SecResponseBodyMimeType text/plain text/html text/xml application/json\n\
             SecRule REQUEST_HEADERS:Content-Type \"@rx (?i)^(?:application(?:/soap\\+|/)|text/)xml\" \"id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML\"\n\
             SecRule REQUEST_HEADERS:Content-Type \"@rx (?i)^application/json\" \"id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON\"\n"
        );
        if self.reject_unparsable_body {
            s.push_str(
                "SecRule REQBODY_ERROR \"!@eq 0\" \"id:200002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2\"\n",
            );
        }
        let detection = self.detection_paranoia_level.unwrap_or(self.paranoia_level);
        s.push_str(&format!(
            "SecAction \"id:900901,phase:1,pass,nolog,t:none,\
             setvar:tx.blocking_paranoia_level={},setvar:tx.detection_paranoia_level={detection},\
             setvar:tx.inbound_anomaly_score_threshold={},setvar:tx.outbound_anomaly_score_threshold={}\"\n",
            self.paranoia_level, self.inbound_anomaly_threshold, self.outbound_anomaly_threshold
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_configs() {
        assert!(CrsConfig::parse(r#"{"rules":["a"],"paranoia_level":5}"#).is_err());
        assert!(CrsConfig::parse(r#"{"rules":[]}"#).is_err());
        assert!(CrsConfig::parse(r#"{"rules":["a"],"typo":1}"#).is_err());
        let c = CrsConfig::parse(r#"{"rules":["a"]}"#).unwrap();
        assert_eq!((c.paranoia_level, c.inbound_anomaly_threshold), (1, 5));
    }

    #[test]
    fn profile_adds_its_files_around_the_rules() {
        let c = CrsConfig::parse(r#"{"rules":["setup","r/*.conf"]}"#).unwrap();
        assert_eq!(c.rule_files(), vec!["setup", "r/*.conf"]);
        let c = CrsConfig::parse(r#"{"rules":["setup","r/*.conf"],"profile":"api"}"#).unwrap();
        assert_eq!(
            c.rule_files(),
            vec![
                "setup",
                "/profile/before.conf",
                "r/*.conf",
                "/profile/after.conf"
            ]
        );
        let c = CrsConfig::parse(r#"{"rules":["s","r"],"profile":"api+detect"}"#).unwrap();
        assert_eq!(c.rule_files().last().unwrap(), "/profile/with-detect.conf");
        let e = CrsConfig::parse(r#"{"rules":["s"],"profile":"apy"}"#).unwrap_err();
        assert!(
            e.contains("\"apy\"") && e.contains("api, api+detect"),
            "{e}"
        );
    }

    #[test]
    fn exclusions_are_parsed_checked_and_split() {
        let c = CrsConfig::parse(
            r#"{"rules":["s"],"exclusions":[{"rules":[941130],"path":"/v1/a","args":["json.b"]},
               {"rules":[920420]}]}"#,
        )
        .unwrap();
        assert!(c.exclusions_before().contains(
            "\"@beginsWith /v1/a\" \"id:200100,phase:1,pass,nolog,t:none,ctl:ruleRemoveTargetById=941130;ARGS:json.b\""
        ));
        assert_eq!(c.exclusions_after(), "SecRuleRemoveById 920420\n");
        let c = CrsConfig::parse(r#"{"rules":["s"]}"#).unwrap();
        assert!(c.exclusions.is_empty() && c.exclusions_before().is_empty());
        let e = CrsConfig::parse(r#"{"rules":["s"],"exclusions":[{"rules":[1],"path":"x"}]}"#)
            .unwrap_err();
        assert!(e.starts_with("crs config: exclusions[0].path"), "{e}");
        let e = CrsConfig::parse(r#"{"rules":["s"],"exclusions":[{"rule":[1]}]}"#).unwrap_err();
        assert!(e.contains("unknown field `rule`"), "{e}");
    }
}
