//! RFC 5322 messages built with `mail-builder`, which picks quoted-printable or base64 bodies so
//! that no line exceeds 998 octets. Subject and From are written here instead: mail-builder
//! 0.4 makes encoded words of 76 characters, one more than RFC 2047 allows, so these two headers
//! are encoded as words of at most 72 characters, folded between words into lines of at most 78.

use base64::{Engine, engine::general_purpose::STANDARD};
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
        .to(Address::new_address(
            None::<&str>,
            crate::address::for_transport(envelope.to_address).into_owned(),
        ))
        .message_id(MessageId::new(envelope.message_id))
        .date(Date::new(envelope.date.timestamp()))
        .text_body(rendered.text.as_str())
        .html_body(rendered.html.as_str());
    for (name, value) in &envelope.extra_headers {
        builder = builder.header(*name, Raw::new(header_text(value, 900)));
    }
    let mut raw =
        folded_header("From", &from_value(&from_name, envelope.from_address)).into_bytes();
    raw.extend_from_slice(
        folded_header(
            "Subject",
            &encoded_text("Subject", &header_text(&rendered.subject, 998)),
        )
        .as_bytes(),
    );
    raw.extend_from_slice(&builder.write_to_vec()?);
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(raw.len(), |position| position + 2);
    Ok(Composed {
        headers: String::from_utf8_lossy(&raw[..end]).into_owned(),
        raw,
    })
}

/// Bytes of UTF-8 text per encoded word: 45 bytes are 60 base64 characters, so the word with
/// `=?utf-8?B?` and `?=` is 72 characters.
const WORD_BYTES: usize = 45;
/// The recommended longest header line (RFC 5322 section 2.1.1).
const FOLD_AT: usize = 78;

/// Returns `text` as it may stand in header `name`: unchanged when it is printable ASCII without
/// encoded-word markers, else as RFC 2047 B-encoded UTF-8 words, each whole characters. The
/// first word is shorter where needed, so that it fits on the line after `name: `.
fn encoded_text(name: &str, text: &str) -> String {
    let plain = text.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !text.contains("=?")
        && text.split(' ').all(|word| word.len() <= 60);
    if plain {
        return text.to_owned();
    }
    // `=?utf-8?B?` and `?=` take 12 characters, and 4 base64 characters carry 3 bytes.
    let first_line_chars = FOLD_AT - name.len() - 2;
    let mut budget = (first_line_chars.saturating_sub(12) / 4 * 3).min(WORD_BYTES);
    let mut words = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for (index, character) in text.char_indices() {
        let next = index + character.len_utf8();
        if next - start > budget {
            budget = WORD_BYTES;
            words.push(encoded_word(&text[start..end]));
            start = index;
        }
        end = next;
    }
    if start < text.len() {
        words.push(encoded_word(&text[start..]));
    }
    words.join(" ")
}

fn encoded_word(text: &str) -> String {
    format!("=?utf-8?B?{}?=", STANDARD.encode(text))
}

/// Builds the From value: the display name (plain or encoded) and the address.
fn from_value(name: &str, address: &str) -> String {
    let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ');
    match name {
        "" => address.to_owned(),
        _ if plain => format!("{name} <{address}>"),
        _ => format!("{} <{address}>", encoded_text("From", name)),
    }
}

/// Writes `name: value`, folding before a word that would make the line longer than 78
/// characters. A word longer than that stays whole on its own line.
fn folded_header(name: &str, value: &str) -> String {
    let mut header = format!("{name}:");
    let mut line = header.len();
    for word in value.split(' ').filter(|word| !word.is_empty()) {
        if line + 1 + word.len() > FOLD_AT && line > name.len() + 1 {
            header.push_str("\r\n");
            line = 0;
        }
        header.push(' ');
        header.push_str(word);
        line += 1 + word.len();
    }
    header.push_str("\r\n");
    header
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
    fn long_subject_folds_into_short_whole_words() {
        let subject =
            "【新着】渋谷区 2LDK 賃料9.8万円 駅徒歩5分 ペット可 南向き角部屋のご案内".repeat(12);
        let composed = compose(&envelope(), &rendered(&subject, "本文")).unwrap();
        let block = composed.headers.replace("\r\n ", " ");
        let value = block
            .split("\r\n")
            .find_map(|line| line.strip_prefix("Subject: "))
            .unwrap();
        let mut decoded = Vec::new();
        for word in value.split(' ') {
            assert!(word.len() <= 75, "{word}");
            let payload = word
                .strip_prefix("=?utf-8?B?")
                .unwrap()
                .strip_suffix("?=")
                .unwrap();
            let bytes = STANDARD.decode(payload).unwrap();
            assert!(
                std::str::from_utf8(&bytes).is_ok(),
                "a word splits a character"
            );
            decoded.extend(bytes);
        }
        assert_eq!(String::from_utf8(decoded).unwrap(), subject);
        for line in composed.headers.split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
    }

    #[test]
    fn display_name_is_encoded_and_address_stays_plain() {
        let mut sender = envelope();
        sender.from_name = "サンプル不動産 渋谷店（担当：山田）";
        sender.from_address = "info@example.jp";
        let composed = compose(&sender, &rendered("subject", "本文")).unwrap();
        let from = composed
            .headers
            .replace("\r\n ", " ")
            .split("\r\n")
            .find_map(|line| line.strip_prefix("From: ").map(str::to_owned))
            .unwrap();
        assert!(from.ends_with(" <info@example.jp>"), "{from}");
        assert!(from.starts_with("=?utf-8?B?"), "{from}");
        assert!(composed.headers.contains("Subject: subject\r\n"));
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
