//! The dashboard bundle. Unknown paths get `index.html` with status 200, so that the browser-side
//! router can show deep links such as `/dashboard/listings`.

use std::path::Path;

use tower_http::services::{ServeDir, ServeFile};

pub fn service(web_dir: &Path) -> ServeDir<ServeFile> {
    ServeDir::new(web_dir)
        .precompressed_gzip()
        .fallback(ServeFile::new(web_dir.join("index.html")))
}
