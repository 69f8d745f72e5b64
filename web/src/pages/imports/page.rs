//! `/dashboard/imports`: uploads a CSV file of listings, maps its columns to schema fields,
//! follows the import's progress and lists recent imports.

use leptos::prelude::*;

use super::current::CurrentImport;
use super::model::{ListingImport, fetch_recent_imports};
use super::progress::ImportProgress;
use super::recent::RecentImports;
use super::upload::UploadForm;
use crate::api::use_api;
use crate::components::{ErrorBanner, Loading};
use crate::i18n::use_i18n;
use crate::listing_schema::fetch_listing_schema;
use crate::remote::Remote;
use crate::session::use_session;

/// Renders the CSV import page. Viewers see the progress and history but not the upload form.
#[component]
pub fn ImportsPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    let schema = LocalResource::new(move || fetch_listing_schema(api));
    let recent = Remote::<Vec<ListingImport>>::new();
    let reload_recent = move || recent.load(fetch_recent_imports(api));
    reload_recent();

    let current = CurrentImport::new(api);
    let open_import = move |id: String| current.open(id, reload_recent);
    let on_started = move |import: ListingImport| {
        current.watch(import, reload_recent);
        reload_recent();
    };

    let schema_error = Signal::derive(move || schema.get().and_then(Result::err));

    let upload = move || match schema.get() {
        None => Some(view! { <Loading/> }.into_any()),
        Some(Err(_)) => None,
        Some(Ok(fields)) => {
            Some(view! { <UploadForm fields=fields on_started=on_started/> }.into_any())
        }
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || i18n.t().imports_title}</h1>
                <p class="lead">{move || i18n.t().imports_lead}</p>
            </header>
            <ErrorBanner error=schema_error/>
            <Show
                when=move || !read_only.get()
                fallback=move || view! { <p class="notice">{move || i18n.t().read_only_notice}</p> }
            >
                {upload}
            </Show>
            <ErrorBanner error=current.error/>
            <Show when=move || current.opening.get()>
                <Loading/>
            </Show>
            {move || current.import.get().map(|import| view! {
                <ImportProgress
                    import=import
                    fields=schema.get().and_then(Result::ok).unwrap_or_default()
                    on_reload=open_import
                />
            })}
            <RecentImports recent=recent on_refresh=reload_recent on_open=open_import/>
        </section>
    }
}
