//! Emails to customers: the rendered text of a message (`domain::templates`) in the company's
//! branding. The text is escaped paragraph by paragraph; the document's link becomes the one
//! button, and automatic mail ends with its unsubscribe link.

use maud::html;

use crate::views::share::brand;

/// The HTML part of an email to a customer.
pub fn email_html(
    company: &str,
    brand_color: &str,
    subject: &str,
    body: &str,
    link: Option<(&str, &str)>,
    unsubscribe: Option<&str>,
) -> String {
    let color = brand(Some(brand_color));
    // The link stands as a button below; the sentence that introduced it keeps its words.
    let paragraphs: Vec<String> = body
        .split('\n')
        .map(|p| match link {
            Some((url, _)) => p.replace(url, "").trim_end_matches([' ', ':']).to_owned(),
            None => p.trim_end().to_owned(),
        })
        .filter(|p| !p.is_empty())
        .collect();
    html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (subject) } }
            body style="font-family: system-ui, sans-serif; color: #1d2330; max-width: 36rem; margin: 0 auto; padding: 1rem;" {
                p style=(format!("font-weight: 600; font-size: 1.1rem; border-bottom: 3px solid {color}; padding-bottom: .5rem;")) { (company) }
                @for paragraph in &paragraphs {
                    p style="line-height: 1.5;" { (paragraph) }
                }
                @if let Some((url, label)) = link {
                    p {
                        a href=(url) style=(format!("display: inline-block; background: {color}; color: #fff; padding: .6rem 1.1rem; border-radius: 6px; text-decoration: none;")) { (label) }
                    }
                    p style="color: #5b6475; font-size: .85rem;" { "Or open " (url) }
                }
                @if let Some(url) = unsubscribe {
                    p style="color: #5b6475; font-size: .85rem;" {
                        "You get this because you are a customer of " (company) ". "
                        a href=(url) { "Unsubscribe from automatic messages" } "."
                    }
                }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_text_in_the_html_never_markup() {
        let html = email_html(
            "Ann & <Sons>",
            "#123abc",
            "Quote",
            "Hello <script>alert(1)</script>, see it here: https://x.example/s/a?b=1&c",
            Some(("https://x.example/s/a?b=1&c", "View your quote")),
            Some("https://x.example/u/1"),
        );
        assert!(html.contains("Ann &amp; &lt;Sons&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("href=\"https://x.example/s/a?b=1&amp;c\""));
        assert!(html.contains("see it here</p>"));
        assert!(html.contains("href=\"https://x.example/u/1\""));
        let unbranded = email_html("A", "red;}</style>", "s", "x", None, None);
        assert!(unbranded.contains("#1f5fbf") && !unbranded.contains("red;"));
        assert!(!unbranded.contains("Unsubscribe"));
    }
}
