//! The member-page settings of the tenant, the requests that change them, and the colour
//! arithmetic of the live preview.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, ApiError};

/// The largest logo the server accepts, in KiB; checked here too so that a large file is not
/// sent at all.
pub const MAX_LOGO_KIB: f64 = 256.0;

const SETTINGS_FIELDS: &str =
    "signupUrl logoUrl brandColor headerColor acceptsNonstandardAddresses";

/// The settings the page shows and edits.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberPageSettings {
    pub signup_url: String,
    pub logo_url: Option<String>,
    pub brand_color: Option<String>,
    pub header_color: Option<String>,
    pub accepts_nonstandard_addresses: bool,
}

#[derive(Deserialize)]
struct Tenant {
    tenant: MemberPageSettings,
}

/// Fetches the settings.
pub async fn fetch_settings(api: Api) -> Result<MemberPageSettings, ApiError> {
    let query = format!("query MemberPageSettings {{ tenant {{ {SETTINGS_FIELDS} }} }}");
    let data: Tenant = api.request(&query, json!({})).await?;
    Ok(data.tenant)
}

/// Saves both colours; an empty text restores Tayori's colour.
pub async fn save_colors(api: Api, brand: &str, header: &str) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation SetBrandColors($brand: String, $header: String) { \
         setBrandColors(brandColor: $brand, headerColor: $header) { brandColor } }",
        json!({ "brand": brand, "header": header }),
    )
    .await?;
    Ok(())
}

/// Uploads `image` (the bytes of a PNG, JPEG, GIF or WebP file) as the logo.
pub async fn upload_logo(api: Api, image: &[u8]) -> Result<(), ApiError> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(image);
    api.request::<Value>(
        "mutation SetLogo($image: String!) { setLogo(image: $image) { logoUrl } }",
        json!({ "image": encoded }),
    )
    .await?;
    Ok(())
}

/// Removes the logo.
pub async fn remove_logo(api: Api) -> Result<(), ApiError> {
    api.request::<Value>("mutation RemoveLogo { removeLogo { logoUrl } }", json!({}))
        .await?;
    Ok(())
}

/// Accepts or rejects addresses such as `taro..hanako@docomo.ne.jp`.
pub async fn set_nonstandard_addresses(api: Api, accept: bool) -> Result<(), ApiError> {
    api.request::<Value>(
        "mutation SetNonstandardAddresses($accept: Boolean!) { \
         setNonstandardAddresses(accept: $accept) { acceptsNonstandardAddresses } }",
        json!({ "accept": accept }),
    )
    .await?;
    Ok(())
}

/// Reads `#rrggbb` into its channels.
fn channels(hex: &str) -> Option<[u8; 3]> {
    let hex = hex.trim().strip_prefix('#')?;
    if hex.len() != 6 || !hex.is_ascii() {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// Computes the WCAG 2 relative luminance.
fn luminance([red, green, blue]: [u8; 3]) -> f64 {
    let linear = |value: u8| {
        let c = f64::from(value) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
}

/// Picks the text colour the member pages draw on `background`: white, or the dark ink
/// `#25282d`, whichever contrasts more. The server makes the same choice for the real pages.
pub fn ink_on(background: &str) -> &'static str {
    let Some(color) = channels(background) else {
        return "#ffffff";
    };
    let contrast = |a: f64, b: f64| (a.max(b) + 0.05) / (a.min(b) + 0.05);
    let own = luminance(color);
    let on_white = contrast(own, 1.0);
    let on_ink = contrast(own, luminance([0x25, 0x28, 0x2d]));
    if on_white >= on_ink {
        "#ffffff"
    } else {
        "#25282d"
    }
}

/// Returns the CSS custom properties that preview `brand` and `header` (each `#rrggbb` or
/// empty for Tayori's colours), for a `style` attribute.
pub fn preview_style(brand: &str, header: &str) -> String {
    let mut style = String::new();
    if channels(brand).is_some() {
        style.push_str(&format!("--accent:{brand};--on-accent:{};", ink_on(brand)));
    }
    if channels(header).is_some() {
        style.push_str(&format!(
            "--header-bg:{header};--header-ink:{};",
            ink_on(header)
        ));
    }
    style
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ink_contrasts_with_background() {
        assert_eq!(ink_on("#ffd400"), "#25282d");
        assert_eq!(ink_on("#1a3a5c"), "#ffffff");
    }

    #[test]
    fn preview_style_skips_colours_that_are_not_hex() {
        assert_eq!(preview_style("", "red"), "");
        assert_eq!(
            preview_style("#1a3a5c", ""),
            "--accent:#1a3a5c;--on-accent:#ffffff;"
        );
    }

    #[test]
    fn settings_decode_without_a_logo() {
        let settings: MemberPageSettings = serde_json::from_value(json!({
            "signupUrl": "http://127.0.0.1:8080/m/demo/signup",
            "logoUrl": null,
            "brandColor": "#1a3a5c",
            "headerColor": null,
            "acceptsNonstandardAddresses": false
        }))
        .unwrap_or_else(|error| panic!("settings failed to decode: {error}"));
        assert_eq!(settings.logo_url, None);
        assert_eq!(settings.brand_color.as_deref(), Some("#1a3a5c"));
    }
}
