//! Mail (SMTP, IMAP) and mail-header injection: a line break in the value
//! followed by a line that is a protocol command or a message header. Lines
//! are tokenised: an SMTP command (`RCPT TO:`, `MAIL FROM:`, `DATA`, ...),
//! an IMAP tagged command (`A1 FETCH ...`: a tag, then a command), or an
//! address header (`Bcc:`, `Cc:`, ...). Text that merely spans lines is not.

use super::{CRITICAL, Hit};

/// SMTP commands, with what must follow them.
const SMTP: &[(&str, &str)] = &[
    ("mail", " from:"),
    ("rcpt", " to:"),
    ("data", ""),
    ("helo", " "),
    ("ehlo", " "),
    ("rset", ""),
    ("quit", ""),
    ("vrfy", " "),
    ("expn", " "),
    ("starttls", ""),
    ("auth", " "),
];
/// IMAP commands (RFC 9051) a tagged line may carry.
const IMAP: &[&str] = &[
    "login",
    "logout",
    "select",
    "examine",
    "create",
    "delete",
    "rename",
    "subscribe",
    "list",
    "lsub",
    "status",
    "append",
    "check",
    "close",
    "expunge",
    "search",
    "fetch",
    "store",
    "copy",
    "move",
    "uid",
    "capability",
    "noop",
    "authenticate",
    "starttls",
    "enable",
    "idle",
    "namespace",
];
/// Headers whose injection adds recipients: they carry an address.
const ADDRESS_HEADERS: &[&str] = &[
    "to",
    "cc",
    "bcc",
    "from",
    "reply-to",
    "sender",
    "return-path",
];
/// Headers whose injection rewrites the message.
const MESSAGE_HEADERS: &[&str] = &[
    "subject",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
];

fn smtp(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    SMTP.iter().any(|(cmd, then)| {
        l.strip_prefix(cmd).is_some_and(|rest| {
            if then.is_empty() {
                rest.trim().is_empty()
            } else {
                rest.starts_with(then)
            }
        })
    })
}

fn imap(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let (Some(tag), Some(cmd)) = (words.next(), words.next()) else {
        return false;
    };
    let tag_ok = tag.len() <= 8
        && tag.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.')
        && tag.bytes().any(|c| c.is_ascii_digit());
    // IMAP commands are written in capitals by clients and attackers alike;
    // a lower-case word after a number is prose ("2 items").
    let upper = cmd.bytes().all(|c| c.is_ascii_uppercase());
    tag_ok && upper && IMAP.contains(&cmd.to_ascii_lowercase().as_str())
}

fn header(line: &str) -> bool {
    let Some((name, value)) = line.split_once(':') else {
        return false;
    };
    let lname = name.to_ascii_lowercase();
    let known =
        ADDRESS_HEADERS.contains(&lname.as_str()) || MESSAGE_HEADERS.contains(&lname.as_str());
    if !known || value.trim().is_empty() {
        return false;
    }
    // Address headers carry an address; the others are written as headers are.
    if ADDRESS_HEADERS.contains(&lname.as_str()) {
        value.contains('@')
    } else {
        name.starts_with(|c: char| c.is_ascii_uppercase())
    }
}

/// Mail command or header injection.
pub fn detect(s: &str) -> Option<Hit> {
    if !s.contains(['\r', '\n']) {
        return None;
    }
    let mut lines = s.split(['\r', '\n']).filter(|l| !l.is_empty());
    let first = lines.next()?;
    // The first line is the value the application expected; an IMAP
    // command there is already an injected one when more lines follow.
    let firsts = std::iter::once(first).filter(|l| imap(l));
    for line in firsts.chain(lines) {
        if smtp(line) || imap(line) || header(line) {
            return Some(Hit::new(
                "mail",
                CRITICAL,
                &format!("line {line:?} in {s:?}"),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_commands_and_headers() {
        for s in [
            "victim@example.com\r\nBcc: everyone@example.com",
            "x\r\nRCPT TO:<attacker@evil.example>",
            "INBOX\r\nA002 LOGOUT",
            "x\" \r\nA1 FETCH 1:* (BODY[])",
            "me@example.com\nCc:spam@evil.example",
            "x\r\nDATA\r\nSubject: spoofed\r\n.\r\n",
            "a1 SELECT \"INBOX\"\r\na2 DELETE INBOX",
            "x\nMAIL FROM:<ceo@example.com>",
        ] {
            assert!(detect(s).is_some(), "{s:?}");
        }
    }

    #[test]
    fn multi_line_text_is_not() {
        for s in [
            "Hello,\nplease send the invoice to accounting.\nThanks",
            "Line one\r\n2 items were missing\r\nTo be honest I expected more",
            "Shipping notes:\n- leave at door\n- ring twice",
            "Dear team,\n\nto: whom it may concern",
            "single line: Subject: hi",
        ] {
            assert_eq!(detect(s), None, "{s:?}");
        }
    }
}
