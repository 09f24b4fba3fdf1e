//! Splits SecLang text into directives: joins `\` line continuations, drops
//! comments and splits arguments the way Apache/ModSecurity configuration does
//! (double-quoted arguments, `\"` inside quotes is a literal quote).

/// One directive with its arguments, and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directive {
    /// 1-based line where the directive starts.
    pub line: usize,
    /// Directive name as written, e.g. `SecRule`.
    pub name: String,
    /// Arguments with the quotes removed.
    pub args: Vec<String>,
}

/// Splits `text` into directives. Errors carry the line and a message.
pub(crate) fn directives(text: &str) -> Result<Vec<Directive>, (usize, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut start_line = 0usize;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if pending.is_empty() {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            start_line = lineno;
        }
        let trimmed_end = line.trim_end();
        if let Some(body) = trimmed_end.strip_suffix('\\') {
            pending.push_str(body);
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        out.push(
            split(&full)
                .map_err(|e| (start_line, e))
                .map(|(name, args)| Directive {
                    line: start_line,
                    name,
                    args,
                })?,
        );
    }
    if !pending.is_empty() {
        let (name, args) = split(&pending).map_err(|e| (start_line, e))?;
        out.push(Directive {
            line: start_line,
            name,
            args,
        });
    }
    Ok(out)
}

fn split(line: &str) -> Result<(String, Vec<String>), String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut tok = String::new();
        if chars[i] == '"' || chars[i] == '\'' {
            let q = chars[i];
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                let c = chars[i];
                if c == '\\' && i + 1 < chars.len() && chars[i + 1] == q {
                    tok.push(q);
                    i += 2;
                    continue;
                }
                if c == q {
                    closed = true;
                    i += 1;
                    break;
                }
                tok.push(c);
                i += 1;
            }
            if !closed {
                return Err(format!(
                    "unterminated quoted argument starting with {q}{}",
                    short(&tok)
                ));
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                tok.push(chars[i]);
                i += 1;
            }
        }
        tokens.push(tok);
    }
    if tokens.is_empty() {
        return Err("empty directive".into());
    }
    let name = tokens.remove(0);
    Ok((name, tokens))
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_continuations_and_skips_comments() {
        let text =
            "# c\nSecRule ARGS \"@rx a\\\"b\" \\\n    \"id:1,\\\n    pass\"\n\nSecMarker END\n";
        let d = directives(text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, 2);
        assert_eq!(d[0].args, vec!["ARGS", "@rx a\"b", "id:1,    pass"]);
        assert_eq!(d[1].name, "SecMarker");
        assert_eq!(d[1].line, 6);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        assert!(directives("SecRule ARGS \"@rx a").is_err());
    }
}
