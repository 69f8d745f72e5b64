//! Reads the header row of a CSV file (RFC 4180) in the browser, so the operator can map the
//! columns before the file is sent. The server parses the whole file again.

/// The reason the header row could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The file has no characters, or only a byte order mark.
    Empty,
    /// A quoted header field is still open at the end of the file.
    UnterminatedQuote,
}

/// Returns the fields of the first record of `text`.
///
/// Fields are separated by commas and the record ends at CRLF, LF or CR outside quotes. A
/// field in double quotes may contain commas, line breaks and `""` for one quote. A leading
/// UTF-8 byte order mark (written by Excel's "CSV UTF-8") is skipped. Like most CSV readers,
/// and unlike strict RFC 4180, a quote inside an unquoted field, or text after a closing quote,
/// is kept as it is.
pub fn parse_header(text: &str) -> Result<Vec<String>, HeaderError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.is_empty() {
        return Err(HeaderError::Empty);
    }

    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    // Whether the current field began with a quote and that quote is still open.
    let mut in_quotes = false;
    // Whether the current field has any characters or quotes yet.
    let mut field_started = false;

    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if !field_started => {
                in_quotes = true;
                field_started = true;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                field_started = false;
            }
            '\r' | '\n' => {
                fields.push(field);
                return Ok(fields);
            }
            _ => {
                field.push(c);
                field_started = true;
            }
        }
    }

    if in_quotes {
        return Err(HeaderError::UnterminatedQuote);
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Vec<String> {
        match parse_header(text) {
            Ok(fields) => fields,
            Err(error) => panic!("header of {text:?} failed: {error:?}"),
        }
    }

    #[test]
    fn plain_fields_split_on_commas() {
        assert_eq!(header("id,name,price\n1,a,2\n"), ["id", "name", "price"]);
    }

    #[test]
    fn record_ends_at_crlf_lf_or_cr() {
        assert_eq!(header("a,b\r\nc,d"), ["a", "b"]);
        assert_eq!(header("a,b\nc,d"), ["a", "b"]);
        assert_eq!(header("a,b\rc,d"), ["a", "b"]);
    }

    #[test]
    fn header_without_line_break() {
        assert_eq!(header("a,b"), ["a", "b"]);
    }

    #[test]
    fn quoted_fields_keep_commas_breaks_and_quotes() {
        assert_eq!(
            header("\"a,b\",\"line\r\nbreak\",\"say \"\"hi\"\"\"\nx"),
            ["a,b", "line\r\nbreak", "say \"hi\""]
        );
    }

    #[test]
    fn empty_fields_are_kept() {
        assert_eq!(header(",a,,\n"), ["", "a", "", ""]);
        assert_eq!(header("\"\",b"), ["", "b"]);
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert_eq!(header("\u{feff}物件名,賃料\n"), ["物件名", "賃料"]);
    }

    #[test]
    fn stray_quotes_are_kept_literally() {
        assert_eq!(header("a\"b,\"c\"d\n"), ["a\"b", "cd"]);
    }

    #[test]
    fn empty_text_is_an_error() {
        assert_eq!(parse_header(""), Err(HeaderError::Empty));
        assert_eq!(parse_header("\u{feff}"), Err(HeaderError::Empty));
    }

    #[test]
    fn open_quote_is_an_error() {
        assert_eq!(parse_header("\"a,b\n"), Err(HeaderError::UnterminatedQuote));
    }
}
