//! The XSS decision libinjection makes over the HTML5 tokens (libinjection_xss.c semantics).

use super::html5::{Context, TokenType, Tokenizer};

/// What an attribute's value can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attr {
    /// Harmless (as far as libinjection knows).
    None,
    /// Any value is XSS.
    Black,
    /// The value is a URL: XSS when it is a `javascript:`-like URL.
    Url,
    /// The value is CSS.
    Style,
    /// The value names another attribute (SVG `attributeName`).
    Indirect,
}

/// DOM event names: an attribute `on<event>...` (a prefix match) is always XSS.
const EVENTS: &[&[u8]] = &[
    b"ABORT",
    b"ACTIVATE",
    b"ACTIVE",
    b"ADDSOURCEBUFFER",
    b"ADDSTREAM",
    b"ADDTRACK",
    b"AFTERPRINT",
    b"ANIMATIONCANCEL",
    b"ANIMATIONEND",
    b"ANIMATIONITERATION",
    b"ANIMATIONSTART",
    b"AUDIOEND",
    b"AUDIOPROCESS",
    b"AUDIOSTART",
    b"AUTOCOMPLETE",
    b"AUTOCOMPLETEERROR",
    b"BEFOREACTIVATE",
    b"BEFORECOPY",
    b"BEFORECUT",
    b"BEFOREINPUT",
    b"BEFORELOAD",
    b"BEFOREPASTE",
    b"BEFOREPRINT",
    b"BEFOREUNLOAD",
    b"BEGINEVENT",
    b"BLOCKED",
    b"BLUR",
    b"BOUNDARY",
    b"BUFFEREDAMOUNTLOW",
    b"CACHED",
    b"CANCEL",
    b"CANPLAY",
    b"CANPLAYTHROUGH",
    b"CHANGE",
    b"CHARGINGCHANGE",
    b"CHARGINGTIMECHANGE",
    b"CHECKING",
    b"CLICK",
    b"CLOSE",
    b"COMPLETE",
    b"COMPOSITIONEND",
    b"COMPOSITIONSTART",
    b"COMPOSITIONUPDATE",
    b"CONNECT",
    b"CONNECTING",
    b"CONNECTIONSTATECHANGE",
    b"CONTEXTMENU",
    b"CONTROLLERCHANGE",
    b"COPY",
    b"CUECHANGE",
    b"CUT",
    b"DATAAVAILABLE",
    b"DATACHANNEL",
    b"DBLCLICK",
    b"DEVICECHANGE",
    b"DEVICEMOTION",
    b"DEVICEORIENTATION",
    b"DISCHARGINGTIMECHANGE",
    b"DISCONNECT",
    b"DOMACTIVATE",
    b"DOMCHARACTERDATAMODIFIED",
    b"DOMCONTENTLOADED",
    b"DOMFOCUSIN",
    b"DOMFOCUSOUT",
    b"DOMNODEINSERTED",
    b"DOMNODEINSERTEDINTODOCUMENT",
    b"DOMNODEREMOVED",
    b"DOMNODEREMOVEDFROMDOCUMENT",
    b"DOMSUBTREEMODIFIED",
    b"DOWNLOADING",
    b"DRAG",
    b"DRAGEND",
    b"DRAGENTER",
    b"DRAGLEAVE",
    b"DRAGOVER",
    b"DRAGSTART",
    b"DROP",
    b"DURATIONCHANGE",
    b"EMPTIED",
    b"ENCRYPTED",
    b"END",
    b"ENDED",
    b"ENDEVENT",
    b"ENTER",
    b"ENTERPICTUREINPICTURE",
    b"ERROR",
    b"EXIT",
    b"FETCH",
    b"FINISH",
    b"FOCUS",
    b"FOCUSIN",
    b"FOCUSOUT",
    b"FORMCHANGE",
    b"FORMINPUT",
    b"GAMEPADCONNECTED",
    b"GAMEPADDISCONNECTED",
    b"GESTURECHANGE",
    b"GESTUREEND",
    b"GESTURESCROLLEND",
    b"GESTURESCROLLSTART",
    b"GESTURESCROLLUPDATE",
    b"GESTURESTART",
    b"GESTURETAP",
    b"GESTURETAPDOWN",
    b"GOTPOINTERCAPTURE",
    b"HASHCHANGE",
    b"ICECANDIDATE",
    b"ICECANDIDATEERROR",
    b"ICECONNECTIONSTATECHANGE",
    b"ICEGATHERINGSTATECHANGE",
    b"INACTIVE",
    b"INPUT",
    b"INPUTSOURCESCHANGE",
    b"INSTALL",
    b"INVALID",
    b"KEYDOWN",
    b"KEYPRESS",
    b"KEYSTATUSESCHANGE",
    b"KEYUP",
    b"LANGUAGECHANGE",
    b"LEAVEPICTUREINPICTURE",
    b"LEVELCHANGE",
    b"LOAD",
    b"LOADEDDATA",
    b"LOADEDMETADATA",
    b"LOADEND",
    b"LOADING",
    b"LOADINGDONE",
    b"LOADINGERROR",
    b"LOADSTART",
    b"LOSTPOINTERCAPTURE",
    b"MARK",
    b"MERCHANTVALIDATION",
    b"MESSAGE",
    b"MESSAGEERROR",
    b"MOUSEDOWN",
    b"MOUSEENTER",
    b"MOUSELEAVE",
    b"MOUSEMOVE",
    b"MOUSEOUT",
    b"MOUSEOVER",
    b"MOUSEUP",
    b"MOUSEWHEEL",
    b"MUTE",
    b"NEGOTIATIONNEEDED",
    b"NEXTTRACK",
    b"NOMATCH",
    b"NOUPDATE",
    b"OBSOLETE",
    b"OFFLINE",
    b"ONLINE",
    b"OPEN",
    b"ORIENTATIONCHANGE",
    b"OVERCONSTRAINED",
    b"OVERFLOWCHANGED",
    b"PAGEHIDE",
    b"PAGESHOW",
    b"PASTE",
    b"PAUSE",
    b"PAYERDETAILCHANGE",
    b"PAYMENTAUTHORIZED",
    b"PAYMENTMETHODCHANGE",
    b"PAYMENTMETHODSELECTED",
    b"PLAY",
    b"PLAYING",
    b"POIN",
    b"POINTERCANCEL",
    b"POINTERENTER",
    b"POINTERLEAVE",
    b"POINTERLOCKCHANGE",
    b"POINTERLOCKERROR",
    b"POINTERMOVE",
    b"POINTEROUT",
    b"POINTEROVER",
    b"POINTERUP",
    b"POPSTATE",
    b"PREVIOUSTRACK",
    b"PROCESSORERROR",
    b"PROGRESS",
    b"PROPERTYCHANGE",
    b"RATECHANGE",
    b"READYSTATECHANGE",
    b"REJECTIONHANDLED",
    b"REMOVE",
    b"REMOVESOURCEBUFFER",
    b"REMOVESTREAM",
    b"REMOVETRACK",
    b"RESET",
    b"RESIZE",
    b"RESOURCETIMINGBUFFERFULL",
    b"RESULT",
    b"RESUME",
    b"SCROLL",
    b"SEARCH",
    b"SECURITYPOLICYVIOLATION",
    b"SEEKED",
    b"SEEKING",
    b"SELECT",
    b"SELECTEND",
    b"SELECTIONCHANGE",
    b"SELECTSTART",
    b"SHIPPINGADDRESSCHANGE",
    b"SHIPPINGCONTACTSELECTED",
    b"SHIPPINGMETHODSELECTED",
    b"SHIPPINGOPTIONCHANGE",
    b"SHOW",
    b"SIGNALINGSTATECHANGE",
    b"SLOTCHANGE",
    b"SOUNDEND",
    b"SOUNDSTART",
    b"SOURCECLOSE",
    b"SOURCEENDED",
    b"SOURCEOPEN",
    b"SPEECHEND",
    b"SPEECHSTART",
    b"SQUEEZE",
    b"SQUEEZEEND",
    b"SQUEEZESTART",
    b"STALLED",
    b"START",
    b"STARTED",
    b"STATECHANGE",
    b"STOP",
    b"STORAGE",
    b"SUBMIT",
    b"SUCCESS",
    b"SUSPEND",
    b"TERDOWN",
    b"TEXTINPUT",
    b"TIMEOUT",
    b"TIMEUPDATE",
    b"TOGGLE",
    b"TONECHANGE",
    b"TOUCHCANCEL",
    b"TOUCHEND",
    b"TOUCHFORCECHANGE",
    b"TOUCHMOVE",
    b"TOUCHSTART",
    b"TRACK",
    b"TRANSITIONCANCEL",
    b"TRANSITIONEND",
    b"TRANSITIONRUN",
    b"TRANSITIONSTART",
    b"UNCAPTUREDERROR",
    b"UNHANDLEDREJECTION",
    b"UNLOAD",
    b"UNMUTE",
    b"UPDATE",
    b"UPDATEEND",
    b"UPDATEFOUND",
    b"UPDATEREADY",
    b"UPDATESTART",
    b"UPGRADENEEDED",
    b"VALIDATEMERCHANT",
    b"VERSIONCHANGE",
    b"VISIBILITYCHANGE",
    b"VOLUMECHANGE",
    b"WAITING",
    b"WAITINGFORKEY",
    b"WEBGLCONTEXTCHANGED",
    b"WEBGLCONTEXTCREATIONERROR",
    b"WEBGLCONTEXTLOST",
    b"WEBGLCONTEXTRESTORED",
    b"WEBKITANIMATIONEND",
    b"WEBKITANIMATIONITERATION",
    b"WEBKITANIMATIONSTART",
    b"WEBKITBEFORETEXTINSERTED",
    b"WEBKITBEGINFULLSCREEN",
    b"WEBKITCURRENTPLAYBACKTARGETISWIRELESSCHANGED",
    b"WEBKITENDFULLSCREEN",
    b"WEBKITFULLSCREENCHANGE",
    b"WEBKITFULLSCREENERROR",
    b"WEBKITKEYADDED",
    b"WEBKITKEYERROR",
    b"WEBKITKEYMESSAGE",
    b"WEBKITMOUSEFORCECHANGED",
    b"WEBKITMOUSEFORCEDOWN",
    b"WEBKITMOUSEFORCEUP",
    b"WEBKITMOUSEFORCEWILLBEGIN",
    b"WEBKITNEEDKEY",
    b"WEBKITNETWORKINFOCHANGE",
    b"WEBKITPLAYBACKTARGETAVAILABILITYCHANGED",
    b"WEBKITPRESENTATIONMODECHANGED",
    b"WEBKITREGIONOVERSETCHANGE",
    b"WEBKITREMOVESOURCEBUFFER",
    b"WEBKITSOURCECLOSE",
    b"WEBKITSOURCEENDED",
    b"WEBKITSOURCEOPEN",
    b"WEBKITSPEECHCHANGE",
    b"WEBKITTRANSITIONEND",
    b"WEBKITWILLREVEALBOTTOM",
    b"WEBKITWILLREVEALLEFT",
    b"WEBKITWILLREVEALRIGHT",
    b"WEBKITWILLREVEALTOP",
    b"WHEEL",
    b"WRITE",
    b"WRITEEND",
    b"WRITESTART",
    b"ZOOM",
];

/// Attributes by exact name (NUL bytes in the input name ignored).
const ATTRS: &[(&[u8], Attr)] = &[
    (b"ACTION", Attr::Url),
    (b"ATTRIBUTENAME", Attr::Indirect),
    (b"BY", Attr::Url),
    (b"BACKGROUND", Attr::Url),
    (b"DATAFORMATAS", Attr::Black),
    (b"DATASRC", Attr::Black),
    (b"DYNSRC", Attr::Url),
    (b"FILTER", Attr::Style),
    (b"FORMACTION", Attr::Url),
    (b"FOLDER", Attr::Url),
    (b"FROM", Attr::Url),
    (b"HANDLER", Attr::Url),
    (b"HREF", Attr::Url),
    (b"LOWSRC", Attr::Url),
    (b"POSTER", Attr::Url),
    (b"SRC", Attr::Url),
    (b"STYLE", Attr::Style),
    (b"TO", Attr::Url),
    (b"VALUES", Attr::Url),
    (b"XLINK:HREF", Attr::Url),
];

/// Tags that are XSS whatever their attributes (exact name, NUL bytes ignored).
const TAGS: &[&[u8]] = &[
    b"APPLET",
    b"BASE",
    b"COMMENT",
    b"EMBED",
    b"FRAME",
    b"FRAMESET",
    b"HANDLER",
    b"IFRAME",
    b"IMPORT",
    b"ISINDEX",
    b"LINK",
    b"LISTENER",
    b"META",
    b"NOSCRIPT",
    b"OBJECT",
    b"SCRIPT",
    b"STYLE",
    b"VMLFRAME",
    b"XML",
    b"XSS",
];

/// libinjection's `cstrcasecmp_with_null`: whether the first `n` bytes of `window`, NUL bytes
/// skipped and ASCII letters uppercased, spell exactly `name`. Bytes past the end of `window`
/// read as NUL (the C code reads the NUL terminator there).
fn equals_skipping_nul(name: &[u8], window: &[u8], n: usize) -> bool {
    let mut matched = 0;
    for i in 0..n {
        let b = window.get(i).copied().unwrap_or(0);
        if b == 0 {
            continue;
        }
        if name.get(matched) != Some(&b.to_ascii_uppercase()) {
            return false;
        }
        matched += 1;
    }
    matched == name.len()
}

fn is_black_tag(tag: &[u8]) -> bool {
    if tag.len() < 3 {
        return false;
    }
    TAGS.iter().any(|t| equals_skipping_nul(t, tag, tag.len()))
        || tag[..3].eq_ignore_ascii_case(b"svg")
        || tag[..3].eq_ignore_ascii_case(b"xsl")
}

/// Classifies the attribute name `window[..len]`; `window` runs on to the end of the input.
fn attr_type(window: &[u8], len: usize) -> Attr {
    if len < 2 {
        return Attr::None;
    }
    if len >= 5 {
        if window[..2].eq_ignore_ascii_case(b"on") {
            let rest = &window[2..];
            if EVENTS.iter().any(|e| equals_skipping_nul(e, rest, e.len())) {
                return Attr::Black;
            }
        }
        if equals_skipping_nul(b"XMLNS", window, 5) || equals_skipping_nul(b"XLINK", window, 5) {
            return Attr::Black;
        }
    }
    ATTRS
        .iter()
        .find(|(name, _)| equals_skipping_nul(name, window, len))
        .map_or(Attr::None, |&(_, t)| t)
}

fn hex_digit(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// libinjection's `html_decode_char_at`: the character at the start of `window[..len]`, with
/// numeric character references decoded, and how many bytes it used.
fn decode_char_at(window: &[u8], len: usize) -> (u32, usize) {
    let at = |i: usize| window.get(i).copied().unwrap_or(0);
    if len == 0 {
        return (u32::MAX, 0);
    }
    if at(0) != b'&' || len < 2 {
        return (u32::from(at(0)), 1);
    }
    if at(1) != b'#' {
        return (u32::from(b'&'), 1);
    }
    let (radix, first) = if matches!(at(2), b'x' | b'X') {
        (16, 3)
    } else {
        (10, 2)
    };
    let digit = |b: u8| {
        if radix == 16 {
            hex_digit(b)
        } else {
            (b as char).to_digit(10)
        }
    };
    let Some(mut value) = digit(at(first)) else {
        return (u32::from(b'&'), 1);
    };
    let mut i = first + 1;
    while i < len {
        let b = at(i);
        if b == b';' {
            return (value, i + 1);
        }
        let Some(d) = digit(b) else {
            return (value, i);
        };
        value = value * radix + d;
        if value > 0x0010_00ff {
            return (u32::from(b'&'), 1);
        }
        i += 1;
    }
    (value, i)
}

/// libinjection's `htmlencode_startswith`: whether `window[..len]`, with character references
/// decoded, leading control characters and spaces skipped and NUL and newline ignored, starts
/// with `prefix` (uppercase).
fn starts_with_decoded(prefix: &[u8], window: &[u8], len: usize) -> bool {
    let (mut pos, mut n, mut matched, mut first) = (0usize, len, 0usize, true);
    while n > 0 {
        if matched == prefix.len() {
            return true;
        }
        let (mut c, used) = decode_char_at(window.get(pos..).unwrap_or_default(), n);
        pos += used;
        n = n.saturating_sub(used);
        if first && c <= 32 {
            continue;
        }
        first = false;
        if c == 0 || c == 10 {
            continue;
        }
        if (u32::from(b'a')..=u32::from(b'z')).contains(&c) {
            c -= 0x20;
        }
        // The C code compares the value truncated to a `char`.
        if prefix[matched] != c as u8 {
            return false;
        }
        matched += 1;
    }
    matched == prefix.len()
}

/// Whether the URL `window[..len]` is a `javascript:`, `vbscript:`, `data:` or `view-source:`
/// one.
fn is_black_url(window: &[u8], len: usize) -> bool {
    let skip = window[..len]
        .iter()
        .take_while(|&&b| b <= 32 || b >= 127)
        .count();
    let (window, len) = (&window[skip..], len - skip);
    [&b"DATA"[..], b"VIEW-SOURCE", b"JAVA", b"VBSCRIPT"]
        .iter()
        .any(|p| starts_with_decoded(p, window, len))
}

/// libinjection's `libinjection_is_xss`: XSS when `input` is read from `context`.
pub(super) fn is_xss_in(input: &[u8], context: Context) -> bool {
    let mut tokens = Tokenizer::new(input, context);
    let mut attr = Attr::None;
    while tokens.next_token() {
        let token = tokens.token();
        if tokens.token_type != TokenType::AttrValue {
            attr = Attr::None;
        }
        match tokens.token_type {
            TokenType::Doctype => return true,
            TokenType::TagNameOpen if is_black_tag(token) => return true,
            TokenType::AttrName => attr = attr_type(tokens.token_onwards(), token.len()),
            TokenType::AttrValue => {
                let xss = match attr {
                    Attr::None => false,
                    Attr::Black | Attr::Style => true,
                    Attr::Url => is_black_url(tokens.token_onwards(), token.len()),
                    Attr::Indirect => attr_type(tokens.token_onwards(), token.len()) != Attr::None,
                };
                if xss {
                    return true;
                }
                attr = Attr::None;
            }
            TokenType::TagComment => {
                if token.contains(&b'`') {
                    return true;
                }
                if token.len() > 3
                    && ((token[0] == b'[' && token[1..3].eq_ignore_ascii_case(b"if"))
                        || token[..3].eq_ignore_ascii_case(b"xml"))
                {
                    return true;
                }
                if token.len() > 5
                    && (equals_skipping_nul(b"IMPORT", token, 6)
                        || equals_skipping_nul(b"ENTITY", token, 6))
                {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// libinjection's `libinjection_xss`: XSS in any of the five starting contexts.
pub(super) fn is_xss(input: &[u8]) -> bool {
    [
        Context::Data,
        Context::ValueNoQuote,
        Context::ValueSingleQuote,
        Context::ValueDoubleQuote,
        Context::ValueBackQuote,
    ]
    .into_iter()
    .any(|c| is_xss_in(input, c))
}
