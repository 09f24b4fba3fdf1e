//! The policy's configuration.

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
}

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
        Ok(c)
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
}
