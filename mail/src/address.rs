//! Addresses as they go on the wire. Some old Japanese mobile carrier addresses break RFC 5322
//! with a local part that has consecutive dots or a dot at either end (`taro..hanako@docomo.ne.jp`,
//! `hanako.@ezweb.ne.jp`). SMTP and the `To` header carry those as a quoted string
//! (`"taro..hanako"@docomo.ne.jp`), which the carriers deliver to the same mailbox.

use std::borrow::Cow;

/// Returns whether a local part is a dot-atom: atoms of allowed characters joined by single
/// dots, so it needs no quotes.
pub fn is_dot_atom(local: &str) -> bool {
    !local.is_empty()
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom.chars().all(|c| {
                    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
                })
        })
}

/// Returns the address with its local part quoted when it is not a dot-atom, and unchanged
/// otherwise or when it has no `@`.
pub fn for_transport(address: &str) -> Cow<'_, str> {
    match address.rsplit_once('@') {
        Some((local, domain)) if !is_dot_atom(local) && !local.starts_with('"') => {
            let escaped = local.replace('\\', "\\\\").replace('"', "\\\"");
            Cow::Owned(format!("\"{escaped}\"@{domain}"))
        }
        _ => Cow::Borrowed(address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_addresses_are_quoted() {
        assert_eq!(
            for_transport("taro..hanako@docomo.ne.jp"),
            "\"taro..hanako\"@docomo.ne.jp"
        );
        assert_eq!(
            for_transport("hanako.@ezweb.ne.jp"),
            "\"hanako.\"@ezweb.ne.jp"
        );
        assert_eq!(for_transport(".sato@example.jp"), "\".sato\"@example.jp");
    }

    #[test]
    fn standard_addresses_stay_as_they_are() {
        assert_eq!(
            for_transport("yamada.taro@example.com"),
            "yamada.taro@example.com"
        );
        assert_eq!(for_transport("a+b@example.jp"), "a+b@example.jp");
        assert!(matches!(for_transport("x@example.jp"), Cow::Borrowed(_)));
    }
}
