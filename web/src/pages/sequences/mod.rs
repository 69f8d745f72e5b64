//! Step mail: sequences with their timeline of steps, enrollment counts and upcoming sends.

mod model;
mod page;

pub use page::SequencesPage;
