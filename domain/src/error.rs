//! The domain's error type. Each variant maps to one GraphQL error code; internal causes are kept
//! for the log and never shown to a client.

use crate::Locale;

/// What a caller did wrong or why an operation could not be done.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid credentials came with the request.
    #[error("authentication required")]
    Unauthenticated,
    /// The email, password or tenant slug did not match. Deliberately vague.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The credentials are valid but lack the role or scope for the operation.
    #[error("forbidden")]
    Forbidden,
    /// The resource does not exist for the caller's tenant (also for other tenants' ids).
    #[error("{0:?} not found")]
    NotFound(Resource),
    /// An input value was rejected.
    #[error("invalid value for {}: {:?}", .0.field, .0.problem)]
    Validation(ValidationError),
    /// Too many attempts; retry after the given number of seconds.
    #[error("rate limited for {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// An unexpected failure (database, queue). Logged with its chain, shown as an opaque message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for Error {
    fn from(error: sea_orm::DbErr) -> Self {
        Error::Internal(anyhow::Error::new(error))
    }
}

/// The kinds of record a caller can look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Tenant,
    Operator,
    ApiKey,
    Listing,
    ListingImport,
    Member,
    MatchRule,
    Delivery,
    Sender,
    Sequence,
    Step,
    Broadcast,
}

/// A rejected input value: which field, the value as given, and the problem with it.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    pub field: String,
    pub value: Option<String>,
    pub problem: Problem,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, value: Option<&str>, problem: Problem) -> Self {
        Self {
            field: field.into(),
            // Long values are cut so that one bad row cannot flood a response or a log.
            value: value.map(|v| truncate_chars(v, 200)),
            problem,
        }
    }
}

impl From<ValidationError> for Error {
    fn from(error: ValidationError) -> Self {
        Error::Validation(error)
    }
}

/// Why a value was rejected. Each problem has a message in every locale.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Required,
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    InvalidSlug,
    SlugTaken,
    InvalidEmail,
    EmailTaken,
    InvalidFieldName,
    DuplicateFieldName,
    UnknownFieldType,
    OptionsRequired,
    UnknownField,
    NotANumber,
    NotADate,
    NotAGeoPoint,
    /// Not a local time written as HH:MM.
    NotATime,
    /// Not an event name: lowercase letters, digits and `_`, starting with a letter.
    InvalidEventName,
    /// Too many steps were inserted at the same place; move or remove one first.
    NoRoomForStep,
    /// Not an IANA time zone name.
    UnknownTimeZone,
    /// The current password given to change it is not the member's password.
    WrongPassword,
    /// A checkbox that must be ticked, such as the consent to receive mail, was not.
    MustAgree,
    /// The field does not apply together with `other`, such as a time of day for a step timed
    /// after the previous one.
    NotUsedWith {
        other: &'static str,
    },
    /// An address whose local part has consecutive dots or a dot at either end, which the
    /// tenant does not accept.
    NonStandardAddress,
    /// Not a colour written as `#rrggbb` or `#rgb`.
    NotAColor,
    /// A send time that has passed already.
    InThePast,
    /// Not a local date and time written as `YYYY-MM-DDTHH:MM`.
    NotALocalDateTime,
    /// A local time that does not exist in the time zone, skipped when the clocks go forward.
    SkippedLocalTime {
        time_zone: String,
    },
    /// The broadcast was queued or cancelled already and cannot change.
    BroadcastNotScheduled,
    /// The member has not confirmed the sign-up, so only the member can start their mail.
    NotConfirmed,
    /// Neither this field nor `other` was given; one of them is needed.
    OneOfRequired {
        other: &'static str,
    },
    /// A mail part without `{{ unsubscribe_url }}`.
    UnsubscribeLinkMissing {
        part: &'static str,
    },
    /// Not base64 text.
    NotBase64,
    /// Not a PNG, JPEG, GIF or WebP image.
    UnsupportedImage,
    /// The image is over `max_kib` KiB.
    ImageTooLarge {
        max_kib: usize,
        size_kib: usize,
    },
    NotText,
    NotTags,
    /// `allowed` contains each option as (stored value, Japanese label, English label).
    UnknownOption {
        allowed: Vec<(String, String, String)>,
    },
    DuplicateExternalId {
        first_index: usize,
    },
    UnknownColumn,
    MalformedCsv {
        reason: String,
    },
    TooManyRecords {
        max: usize,
    },
    NoScopes,
    CannotGrantOwner,
    NotAnObject,
    InvalidCursor,
    UnknownProfileField,
    /// The value is not an id this API gave out.
    InvalidId,
    OutOfRange {
        min: i64,
        max: i64,
    },
    /// The operator cannot compare a field of this type; `allowed` lists the operators that can.
    OperatorNotAllowed {
        allowed: Vec<&'static str>,
    },
    /// A clause needs exactly one of a profile field and a constant value.
    OperandRequired,
    TemplateSyntax {
        part: &'static str,
        line: Option<usize>,
        detail: String,
    },
    /// The sender could not connect, log in or send with these settings. `code` is the
    /// transport's fault code; the messages say what to change.
    SenderCheckFailed {
        code: &'static str,
        ja: String,
        en: String,
    },
}

impl Error {
    /// The stable code sent to clients in `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated | Error::InvalidCredentials => "UNAUTHENTICATED",
            Error::Forbidden => "FORBIDDEN",
            Error::NotFound(_) => "NOT_FOUND",
            Error::Validation(_) => "VALIDATION",
            Error::RateLimited { .. } => "RATE_LIMITED",
            Error::Internal(_) => "INTERNAL",
        }
    }

    /// The message for a person, in their language. Never contains an internal cause.
    pub fn message(&self, locale: Locale) -> String {
        match self {
            Error::Unauthenticated => locale
                .pick(
                    "ログインが必要です。もう一度ログインしてください。",
                    "You need to log in. Please log in again.",
                )
                .to_owned(),
            Error::InvalidCredentials => locale
                .pick(
                    "事業者ID、メールアドレスまたはパスワードが正しくありません。",
                    "The business ID, email address or password is incorrect.",
                )
                .to_owned(),
            Error::Forbidden => locale
                .pick(
                    "この操作を行う権限がありません。オーナーまたは管理者に依頼してください。",
                    "You do not have permission for this. Ask an owner or admin.",
                )
                .to_owned(),
            Error::NotFound(resource) => not_found_message(*resource, locale),
            Error::Validation(error) => error.message(locale),
            Error::RateLimited { retry_after_secs } => match locale {
                Locale::Ja => format!(
                    "試行回数が多すぎます。{}秒後にもう一度お試しください。",
                    retry_after_secs
                ),
                Locale::En => {
                    format!("Too many attempts. Try again in {retry_after_secs} seconds.")
                }
            },
            Error::Internal(_) => locale
                .pick(
                    "サーバーで問題が発生しました。しばらくしてからもう一度お試しください。",
                    "Something went wrong on the server. Please try again shortly.",
                )
                .to_owned(),
        }
    }
}

fn not_found_message(resource: Resource, locale: Locale) -> String {
    let (ja, en) = match resource {
        Resource::Tenant => ("事業者", "business"),
        Resource::Operator => ("運営者", "operator"),
        Resource::ApiKey => ("APIキー", "API key"),
        Resource::Listing => ("掲載情報", "listing"),
        Resource::ListingImport => ("インポート", "import"),
        Resource::Member => ("会員", "member"),
        Resource::MatchRule => ("マッチング条件", "match rule"),
        Resource::Delivery => ("配信", "delivery"),
        Resource::Sender => ("送信元", "sender"),
        Resource::Sequence => ("ステップメール", "sequence"),
        Resource::Step => ("ステップ", "step"),
        Resource::Broadcast => ("お知らせ", "broadcast"),
    };
    match locale {
        Locale::Ja => format!("指定された{ja}が見つかりません。"),
        Locale::En => format!("The {en} was not found."),
    }
}

impl ValidationError {
    /// A sentence naming the field and the value, and saying what to do instead.
    pub fn message(&self, locale: Locale) -> String {
        let field = form_label(&self.field, locale).unwrap_or(&self.field);
        let value = self.value.as_deref().unwrap_or("");
        match locale {
            Locale::Ja => self.message_ja(field, value),
            Locale::En => self.message_en(field, value),
        }
    }

    fn message_ja(&self, field: &str, value: &str) -> String {
        match &self.problem {
            Problem::SenderCheckFailed { ja, .. } => ja.clone(),
            Problem::Required => format!("「{field}」は必須です。値を入力してください。"),
            Problem::TooShort { min } => {
                format!("「{field}」は{min}文字以上で入力してください。")
            }
            Problem::TooLong { max } => format!("「{field}」は{max}文字以内で入力してください。"),
            Problem::InvalidSlug => format!(
                "「{field}」の値「{value}」は使えません。半角英小文字・数字・ハイフンの3〜40文字で、先頭と末尾は英数字にしてください。"
            ),
            Problem::SlugTaken => {
                format!("事業者ID「{value}」は既に使われています。別のIDを選んでください。")
            }
            Problem::InvalidEmail => format!(
                "「{field}」の値「{value}」はメールアドレスとして正しくありません。例: taro@example.jp"
            ),
            Problem::EmailTaken => {
                format!("メールアドレス「{value}」は既にこの事業者に登録されています。")
            }
            Problem::InvalidFieldName => format!(
                "項目名「{value}」は使えません。半角英小文字で始まり、英小文字・数字・アンダースコアのみの64文字以内にしてください。"
            ),
            Problem::DuplicateFieldName => format!("項目名「{value}」が重複しています。"),
            Problem::UnknownFieldType => format!("「{field}」の型「{value}」は不明です。"),
            Problem::OptionsRequired => {
                format!("選択肢型の項目「{field}」には選択肢を1つ以上設定してください。")
            }
            Problem::UnknownField => format!(
                "項目「{field}」は掲載項目の設定にありません。掲載項目を追加するか、この項目を外してください。"
            ),
            Problem::NotANumber => format!(
                "「{field}」の値「{value}」を数値として読めません。例: 100000、10万円、9.8万、5.5万円～6.75万円"
            ),
            Problem::NotADate => format!(
                "「{field}」の値「{value}」を日付として読めません。例: 2024-04-01、2024/4/1、2024年4月1日"
            ),
            Problem::NotATime => format!(
                "「{field}」の値「{value}」を時刻として読めません。00:00〜23:59の「時:分」で入力してください。例: 09:30"
            ),
            Problem::InvalidEventName => format!(
                "イベント名「{value}」は使えません。半角英小文字で始まり、英小文字・数字・アンダースコアのみの64文字以内にしてください。例: inquiry_sent"
            ),
            Problem::WrongPassword => "現在のパスワードが正しくありません。".to_owned(),
            Problem::MustAgree => format!("「{field}」にチェックを入れてください。"),
            Problem::NotUsedWith { other } => {
                format!("「{field}」は{other}と一緒には指定できません。この項目を外してください。")
            }
            Problem::NonStandardAddress => format!(
                "「{value}」は、ドットが連続しているか@の直前や先頭にドットがある、規格外のメールアドレスです。古い携帯電話のアドレスに見られますが、メールが届かないことがあります。別のメールアドレスを登録してください。"
            ),
            Problem::InThePast => format!(
                "「{field}」の「{value}」はすでに過ぎています。これから先の日時を指定してください。"
            ),
            Problem::NotALocalDateTime => format!(
                "「{field}」の値「{value}」を日時として読めません。2025-03-20T09:00 のように、実在する日付と時刻をTでつないで入力してください。"
            ),
            Problem::SkippedLocalTime { time_zone } => format!(
                "「{value}」は{time_zone}では夏時間への切り替えで存在しない時刻です。1時間後など、別の時刻を指定してください。"
            ),
            Problem::BroadcastNotScheduled => "このお知らせは配信済みか取り消し済みのため、変更できません。".to_owned(),
            Problem::OneOfRequired { other } => {
                format!("「{field}」か「{}」のどちらかを指定してください。", form_label(other, Locale::Ja).unwrap_or(other))
            }
            Problem::UnsubscribeLinkMissing { part } => format!(
                "{}に配信停止のリンク {{{{ unsubscribe_url }}}} を入れてください。広告・宣伝メールには受信者が配信を停止できる方法の表示が必要です。",
                template_part_ja(part)
            ),
            Problem::NotConfirmed => format!(
                "「{value}」はまだ本登録（確認メールのリンクを開くこと）を済ませていないため、配信を開始できません。本人が確認メールのリンクを開くと配信が始まります。"
            ),
            Problem::NotAColor => format!(
                "「{field}」の値「{value}」は色として読めません。#1a6b8f のように、#に続く16進数6桁（#fd4 のような3桁も可）で入力してください。"
            ),
            Problem::NotBase64 => format!("「{field}」はBase64で符号化した画像データで指定してください。"),
            Problem::UnsupportedImage => format!(
                "「{field}」の画像の形式に対応していません。PNG、JPEG、GIF、WebPのいずれかを選んでください（SVGは使えません）。"
            ),
            Problem::ImageTooLarge { max_kib, size_kib } => format!(
                "「{field}」の画像（{size_kib}KB）が大きすぎます。{max_kib}KB以下に縮小してから、もう一度アップロードしてください。"
            ),
            Problem::UnknownTimeZone => format!(
                "タイムゾーン「{value}」は見つかりません。IANAの名前で入力してください。例: Asia/Tokyo、America/Los_Angeles"
            ),
            Problem::NoRoomForStep => "この位置にはこれ以上ステップを挿入できません。前後のステップを並べ替えるか削除してから、もう一度お試しください。".to_owned(),
            Problem::NotAGeoPoint => format!(
                "「{field}」の値「{value}」を緯度・経度として読めません。緯度は-90〜90、経度は-180〜180の範囲で指定してください。例: 35.6812,139.7671"
            ),
            Problem::NotText => format!("「{field}」には文字列を指定してください。"),
            Problem::NotTags => {
                format!("「{field}」には文字列の配列か、カンマ区切りの文字列を指定してください。")
            }
            Problem::UnknownOption { allowed } => format!(
                "「{field}」の値「{value}」は選択肢にありません。選べる値: {}",
                preview_list(&option_names(allowed, Locale::Ja))
            ),
            Problem::DuplicateExternalId { first_index } => {
                format!("外部ID「{value}」は同じリクエスト内の{first_index}件目と重複しています。")
            }
            Problem::UnknownColumn => {
                format!("CSVに列「{value}」がありません。列名を確認してください。")
            }
            Problem::MalformedCsv { reason } => format!("CSVを読み取れません: {reason}"),
            Problem::TooManyRecords { max } => {
                format!("1回のリクエストで送れるのは{max}件までです。分割して送ってください。")
            }
            Problem::NoScopes => "APIキーの権限を1つ以上選んでください。".to_owned(),
            Problem::CannotGrantOwner => {
                "オーナー権限を付与できるのはオーナーだけです。".to_owned()
            }
            Problem::NotAnObject => format!(
                "「{field}」には項目名をキーにしたJSONオブジェクトを指定してください。例: {{\"price\": 85000}}"
            ),
            Problem::InvalidCursor => {
                format!("「{field}」の値「{value}」は前のページのendCursorではありません。")
            }
            Problem::InvalidId => format!(
                "「{field}」の値「{value}」はIDの形式ではありません。一覧や作成時の応答に含まれるidを指定してください。"
            ),
            Problem::UnknownProfileField => format!(
                "項目「{field}」は希望条件の項目にありません。希望条件の項目を追加するか、この項目を外してください。"
            ),
            Problem::OutOfRange { min, max } => {
                format!("「{field}」の値「{value}」は{min}〜{max}の範囲で指定してください。")
            }
            Problem::OperatorNotAllowed { allowed } => format!(
                "「{field}」には比較方法「{value}」を使えません。使える比較方法: {}",
                allowed.join(", ")
            ),
            Problem::OperandRequired => format!(
                "「{field}」には比較する希望条件の項目か固定値のどちらか一方を指定してください。"
            ),
            Problem::TemplateSyntax { part, line, detail } => format!(
                "テンプレートの{}{}に誤りがあります: {detail}",
                template_part_ja(part),
                line.map(|l| format!("{l}行目")).unwrap_or_default()
            ),
        }
    }

    fn message_en(&self, field: &str, value: &str) -> String {
        match &self.problem {
            Problem::SenderCheckFailed { en, .. } => en.clone(),
            Problem::Required => format!("\"{field}\" is required. Please enter a value."),
            Problem::TooShort { min } => format!("\"{field}\" needs at least {min} characters."),
            Problem::TooLong { max } => format!("\"{field}\" can have at most {max} characters."),
            Problem::InvalidSlug => format!(
                "\"{value}\" is not a valid {field}: use 3 to 40 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
            ),
            Problem::SlugTaken => {
                format!("The business ID \"{value}\" is already taken. Choose another one.")
            }
            Problem::InvalidEmail => format!(
                "\"{value}\" is not a valid email address for \"{field}\". Example: taro@example.jp"
            ),
            Problem::EmailTaken => {
                format!("The email address \"{value}\" is already registered for this business.")
            }
            Problem::InvalidFieldName => format!(
                "The field name \"{value}\" is invalid: start with a lowercase letter and use only lowercase letters, digits and underscores, up to 64 characters."
            ),
            Problem::DuplicateFieldName => format!("The field name \"{value}\" appears twice."),
            Problem::UnknownFieldType => {
                format!("\"{value}\" is not a known type for \"{field}\".")
            }
            Problem::OptionsRequired => {
                format!("The choice field \"{field}\" needs at least one option.")
            }
            Problem::UnknownField => format!(
                "\"{field}\" is not in the listing schema. Add it to the schema or leave it out."
            ),
            Problem::NotANumber => format!(
                "\"{value}\" in \"{field}\" is not a number or a range. Examples: 100000, 10万円, 9.8万, 5.5万円～6.75万円"
            ),
            Problem::NotADate => format!(
                "\"{value}\" in \"{field}\" is not a date. Examples: 2024-04-01, 2024/4/1, 2024年4月1日"
            ),
            Problem::NotATime => format!(
                "\"{value}\" in \"{field}\" is not a time of day. Enter hours and minutes from 00:00 to 23:59, such as 09:30."
            ),
            Problem::InvalidEventName => format!(
                "The event name \"{value}\" is invalid: start with a lowercase letter and use only lowercase letters, digits and underscores, up to 64 characters, such as inquiry_sent."
            ),
            Problem::WrongPassword => "The current password is not correct.".to_owned(),
            Problem::MustAgree => format!("Please tick \"{field}\" to continue."),
            Problem::NotUsedWith { other } => {
                format!("\"{field}\" does not apply with {other}. Leave it out.")
            }
            Problem::NonStandardAddress => format!(
                "\"{value}\" is a non-standard address: its part before the @ has consecutive dots or starts or ends with a dot. Some old mobile carrier addresses look like this, and mail to them may not arrive. Please register another address."
            ),
            Problem::InThePast => format!(
                "\"{value}\" in \"{field}\" has passed already. Choose a time in the future."
            ),
            Problem::NotALocalDateTime => format!(
                "\"{value}\" in \"{field}\" is not a date and time. Write a real date and a time joined by T, such as 2025-03-20T09:00."
            ),
            Problem::SkippedLocalTime { time_zone } => format!(
                "\"{value}\" does not exist in {time_zone}: the clocks skip it when daylight saving time starts. Choose another time, such as an hour later."
            ),
            Problem::BroadcastNotScheduled => "This broadcast was queued or cancelled already and cannot change.".to_owned(),
            Problem::OneOfRequired { other } => {
                format!("Give either \"{field}\" or \"{}\".", form_label(other, Locale::En).unwrap_or(other))
            }
            Problem::UnsubscribeLinkMissing { part } => format!(
                "Put the unsubscribe link {{{{ unsubscribe_url }}}} in the {} part. Advertising mail must show its recipients how to stop it.",
                if *part == "html" { "HTML" } else { "text" }
            ),
            Problem::NotConfirmed => format!(
                "\"{value}\" has not confirmed the sign-up (opened the link in the confirmation mail) yet, so their mail cannot be started. It starts when they open that link."
            ),
            Problem::NotAColor => format!(
                "\"{value}\" in \"{field}\" is not a colour. Enter # followed by six hexadecimal digits, such as #1a6b8f (three, as in #fd4, also work)."
            ),
            Problem::NotBase64 => format!("\"{field}\" must be image data encoded as base64."),
            Problem::UnsupportedImage => format!(
                "The image in \"{field}\" is not in a supported format. Choose a PNG, JPEG, GIF or WebP file (SVG is not accepted)."
            ),
            Problem::ImageTooLarge { max_kib, size_kib } => format!(
                "The image in \"{field}\" ({size_kib} KB) is too large. Shrink it to {max_kib} KB or less and upload it again."
            ),
            Problem::UnknownTimeZone => format!(
                "The time zone \"{value}\" was not found. Enter an IANA name such as Asia/Tokyo or America/Los_Angeles."
            ),
            Problem::NoRoomForStep => "No more steps can be inserted at this place. Reorder or remove the steps around it, then try again.".to_owned(),
            Problem::NotAGeoPoint => format!(
                "\"{value}\" in \"{field}\" is not a latitude and longitude: latitude must be within -90 to 90 and longitude within -180 to 180. Example: 35.6812,139.7671"
            ),
            Problem::NotText => format!("\"{field}\" must be a string."),
            Problem::NotTags => {
                format!("\"{field}\" must be an array of strings or a comma-separated string.")
            }
            Problem::UnknownOption { allowed } => format!(
                "\"{value}\" is not one of the options of \"{field}\". Allowed: {}",
                preview_list(&option_names(allowed, Locale::En))
            ),
            Problem::DuplicateExternalId { first_index } => format!(
                "The external id \"{value}\" already appears in record {first_index} of this request."
            ),
            Problem::UnknownColumn => {
                format!("The CSV has no column \"{value}\". Check the column name.")
            }
            Problem::MalformedCsv { reason } => format!("The CSV could not be read: {reason}"),
            Problem::TooManyRecords { max } => {
                format!("At most {max} records fit in one request. Split the request.")
            }
            Problem::NoScopes => "Choose at least one scope for the API key.".to_owned(),
            Problem::CannotGrantOwner => "Only an owner can grant the owner role.".to_owned(),
            Problem::NotAnObject => format!(
                "\"{field}\" must be a JSON object keyed by field name, for example {{\"price\": 85000}}."
            ),
            Problem::InvalidCursor => {
                format!("\"{value}\" in \"{field}\" is not the endCursor of a previous page.")
            }
            Problem::InvalidId => format!(
                "\"{value}\" in \"{field}\" is not an id. Use an id returned by a list or create operation."
            ),
            Problem::UnknownProfileField => format!(
                "\"{field}\" is not a profile field. Add it to the profile fields or leave it out."
            ),
            Problem::OutOfRange { min, max } => {
                format!("\"{value}\" in \"{field}\" must be between {min} and {max}.")
            }
            Problem::OperatorNotAllowed { allowed } => format!(
                "The operator \"{value}\" cannot compare \"{field}\". Allowed: {}",
                allowed.join(", ")
            ),
            Problem::OperandRequired => format!(
                "\"{field}\" needs either a profile field or a constant value to compare with, not both."
            ),
            Problem::TemplateSyntax { part, line, detail } => format!(
                "The {part} template has an error{}: {detail}",
                line.map(|l| format!(" on line {l}")).unwrap_or_default()
            ),
        }
    }

    /// The stable code of the problem, for clients that branch on it.
    pub fn problem_code(&self) -> &'static str {
        match self.problem {
            Problem::Required => "REQUIRED",
            Problem::TooShort { .. } => "TOO_SHORT",
            Problem::TooLong { .. } => "TOO_LONG",
            Problem::InvalidSlug => "INVALID_SLUG",
            Problem::SlugTaken => "SLUG_TAKEN",
            Problem::InvalidEmail => "INVALID_EMAIL",
            Problem::EmailTaken => "EMAIL_TAKEN",
            Problem::InvalidFieldName => "INVALID_FIELD_NAME",
            Problem::DuplicateFieldName => "DUPLICATE_FIELD_NAME",
            Problem::UnknownFieldType => "UNKNOWN_FIELD_TYPE",
            Problem::OptionsRequired => "OPTIONS_REQUIRED",
            Problem::UnknownField => "UNKNOWN_FIELD",
            Problem::NotANumber => "NOT_A_NUMBER",
            Problem::NotADate => "NOT_A_DATE",
            Problem::NotAGeoPoint => "NOT_A_GEO_POINT",
            Problem::NotATime => "NOT_A_TIME",
            Problem::InvalidEventName => "INVALID_EVENT_NAME",
            Problem::NoRoomForStep => "NO_ROOM_FOR_STEP",
            Problem::UnknownTimeZone => "UNKNOWN_TIME_ZONE",
            Problem::WrongPassword => "WRONG_PASSWORD",
            Problem::MustAgree => "MUST_AGREE",
            Problem::NotUsedWith { .. } => "NOT_USED_WITH",
            Problem::NonStandardAddress => "NON_STANDARD_ADDRESS",
            Problem::NotAColor => "NOT_A_COLOR",
            Problem::InThePast => "IN_THE_PAST",
            Problem::NotALocalDateTime => "NOT_A_LOCAL_DATE_TIME",
            Problem::SkippedLocalTime { .. } => "SKIPPED_LOCAL_TIME",
            Problem::BroadcastNotScheduled => "BROADCAST_NOT_SCHEDULED",
            Problem::NotConfirmed => "NOT_CONFIRMED",
            Problem::UnsubscribeLinkMissing { .. } => "UNSUBSCRIBE_LINK_MISSING",
            Problem::OneOfRequired { .. } => "ONE_OF_REQUIRED",
            Problem::NotBase64 => "NOT_BASE64",
            Problem::UnsupportedImage => "UNSUPPORTED_IMAGE",
            Problem::ImageTooLarge { .. } => "IMAGE_TOO_LARGE",
            Problem::NotText => "NOT_TEXT",
            Problem::NotTags => "NOT_TAGS",
            Problem::UnknownOption { .. } => "UNKNOWN_OPTION",
            Problem::DuplicateExternalId { .. } => "DUPLICATE_EXTERNAL_ID",
            Problem::UnknownColumn => "UNKNOWN_COLUMN",
            Problem::MalformedCsv { .. } => "MALFORMED_CSV",
            Problem::TooManyRecords { .. } => "TOO_MANY_RECORDS",
            Problem::NoScopes => "NO_SCOPES",
            Problem::CannotGrantOwner => "CANNOT_GRANT_OWNER",
            Problem::NotAnObject => "NOT_AN_OBJECT",
            Problem::InvalidCursor => "INVALID_CURSOR",
            Problem::UnknownProfileField => "UNKNOWN_PROFILE_FIELD",
            Problem::InvalidId => "INVALID_ID",
            Problem::OutOfRange { .. } => "OUT_OF_RANGE",
            Problem::OperatorNotAllowed { .. } => "OPERATOR_NOT_ALLOWED",
            Problem::OperandRequired => "OPERAND_REQUIRED",
            Problem::TemplateSyntax { .. } => "TEMPLATE_SYNTAX",
            Problem::SenderCheckFailed { .. } => "SENDER_CHECK_FAILED",
        }
    }
}

/// The label shown for an input of the sign-up, login and operator forms, so that
/// messages name `tenantSlug` as 事業者ID. Other fields (listing fields) keep their name.
fn form_label(field: &str, locale: Locale) -> Option<&'static str> {
    let (ja, en) = match field {
        "tenantName" => ("事業者名", "business name"),
        "tenantSlug" => ("事業者ID", "business ID"),
        "email" => ("メールアドレス", "email address"),
        "password" => ("パスワード", "password"),
        "consent" => ("メール受信への同意", "consent to receive mail"),
        "currentPassword" => ("現在のパスワード", "current password"),
        "timeZone" => ("タイムゾーン", "time zone"),
        "frequency" => ("配信頻度", "mail frequency"),
        "sendAt" => (
            "配信日時（時差つき、sendAt）",
            "send time with offset (sendAt)",
        ),
        "localSendAt" => (
            "配信日時（事業者のタイムゾーン、localSendAt）",
            "local send time (localSendAt)",
        ),
        _ => return None,
    };
    Some(locale.pick(ja, en))
}

fn template_part_ja(part: &str) -> &'static str {
    match part {
        "subject" => "件名",
        "html" => "HTML本文",
        _ => "テキスト本文",
    }
}

/// Each option as the stored value with its label in `locale`: `Shinjuku Ku (新宿区)`.
fn option_names(allowed: &[(String, String, String)], locale: Locale) -> Vec<String> {
    allowed
        .iter()
        .map(|(value, ja, en)| {
            let label = locale.pick(ja, en);
            if label == value {
                value.clone()
            } else {
                format!("{value} ({label})")
            }
        })
        .collect()
}

fn preview_list(values: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = values
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if values.len() > SHOWN {
        text.push_str(&format!(", … (+{})", values.len() - SHOWN));
    }
    text
}

/// Cuts a string to at most `max` characters, never inside a character.
pub fn truncate_chars(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

/// Shorthand for the results of domain operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
