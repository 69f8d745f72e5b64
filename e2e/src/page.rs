//! Steps of browser tests: find, fill, click and select elements, and wait for text. Each step
//! waits up to [`WAIT`] and panics with the element it missed, so a failing test names it.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator, elements::Element};

/// How long a step waits for its element.
pub const WAIT: Duration = Duration::from_secs(20);

/// Waits for the element and returns it.
pub async fn element(client: &Client, locator: Locator<'_>) -> Element {
    client
        .wait()
        .at_most(WAIT)
        .for_element(locator)
        .await
        .unwrap_or_else(|e| panic!("{locator:?} missing: {e}"))
}

/// Replaces the text of the input with id `id`.
pub async fn fill(client: &Client, id: &str, text: &str) {
    let field = element(client, Locator::Id(id)).await;
    field
        .clear()
        .await
        .unwrap_or_else(|e| panic!("#{id} cannot be cleared: {e}"));
    field
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("#{id} takes no text: {e}"));
}

/// Clicks the element with id `id`.
pub async fn click(client: &Client, id: &str) {
    element(client, Locator::Id(id))
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("#{id} cannot be clicked: {e}"));
}

/// Chooses `value` in the select with id `id`.
pub async fn select(client: &Client, id: &str, value: &str) {
    element(client, Locator::Id(id))
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("#{id} has no option {value}: {e}"));
}

/// Waits up to `timeout` until the element exists and its text satisfies `condition`, and
/// returns the text.
pub async fn wait_for_text(
    client: &Client,
    locator: Locator<'_>,
    timeout: Duration,
    condition: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    loop {
        if let Ok(found) = client.find(locator).await
            && let Ok(text) = found.text().await
        {
            if condition(&text) {
                return text;
            }
            last = Some(text);
        }
        assert!(
            Instant::now() < deadline,
            "{locator:?} never showed the expected text; last text: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
