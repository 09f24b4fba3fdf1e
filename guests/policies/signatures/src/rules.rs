//! The rule table: every signature this policy knows, as plain data.
//!
//! A rule names *what* it looks for (a regex, or one of the two hand-written
//! matchers), *where* (a set of [`targets`]) and *how sure* it is (paranoia
//! level: 1 is on by default and tuned for few false positives, 2 is stricter).
//! Each regex rule lists `needles`: lower-case literals of which at least one
//! must occur in any text the regex can match. They feed one Aho-Corasick
//! automaton that picks, for each inspected value, the few rules worth running.

use edgewaf_sdk::Severity;
use serde::Deserialize;

/// Attack families, the values of the config's `categories`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// SQL injection.
    Sqli,
    /// Cross-site scripting.
    Xss,
    /// Path traversal and local file access.
    Lfi,
    /// Log4Shell (CVE-2021-44228) JNDI lookups.
    Log4shell,
    /// Well-known attack tools.
    Scanner,
}

impl Category {
    /// Every category, in config spelling order.
    pub const ALL: [Category; 5] = [
        Category::Sqli,
        Category::Xss,
        Category::Lfi,
        Category::Log4shell,
        Category::Scanner,
    ];

    /// The config spelling, also used in tags (`attack-sqli`).
    pub fn name(self) -> &'static str {
        match self {
            Category::Sqli => "sqli",
            Category::Xss => "xss",
            Category::Lfi => "lfi",
            Category::Log4shell => "log4shell",
            Category::Scanner => "scanner",
        }
    }
}

/// Where a value comes from; a rule applies to a value when their sets meet.
pub mod targets {
    /// The decoded request path (`REQUEST_FILENAME`).
    pub const PATH: u16 = 1;
    /// Query, form and JSON values (`ARGS:name`).
    pub const ARGS: u16 = 1 << 1;
    /// Query, form and JSON names (`ARGS_NAMES:name`).
    pub const ARGS_NAMES: u16 = 1 << 2;
    /// Cookie values (`REQUEST_COOKIES:name`).
    pub const COOKIES: u16 = 1 << 3;
    /// Cookie names (`REQUEST_COOKIES_NAMES:name`).
    pub const COOKIE_NAMES: u16 = 1 << 4;
    /// `User-Agent`, `Referer` and `X-Forwarded-For`: headers applications
    /// commonly log or store.
    pub const HEADERS_MAIN: u16 = 1 << 5;
    /// Every other header value (searched at paranoia 2 by the rules that
    /// search [`HEADERS_MAIN`]).
    pub const HEADERS_OTHER: u16 = 1 << 6;
    /// Header names (`REQUEST_HEADERS_NAMES:name`).
    pub const HEADER_NAMES: u16 = 1 << 7;
    /// A body that is neither a form nor valid JSON (`REQUEST_BODY`).
    pub const BODY: u16 = 1 << 8;
    /// The `User-Agent` header alone.
    pub const USER_AGENT: u16 = 1 << 9;

    /// Everywhere user input lands in a typical application.
    pub const INPUT: u16 = PATH | ARGS | ARGS_NAMES | COOKIES | HEADERS_MAIN | BODY;
    /// Literally everywhere.
    pub const ALL: u16 = INPUT | COOKIE_NAMES | HEADERS_OTHER | HEADER_NAMES;
}

/// How a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatcherDef {
    /// A regex (`regex` crate syntax) and its prefilter needles.
    Regex {
        /// The pattern; matched against the decoded value.
        pattern: &'static str,
        /// Lower-case literals, at least one of which occurs in every match.
        needles: &'static [&'static str],
        /// Strip SQL comments (`/**/`, `/*!50000`) before matching.
        sql_comments: bool,
    },
    /// Resolves nested Log4j lookups, then looks for `${jndi:`; see [`crate::log4shell`].
    Log4Shell,
    /// Any of these lower-case tokens, as a whole word.
    Tokens(&'static [&'static str]),
}

/// One signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleDef {
    /// Stable id used in findings, logs and `disabled_rules`.
    pub id: &'static str,
    /// Family; switched as a group by `categories`.
    pub category: Category,
    /// Lowest paranoia level at which the rule is on.
    pub paranoia: u8,
    /// What a match means.
    pub message: &'static str,
    /// Severity of the finding.
    pub severity: Severity,
    /// Where it looks ([`targets`] bits).
    pub targets: u16,
    /// How it matches.
    pub matcher: MatcherDef,
}

use Category::*;
use MatcherDef::*;
use Severity::{Critical, Error, Warning};
use targets::*;

const QUOTES: &[&str] = &["'", "\"", "`"];

/// Every rule, in evaluation order.
pub const RULES: &[RuleDef] = &[
    // ---- SQL injection -------------------------------------------------------
    RuleDef {
        id: "sig-sqli-1",
        category: Sqli,
        paranoia: 1,
        message: "SQL injection: quoted tautology (' OR 'a'='a)",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            // A quote closes a string, then OR and a comparison, or OR TRUE / OR 1.
            pattern: r#"(?i)['"`]\s*\)*\s*(?:or\b|\|\||xor\b)\s*\(*\s*(?:(?:['"`][^'"`]{0,40}['"`]|-?\d+(?:\.\d+)?|[a-z_][\w.]{0,40})\s*(?:=|<=>|!=|<>|<=|>=|<|>|\blike\b|\bis\s+not\b|\bregexp\b|\brlike\b)(?:\s*(?:['"`][^'"`]{0,40}['"`]?|-?\d+|[a-z_]\w{0,40}))?|(?:true|false)\b|not\s|\d+\s*(?:--|#|;|/\*|$))|['"`]\s*\)*\s*(?:and\b|&&)\s*\(*\s*['"`]?(?:\d+|[a-z])['"`]?\s*(?:=|<>|!=)\s*['"`]?(?:\d+|[a-z])(?:['"`]|\b)"#,
            needles: QUOTES,
            sql_comments: true,
        },
    },
    RuleDef {
        id: "sig-sqli-2",
        category: Sqli,
        paranoia: 1,
        message: "SQL injection: numeric tautology (1 OR 1=1)",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            pattern: r"(?i)(?:^|[\s()])(?:or|and|xor|\|\||&&)\s+\(*\s*-?\d+\s*(?:=|<=>|!=|<>)\s*-?\d+(?:\W|$)",
            needles: &["=", "<>"],
            sql_comments: true,
        },
    },
    RuleDef {
        id: "sig-sqli-3",
        category: Sqli,
        paranoia: 1,
        message: "SQL injection: string closed and the rest commented out (admin'--)",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            // The comment must end the value (`admin'--`, `1')-- -`, `x'#`), so
            // prose such as `"fine" -- then` passes.
            pattern: r#"(?i)\w['"`]\s*\)*\s*;?\s*(?:--[\s+\-]*$|#\s*$|/\*)"#,
            needles: QUOTES,
            sql_comments: false,
        },
    },
    RuleDef {
        id: "sig-sqli-4",
        category: Sqli,
        paranoia: 1,
        message: "SQL injection: UNION SELECT",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            pattern: r"(?i)(?:^|[^a-z])union(?:\s|\(|#[^\n]*\n|--[^\n]*\n)+(?:(?:all|distinct)(?:\s|\()+)?select\b",
            needles: &["union"],
            sql_comments: true,
        },
    },
    RuleDef {
        id: "sig-sqli-5",
        category: Sqli,
        paranoia: 1,
        message: "SQL injection: stacked query",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            pattern: r#"(?i)['"`\d)]\s*;\s*(?:drop\s+(?:table|database|schema)\b|truncate\s+table\b|shutdown\b|exec(?:ute)?\s+(?:master\.|xp_|sp_)|insert\s+into\s+[\w.`\[\]"]+\s*(?:\(|values\b|select\b)|delete\s+from\s+[\w.`\[\]"]+\s*(?:;|--|#|/\*|$|where\b)|update\s+\w+\s+set\b|create\s+(?:table|user)\b|alter\s+table\b|declare\s+@)"#,
            needles: &[";"],
            sql_comments: true,
        },
    },
    RuleDef {
        id: "sig-sqli-6",
        category: Sqli,
        paranoia: 1,
        message: "SQL injection: time-based blind probe",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            pattern: r#"(?i)(?:^|['"`;(,+]|\b(?:and|or|xor|select|if|then|when)\b|\|\||&&)\s*(?:sleep|pg_sleep)\s*\(\s*\d+(?:\.\d+)?\s*[).]|\bbenchmark\s*\(\s*\d{4,}\s*,|\bwaitfor\s+(?:delay|time)\s+['"]\d|\bdbms_pipe\s*\.\s*receive_message\s*\("#,
            needles: &["sleep", "benchmark", "waitfor", "dbms_pipe"],
            sql_comments: true,
        },
    },
    RuleDef {
        id: "sig-sqli-7",
        category: Sqli,
        paranoia: 1,
        message: "SQL injection: database fingerprinting or file access",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            pattern: r"(?i)\b(?:extractvalue|updatexml)\s*\(|\binformation_schema\s*\.|@@(?:version|datadir|hostname|basedir)\b|\bload_file\s*\(|\binto\s+(?:out|dump)file\b|\bxp_cmdshell\b|\bsqlite_master\b|\bmysql\s*\.\s*user\b|\bpg_(?:shadow|user)\b",
            needles: &[
                "extractvalue",
                "updatexml",
                "information_schema",
                "@@",
                "load_file",
                "outfile",
                "dumpfile",
                "xp_cmdshell",
                "sqlite_master",
                "mysql",
                "pg_",
            ],
            sql_comments: true,
        },
    },
    RuleDef {
        id: "sig-sqli-8",
        category: Sqli,
        paranoia: 2,
        message: "SQL injection: SELECT ... FROM statement",
        severity: Error,
        targets: INPUT,
        matcher: Regex {
            pattern: r"(?i)\bselect\b(?:\s|\()+(?:\*|[\w.@`'()*]+(?:\s*,\s*[\w.@`'()*]+)*)\s+from\b",
            needles: &["select"],
            sql_comments: true,
        },
    },
    // ---- Cross-site scripting ------------------------------------------------
    RuleDef {
        id: "sig-xss-1",
        category: Xss,
        paranoia: 1,
        message: "XSS: script tag",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            pattern: r"(?i)</?(?:[a-z0-9_-]+:)?script\b",
            needles: &["script"],
            sql_comments: false,
        },
    },
    RuleDef {
        id: "sig-xss-2",
        category: Xss,
        paranoia: 1,
        message: "XSS: javascript: or vbscript: URI",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            // Right after the colon comes code (a call, an assignment, `//`, a
            // quote): "JavaScript: The Good Parts" is a book, not an attack.
            pattern: r#"(?i)\b(?:j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|v\s*b\s*s\s*c\s*r\s*i\s*p\s*t|livescript)\s*:(?:[/(\[{'"`]|void\b|[\w$.]+\s*[(\[`=]|\s+[\w$.]+\s*[(\[`=])"#,
            needles: &[":"],
            sql_comments: false,
        },
    },
    RuleDef {
        id: "sig-xss-3",
        category: Xss,
        paranoia: 1,
        message: "XSS: event handler attribute in a tag (onerror=, onload=)",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            pattern: r#"(?i)<[a-z][a-z0-9:-]*[^>]*?[\s/"'`]on[a-z]{3,}\s*="#,
            needles: &["<"],
            sql_comments: false,
        },
    },
    RuleDef {
        id: "sig-xss-4",
        category: Xss,
        paranoia: 1,
        message: "XSS: DOM access or code construction (document.cookie, fromCharCode)",
        severity: Critical,
        // Not the path: documentation sites have URLs like /api/document.cookie.
        targets: INPUT & !PATH,
        matcher: Regex {
            pattern: r#"(?i)\bdocument\s*\.\s*(?:cookie\b|domain\b|write(?:ln)?\s*\()|\bwindow\s*\.\s*location\s*=|\.\s*innerhtml\s*=|\bstring\s*\.\s*fromcharcode\s*\(|\beval\s*\(\s*(?:atob|unescape|string|decodeuri)|\bnew\s+function\s*\(\s*['"`]|-moz-binding\s*:"#,
            needles: &[
                "document",
                "window",
                "innerhtml",
                "fromcharcode",
                "eval",
                "function",
                "-moz-binding",
            ],
            sql_comments: false,
        },
    },
    RuleDef {
        id: "sig-xss-5",
        category: Xss,
        paranoia: 1,
        message: "XSS: HTML or script data: URI",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            pattern: r"(?i)\bdata\s*:\s*(?:text/html|text/javascript|application/(?:x-)?javascript|application/xhtml\+xml)\b",
            needles: &["data"],
            sql_comments: false,
        },
    },
    RuleDef {
        id: "sig-xss-6",
        category: Xss,
        paranoia: 2,
        message: "XSS: active HTML element (iframe, object, embed, svg, ...)",
        severity: Error,
        targets: INPUT,
        matcher: Regex {
            pattern: r"(?i)<\s*(?:iframe|frame|frameset|object|embed|applet|base|meta|isindex|svg|math|xml|template|link|style)\b",
            needles: &["<"],
            sql_comments: false,
        },
    },
    RuleDef {
        id: "sig-xss-7",
        category: Xss,
        paranoia: 1,
        message: "XSS: quote closed, then an event handler (\" onmouseover=)",
        severity: Critical,
        targets: INPUT,
        matcher: Regex {
            // Breaking out of an attribute value; well-known handler names only,
            // so `'online=yes'` passes.
            pattern: r#"(?i)['"`][\s/]*on(?:error|load|unload|beforeunload|click|dblclick|auxclick|contextmenu|mouse[a-z]+|pointer[a-z]+|focus[a-z]*|blur|toggle|animation[a-z]+|transition[a-z]+|key(?:up|down|press)|change|input|invalid|submit|reset|select|search|begin|end|start|finish|zoom|wheel|scroll|drag[a-z]*|drop|copy|paste|cut|play|playing|pause|ended|show|hashchange|message|popstate|resize|pageshow|pagehide|readystatechange)\s*="#,
            needles: &["on"],
            sql_comments: false,
        },
    },
    // ---- Path traversal and file access -------------------------------------
    RuleDef {
        id: "sig-lfi-1",
        category: Lfi,
        paranoia: 1,
        message: "Path traversal: ../",
        severity: Critical,
        // Traversal has no business in any header (think X-Original-URL).
        targets: INPUT | HEADERS_OTHER,
        matcher: Regex {
            // `..` as a whole path segment (also `..;/`, Tomcat's bypass).
            pattern: r"(?:^|[\\/])\.{2,}(?:;[^\\/]*)?[\\/]|[\\/]\.\.(?:;[^\\/]*)?$",
            needles: &[".."],
            sql_comments: false,
        },
    },
    RuleDef {
        id: "sig-lfi-2",
        category: Lfi,
        paranoia: 1,
        message: "Local file access: operating system file",
        severity: Critical,
        targets: ARGS | COOKIES | BODY,
        matcher: Regex {
            // Only when the value *is* such a path (or a file: URL to one), so
            // prose that mentions /etc/hosts passes.
            pattern: r"(?i)(?:^\s*|file:/*)[\\/]*(?:etc[\\/](?:passwd|shadow|group|hosts|issue|sudoers|crontab)\b|proc[\\/](?:self|\d+)[\\/](?:environ|cmdline|maps|mem|fd)\b|(?:[a-z]:)?[\\/]*(?:windows|winnt)[\\/](?:win\.ini|system\.ini|system32)\b|(?:[a-z]:[\\/])?boot\.ini\b)",
            needles: &["etc", "proc", "windows", "winnt", "boot.ini"],
            sql_comments: false,
        },
    },
    RuleDef {
        id: "sig-lfi-3",
        category: Lfi,
        paranoia: 1,
        message: "Probe for secrets or version-control files (/.env, /.git/)",
        severity: Error,
        targets: PATH,
        matcher: Regex {
            pattern: r"(?i)/\.(?:env(?:\.[\w.-]+)?|git|svn|hg|bzr|htpasswd|htaccess|aws|ssh|docker|npmrc|pypirc|netrc|bash_history|ds_store)(?:/|$)",
            needles: &["/."],
            sql_comments: false,
        },
    },
    RuleDef {
        id: "sig-lfi-4",
        category: Lfi,
        paranoia: 1,
        message: "File inclusion through a PHP or archive stream wrapper (php://filter)",
        severity: Critical,
        targets: ARGS | COOKIES | BODY,
        matcher: Regex {
            pattern: r"(?i)\b(?:php://(?:filter|input|fd|memory|temp|stdin)|expect://|phar://|zip://|glob://|data://text/plain)",
            needles: &["://"],
            sql_comments: false,
        },
    },
    // ---- Log4Shell -----------------------------------------------------------
    RuleDef {
        id: "sig-log4shell-1",
        category: Log4shell,
        paranoia: 1,
        message: "Log4Shell: JNDI lookup (CVE-2021-44228), also nested or obfuscated",
        severity: Critical,
        targets: ALL,
        matcher: Log4Shell,
    },
    RuleDef {
        id: "sig-log4shell-2",
        category: Log4shell,
        paranoia: 2,
        message: "Log4j lookup expression (${env:...}, ${sys:...}, ${lower:...})",
        severity: Error,
        targets: ALL,
        matcher: Regex {
            pattern: r"(?i)\$\{\s*(?:env|sys|java|ctx|main|bundle|k8s|docker|jvmrunargs|log4j|spring|web|marker|lower|upper|date|base64|event|map|sd|::-)\s*:",
            needles: &["${"],
            sql_comments: false,
        },
    },
    // ---- Scanners ------------------------------------------------------------
    RuleDef {
        id: "sig-scanner-1",
        category: Scanner,
        paranoia: 1,
        message: "Security scanner user agent",
        severity: Warning,
        targets: USER_AGENT,
        matcher: Tokens(&[
            "sqlmap",
            "nikto",
            "nuclei",
            "masscan",
            "zgrab",
            "nmap scripting engine",
            "acunetix",
            "netsparker",
            "wpscan",
            "dirbuster",
            "gobuster",
            "feroxbuster",
            "fuzz faster u fool",
            "wfuzz",
            "w3af",
            "havij",
            "arachni",
            "skipfish",
            "openvas",
            "nessus",
            "jaeles",
            "commix",
            "whatweb",
            "zmeu",
            "jorgee",
            "morfeus",
            "fimap",
            "sqlninja",
            "xsser",
            "dotdotpwn",
        ]),
    },
    RuleDef {
        id: "sig-scanner-2",
        category: Scanner,
        paranoia: 1,
        message: "Security scanner marker header",
        severity: Warning,
        targets: HEADER_NAMES,
        matcher: Tokens(&[
            "acunetix-product",
            "acunetix-scanning-agreement",
            "acunetix-user-agreement",
            "x-wipp",
            "x-scan-memo",
            "x-request-memo",
        ]),
    },
];

/// The rule with id `id`.
pub fn by_id(id: &str) -> Option<&'static RuleDef> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "duplicate id {}", r.id);
            let prefix = format!("sig-{}-", r.category.name());
            assert!(
                r.id.starts_with(&prefix),
                "{} should start with {prefix}",
                r.id
            );
            assert!((1..=2).contains(&r.paranoia), "{}", r.id);
            assert!(r.targets != 0, "{}", r.id);
        }
    }

    #[test]
    fn every_category_has_a_paranoia_1_rule() {
        for c in Category::ALL {
            assert!(
                RULES.iter().any(|r| r.category == c && r.paranoia == 1),
                "{c:?}"
            );
        }
    }

    #[test]
    fn needles_and_tokens_are_lower_case() {
        for r in RULES {
            let words: &[&str] = match r.matcher {
                Regex { needles, .. } => needles,
                Tokens(t) => t,
                Log4Shell => &[],
            };
            for w in words {
                assert!(!w.is_empty(), "{}", r.id);
                assert_eq!(*w, w.to_lowercase(), "{}", r.id);
            }
        }
    }
}
