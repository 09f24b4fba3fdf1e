//! Just enough `multipart/form-data` (RFC 7578) to inspect form fields and
//! uploaded file names; file contents are not inspected.

/// Upper bound on parts read from one body.
pub const MAX_PARTS: usize = 1000;

/// One part of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field name.
    pub name: String,
    /// The uploaded file's name, for file parts.
    pub filename: Option<String>,
    /// The part's content (possibly cut short when the body was truncated).
    pub value: Vec<u8>,
}

/// The parts of `body`, given the full `Content-Type` header value; `None`
/// when there is no usable boundary or the body does not start like one.
pub fn parse(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = param(content_type, "boundary")?;
    if boundary.is_empty() || boundary.len() > 200 {
        return None;
    }
    let delim = format!("--{boundary}").into_bytes();
    let line_delim = [b"\n".as_slice(), &delim].concat();
    let mut pos = if body.starts_with(&delim) {
        0
    } else {
        find(body, &line_delim, 0)? + 1
    };
    let mut parts = Vec::new();
    while parts.len() < MAX_PARTS {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            break;
        }
        pos = skip_line_end(body, pos);
        let (header_end, body_start) = match find(body, b"\r\n\r\n", pos) {
            Some(i) => (i, i + 4),
            None => {
                let i = find(body, b"\n\n", pos)?;
                (i, i + 2)
            }
        };
        let headers = String::from_utf8_lossy(&body[pos..header_end]);
        // The next delimiter starts a line; its line break is not content.
        let next = find(body, &line_delim, body_start);
        let end = next.unwrap_or(body.len());
        let mut value = &body[body_start..end];
        value = value.strip_suffix(b"\r").unwrap_or(value);
        if let Some(disposition) = headers
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
            .map(|(_, v)| v)
        {
            parts.push(Part {
                name: param(disposition, "name").unwrap_or_default(),
                filename: param(disposition, "filename"),
                value: value.to_vec(),
            });
        }
        match next {
            Some(n) => pos = n + 1,
            None => break,
        }
    }
    Some(parts)
}

/// The value of `; key=value` or `; key="value"` in a header value.
fn param(header: &str, key: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case(key) {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        Some(v.to_string())
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

fn skip_line_end(body: &[u8], pos: usize) -> usize {
    if body[pos..].starts_with(b"\r\n") {
        pos + 2
    } else if body[pos..].starts_with(b"\n") {
        pos + 1
    } else {
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=\"XyZ\"";

    #[test]
    fn fields_and_files() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nQ1 report\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a b.txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n";
        let parts = parse(CT, body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0],
            Part {
                name: "title".into(),
                filename: None,
                value: b"Q1 report".to_vec()
            }
        );
        assert_eq!(parts[1].filename.as_deref(), Some("a b.txt"));
        assert_eq!(parts[1].value, b"line1\r\nline2");
    }

    #[test]
    fn bare_lf_and_truncated_body() {
        let body = b"--b\nContent-Disposition: form-data; name=x\n\nvalue\n--b\nContent-Disposition: form-data; name=y\n\ncut off here";
        let parts = parse("multipart/form-data; boundary=b", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].value, b"value");
        assert_eq!(parts[1].value, b"cut off here");
    }

    #[test]
    fn delimiter_only_counts_at_line_start() {
        let body = b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\na--b--c\r\n--b--";
        let parts = parse("multipart/form-data; boundary=b", body).unwrap();
        assert_eq!(parts[0].value, b"a--b--c");
    }

    #[test]
    fn not_multipart() {
        assert_eq!(parse("multipart/form-data", b"--x\r\n"), None);
        assert_eq!(parse(CT, b"no delimiter at all"), None);
        assert_eq!(parse(CT, b"--XyZ\r\nno header end"), None);
        assert_eq!(parse(CT, b"--XyZ--\r\n"), Some(vec![]));
    }
}
