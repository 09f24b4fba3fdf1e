//! Request body processors: URLENCODED, MULTIPART, JSON and XML. Each turns a
//! body into arguments (or XML nodes) and error flags.

pub(crate) mod json;
pub(crate) mod limits;
mod multipart;
pub mod urlencoded;
pub mod xml;

/// A name/value pair as bytes.
pub type Pair = (Vec<u8>, Vec<u8>);

/// What a body processor produced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BodyResult {
    /// ARGS_POST.
    pub args: Vec<Pair>,
    /// FILES: field name -> file name.
    pub files: Vec<Pair>,
    /// FILES_SIZES: field name -> size.
    pub file_sizes: Vec<(Vec<u8>, usize)>,
    /// MULTIPART_PART_HEADERS: part name -> `Name: value` line.
    pub part_headers: Vec<Pair>,
    /// XML text nodes (`XML:/*`).
    pub xml_text: Vec<Vec<u8>>,
    /// XML attribute values (`XML://@*`).
    pub xml_attrs: Vec<Vec<u8>>,
    /// XML elements, for other XPath selectors.
    pub xml_elements: Vec<xml::XmlElement>,
    /// Multipart flags (variable name -> set).
    pub flags: Vec<(&'static str, bool)>,
    /// The processor failed: REQBODY_ERROR=1 with this message.
    pub error: Option<String>,
}

pub(crate) use limits::Limits;

/// Runs the processor named `name` (upper-case) over `body` with no argument
/// limit and the default JSON depth.
pub fn process(name: &str, body: &[u8], content_type: &[u8], separator: u8) -> BodyResult {
    let limits = Limits {
        separator,
        ..Limits::default()
    };
    process_with(name, body, content_type, &limits)
}

/// Runs the processor named `name` (upper-case) over `body` within `limits`
/// (`SecArgumentsLimit`, `SecRequestBodyJsonDepthLimit`).
pub(crate) fn process_with(
    name: &str,
    body: &[u8],
    content_type: &[u8],
    limits: &Limits,
) -> BodyResult {
    let mut r = match name {
        "URLENCODED" => BodyResult {
            args: urlencoded::parse(body, limits.separator),
            ..Default::default()
        },
        "MULTIPART" => multipart::parse(body, content_type),
        "JSON" => json::parse_with_depth(body, limits.json_depth),
        "XML" => xml::parse(body),
        _ => BodyResult::default(),
    };
    limits::cap_arguments(&mut r, limits.arguments);
    r
}

#[cfg(test)]
mod vectors;
