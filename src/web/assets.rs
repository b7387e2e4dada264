//! Static files compiled into the binary: nothing is loaded from elsewhere.

use super::path::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");

/// The user guide's screenshots, taken by the browser tests (`tests/it/browser.rs`; refresh
/// by copying from `target/tmp/screenshots/`, see README).
const GUIDE: [(&str, &[u8]); 3] = [
    (
        "guide-member-phone.png",
        include_bytes!("../../static/guide/member-phone.png"),
    ),
    (
        "guide-firm-home.png",
        include_bytes!("../../static/guide/firm-home.png"),
    ),
    (
        "guide-city-cockpit.png",
        include_bytes!("../../static/guide/city-cockpit.png"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, mime): (&[u8], &str) = match file.as_str() {
        "app.css" => (CSS.as_bytes(), "text/css; charset=utf-8"),
        "app.js" => (JS.as_bytes(), "text/javascript; charset=utf-8"),
        name => match GUIDE.iter().find(|(n, _)| *n == name) {
            Some((_, png)) => (png, "image/png"),
            None => return super::error::not_found().await,
        },
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
