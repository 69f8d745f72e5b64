//! Sign-up and login.

mod form;
mod login;
mod signup;

pub use login::LoginPage;
pub use signup::SignupPage;

/// Minimum password length; the server enforces the same minimum.
const PASSWORD_MIN_CHARS: usize = 10;

/// Returns whether `slug` has the tenant slug format: 3 to 40 lowercase ASCII letters, digits
/// and hyphens, starting and ending with a letter or digit. The form only shows a hint; the
/// server decides.
fn is_valid_slug(slug: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    (3..=40).contains(&slug.len())
        && slug.chars().all(allowed)
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// Returns whether a non-empty password is shorter than [`PASSWORD_MIN_CHARS`].
fn is_short_password(password: &str) -> bool {
    !password.is_empty() && password.chars().count() < PASSWORD_MIN_CHARS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_accepts_lowercase_digits_hyphens() {
        assert!(is_valid_slug("sakura-fudosan"));
        assert!(is_valid_slug("abc"));
        assert!(is_valid_slug("a1-b2"));
        assert!(is_valid_slug(&"a".repeat(40)));
    }

    #[test]
    fn slug_rejects_bad_length() {
        assert!(!is_valid_slug("ab"));
        assert!(!is_valid_slug(&"a".repeat(41)));
    }

    #[test]
    fn slug_rejects_other_characters() {
        assert!(!is_valid_slug("Sakura"));
        assert!(!is_valid_slug("sakura_fudosan"));
        assert!(!is_valid_slug("さくら"));
        assert!(!is_valid_slug("sakura fudosan"));
    }

    #[test]
    fn slug_rejects_edge_hyphens() {
        assert!(!is_valid_slug("-sakura"));
        assert!(!is_valid_slug("sakura-"));
    }

    #[test]
    fn short_password_counts_characters() {
        assert!(is_short_password("123456789"));
        assert!(!is_short_password("1234567890"));
        assert!(!is_short_password("あいうえおかきくけこ"));
        assert!(!is_short_password(""));
    }
}
