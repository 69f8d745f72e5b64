//! RFC 5322 messages built with `mail-builder`, which encodes non-ASCII headers as RFC 2047
//! words, folds long headers and picks quoted-printable or base64 bodies so that no line exceeds
//! 998 octets.

use chrono::{DateTime, Utc};
use mail_builder::{
    MessageBuilder,
    headers::{address::Address, date::Date, message_id::MessageId, raw::Raw},
};

use crate::Rendered;

/// Who a message is from and to, and the ids it carries.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub from_name: &'a str,
    pub from_address: &'a str,
    pub to_address: &'a str,
    /// Without angle brackets: `0192…@example.jp`.
    pub message_id: &'a str,
    pub date: DateTime<Utc>,
    /// Extra headers as (name, value); values are made single-line.
    pub extra_headers: Vec<(&'static str, String)>,
}

/// A composed message: the header block as it will be sent, and the whole message.
#[derive(Debug, Clone)]
pub struct Composed {
    pub headers: String,
    pub raw: Vec<u8>,
}

/// Builds the message. Subject, display name and header values pass through [`header_text`]
/// first, so a line break in a listing's name cannot add a header.
pub fn compose(envelope: &Envelope<'_>, rendered: &Rendered) -> std::io::Result<Composed> {
    let from_name = header_text(envelope.from_name, 100);
    let mut builder = MessageBuilder::new()
        .from(Address::new_address(
            Some(from_name.as_str()),
            envelope.from_address,
        ))
        .to(Address::new_address(None::<&str>, envelope.to_address))
        .subject(header_text(&rendered.subject, 998))
        .message_id(MessageId::new(envelope.message_id))
        .date(Date::new(envelope.date.timestamp()))
        .text_body(rendered.text.as_str())
        .html_body(rendered.html.as_str());
    for (name, value) in &envelope.extra_headers {
        builder = builder.header(*name, Raw::new(header_text(value, 900)));
    }
    let raw = builder.write_to_vec()?;
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(raw.len(), |position| position + 2);
    Ok(Composed {
        headers: String::from_utf8_lossy(&raw[..end]).into_owned(),
        raw,
    })
}

/// Makes a value safe for a header: every run of whitespace and control characters (line breaks
/// included) becomes one space, and the result is cut to `max_chars` characters with an ellipsis.
pub fn header_text(value: &str, max_chars: usize) -> String {
    let mut line = String::with_capacity(value.len().min(max_chars * 4));
    let mut pending_space = false;
    for character in value.chars() {
        if character.is_whitespace() || character.is_control() {
            pending_space = !line.is_empty();
            continue;
        }
        if pending_space {
            line.push(' ');
            pending_space = false;
        }
        line.push(character);
    }
    match line.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope<'static> {
        Envelope {
            from_name: "東京不動産\r\nBcc: x@example.com",
            from_address: "no-reply@example.jp",
            to_address: "taro@example.jp",
            message_id: "0192-test@example.jp",
            date: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            extra_headers: vec![("X-Tayori-Kind", "listing\r\nX-Evil: 1".to_owned())],
        }
    }

    fn rendered(subject: &str, text: &str) -> Rendered {
        Rendered {
            subject: subject.to_owned(),
            html: format!("<p>{text}</p>"),
            text: text.to_owned(),
        }
    }

    #[test]
    fn header_text_collapses_breaks_and_cuts() {
        assert_eq!(header_text("  a\r\n\tb  c ", 10), "a b c");
        assert_eq!(header_text("abcdef", 3), "abc…");
    }

    #[test]
    fn japanese_subject_is_encoded_and_no_header_is_injected() {
        let composed = compose(
            &envelope(),
            &rendered("【新着】渋谷区の2LDK\r\nBcc: y@example.com", "本文"),
        )
        .unwrap();
        let headers = composed.headers.to_ascii_lowercase();
        assert!(
            headers.contains("subject: =?utf-8?b?"),
            "{}",
            composed.headers
        );
        assert!(!headers.contains("\r\nbcc:"));
        assert!(!headers.contains("\r\nx-evil:"));
        assert!(headers.contains("message-id: <0192-test@example.jp>"));
        for line in composed.headers.split("\r\n") {
            assert!(line.len() <= 998);
        }
    }

    #[test]
    fn body_lines_stay_within_998_octets() {
        let long = "長".repeat(5_000);
        let composed = compose(&envelope(), &rendered("subject", &long)).unwrap();
        let raw = String::from_utf8(composed.raw).unwrap();
        assert!(raw.split("\r\n").all(|line| line.len() <= 998));
        assert!(raw.contains("multipart/alternative"));
    }
}
