//! Reading numbers the way Japanese listing feeds write them.
//!
//! [`parse_number`] reads one number: `100000`, `100,000`, `１００，０００` (full-width),
//! `¥100,000`, `10万円`, `9.8万`, `12万5000円`, `1億2000万`, `3千`, `-5`, `1.5e3`.
//! [`parse_amount`] also reads the ranges that feeds give for a set of units: `5.5万円～6.75万円`,
//! `5.5～6.75万円` (the unit of the right side applies to both), `12万円～` (minimum only) and
//! `～9万円` (maximum only). A missing side stays missing; it is never taken as 0.
//!
//! Both also read the room count of a Japanese floor plan (間取り): `1R`, `2K`, `2LDK`, `3SLDK`,
//! `２ＬＤＫ` and ranges such as `1K～2K`, so that a rooms field can take the feed's layout text.
//! `2K` therefore means two rooms, never 2,000.

use unicode_normalization::UnicodeNormalization;

/// Parses one number, or returns `None` when the text is not exactly one number.
pub fn parse_number(text: &str) -> Option<f64> {
    // NFKC turns full-width digits, commas, periods and the yen sign into their ASCII forms.
    let normalized: String = text.nfkc().collect();
    let mut body = normalized.trim();
    let negative = body.starts_with(['-', '−', '▲']);
    if negative {
        body = body[body.chars().next()?.len_utf8()..].trim_start();
    }
    body = body.trim_start_matches(['¥', '\\', '$']).trim();
    body = body.strip_suffix("円").unwrap_or(body).trim();
    body = body.strip_suffix("JPY").unwrap_or(body).trim();
    if body.is_empty() {
        return None;
    }

    let value = if body.contains(['万', '千', '億']) {
        parse_with_units(body)?
    } else if let Some(rooms) = parse_layout(body) {
        rooms
    } else {
        parse_plain(body)?
    };
    Some(if negative { -value } else { value })
}

/// A number or a range of numbers, as a listing's number field stores it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Exact(f64),
    /// At least one side is present, and `min <= max` when both are.
    Range {
        min: Option<f64>,
        max: Option<f64>,
    },
}

/// The separators feeds put between the two sides of a range, after NFKC normalisation
/// (which turns the full-width tilde `～` into `~`).
const RANGE_SEPARATORS: [char; 4] = ['~', '〜', '–', '—'];

/// Reads one number or a range of numbers.
pub fn parse_amount(text: &str) -> Option<Amount> {
    let normalized: String = text.nfkc().collect();
    if let Some(exact) = parse_number(&normalized) {
        return Some(Amount::Exact(exact));
    }
    // A hyphen separates a range only between two sides (`8万-10万`); `-5` is a number.
    let split = normalized.split_once(RANGE_SEPARATORS).or_else(|| {
        normalized
            .split_once('-')
            .filter(|(left, right)| !left.trim().is_empty() && !right.trim().is_empty())
    });
    let (left, right) = split?;
    let (left, right) = (left.trim(), right.trim());
    let max = if right.is_empty() {
        None
    } else {
        Some(parse_number(right)?)
    };
    let min = if left.is_empty() {
        None
    } else {
        match parse_number(left) {
            // `5.5～6.75万円`: a bare left side takes the unit of the right side.
            Some(value) if !has_unit(left) => Some(value * trailing_unit(right)),
            Some(value) => Some(value),
            None => return None,
        }
    };
    match (min, max) {
        (None, None) => None,
        (Some(min), Some(max)) if min > max => None,
        (min, max) => Some(Amount::Range { min, max }),
    }
}

/// The room count of a floor plan: the digits before `R`, `K`, `DK`, `LDK`, `SK`, `SDK`,
/// `SLDK` (upper or lower case, an optional `+S` storeroom after it).
fn parse_layout(text: &str) -> Option<f64> {
    let upper = text.to_ascii_uppercase();
    let body = upper.strip_suffix("+S").unwrap_or(&upper);
    let digits_end = body.find(|c: char| !c.is_ascii_digit())?;
    let (digits, plan) = body.split_at(digits_end);
    let known = ["R", "K", "DK", "LDK", "SK", "SDK", "SLDK"];
    if digits.is_empty() || !known.contains(&plan) {
        return None;
    }
    digits.parse::<f64>().ok()
}

fn has_unit(text: &str) -> bool {
    text.contains(['万', '千', '億'])
}

/// The multiplier of the last unit in `text`: 10,000 for `6.75万円`, 1 when there is none.
fn trailing_unit(text: &str) -> f64 {
    let body = text.trim().trim_end_matches('円').trim_end();
    match body.chars().last() {
        Some('万') => 10_000.0,
        Some('千') => 1_000.0,
        Some('億') => 100_000_000.0,
        _ => 1.0,
    }
}

/// A plain decimal with optional thousands separators: `100,000.5`.
fn parse_plain(text: &str) -> Option<f64> {
    if text.contains(',') && !has_valid_grouping(text) {
        return None;
    }
    let digits: String = text.chars().filter(|c| *c != ',').collect();
    if !digits
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    if !digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    digits.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Commas must separate groups of three digits: `1,234,567`, not `1,23`.
fn has_valid_grouping(text: &str) -> bool {
    let integer_part = text.split('.').next().unwrap_or("");
    let mut groups = integer_part.split(',');
    let first_ok = groups.next().is_some_and(|g| (1..=3).contains(&g.len()));
    first_ok && groups.all(|g| g.len() == 3)
}

/// Sums number-unit pairs from the largest unit down: `1億2000万5000` is 120,005,000.
fn parse_with_units(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut current = String::new();
    let mut last_unit = f64::INFINITY;
    for c in text.chars() {
        let unit = match c {
            '億' => 100_000_000.0,
            '万' => 10_000.0,
            '千' => 1_000.0,
            _ => {
                current.push(c);
                continue;
            }
        };
        // Units must come in decreasing order, each at most once: `5万3億` is not a number.
        if unit >= last_unit {
            return None;
        }
        last_unit = unit;
        let amount = if current.trim().is_empty() && unit == 1_000.0 {
            1.0
        } else {
            parse_plain(current.trim())?
        };
        total += amount * unit;
        current.clear();
    }
    if !current.trim().is_empty() {
        total += parse_plain(current.trim())?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_plans_give_room_counts() {
        assert_eq!(parse_number("2LDK"), Some(2.0));
        assert_eq!(parse_number("２ＬＤＫ"), Some(2.0));
        assert_eq!(parse_number("1R"), Some(1.0));
        assert_eq!(parse_number("1DK"), Some(1.0));
        assert_eq!(parse_number("3SLDK+S"), Some(3.0));
        assert_eq!(parse_number("2XYZ"), None);
        assert_eq!(
            parse_amount("1K～2K"),
            Some(Amount::Range {
                min: Some(1.0),
                max: Some(2.0)
            })
        );
    }

    #[test]
    fn plain_and_grouped_numbers_parse() {
        assert_eq!(parse_number("100000"), Some(100_000.0));
        assert_eq!(parse_number("100,000"), Some(100_000.0));
        assert_eq!(parse_number(" 1,234,567.5 "), Some(1_234_567.5));
        assert_eq!(parse_number("-5"), Some(-5.0));
        assert_eq!(parse_number("1.5e3"), Some(1500.0));
    }

    #[test]
    fn full_width_and_currency_forms_parse() {
        assert_eq!(parse_number("１００，０００"), Some(100_000.0));
        assert_eq!(parse_number("¥100,000"), Some(100_000.0));
        assert_eq!(parse_number("￥８５，０００円"), Some(85_000.0));
        assert_eq!(parse_number("100000円"), Some(100_000.0));
    }

    #[test]
    fn japanese_units_parse() {
        assert_eq!(parse_number("10万円"), Some(100_000.0));
        assert_eq!(parse_number("9.8万"), Some(98_000.0));
        assert_eq!(parse_number("12万5000円"), Some(125_000.0));
        assert_eq!(parse_number("1億2000万"), Some(120_000_000.0));
        assert_eq!(parse_number("３千"), Some(3_000.0));
    }

    #[test]
    fn ranges_keep_both_sides_and_missing_sides_stay_missing() {
        let range = |min: Option<f64>, max: Option<f64>| Some(Amount::Range { min, max });
        assert_eq!(
            parse_amount("5.5万円～6.75万円"),
            range(Some(55_000.0), Some(67_500.0))
        );
        assert_eq!(
            parse_amount("5.5～6.75万円"),
            range(Some(55_000.0), Some(67_500.0))
        );
        assert_eq!(parse_amount("12万円～"), range(Some(120_000.0), None));
        assert_eq!(parse_amount("～9万円"), range(None, Some(90_000.0)));
        assert_eq!(
            parse_amount("８万〜１０万"),
            range(Some(80_000.0), Some(100_000.0))
        );
        assert_eq!(
            parse_amount("80,000-100,000"),
            range(Some(80_000.0), Some(100_000.0))
        );
        assert_eq!(parse_amount("-5"), Some(Amount::Exact(-5.0)));
        assert_eq!(parse_amount("９８０００円"), Some(Amount::Exact(98_000.0)));
    }

    #[test]
    fn malformed_ranges_are_rejected() {
        for bad in ["～", "10万～5万", "abc～10万", "10万～xyz"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn non_numbers_and_ranges_are_rejected() {
        for bad in [
            "",
            "abc",
            "1,23",
            "5万～6万",
            "10万円～",
            "5万3億",
            "１０万円ぐらい",
            "--5",
            "1.2.3",
        ] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }
}
