//! `/dashboard/member-pages`: the address of the tenant's member pages, their logo and colours,
//! and the policy for non-standard member addresses.

mod model;
mod page;

pub use page::MemberPagesPage;
