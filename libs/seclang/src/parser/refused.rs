//! Directives the engine does not implement. Loading one fails with the file,
//! line and the reason below (what happens instead, what to use): a setting
//! a user writes is either enforced or refused, never silently ignored.

const AUDIT: &str = "edgewaf writes no ModSecurity audit log: every decision (rule ids, \
messages, matched data) goes to the host's decision log ([log] decisions in edgewaf.toml, \
GET /api/events on the admin API); remove this line";
const DEBUG: &str = "there is no debug log inside the sandbox; each request's findings are in \
the host's decision log ([log] decisions, GET /api/events); remove this line";
const DISK: &str = "the engine writes nothing to disk: bodies and uploads are inspected in \
memory and never stored; remove this line";
const PERSISTENT: &str = "persistent collections (initcol, setsid, setuid) are not supported, \
so there is nothing for it to configure; remove this line";
const PCRE: &str = "regexes run on Rust's regex engine, which never backtracks (time linear in \
the input), so there is no match limit to set; remove this line";
const STREAM: &str = "bodies are inspected whole, in phase 2 and 4 (REQUEST_BODY, \
RESPONSE_BODY); remove this line";

/// Every refused directive, by lower-case name, with the reason.
pub(super) static REFUSED: &[(&str, &str)] = &[
    ("secauditengine", AUDIT),
    ("secauditlog", AUDIT),
    ("secauditlog2", AUDIT),
    ("secauditlogparts", AUDIT),
    ("secauditlogtype", AUDIT),
    ("secauditlogformat", AUDIT),
    ("secauditlogstoragedir", AUDIT),
    ("secauditlogrelevantstatus", AUDIT),
    ("secauditlogdirmode", AUDIT),
    ("secauditlogfilemode", AUDIT),
    ("secdebuglog", DEBUG),
    ("secdebugloglevel", DEBUG),
    ("sectmpdir", DISK),
    ("secdatadir", DISK),
    ("secuploaddir", DISK),
    ("secuploadfilemode", DISK),
    ("seccollectiontimeout", PERSISTENT),
    ("secwebappid", PERSISTENT),
    ("secpcrematchlimit", PCRE),
    ("secpcrematchlimitrecursion", PCRE),
    ("secstreaminbodyinspection", STREAM),
    ("secstreamoutbodyinspection", STREAM),
    (
        "secrequestbodyinmemorylimit",
        "request bodies are always held in memory, bounded by SecRequestBodyLimit and \
         SecRequestBodyNoFilesLimit; set those instead",
    ),
    (
        "secuploadfilelimit",
        "the engine does not cap the number of uploaded files; count them with a rule \
         instead: SecRule &FILES \"@gt 100\" \"id:...,phase:2,deny,status:400\"",
    ),
    (
        "secunicodemapfile",
        "the best-fit mapping of t:urlDecodeUni is built in (the table of code page 20127); \
         remove this line",
    ),
    (
        "secserversignature",
        "the engine does not write response headers; set the Server header at the origin",
    ),
    (
        "secremoterules",
        "rules are loaded from files and text only; fetch the file and Include it",
    ),
    (
        "secgeolookupdb",
        "@geoLookup and GEO are not supported; use the host's IP lists (ip-filter policy)",
    ),
    (
        "secrulescript",
        "Lua rules are not supported; write the check as SecRule",
    ),
];

/// Why `name` (lower-case) is refused, if it is.
pub(super) fn reason(name: &str) -> Option<&'static str> {
    REFUSED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}
