//! Widgets shared by several pages.

mod copy_button;
mod error_banner;
mod form_field;
mod loading;
mod locale_toggle;
mod mail_frame;
mod nav;
mod remote_content;

pub use copy_button::{CopyButton, copy_to_clipboard};
pub use error_banner::{ErrorBanner, ErrorMessage};
pub use form_field::{FormField, field_error};
pub use loading::Loading;
pub use locale_toggle::LocaleToggle;
pub use mail_frame::MailFrame;
pub use nav::NavBar;
pub use remote_content::RemoteContent;
