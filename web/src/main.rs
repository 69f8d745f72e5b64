//! Tayori's operator dashboard, rendered in the browser.
//!
//! `scripts/build-web` compiles this crate to wasm32 and writes the bundle to `web/dist`, which
//! the server serves at `/`.

mod api;
mod app;
mod components;
mod format;
mod i18n;
mod listing_schema;
mod pages;
mod remote;
mod session;
mod value_text;

fn main() {
    console_error_panic_hook::set_once();
    remove_boot_placeholder();
    leptos::mount::mount_to_body(app::App);
}

/// Removes the static "loading" text of `index.html` once the app is about to render.
fn remove_boot_placeholder() {
    if let Some(placeholder) = leptos::prelude::document().get_element_by_id("boot") {
        placeholder.remove();
    }
}
