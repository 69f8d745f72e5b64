//! `/dashboard/schema` and `/dashboard/profile-fields`: edit the listing schema
//! (`setListingSchema`) or the profile fields (`setProfileFields`), which have the same shape.
//!
//! The rows live in one signal as plain data with a stable key per row, and each input reads
//! and writes its row by key. Schemas have tens of fields, so re-reading the list on each
//! keystroke is cheap, and no signal has to be created or disposed per row.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::draft::{FieldDraft, drafts_to_fields};
use super::field_row::FieldRow;
use crate::api::{ApiError, use_api};
use crate::components::{ErrorBanner, Loading};
use crate::i18n::{Catalogue, use_i18n};
use crate::listing_schema::{FieldSet, ListingField, fetch_fields, save_fields};
use crate::session::use_session;

/// The loading state of the saved schema.
#[derive(Clone, Debug, PartialEq)]
enum LoadState {
    Loading,
    Failed(ApiError),
    Ready,
}

/// Returns a key not used by any row or option yet.
pub fn take_key(next_key: StoredValue<u64>) -> u64 {
    let key = next_key.get_value();
    next_key.set_value(key + 1);
    key
}

/// The texts and element ids that differ between the two uses of the editor.
#[derive(Clone, Copy, Debug)]
pub struct EditorSetup {
    pub field_set: FieldSet,
    pub title: fn(&Catalogue) -> &'static str,
    pub lead: fn(&Catalogue) -> &'static str,
    pub empty: fn(&Catalogue) -> &'static str,
    /// The start of each row's input ids: `{row_id_prefix}-{key}-name`.
    pub row_id_prefix: &'static str,
    pub add_button_id: &'static str,
    pub save_button_id: &'static str,
}

impl EditorSetup {
    /// The listing schema, at `/dashboard/schema`.
    pub const LISTING: EditorSetup = EditorSetup {
        field_set: FieldSet::Listing,
        title: |t| t.schema_title,
        lead: |t| t.schema_lead,
        empty: |t| t.schema_empty,
        row_id_prefix: "field",
        add_button_id: "schema-add-field",
        save_button_id: "schema-save",
    };

    /// The profile fields, at `/dashboard/profile-fields`.
    pub const PROFILE: EditorSetup = EditorSetup {
        field_set: FieldSet::Profile,
        title: |t| t.profile_fields_title,
        lead: |t| t.profile_fields_lead,
        empty: |t| t.schema_empty,
        row_id_prefix: "profile-field",
        add_button_id: "profile-fields-add-field",
        save_button_id: "profile-fields-save",
    };
}

/// Renders the listing schema editor.
#[component]
pub fn SchemaPage() -> impl IntoView {
    view! { <FieldsEditor setup=EditorSetup::LISTING/> }
}

/// Renders the profile fields editor.
#[component]
pub fn ProfileFieldsPage() -> impl IntoView {
    view! { <FieldsEditor setup=EditorSetup::PROFILE/> }
}

/// Renders the editor of one field set. Viewers see the same rows with every input disabled.
#[component]
fn FieldsEditor(setup: EditorSetup) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let read_only = Signal::derive(move || session.is_read_only());

    let rows = RwSignal::new(Vec::<FieldDraft>::new());
    let saved = RwSignal::new(Vec::<ListingField>::new());
    let next_key = StoredValue::new(0_u64);
    let load_state = RwSignal::new(LoadState::Loading);
    let saving = RwSignal::new(false);
    let save_error = RwSignal::new(None::<ApiError>);
    let just_saved = RwSignal::new(false);

    let apply_saved = move |fields: Vec<ListingField>| {
        let mut new_key = || take_key(next_key);
        rows.set(
            fields
                .iter()
                .map(|field| FieldDraft::from_field(field, &mut new_key))
                .collect(),
        );
        saved.set(fields);
    };

    let load = move || {
        load_state.set(LoadState::Loading);
        spawn_local(async move {
            match fetch_fields(api, setup.field_set).await {
                Ok(fields) => {
                    apply_saved(fields);
                    load_state.set(LoadState::Ready);
                }
                Err(error) => load_state.set(LoadState::Failed(error)),
            }
        });
    };
    load();

    let is_dirty =
        Memo::new(move |_| rows.with(|rows| saved.with(|saved| drafts_to_fields(rows) != *saved)));

    let save = move || {
        if saving.get_untracked() {
            return;
        }
        let fields = rows.with_untracked(|rows| drafts_to_fields(rows));
        saving.set(true);
        save_error.set(None);
        just_saved.set(false);
        spawn_local(async move {
            match save_fields(api, setup.field_set, fields).await {
                Ok(fields) => {
                    apply_saved(fields);
                    just_saved.set(true);
                }
                Err(error) => save_error.set(Some(error)),
            }
            saving.set(false);
        });
    };

    let add_field = move || {
        let key = take_key(next_key);
        rows.update(|rows| rows.push(FieldDraft::empty(key)));
        just_saved.set(false);
    };
    let discard = move || {
        apply_saved(saved.get_untracked());
        save_error.set(None);
    };

    let editor = move || match load_state.get() {
        LoadState::Loading => view! { <Loading/> }.into_any(),
        LoadState::Failed(error) => view! {
            <ErrorBanner error=Signal::derive(move || Some(error.clone()))/>
            <button type="button" class="button-quiet" on:click=move |_| load()>
                {move || i18n.t().retry}
            </button>
        }
        .into_any(),
        LoadState::Ready => view! {
            <Show when=move || rows.with(Vec::is_empty)>
                <p class="empty">{move || (setup.empty)(i18n.t())}</p>
            </Show>
            <ol class="schema-rows">
                <For
                    each=move || rows.get()
                    key=|row| row.key
                    children=move |row| view! {
                        <FieldRow
                            key=row.key
                            id_prefix=setup.row_id_prefix
                            rows=rows
                            read_only=read_only
                            save_error=save_error
                            next_key=next_key
                        />
                    }
                />
            </ol>
            // Next to the save button, where the operator looks after clicking it.
            <ErrorBanner error=save_error/>
            <Show when=move || !read_only.get()>
                <SchemaToolbar
                    setup=setup
                    saving=saving
                    is_dirty=is_dirty
                    just_saved=just_saved
                    on_add=add_field
                    on_discard=discard
                    on_save=save
                />
            </Show>
        }
        .into_any(),
    };

    view! {
        <section class="page">
            <header class="page-header">
                <h1>{move || (setup.title)(i18n.t())}</h1>
                <p class="lead">{move || (setup.lead)(i18n.t())}</p>
            </header>
            <Show when=move || read_only.get()>
                <p class="notice">{move || i18n.t().read_only_notice}</p>
            </Show>
            {editor}
        </section>
    }
}

/// Renders the buttons below the rows: add a field, discard the changes and save, with the
/// saved or unsaved state next to them.
#[component]
fn SchemaToolbar(
    setup: EditorSetup,
    saving: RwSignal<bool>,
    is_dirty: Memo<bool>,
    just_saved: RwSignal<bool>,
    on_add: impl Fn() + Copy + Send + Sync + 'static,
    on_discard: impl Fn() + Copy + Send + Sync + 'static,
    on_save: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="toolbar">
            <button
                id=setup.add_button_id
                type="button"
                class="button-quiet"
                on:click=move |_| on_add()
            >
                {move || i18n.t().schema_add_field}
            </button>
            <span class="toolbar-spacer"></span>
            <Show when=move || just_saved.get() && !is_dirty.get()>
                <span class="notice success" role="status">{move || i18n.t().saved}</span>
            </Show>
            <Show when=move || is_dirty.get()>
                <span class="muted">{move || i18n.t().unsaved_changes}</span>
                <button
                    type="button"
                    class="button-quiet"
                    disabled=move || saving.get()
                    on:click=move |_| on_discard()
                >
                    {move || i18n.t().discard_changes}
                </button>
            </Show>
            <button
                id=setup.save_button_id
                type="button"
                class="button-primary"
                disabled=move || saving.get() || !is_dirty.get()
                on:click=move |_| on_save()
            >
                {move || if saving.get() { i18n.t().saving } else { i18n.t().save }}
            </button>
        </div>
    }
}
