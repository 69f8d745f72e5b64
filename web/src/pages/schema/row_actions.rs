//! The buttons that reorder and remove a row of the schema editor.

use leptos::prelude::*;

use crate::i18n::use_i18n;

/// Renders the move-up, move-down and remove buttons of one row in a list of `len` rows.
/// `index` is the row's position, or `None` once it is gone. `on_move` receives the position
/// and the offset (-1 or 1), which `move_item` applies.
#[component]
pub fn RowActions(
    #[prop(into)] index: Signal<Option<usize>>,
    #[prop(into)] len: Signal<usize>,
    on_move: impl Fn(usize, isize) + Copy + Send + Sync + 'static,
    on_remove: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let move_by = move |offset: isize| {
        if let Some(index) = index.get_untracked() {
            on_move(index, offset);
        }
    };

    view! {
        <button
            type="button"
            class="icon-button"
            title=move || i18n.t().move_up
            aria-label=move || i18n.t().move_up
            disabled=move || index.get() == Some(0)
            on:click=move |_| move_by(-1)
        >
            "↑"
        </button>
        <button
            type="button"
            class="icon-button"
            title=move || i18n.t().move_down
            aria-label=move || i18n.t().move_down
            disabled=move || index.get().is_none_or(|index| index + 1 >= len.get())
            on:click=move |_| move_by(1)
        >
            "↓"
        </button>
        <button type="button" class="button-danger-quiet" on:click=move |_| on_remove()>
            {move || i18n.t().remove}
        </button>
    }
}
