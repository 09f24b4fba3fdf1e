//! A deliberately hostile policy for the sandbox tests. Its config picks the
//! misbehaviour: `{"on_request": "loop" | "grow" | "trap" | "allow" | "deny"}` and
//! `{"init": "fail"}`. Never deploy it.

use edgewaf_sdk::prelude::*;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    init: Option<String>,
    #[serde(default)]
    on_request: Option<String>,
}

/// The hostile policy.
pub struct Hostile {
    behaviour: String,
}

impl Policy for Hostile {
    fn init(config: &str) -> Result<Self, String> {
        let c: Config = serde_json::from_str(config).map_err(|e| format!("hostile config: {e}"))?;
        if c.init.as_deref() == Some("fail") {
            return Err("hostile: init refused as configured".into());
        }
        Ok(Hostile {
            behaviour: c.on_request.unwrap_or_else(|| "allow".into()),
        })
    }

    fn on_request(&self, req: &Request) -> Verdict {
        match self.behaviour.as_str() {
            "loop" => {
                // Spin forever in a way the optimiser cannot remove.
                let mut x: u64 = req.target.len() as u64;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "grow" => {
                // Allocate 1 MiB chunks until the host refuses more memory.
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![0x5a; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("hostile: trap as configured"),
            "deny" => Verdict::deny("hostile: deny as configured")
                .with_finding(Finding::new("hostile-1", "configured deny")),
            _ => Verdict::allow(),
        }
    }
}

edgewaf_sdk::export_policy!(Hostile);

#[cfg(test)]
mod tests {
    use super::*;
    use edgewaf_sdk::testing::Harness;

    #[test]
    fn init_fail_returns_the_message() {
        let err = Harness::<Hostile>::new(r#"{"init":"fail"}"#).err().unwrap();
        assert!(err.contains("init refused"));
    }

    #[test]
    fn deny_and_allow_modes() {
        let h = Harness::<Hostile>::new(r#"{"on_request":"deny"}"#).unwrap();
        assert!(h.on_request(&Request::builder().build()).is_deny());
        let h = Harness::<Hostile>::new("{}").unwrap();
        assert!(h.on_request(&Request::builder().build()).is_allow());
    }

    #[test]
    fn unknown_config_field_is_an_error() {
        assert!(Harness::<Hostile>::new(r#"{"oops":1}"#).is_err());
    }
}
