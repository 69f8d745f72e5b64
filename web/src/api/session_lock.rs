//! The Web Lock that tabs of this origin take turns with while they use the refresh cookie.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use leptos::prelude::window;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use super::error::ApiError;

/// The name of the Web Lock held during `refreshSession` and `logOut`.
const SESSION_LOCK_NAME: &str = "tayori.session";

/// Runs `operation` while holding the session Web Lock, so that tabs send `refreshSession` and
/// `logOut` one at a time. The server rotates the refresh cookie on each `refreshSession`. When
/// a spent cookie comes back, it takes the cookie as stolen and ends every session of the
/// operator. Two tabs that send the same cookie at once, as their renewal timers can when a
/// laptop wakes, would otherwise end each other's sessions.
///
/// `operation` must not request the lock itself, because Web Locks are not reentrant.
pub(super) async fn in_turn<T, F, Fut>(operation: F) -> Result<T, ApiError>
where
    T: 'static,
    F: FnOnce() -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
{
    let Some((locks, request_lock)) = web_lock_manager() else {
        // NOTE: Without the Web Locks API, tabs that send the refresh cookie at the same moment
        // can still end each other's sessions.
        return operation().await;
    };

    let operation = Rc::new(RefCell::new(Some(operation)));
    let outcome = Rc::new(RefCell::new(None));
    let (pending, slot) = (Rc::clone(&operation), Rc::clone(&outcome));
    // The browser calls this once the lock is granted and releases the lock when the returned
    // promise settles.
    let with_lock = Closure::once_into_js(move |_lock: JsValue| {
        future_to_promise(async move {
            let operation = pending.borrow_mut().take();
            if let Some(operation) = operation {
                let result = operation().await;
                *slot.borrow_mut() = Some(result);
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    if let Ok(released) =
        request_lock.call2(&locks, &JsValue::from_str(SESSION_LOCK_NAME), &with_lock)
    {
        let _ = JsFuture::from(Promise::from(released)).await;
    }

    let result = outcome.borrow_mut().take();
    if let Some(result) = result {
        return result;
    }
    // The browser rejected the lock request, so the operation runs without the lock.
    let operation = operation.borrow_mut().take();
    match operation {
        Some(operation) => operation().await,
        None => Err(ApiError::Network(
            "the session lock was released before the request finished".to_owned(),
        )),
    }
}

/// Returns `navigator.locks` and its `request` method. Returns `None` where the browser has no
/// Web Locks API, which it offers only in secure contexts (HTTPS and localhost). web-sys 0.3
/// binds `LockManager` only behind `--cfg=web_sys_unstable_apis`, so it is called through
/// `Reflect`.
fn web_lock_manager() -> Option<(JsValue, Function)> {
    let locks = Reflect::get(&window().navigator(), &JsValue::from_str("locks")).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    let request = Reflect::get(&locks, &JsValue::from_str("request"))
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    Some((locks, request))
}
