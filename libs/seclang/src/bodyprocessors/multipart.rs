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
pub fn boundary(content_type: &[u8], f: &mut (bool, bool)) -> Option<Vec<u8>> {
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

/// Parses a multipart body.
pub fn parse(body: &[u8], content_type: &[u8]) -> BodyResult {
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

    // Split into lines, remembering the line ending.
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

    let mut parts: Vec<Part> = Vec::new();
    let mut cur: Option<Part> = None;
    let mut in_headers = false;
    let mut finished = false;
    let mut seen_boundary = false;
    for (content, ending) in lines {
        if finished {
            if !content.is_empty() || !ending.is_empty() {
                fl.data_after = true;
            }
            continue;
        }
        if content.starts_with(&delim) {
            let tail = &content[delim.len()..];
            let is_final = tail.starts_with(b"--");
            let rest = if is_final { &tail[2..] } else { tail };
            if rest.iter().all(|c| *c == b' ' || *c == b'\t') {
                match ending {
                    b"\n" => fl.lf_line = true,
                    b"\r\n" => fl.crlf_line = true,
                    _ => {}
                }
                if let Some(mut p) = cur.take() {
                    if in_headers {
                        fl.invalid_part = true;
                    }
                    // The line break before a boundary belongs to the boundary.
                    if p.body.ends_with(b"\r\n") {
                        p.body.truncate(p.body.len() - 2);
                    } else if p.body.ends_with(b"\n") {
                        p.body.truncate(p.body.len() - 1);
                    }
                    parts.push(p);
                }
                seen_boundary = true;
                if is_final {
                    finished = true;
                } else {
                    cur = Some(Part {
                        headers: Vec::new(),
                        body: Vec::new(),
                    });
                    in_headers = true;
                }
                continue;
            }
            fl.unmatched_boundary = true;
        } else if content.starts_with(b"--") && seen_boundary && in_headers {
            fl.unmatched_boundary = true;
        }
        let Some(p) = cur.as_mut() else {
            if !content.is_empty() {
                fl.data_before = true;
            }
            continue;
        };
        if in_headers {
            match ending {
                b"\n" => fl.lf_line = true,
                b"\r\n" => fl.crlf_line = true,
                _ => {}
            }
            if content.is_empty() {
                in_headers = false;
                continue;
            }
            if content[0] == b' ' || content[0] == b'\t' {
                fl.header_folding = true;
                match p.headers.last_mut() {
                    Some((_, v)) => {
                        v.push(b' ');
                        v.extend_from_slice(trim(content));
                    }
                    None => fl.invalid_header_folding = true,
                }
                continue;
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
        } else {
            p.body.extend_from_slice(content);
            p.body.extend_from_slice(ending);
        }
    }
    if let Some(p) = cur.take() {
        fl.invalid_part = true;
        parts.push(p);
    }
    if !finished {
        r.error = Some("Multipart: final boundary missing".into());
    }

    for p in parts {
        let Some((_, cd)) = p
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-disposition"))
        else {
            fl.invalid_part = true;
            continue;
        };
        let (name, filename) = disposition(cd, &mut fl);
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
    let lf_mixed = fl.lf_line && fl.crlf_line;
    r.flags = vec![
        ("MULTIPART_BOUNDARY_QUOTED", fl.boundary_quoted),
        ("MULTIPART_BOUNDARY_WHITESPACE", fl.boundary_whitespace),
        ("MULTIPART_DATA_BEFORE", fl.data_before),
        ("MULTIPART_DATA_AFTER", fl.data_after),
        ("MULTIPART_HEADER_FOLDING", fl.header_folding),
        ("MULTIPART_LF_LINE", fl.lf_line),
        ("MULTIPART_CRLF_LF_LINES", lf_mixed),
        ("MULTIPART_MISSING_SEMICOLON", fl.missing_semicolon),
        ("MULTIPART_INVALID_QUOTING", fl.invalid_quoting),
        ("MULTIPART_INVALID_PART", fl.invalid_part),
        (
            "MULTIPART_INVALID_HEADER_FOLDING",
            fl.invalid_header_folding,
        ),
        ("MULTIPART_UNMATCHED_BOUNDARY", fl.unmatched_boundary),
        ("MULTIPART_FILE_LIMIT_EXCEEDED", false),
    ];
    let strict = fl.boundary_quoted
        || fl.boundary_whitespace
        || fl.data_before
        || fl.data_after
        || fl.header_folding
        || fl.lf_line
        || fl.missing_semicolon
        || fl.invalid_quoting
        || fl.invalid_part
        || fl.invalid_header_folding
        || r.error.is_some();
    r.flags.push(("MULTIPART_STRICT_ERROR", strict));
    r
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
