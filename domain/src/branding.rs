//! A tenant's branding on its member pages: a logo and two colours. Colours are checked and
//! stored as `#rrggbb`; the text drawn on them is chosen here for contrast, so any colour an
//! operator picks stays readable. Logos are stored in the database (no image host needed) and
//! accepted only as PNG, JPEG, GIF or WebP, recognised by their first bytes: SVG can carry
//! scripts and is refused.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set, sea_query::OnConflict};

use crate::{
    Problem, TenantId, ValidationError,
    entities::{tenant, tenant_logo},
    error::Result,
    tenants,
};

/// The largest logo accepted, in KiB. A header logo needs far less.
pub const MAX_LOGO_KIB: usize = 256;

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Color {
    pub red: u8,
    pub green: u8,
    pub blue: u8,
}

impl Color {
    pub const WHITE: Color = Color::rgb(0xff, 0xff, 0xff);
    /// The dashboard's text colour, used on light backgrounds.
    pub const INK: Color = Color::rgb(0x25, 0x28, 0x2d);

    pub const fn rgb(red: u8, green: u8, blue: u8) -> Self {
        Self { red, green, blue }
    }

    /// Reads `#rrggbb` or `#rgb`, in either case, with or without the `#`.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.trim();
        let hex = hex.strip_prefix('#').unwrap_or(hex);
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok();
        let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        match hex.len() {
            3 => Some(Self::rgb(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
            6 => Some(Self::rgb(pair(0)?, pair(2)?, pair(4)?)),
            _ => None,
        }
    }

    /// Writes the colour as `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.red, self.green, self.blue)
    }

    /// Computes the relative luminance of WCAG 2.
    fn luminance(self) -> f64 {
        let channel = |value: u8| {
            let c = f64::from(value) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.red) + 0.7152 * channel(self.green) + 0.0722 * channel(self.blue)
    }

    /// Computes the WCAG 2 contrast ratio between two colours, from 1 to 21.
    pub fn contrast(self, other: Color) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// Picks white or dark text, whichever reads better on this colour.
    pub fn ink(self) -> Color {
        if self.contrast(Color::WHITE) >= self.contrast(Color::INK) {
            Color::WHITE
        } else {
            Color::INK
        }
    }

    /// Mixes the colour with black; `amount` 0 keeps it, 1 gives black.
    pub fn darken(self, amount: f64) -> Color {
        let keep = (1.0 - amount).clamp(0.0, 1.0);
        // Stays in 0..=255 because `keep` is in 0..=1.
        let scale = |value: u8| (f64::from(value) * keep).round() as u8;
        Color::rgb(scale(self.red), scale(self.green), scale(self.blue))
    }

    /// Darkens the colour as little as needed to reach `ratio` against white, so that link
    /// text on the white page stays readable whatever the brand colour.
    pub fn readable_on_white(self, ratio: f64) -> Color {
        let mut amount = 0.0;
        let mut color = self;
        while color.contrast(Color::WHITE) < ratio && amount < 1.0 {
            amount += 0.05;
            color = self.darken(amount);
        }
        color
    }
}

/// The branding a member page is drawn with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Branding {
    pub brand_color: Option<Color>,
    pub header_color: Option<Color>,
    /// When the logo was last replaced, which versions its URL; none without a logo.
    pub logo_updated_at: Option<DateTime<Utc>>,
}

impl Branding {
    pub fn of(tenant: &tenant::Model) -> Self {
        Self {
            brand_color: tenant.brand_color.as_deref().and_then(Color::parse),
            header_color: tenant.header_color.as_deref().and_then(Color::parse),
            logo_updated_at: tenant.logo_updated_at,
        }
    }

    /// Writes the CSS custom properties that apply the colours, for a `style` attribute; empty
    /// when the tenant keeps Tayori's colours. Contains only `#rrggbb` values.
    pub fn css_variables(&self) -> String {
        let mut css = String::new();
        if let Some(brand) = self.brand_color {
            css.push_str(&format!(
                "--accent:{};--accent-strong:{};--on-accent:{};--link:{};",
                brand.hex(),
                brand.darken(0.15).hex(),
                brand.ink().hex(),
                brand.readable_on_white(4.5).hex(),
            ));
        }
        if let Some(header) = self.header_color {
            css.push_str(&format!(
                "--header-bg:{};--header-ink:{};",
                header.hex(),
                header.ink().hex()
            ));
        }
        css
    }
}

/// Reads a colour field: empty means "Tayori's colour".
fn color_field(field: &str, value: &str) -> Result<Option<Color>> {
    match value.trim() {
        "" => Ok(None),
        text => Color::parse(text)
            .map(Some)
            .ok_or_else(|| ValidationError::new(field, Some(text), Problem::NotAColor).into()),
    }
}

/// Sets the tenant's colours. `None` leaves a colour as it is; an empty text resets it to
/// Tayori's.
pub async fn set_colors(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    brand_color: Option<&str>,
    header_color: Option<&str>,
) -> Result<tenant::Model> {
    let brand = brand_color
        .map(|text| color_field("brandColor", text))
        .transpose()?;
    let header = header_color
        .map(|text| color_field("headerColor", text))
        .transpose()?;
    let mut active: tenant::ActiveModel = tenants::get(db, tenant_id).await?.into();
    if let Some(brand) = brand {
        active.brand_color = Set(brand.map(Color::hex));
    }
    if let Some(header) = header {
        active.header_color = Set(header.map(Color::hex));
    }
    let tenant = active.update(db).await?;
    tracing::info!(tenant.id = %tenant_id, "brand colours set");
    Ok(tenant)
}

/// Recognises the image types a logo may have by the bytes a file of the type starts with.
fn image_type(image: &[u8]) -> Option<&'static str> {
    if image.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if image.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if image.starts_with(b"GIF87a") || image.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if image.len() >= 12 && image.starts_with(b"RIFF") && &image[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Stores `image_base64` as the tenant's logo: the file's bytes in standard base64, as a
/// browser's `FileReader` or `base64 -w0` gives them. A `data:` URL prefix is accepted.
pub async fn set_logo(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    image_base64: &str,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    const FIELD: &str = "image";
    let text = image_base64.trim();
    let text = text.split_once(";base64,").map_or(text, |(_, data)| data);
    let too_large = |bytes: usize| {
        let problem = Problem::ImageTooLarge {
            max_kib: MAX_LOGO_KIB,
            size_kib: bytes.div_ceil(1024),
        };
        ValidationError::new(FIELD, None, problem)
    };
    // Checked before decoding so that an oversized upload is not decoded at all.
    let estimate = text.len() / 4 * 3;
    if estimate > MAX_LOGO_KIB * 1024 + 2 {
        return Err(too_large(estimate).into());
    }
    let image = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|_| ValidationError::new(FIELD, None, Problem::NotBase64))?;
    if image.len() > MAX_LOGO_KIB * 1024 {
        return Err(too_large(image.len()).into());
    }
    let content_type = image_type(&image)
        .ok_or_else(|| ValidationError::new(FIELD, None, Problem::UnsupportedImage))?;

    let tx = crate::db::begin_write(db).await?;
    let mut active: tenant::ActiveModel = tenants::get(&tx, tenant_id).await?.into();
    tenant_logo::Entity::insert(tenant_logo::ActiveModel {
        tenant_id: Set(tenant_id.0),
        content_type: Set(content_type.to_owned()),
        image: Set(image),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(tenant_logo::Column::TenantId)
            .update_columns([
                tenant_logo::Column::ContentType,
                tenant_logo::Column::Image,
                tenant_logo::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(&tx)
    .await?;
    active.logo_updated_at = Set(Some(now));
    let tenant = active.update(&tx).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, content_type, "logo set");
    Ok(tenant)
}

/// Removes the tenant's logo; the member pages show the tenant's name alone again.
pub async fn remove_logo(db: &DatabaseConnection, tenant_id: TenantId) -> Result<tenant::Model> {
    let tx = crate::db::begin_write(db).await?;
    let mut active: tenant::ActiveModel = tenants::get(&tx, tenant_id).await?.into();
    tenant_logo::Entity::delete_by_id(tenant_id.0)
        .exec(&tx)
        .await?;
    active.logo_updated_at = Set(None);
    let tenant = active.update(&tx).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant_id, "logo removed");
    Ok(tenant)
}

/// Loads the tenant's logo, if it has one.
pub async fn logo(
    db: &DatabaseConnection,
    tenant_id: TenantId,
) -> Result<Option<tenant_logo::Model>> {
    Ok(tenant_logo::Entity::find_by_id(tenant_id.0).one(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_in_long_and_short_form() {
        assert_eq!(Color::parse("#1A6b8f"), Some(Color::rgb(0x1a, 0x6b, 0x8f)));
        assert_eq!(Color::parse("fff"), Some(Color::WHITE));
        assert_eq!(Color::parse(" #abc "), Some(Color::rgb(0xaa, 0xbb, 0xcc)));
        for bad in ["", "#", "#12345", "#1234567", "red", "#ggg", "#ａｂｃ"] {
            assert_eq!(Color::parse(bad), None, "{bad:?} parsed");
        }
    }

    #[test]
    fn ink_contrasts_with_dark_and_light_colours() {
        assert_eq!(Color::parse("#1a3a5c").map(Color::ink), Some(Color::WHITE));
        assert_eq!(Color::parse("#ffd400").map(Color::ink), Some(Color::INK));
    }

    #[test]
    fn contrast_matches_the_wcag_extremes() {
        let black = Color::rgb(0, 0, 0);
        assert!((black.contrast(Color::WHITE) - 21.0).abs() < 1e-9);
        assert!((Color::WHITE.contrast(Color::WHITE) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn readable_on_white_darkens_light_colours() {
        let yellow = Color::rgb(0xff, 0xd4, 0x00);
        assert!(yellow.contrast(Color::WHITE) < 4.5);
        let link = yellow.readable_on_white(4.5);
        assert!(link.contrast(Color::WHITE) >= 4.5);
        let navy = Color::rgb(0x1a, 0x3a, 0x5c);
        assert_eq!(navy.readable_on_white(4.5), navy);
    }

    #[test]
    fn css_variables_hold_only_hex_colours() {
        let branding = Branding {
            brand_color: Color::parse("#ffd400"),
            header_color: Color::parse("#123"),
            logo_updated_at: None,
        };
        let css = branding.css_variables();
        assert!(css.starts_with("--accent:#ffd400;"), "{css}");
        assert!(
            css.contains("--header-bg:#112233;--header-ink:#ffffff;"),
            "{css}"
        );
        assert!(
            css.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-:;#".contains(c)),
            "{css}"
        );
        assert_eq!(Branding::default().css_variables(), "");
    }

    #[test]
    fn logos_are_recognised_by_their_first_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a..."), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(
            image_type(b"<svg xmlns=\"http://www.w3.org/2000/svg\">"),
            None
        );
        assert_eq!(image_type(b""), None);
    }
}
