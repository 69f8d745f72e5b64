//! The session's lifecycle after sign-in: the `refreshSession` call that every caller in a tab
//! shares, the timer that renews the access token about a minute before it expires, and
//! `logOut`.

use std::cell::{Cell, RefCell};

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use gloo_timers::callback::Timeout;
use js_sys::Date;
use leptos::logging::warn;
use leptos::task::spawn_local;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::Api;
use super::error::{ApiError, ErrorCode};
use super::session_lock::in_turn;
use crate::session::{SESSION_FIELDS, Session};

/// How long before `expiresAt` the timer renews the access token, in milliseconds.
const RENEW_BEFORE_EXPIRY_MS: f64 = 60_000.0;

/// The shortest wait before a renewal, in milliseconds. It keeps a session whose `expiresAt` is
/// already inside the margin from being renewed in a tight loop.
const MIN_RENEW_DELAY_MS: f64 = 10_000.0;

/// The maximum delay of a timer, in milliseconds. gloo's [`Timeout`] passes the delay to
/// `setTimeout` as an `i32`, so a larger value would turn negative and fire at once.
const MAX_TIMER_DELAY_MS: f64 = 2_147_483_647.0;

type RefreshFuture = Shared<LocalBoxFuture<'static, Result<Session, ApiError>>>;

thread_local! {
    /// The `refreshSession` call in flight, shared by every request that needs it. The server
    /// rotates the refresh cookie on each call, so two concurrent calls would race and the
    /// second would present a cookie that is already spent.
    static REFRESH_IN_FLIGHT: RefCell<Option<RefreshFuture>> = const { RefCell::new(None) };

    /// The timer of the next renewal. Replacing it drops the old [`Timeout`], which cancels it.
    static RENEW_TIMER: RefCell<Option<Timeout>> = const { RefCell::new(None) };

    /// The server's clock minus the browser's, in milliseconds, from the `Date` header of the
    /// latest response. Zero until the first response arrives.
    static SERVER_CLOCK_OFFSET_MS: Cell<f64> = const { Cell::new(0.0) };
}

/// Records the server's clock from a response's `Date` header, so that a renewal is timed by
/// the server's clock even when the browser's clock is wrong. `Date` has whole seconds, which
/// is precise enough against a one-minute margin.
pub(super) fn observe_server_date(date: Option<&str>) {
    let Some(date) = date else {
        return;
    };
    let server_now = Date::parse(date);
    if !server_now.is_nan() {
        SERVER_CLOCK_OFFSET_MS.set(server_now - Date::now());
    }
}

/// Returns how many milliseconds to wait before renewing a session that expires at
/// `expires_at_ms`, when the server's clock reads `server_now_ms` (both in milliseconds since
/// the Unix epoch). Returns `None` when `expires_at_ms` is NaN, which is what `Date.parse`
/// returns for a timestamp it cannot read.
fn renew_delay_ms(expires_at_ms: f64, server_now_ms: f64) -> Option<u32> {
    let delay = expires_at_ms - RENEW_BEFORE_EXPIRY_MS - server_now_ms;
    if delay.is_nan() {
        return None;
    }
    Some(delay.clamp(MIN_RENEW_DELAY_MS, MAX_TIMER_DELAY_MS) as u32)
}

impl Api {
    /// Stores a session from `signUp`, `logIn` or `refreshSession` and schedules its renewal
    /// about a minute before `expiresAt`.
    pub fn sign_in(self, session: &Session) {
        self.session.sign_in(session);
        self.schedule_renewal(&session.expires_at);
    }

    /// Restores the session from the refresh cookie on start-up. Any failure, including a
    /// network error, leaves the operator signed out. A login attempt then reports whether the
    /// server is reachable.
    pub async fn restore_session(self) {
        let restored = self.refresh_session().await.ok();
        let expires_at = restored.as_ref().map(|session| session.expires_at.clone());
        if self.session.finish_restore(restored)
            && let Some(expires_at) = expires_at
        {
            self.schedule_renewal(&expires_at);
        }
    }

    /// Revokes the refresh cookie with `logOut`, then clears the session in this tab. A
    /// refresh in flight finishes first, because a refresh that the server handled after
    /// `logOut` would leave a new, valid refresh cookie in the browser.
    pub async fn log_out(self) -> Result<(), ApiError> {
        let in_flight = REFRESH_IN_FLIGHT.with(|slot| slot.borrow().clone());
        if let Some(refresh) = in_flight {
            // Its result does not matter, only that the server has handled it.
            let _ = refresh.await;
        }
        // `logOut` reads only the refresh cookie. Sending no access token also means no
        // `UNAUTHENTICATED` retry, which would request the session lock again while it is held.
        in_turn(move || async move {
            self.send_decoded::<Value>("mutation LogOut { logOut }", &json!({}), None)
                .await
        })
        .await?;
        RENEW_TIMER.with(|slot| slot.borrow_mut().take());
        self.session.sign_out();
        Ok(())
    }

    /// Exchanges the refresh cookie for a new session. Concurrent callers share one request.
    /// The caller decides whether to store the result, because a restore on start-up must not
    /// overwrite a login that finished first.
    pub async fn refresh_session(self) -> Result<Session, ApiError> {
        let future = REFRESH_IN_FLIGHT.with(|slot| {
            let mut slot = slot.borrow_mut();
            if let Some(in_flight) = slot.as_ref() {
                return in_flight.clone();
            }
            let future = in_turn(move || self.send_refresh()).boxed_local().shared();
            *slot = Some(future.clone());
            future
        });
        let result = future.clone().await;
        REFRESH_IN_FLIGHT.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot
                .as_ref()
                .is_some_and(|in_flight| in_flight.ptr_eq(&future))
            {
                *slot = None;
            }
        });
        result
    }

    /// Sets the timer that renews the session expiring at `expires_at`, replacing any earlier
    /// timer.
    fn schedule_renewal(self, expires_at: &str) {
        let server_now = Date::now() + SERVER_CLOCK_OFFSET_MS.get();
        let Some(delay) = renew_delay_ms(Date::parse(expires_at), server_now) else {
            warn!(
                "session expiresAt {expires_at:?} is not a timestamp; the token will be refreshed \
                 when a request is rejected instead"
            );
            return;
        };
        let timer = Timeout::new(delay, move || spawn_local(self.renew()));
        RENEW_TIMER.with(|slot| *slot.borrow_mut() = Some(timer));
    }

    /// Runs when the renewal timer fires.
    async fn renew(self) {
        // A sign-out after the timer was set leaves nothing to renew.
        if self.session.access_token().is_none() {
            return;
        }
        match self.refresh_session().await {
            // The operator logged out while the refresh was in flight, and stays logged out.
            Ok(_) if self.session.access_token().is_none() => {}
            Ok(session) => self.sign_in(&session),
            // The refresh cookie expired or was revoked, so the session is over.
            Err(error) if error.has_code(ErrorCode::Unauthenticated) => self.session.sign_out(),
            // The token still works until `expiresAt`. After that, the next request gets
            // `UNAUTHENTICATED` and refreshes the session itself.
            Err(error) => warn!("scheduled session refresh failed: {error:?}"),
        }
    }

    async fn send_refresh(self) -> Result<Session, ApiError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            refresh_session: Session,
        }
        let query = format!("mutation RefreshSession {{ refreshSession {{ {SESSION_FIELDS} }} }}");
        let data: Data = self.send_decoded(&query, &json!({}), None).await?;
        Ok(data.refresh_session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: f64 = 1_750_000_000_000.0;

    #[test]
    fn renewal_is_a_minute_before_expiry() {
        let fifteen_minutes = 15.0 * 60_000.0;
        assert_eq!(
            renew_delay_ms(NOW_MS + fifteen_minutes, NOW_MS),
            Some(14 * 60_000)
        );
    }

    #[test]
    fn renewal_waits_at_least_minimum() {
        assert_eq!(renew_delay_ms(NOW_MS + 30_000.0, NOW_MS), Some(10_000));
        assert_eq!(renew_delay_ms(NOW_MS - 60_000.0, NOW_MS), Some(10_000));
    }

    #[test]
    fn renewal_delay_fits_set_timeout() {
        assert_eq!(
            renew_delay_ms(NOW_MS + 60.0 * 86_400_000.0, NOW_MS),
            Some(2_147_483_647)
        );
    }

    #[test]
    fn unreadable_expiry_schedules_nothing() {
        assert_eq!(renew_delay_ms(f64::NAN, NOW_MS), None);
    }
}
