//! `setvar`: `col.key=value`, `=+n`, `=-n`, `!col.key`, `col.key` (sets 1).
use super::{Actions, Effect, need};
use crate::macros::Macro;

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.effects
        .push(Effect::SetVar(SetVar::parse(need("setvar", v)?)?));
    Ok(())
}

/// What a setvar does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOp {
    /// `=`
    Set,
    /// `=+`
    Add,
    /// `=-`
    Sub,
    /// `!`
    Delete,
}

/// A parsed setvar.
#[derive(Debug, Clone)]
pub(crate) struct SetVar {
    /// Collection, lower-case (`tx`, `ip`, ...).
    pub collection: String,
    /// Key (may hold macros).
    pub key: Macro,
    /// Operation.
    pub op: SetOp,
    /// Value (may hold macros).
    pub value: Macro,
    /// The key as the transaction stores it (lower-case), when it holds no macro.
    pub(crate) literal_key: Option<String>,
}

impl SetVar {
    /// Parses the setvar argument.
    pub(crate) fn parse(s: &str) -> Result<SetVar, String> {
        let s = s.trim();
        let (delete, s) = match s.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (target, op, value) = match s.find('=') {
            Some(eq) if !delete => {
                let rest = &s[eq + 1..];
                let (op, v) = if let Some(v) = rest.strip_prefix('+') {
                    (SetOp::Add, v)
                } else if let Some(v) = rest.strip_prefix('-') {
                    (SetOp::Sub, v)
                } else {
                    (SetOp::Set, rest)
                };
                (&s[..eq], op, v)
            }
            _ => (
                s,
                if delete { SetOp::Delete } else { SetOp::Set },
                if delete { "" } else { "1" },
            ),
        };
        let (col, key) = target
            .split_once('.')
            .ok_or_else(|| format!("setvar {s:?}: expected collection.key"))?;
        let collection = col.trim().to_ascii_lowercase();
        if !matches!(
            collection.as_str(),
            "tx" | "ip" | "global" | "session" | "user" | "resource"
        ) {
            return Err(format!("setvar: unknown collection {col:?}"));
        }
        let key = Macro::parse(key.trim())?;
        let literal_key = key
            .as_literal()
            .map(|k| String::from_utf8_lossy(k).to_ascii_lowercase());
        Ok(SetVar {
            collection,
            key,
            op,
            value: Macro::parse(value)?,
            literal_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let a = SetVar::parse("tx.score=+%{tx.critical_anomaly_score}").unwrap();
        assert_eq!(a.op, SetOp::Add);
        assert_eq!(a.collection, "tx");
        assert_eq!(SetVar::parse("!tx.a").unwrap().op, SetOp::Delete);
        assert_eq!(
            SetVar::parse("tx.a").unwrap().value.literal_text().unwrap(),
            b"1"
        );
        assert!(SetVar::parse("nocollection").is_err());
    }
}
