//! The dashboard home page.

mod home;

pub use home::HomePage;
