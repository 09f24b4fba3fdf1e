//! `multipart/form-data` with ModSecurity's strict-parsing flags. Form fields
//! become ARGS_POST, file parts FILES / FILES_SIZES, every part header a value
//! of MULTIPART_PART_HEADERS; anomalies set the MULTIPART_* flags and
//! MULTIPART_STRICT_ERROR.

use super::BodyResult;

#[derive(Default)]
struct Flags {
    boundary_quoted: bool,
    boundary_whitespace: bool,
    data_before: bool,
    data_after: bool,
    header_folding: bool,
    lf_line: bool,
    crlf_line: bool,
    missing_semicolon: bool,
    invalid_quoting: bool,
    invalid_part: bool,
    invalid_header_folding: bool,
    unmatched_boundary: bool,
}

/// Extracts the boundary from a Content-Type value.
pub(super) fn boundary(content_type: &[u8], f: &mut (bool, bool)) -> Option<Vec<u8>> {
    let ct = String::from_utf8_lossy(content_type);
    let lower = ct.to_ascii_lowercase();
    let pos = lower.find("boundary")?;
    let rest = &ct[pos + "boundary".len()..];
    let rest_trim = rest.trim_start();
    if rest_trim.len() != rest.len() {
        f.1 = true;
    }
    let rest = rest_trim.strip_prefix('=')?;
    let rest2 = rest.trim_start();
    if rest2.len() != rest.len() {
        f.1 = true;
    }
    let b = if let Some(q) = rest2.strip_prefix('"') {
        f.0 = true;
        q.split('"').next().unwrap_or("")
    } else {
        rest2.split([';', ',']).next().unwrap_or("").trim_end()
    };
    if b.is_empty() {
        None
    } else {
        Some(b.as_bytes().to_vec())
    }
}

struct Part {
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Flags {
    /// Notes a boundary or header line's ending (LF alone or CRLF).
    fn line_ending(&mut self, ending: &[u8]) {
        match ending {
            b"\n" => self.lf_line = true,
            b"\r\n" => self.crlf_line = true,
            _ => {}
        }
    }

    /// The MULTIPART_* variables, MULTIPART_STRICT_ERROR last (`error`:
    /// the body could not be parsed to its end).
    fn variables(&self, error: bool) -> Vec<(&'static str, bool)> {
        let strict = self.boundary_quoted
            || self.boundary_whitespace
            || self.data_before
            || self.data_after
            || self.header_folding
            || self.lf_line
            || self.missing_semicolon
            || self.invalid_quoting
            || self.invalid_part
            || self.invalid_header_folding
            || error;
        vec![
            ("MULTIPART_BOUNDARY_QUOTED", self.boundary_quoted),
            ("MULTIPART_BOUNDARY_WHITESPACE", self.boundary_whitespace),
            ("MULTIPART_DATA_BEFORE", self.data_before),
            ("MULTIPART_DATA_AFTER", self.data_after),
            ("MULTIPART_HEADER_FOLDING", self.header_folding),
            ("MULTIPART_LF_LINE", self.lf_line),
            ("MULTIPART_CRLF_LF_LINES", self.lf_line && self.crlf_line),
            ("MULTIPART_MISSING_SEMICOLON", self.missing_semicolon),
            ("MULTIPART_INVALID_QUOTING", self.invalid_quoting),
            ("MULTIPART_INVALID_PART", self.invalid_part),
            (
                "MULTIPART_INVALID_HEADER_FOLDING",
                self.invalid_header_folding,
            ),
            ("MULTIPART_UNMATCHED_BOUNDARY", self.unmatched_boundary),
            ("MULTIPART_FILE_LIMIT_EXCEEDED", false),
            ("MULTIPART_STRICT_ERROR", strict),
        ]
    }
}

/// Parses a multipart body.
pub(super) fn parse(body: &[u8], content_type: &[u8]) -> BodyResult {
    let mut r = BodyResult::default();
    let mut fl = Flags::default();
    let mut bf = (false, false);
    let Some(b) = boundary(content_type, &mut bf) else {
        r.error = Some("Multipart: boundary not found in Content-Type".into());
        return r;
    };
    fl.boundary_quoted = bf.0;
    fl.boundary_whitespace = bf.1;
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(&b);
    let mut reader = PartReader::new(&delim);
    for (content, ending) in split_lines(body) {
        reader.line(content, ending, &mut fl);
    }
    if let Some(p) = reader.cur.take() {
        fl.invalid_part = true;
        reader.parts.push(p);
    }
    if !reader.finished {
        r.error = Some("Multipart: final boundary missing".into());
    }
    store_parts(reader.parts, &mut fl, &mut r);
    r.flags = fl.variables(r.error.is_some());
    r
}

/// The body's lines, each with its ending (`\r\n`, `\n`, or none for the
/// last line).
fn split_lines(body: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut lines: Vec<(&[u8], &[u8])> = Vec::new();
    let mut start = 0;
    for i in 0..body.len() {
        if body[i] == b'\n' {
            let (content, ending) = if i > start && body[i - 1] == b'\r' {
                (&body[start..i - 1], &body[i - 1..=i])
            } else {
                (&body[start..i], &body[i..=i])
            };
            lines.push((content, ending));
            start = i + 1;
        }
    }
    if start < body.len() {
        lines.push((&body[start..], b""));
    }
    lines
}

/// Splits the body's lines into parts (headers, then body) at the
/// boundaries, noting anomalies in the flags.
struct PartReader<'d> {
    /// `--` and the boundary.
    delim: &'d [u8],
    parts: Vec<Part>,
    cur: Option<Part>,
    in_headers: bool,
    finished: bool,
    seen_boundary: bool,
}

impl<'d> PartReader<'d> {
    fn new(delim: &'d [u8]) -> Self {
        PartReader {
            delim,
            parts: Vec::new(),
            cur: None,
            in_headers: false,
            finished: false,
            seen_boundary: false,
        }
    }

    fn line(&mut self, content: &[u8], ending: &[u8], fl: &mut Flags) {
        if self.finished {
            if !content.is_empty() || !ending.is_empty() {
                fl.data_after = true;
            }
            return;
        }
        if let Some(tail) = content.strip_prefix(self.delim) {
            if self.boundary(tail, ending, fl) {
                return;
            }
            fl.unmatched_boundary = true;
        } else if content.starts_with(b"--") && self.seen_boundary && self.in_headers {
            fl.unmatched_boundary = true;
        }
        let Some(p) = self.cur.as_mut() else {
            if !content.is_empty() {
                fl.data_before = true;
            }
            return;
        };
        if !self.in_headers {
            p.body.extend_from_slice(content);
            p.body.extend_from_slice(ending);
            return;
        }
        fl.line_ending(ending);
        if content.is_empty() {
            self.in_headers = false;
        } else {
            header_line(p, content, fl);
        }
    }

    /// A line that starts with the delimiter, `tail` the rest of it: true
    /// when it is a boundary (`--`, for the final one, and blanks only),
    /// which ends the current part.
    fn boundary(&mut self, tail: &[u8], ending: &[u8], fl: &mut Flags) -> bool {
        let is_final = tail.starts_with(b"--");
        let rest = if is_final { &tail[2..] } else { tail };
        if !rest.iter().all(|c| *c == b' ' || *c == b'\t') {
            return false;
        }
        fl.line_ending(ending);
        if let Some(mut p) = self.cur.take() {
            if self.in_headers {
                fl.invalid_part = true;
            }
            // The line break before a boundary belongs to the boundary.
            if p.body.ends_with(b"\r\n") {
                p.body.truncate(p.body.len() - 2);
            } else if p.body.ends_with(b"\n") {
                p.body.truncate(p.body.len() - 1);
            }
            self.parts.push(p);
        }
        self.seen_boundary = true;
        if is_final {
            self.finished = true;
        } else {
            self.cur = Some(Part {
                headers: Vec::new(),
                body: Vec::new(),
            });
            self.in_headers = true;
        }
        true
    }
}

/// A part's header line: `Name: value`, or a folded continuation of the
/// previous header.
fn header_line(p: &mut Part, content: &[u8], fl: &mut Flags) {
    if content[0] == b' ' || content[0] == b'\t' {
        fl.header_folding = true;
        match p.headers.last_mut() {
            Some((_, v)) => {
                v.push(b' ');
                v.extend_from_slice(trim(content));
            }
            None => fl.invalid_header_folding = true,
        }
        return;
    }
    match content.iter().position(|&c| c == b':') {
        Some(colon) => {
            let name = String::from_utf8_lossy(&content[..colon])
                .trim()
                .to_string();
            p.headers.push((name, trim(&content[colon + 1..]).to_vec()));
        }
        None => fl.invalid_part = true,
    }
}

/// Each named part as ARGS_POST (a field) or FILES / FILES_SIZES (a file),
/// its headers as MULTIPART_PART_HEADERS.
fn store_parts(parts: Vec<Part>, fl: &mut Flags, r: &mut BodyResult) {
    for p in parts {
        let Some((_, cd)) = p
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-disposition"))
        else {
            fl.invalid_part = true;
            continue;
        };
        let (name, filename) = disposition(cd, fl);
        let Some(name) = name else {
            fl.invalid_part = true;
            continue;
        };
        for (hn, hv) in &p.headers {
            let mut line = hn.as_bytes().to_vec();
            line.extend_from_slice(b": ");
            line.extend_from_slice(hv);
            r.part_headers.push((name.clone(), line));
        }
        match filename {
            Some(f) => {
                r.files.push((name.clone(), f));
                r.file_sizes.push((name, p.body.len()));
            }
            None => r.args.push((name, p.body)),
        }
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// Parses `form-data; name="a"; filename="b"` into (name, filename).
fn disposition(v: &[u8], fl: &mut Flags) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let lower: Vec<u8> = v.to_ascii_lowercase();
    if !lower.starts_with(b"form-data") {
        fl.invalid_part = true;
        return (None, None);
    }
    let mut rest = &v[9..];
    let mut name = None;
    let mut filename = None;
    loop {
        rest = trim(rest);
        if rest.is_empty() {
            break;
        }
        if rest[0] == b';' {
            rest = &rest[1..];
            continue;
        }
        let eq = match rest.iter().position(|&c| c == b'=') {
            Some(e) => e,
            None => {
                fl.invalid_part = true;
                break;
            }
        };
        let key = String::from_utf8_lossy(trim(&rest[..eq])).to_ascii_lowercase();
        let mut after = trim(&rest[eq + 1..]);
        let value;
        if after.first() == Some(&b'"') {
            let mut val = Vec::new();
            let mut i = 1;
            let mut closed = false;
            while i < after.len() {
                if after[i] == b'\\'
                    && i + 1 < after.len()
                    && (after[i + 1] == b'"' || after[i + 1] == b'\\')
                {
                    val.push(after[i + 1]);
                    i += 2;
                    continue;
                }
                if after[i] == b'"' {
                    closed = true;
                    break;
                }
                val.push(after[i]);
                i += 1;
            }
            if !closed {
                fl.invalid_quoting = true;
            }
            value = val;
            after = &after[(i + 1).min(after.len())..];
        } else {
            let end = after.iter().position(|&c| c == b';').unwrap_or(after.len());
            let raw = trim(&after[..end]);
            if raw.contains(&b'"') || raw.contains(&b'\'') {
                fl.invalid_quoting = true;
            }
            value = raw.to_vec();
            after = &after[end..];
        }
        let a = trim(after);
        if !a.is_empty() && a[0] != b';' {
            fl.missing_semicolon = true;
        }
        match key.as_str() {
            "name" => name = Some(value),
            "filename" | "filename*" => filename = Some(value),
            _ => {}
        }
        rest = a;
    }
    (name, filename)
}
