//! The limits the request body processors enforce, each set by a directive:
//!
//! - `SecArgumentsLimit`: arguments beyond it are not collected (query string
//!   first, then body); a body that held some sets `REQBODY_ERROR`.
//! - `SecRequestBodyJsonDepthLimit`: JSON nested deeper is a body error.
//! - `SecRequestBodyNoFilesLimit`: the body without uploaded file content;
//!   over it, the body is handled as over `SecRequestBodyLimit`.

use super::{BodyResult, Pair, multipart, urlencoded};
use crate::config::EngineConfig;

/// What one body processor run may produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `SecArgumentSeparator`.
    pub separator: u8,
    /// Arguments the body may still add (`SecArgumentsLimit` less the query
    /// string's); `None`: no limit.
    pub arguments: Option<usize>,
    /// `SecRequestBodyJsonDepthLimit`.
    pub json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            separator: b'&',
            arguments: None,
            json_depth: super::json::MAX_DEPTH,
        }
    }
}

impl Limits {
    /// The limits of `cfg` for a request whose query string gave `query_args`
    /// arguments.
    pub(crate) fn new(cfg: &EngineConfig, query_args: usize) -> Self {
        Limits {
            separator: cfg.argument_separator,
            arguments: cfg.arguments_limit.map(|n| n.saturating_sub(query_args)),
            json_depth: cfg.json_depth_limit,
        }
    }
}

/// The query string's arguments, at most `SecArgumentsLimit` of them.
pub(crate) fn query_args(query: &[u8], cfg: &EngineConfig) -> Vec<Pair> {
    let mut args = urlencoded::parse(query, cfg.argument_separator);
    if let Some(n) = cfg.arguments_limit {
        args.truncate(n);
    }
    args
}

/// Drops the arguments beyond `limit`; a body that held some is in error
/// (unless its processor already reported one).
pub(super) fn cap_arguments(r: &mut BodyResult, limit: Option<usize>) {
    let Some(max) = limit else { return };
    if r.args.len() <= max {
        return;
    }
    let held = r.args.len();
    r.args.truncate(max);
    if r.error.is_none() {
        r.error = Some(format!(
            "SecArgumentsLimit exceeded: the body holds {held} arguments, {max} collected"
        ));
    }
}

/// The body length allowed by `SecRequestBodyLimit` and
/// `SecRequestBodyNoFilesLimit` together: the body is over a limit when it is
/// longer. For a multipart body the content of its files does not count
/// toward the no-files limit (parsed only when the body is long enough for
/// that to matter).
pub(crate) fn request_body_limit(cfg: &EngineConfig, body: &[u8], content_type: &[u8]) -> usize {
    let all = usize::try_from(cfg.request_body_limit).unwrap_or(usize::MAX);
    let no_files = usize::try_from(cfg.request_body_no_files_limit).unwrap_or(usize::MAX);
    if body.len() <= no_files.min(all) {
        return all;
    }
    let multipart = content_type
        .get(..19)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"multipart/form-data"));
    let files: usize = if multipart {
        let r = multipart::parse(body, content_type);
        r.file_sizes.iter().map(|(_, n)| n).sum()
    } else {
        0
    };
    all.min(no_files.saturating_add(files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: Option<usize>, no_files: u64) -> EngineConfig {
        EngineConfig {
            arguments_limit: args,
            request_body_no_files_limit: no_files,
            ..EngineConfig::default()
        }
    }

    #[test]
    fn query_args_stop_at_the_limit() {
        let got = query_args(b"a=1&b=2&c=3", &cfg(Some(2), 100));
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], (b"b".to_vec(), b"2".to_vec()));
        assert_eq!(query_args(b"a=1&b=2&c=3", &cfg(None, 100)).len(), 3);
    }

    #[test]
    fn body_arguments_share_the_limit_with_the_query() {
        let l = Limits::new(&cfg(Some(3), 100), 2);
        let r = super::super::process_with("URLENCODED", b"x=1&y=2", b"", &l);
        assert_eq!(r.args, vec![(b"x".to_vec(), b"1".to_vec())]);
        assert!(r.error.unwrap().starts_with("SecArgumentsLimit exceeded"));
        let l = Limits::new(&cfg(Some(4), 100), 2);
        let r = super::super::process_with("URLENCODED", b"x=1&y=2", b"", &l);
        assert_eq!((r.args.len(), r.error), (2, None));
    }

    #[test]
    fn no_files_limit_leaves_file_content_out() {
        let c = cfg(None, 10);
        assert_eq!(request_body_limit(&c, b"short", b""), 13_107_200);
        assert_eq!(request_body_limit(&c, &[b'a'; 50], b"text/plain"), 10);
        let ct = b"multipart/form-data; boundary=XX";
        let body =
            b"--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n\
0123456789012345678901234567890123456789\r\n--XX--\r\n";
        assert_eq!(request_body_limit(&c, body, ct), 50);
        assert!(
            body.len() > 50,
            "the file's 40 bytes are not counted, the rest is"
        );
    }
}
