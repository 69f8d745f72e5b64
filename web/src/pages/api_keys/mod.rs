//! API keys for integrations.

mod model;
mod page;

pub use page::ApiKeysPage;
