//! API keys for integrations.

mod key_table;
mod model;
mod page;
mod secret_panel;

pub use page::ApiKeysPage;
