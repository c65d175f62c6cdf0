//! The live web view, at `/` of the HTTP API: one page and its assets,
//! embedded in the binary (no CDN, no build step). The page reads the same
//! JSON endpoints as any tool, and `GET /traffic` for the live frame log;
//! `diagram.js` draws the sequence diagram, the same file the library's HTML
//! failure reports embed.

use super::server::{Request, Response};

const PAGE: &str = include_str!("web/page.html");
const SCRIPT: &str = include_str!("web/page.js");
const STYLE: &str = include_str!("web/page.css");
const DIAGRAM: &str = include_str!("../web/diagram.js");

/// The page or an asset, when `request` asks for one: `GET /` from a
/// browser (its `Accept` names `text/html`; a tool asking for `/` still
/// gets the JSON index), or `GET /assets/NAME`.
pub(crate) fn serve(request: &Request) -> Option<Response> {
    if request.method != "GET" {
        return None;
    }
    let path = request.target.split('?').next().unwrap_or_default();
    let (content_type, body) = match path {
        "/" if request
            .header("Accept")
            .is_some_and(|accept| accept.contains("text/html")) =>
        {
            ("text/html; charset=utf-8", PAGE)
        }
        "/assets/page.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "/assets/diagram.js" => ("text/javascript; charset=utf-8", DIAGRAM),
        "/assets/page.css" => ("text/css; charset=utf-8", STYLE),
        _ => return None,
    };
    Some(Response::bytes(200, content_type, body.as_bytes().to_vec()))
}
