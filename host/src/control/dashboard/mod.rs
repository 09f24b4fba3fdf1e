//! The web dashboard on the admin listener: a login page, an overview per
//! tenant and overall, a searchable event list with a "block this IP" button,
//! and the compliance report. Plain HTML, CSS and JS compiled into the binary
//! (`assets/`), no CDN, no build step.
//!
//! | method and path                         | what                                |
//! |-----------------------------------------|-------------------------------------|
//! | `GET /login`, `POST /login`             | the login form (no token needed); a good token gets a session cookie |
//! | `POST /logout`                          | ends the session                    |
//! | `GET /dashboard`                        | the dashboard (redirects to `/login` without a session) |
//! | `GET /dashboard/app.js`, `/dashboard/style.css` | its script and style (public, no data) |
//! | `GET /api/whoami`                       | the caller's token name and scope   |
//! | `GET /api/analytics/overview?tenant=&from=&to=` | counts, series, top lists, latency, versions |
//! | `GET /api/analytics/events?tenant=&rule=&ip=&request_id=&from=&to=&blocked=1&limit=` | event search |
//! | `GET /api/reports/compliance?tenant=&from=&to=&format=html` | the compliance report, JSON or printable HTML |
//!
//! Calls authenticated by the session cookie that change something must carry
//! `x-edgewaf-csrf: 1` (the dashboard's script sends it; a form on another site
//! cannot), on top of the cookie's `SameSite=Strict`.

pub mod api;
pub mod audit;
mod report_html;

use crate::app::App;
use crate::control::access::{Caller, SESSION_COOKIE, session_id};
use crate::serve::proxy::ProxyBody;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

const LOGIN_HTML: &str = include_str!("assets/login.html");
const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// The header a cookie-authenticated change must carry.
pub const CSRF_HEADER: &str = "x-edgewaf-csrf";

pub(crate) fn body(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub(crate) fn respond(
    status: StatusCode,
    content_type: &'static str,
    text: impl Into<Bytes>,
) -> Response<ProxyBody> {
    let mut resp = Response::new(body(text));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    h.insert(
        "x-content-type-options",
        http::HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", http::HeaderValue::from_static("DENY"));
    h.insert(
        "content-security-policy",
        http::HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
    );
    resp
}

pub(crate) fn json(status: StatusCode, value: serde_json::Value) -> Response<ProxyBody> {
    respond(status, "application/json", value.to_string())
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response<ProxyBody> {
    json(status, serde_json::json!({ "error": message }))
}

fn redirect(to: &'static str) -> Response<ProxyBody> {
    let mut resp = respond(StatusCode::SEE_OTHER, "text/plain", "");
    resp.headers_mut()
        .insert(header::LOCATION, http::HeaderValue::from_static(to));
    resp
}

/// Serves what needs no token (the login form and the static assets);
/// hands every other request back.
pub async fn public(
    app: &App,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Request<Incoming>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/login") => Ok(respond(
            StatusCode::OK,
            "text/html; charset=utf-8",
            LOGIN_HTML,
        )),
        (&Method::POST, "/login") => Ok(login(app, req).await),
        (&Method::GET, "/dashboard/app.js") => Ok(respond(
            StatusCode::OK,
            "text/javascript; charset=utf-8",
            APP_JS,
        )),
        (&Method::GET, "/dashboard/style.css") => Ok(respond(
            StatusCode::OK,
            "text/css; charset=utf-8",
            STYLE_CSS,
        )),
        _ => Err(req),
    }
}

/// `POST /login` with `token=...` (a form): a session cookie and off to the
/// dashboard, or the form again with 401.
async fn login(app: &App, req: Request<Incoming>) -> Response<ProxyBody> {
    let bytes = match Limited::new(req.into_body(), 8 * 1024).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
    };
    let token = String::from_utf8_lossy(&bytes)
        .split('&')
        .find_map(|kv| kv.strip_prefix("token=").map(|v| v.replace('+', " ")))
        .map(|v| {
            percent_encoding::percent_decode_str(&v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let Some(caller) = app.tokens.find(token.trim()) else {
        tracing::warn!("dashboard login refused: unknown token");
        let page = LOGIN_HTML.replace(
            "<!--error-->",
            "<p class=\"error\">That token is not valid.</p>",
        );
        return respond(StatusCode::UNAUTHORIZED, "text/html; charset=utf-8", page);
    };
    tracing::info!(token = %caller.name, "dashboard login");
    let id = app.sessions.start(caller);
    let mut resp = redirect("/dashboard");
    let cookie = format!("{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200");
    if let Ok(v) = http::HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Who is calling: the bearer token, or the session cookie (whose changing
/// calls need [`CSRF_HEADER`]). Browsers asking for a page without a session
/// are sent to `/login`; everything else gets 401.
pub fn caller(app: &App, req: &Request<Incoming>) -> Result<Caller, Box<Response<ProxyBody>>> {
    let headers = req.headers();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(c) = app.tokens.bearer(auth) {
        return Ok(c);
    }
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    if auth.is_none()
        && let Some(c) = session_id(cookie).and_then(|id| app.sessions.get(id))
    {
        if !crate::control::access::is_read(req.method()) && !headers.contains_key(CSRF_HEADER) {
            return Err(Box::new(error(
                StatusCode::FORBIDDEN,
                "a change from the dashboard needs the x-edgewaf-csrf header",
            )));
        }
        return Ok(c);
    }
    let path = req.uri().path();
    if req.method() == Method::GET && (path == "/" || path == "/dashboard") {
        return Err(Box::new(redirect("/login")));
    }
    let mut resp = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer"),
    );
    Err(Box::new(resp))
}

/// The dashboard's own authenticated routes; `None` for any other path.
pub async fn route(
    app: &App,
    caller: &Caller,
    req: &Request<Incoming>,
) -> Option<Response<ProxyBody>> {
    let path = req.uri().path();
    let resp = match (req.method(), path) {
        (&Method::GET, "/") => redirect("/dashboard"),
        (&Method::GET, "/dashboard") => {
            respond(StatusCode::OK, "text/html; charset=utf-8", INDEX_HTML)
        }
        (&Method::POST, "/logout") => {
            let cookie = req
                .headers()
                .get(header::COOKIE)
                .and_then(|v| v.to_str().ok());
            if let Some(id) = session_id(cookie) {
                app.sessions.end(id);
            }
            let mut resp = redirect("/login");
            resp.headers_mut().insert(
                header::SET_COOKIE,
                http::HeaderValue::from_static(
                    "edgewaf_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
                ),
            );
            resp
        }
        (&Method::GET, "/api/whoami") => json(
            StatusCode::OK,
            serde_json::json!({ "name": caller.name, "scope": caller.scope.to_string(), "tenant": caller.tenant() }),
        ),
        (&Method::GET, "/api/analytics/overview") => api::overview(app, caller, req).await,
        (&Method::GET, "/api/analytics/events") => api::events(app, caller, req).await,
        (&Method::GET, "/api/reports/compliance") => api::compliance(app, caller, req).await,
        _ => return None,
    };
    Some(resp)
}
