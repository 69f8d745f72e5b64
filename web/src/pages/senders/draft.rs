//! The sender form's state as typed, and its conversion to a `SenderInput`.

use super::model::{
    MailgunInput, MailgunRegion, RateLimits, Sender, SenderInput, SenderKind, SmtpInput, SmtpTls,
};
use crate::i18n::Catalogue;

/// The port a new SMTP sender starts with: the submission port, which most providers use.
const DEFAULT_SMTP_PORT: &str = "587";

/// A problem found in the browser before sending the form, named by the input field the server
/// uses for the same value (`smtpPort`, `perMinute`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftError {
    pub field: &'static str,
    pub message: &'static str,
}

/// Every input of the sender form, as text where the operator types numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct SenderDraft {
    pub name: String,
    pub from_address: String,
    pub from_name: String,
    pub kind: SenderKind,
    pub smtp_host: String,
    pub smtp_port: String,
    pub smtp_tls: SmtpTls,
    pub smtp_username: String,
    /// Empty keeps the stored password when editing.
    pub smtp_password: String,
    pub mailgun_domain: String,
    pub mailgun_region: MailgunRegion,
    /// Empty keeps the stored key when editing.
    pub mailgun_api_key: String,
    /// Empty keeps the stored key when editing.
    pub mailgun_webhook_key: String,
    pub per_minute: String,
    pub per_hour: String,
    pub per_day: String,
}

impl Default for SenderDraft {
    fn default() -> Self {
        Self {
            name: String::new(),
            from_address: String::new(),
            from_name: String::new(),
            kind: SenderKind::Smtp,
            smtp_host: String::new(),
            smtp_port: DEFAULT_SMTP_PORT.to_owned(),
            smtp_tls: SmtpTls::Auto,
            smtp_username: String::new(),
            smtp_password: String::new(),
            mailgun_domain: String::new(),
            mailgun_region: MailgunRegion::Us,
            mailgun_api_key: String::new(),
            mailgun_webhook_key: String::new(),
            per_minute: String::new(),
            per_hour: String::new(),
            per_day: String::new(),
        }
    }
}

impl SenderDraft {
    /// Fills the form from a saved sender. Secrets stay empty, which keeps the stored ones.
    pub fn from_sender(sender: &Sender) -> Self {
        let mut draft = Self {
            name: sender.name.clone(),
            from_address: sender.from_address.clone(),
            from_name: sender.from_name.clone(),
            kind: sender.kind,
            ..Self::default()
        };
        if let Some(smtp) = &sender.smtp {
            draft.smtp_host = smtp.host.clone();
            draft.smtp_port = smtp.port.to_string();
            draft.smtp_tls = smtp.tls;
            draft.smtp_username = smtp.username.clone();
        }
        if let Some(mailgun) = &sender.mailgun {
            draft.mailgun_domain = mailgun.domain.clone();
            draft.mailgun_region = mailgun.region;
        }
        draft.set_limits(sender.limits);
        draft
    }

    /// Replaces the three limit inputs, as choosing a preset does.
    pub fn set_limits(&mut self, limits: RateLimits) {
        let text = |limit: Option<i64>| limit.map(|value| value.to_string()).unwrap_or_default();
        self.per_minute = text(limits.per_minute);
        self.per_hour = text(limits.per_hour);
        self.per_day = text(limits.per_day);
    }

    /// Checks the inputs the server cannot read at all (numbers), and returns one error per
    /// such field. The server checks everything else.
    pub fn problems(&self, t: &Catalogue) -> Vec<DraftError> {
        let mut problems = Vec::new();
        if self.kind == SenderKind::Smtp && parse_port(&self.smtp_port).is_none() {
            problems.push(DraftError {
                field: "smtpPort",
                message: t.sender_port_invalid,
            });
        }
        for (field, text) in [
            ("perMinute", &self.per_minute),
            ("perHour", &self.per_hour),
            ("perDay", &self.per_day),
        ] {
            if parse_limit(text).is_err() {
                problems.push(DraftError {
                    field,
                    message: t.sender_limit_invalid,
                });
            }
        }
        problems
    }

    /// Builds the input for `createSender` or `updateSender`. Returns `None` while
    /// [`SenderDraft::problems`] finds any.
    pub fn to_input(&self) -> Option<SenderInput> {
        let optional_secret = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        let (smtp, mailgun) = match self.kind {
            SenderKind::Mailgun => (
                None,
                Some(MailgunInput {
                    domain: self.mailgun_domain.trim().to_owned(),
                    region: self.mailgun_region,
                    api_key: optional_secret(self.mailgun_api_key.trim()),
                    webhook_signing_key: optional_secret(self.mailgun_webhook_key.trim()),
                }),
            ),
            SenderKind::Smtp | SenderKind::Unknown => (
                Some(SmtpInput {
                    host: self.smtp_host.trim().to_owned(),
                    port: parse_port(&self.smtp_port)?,
                    tls: self.smtp_tls,
                    username: self.smtp_username.trim().to_owned(),
                    // Passwords may begin or end with spaces, so they are sent as typed.
                    password: optional_secret(&self.smtp_password),
                }),
                None,
            ),
        };
        Some(SenderInput {
            name: self.name.trim().to_owned(),
            from_address: self.from_address.trim().to_owned(),
            from_name: self.from_name.trim().to_owned(),
            smtp,
            mailgun,
            limits: RateLimits {
                per_minute: parse_limit(&self.per_minute).ok()?,
                per_hour: parse_limit(&self.per_hour).ok()?,
                per_day: parse_limit(&self.per_day).ok()?,
            },
        })
    }
}

/// Parses a port number from 1 to 65535.
fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse::<u16>().ok().filter(|port| *port > 0)
}

/// Parses a rate limit: empty is unlimited, otherwise a whole number of at least 1 that fits
/// a GraphQL `Int` (32 bits). The server checks its own upper limit.
fn parse_limit(text: &str) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i32>() {
        Ok(value) if value >= 1 => Ok(Some(i64::from(value))),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;
    use crate::pages::senders::model::SmtpSettings;

    fn smtp_draft() -> SenderDraft {
        SenderDraft {
            name: " 本店 ".to_owned(),
            from_address: "info@example.jp".to_owned(),
            smtp_host: " smtp.example.jp ".to_owned(),
            smtp_username: "info".to_owned(),
            smtp_password: " pass word ".to_owned(),
            per_hour: "100".to_owned(),
            ..SenderDraft::default()
        }
    }

    #[test]
    fn smtp_draft_builds_input() {
        let input = smtp_draft()
            .to_input()
            .unwrap_or_else(|| panic!("draft has problems"));
        assert_eq!(input.name, "本店");
        assert!(input.mailgun.is_none());
        let smtp = input.smtp.unwrap_or_else(|| panic!("no smtp input"));
        assert_eq!(smtp.host, "smtp.example.jp");
        assert_eq!(smtp.port, 587);
        assert_eq!(smtp.tls, SmtpTls::Auto);
        assert_eq!(smtp.password.as_deref(), Some(" pass word "));
        assert_eq!(input.limits.per_hour, Some(100));
        assert_eq!(input.limits.per_minute, None);
    }

    #[test]
    fn empty_secrets_are_left_out() {
        let mut draft = smtp_draft();
        draft.smtp_password = String::new();
        let smtp = draft.to_input().and_then(|input| input.smtp);
        assert_eq!(smtp.map(|smtp| smtp.password), Some(None));

        draft.kind = SenderKind::Mailgun;
        draft.mailgun_domain = "mg.example.jp".to_owned();
        let input = draft
            .to_input()
            .unwrap_or_else(|| panic!("draft has problems"));
        assert!(input.smtp.is_none());
        let mailgun = input.mailgun.unwrap_or_else(|| panic!("no mailgun input"));
        assert_eq!(mailgun.api_key, None);
        assert_eq!(mailgun.webhook_signing_key, None);
    }

    #[test]
    fn bad_numbers_are_problems() {
        let t = Locale::Ja.catalogue();
        let mut draft = smtp_draft();
        draft.smtp_port = "70000".to_owned();
        draft.per_minute = "0".to_owned();
        draft.per_day = "多め".to_owned();
        let fields: Vec<&str> = draft
            .problems(t)
            .iter()
            .map(|problem| problem.field)
            .collect();
        assert_eq!(fields, ["smtpPort", "perMinute", "perDay"]);
        assert_eq!(draft.to_input(), None);
    }

    #[test]
    fn mailgun_draft_ignores_smtp_port() {
        let mut draft = smtp_draft();
        draft.kind = SenderKind::Mailgun;
        draft.smtp_port = String::new();
        assert!(draft.problems(Locale::En.catalogue()).is_empty());
    }

    #[test]
    fn saved_sender_fills_draft_without_secrets() {
        let sender = Sender {
            id: "1".to_owned(),
            name: "本店".to_owned(),
            kind: SenderKind::Smtp,
            from_address: "info@example.jp".to_owned(),
            from_name: "さくら不動産".to_owned(),
            smtp: Some(SmtpSettings {
                host: "smtp.example.jp".to_owned(),
                port: 465,
                tls: SmtpTls::Implicit,
                username: "info".to_owned(),
            }),
            mailgun: None,
            limits: RateLimits {
                per_minute: Some(12),
                per_hour: None,
                per_day: None,
            },
            paused: None,
            active: false,
            created_at: "2026-01-01T00:00:00Z".to_owned(),
        };
        let draft = SenderDraft::from_sender(&sender);
        assert_eq!(draft.smtp_port, "465");
        assert_eq!(draft.smtp_tls, SmtpTls::Implicit);
        assert_eq!(draft.smtp_password, "");
        assert_eq!(draft.per_minute, "12");
        assert_eq!(draft.per_hour, "");
    }
}
