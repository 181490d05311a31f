//! The pieces forms are made of. A form is submitted by `app.js` to the API: `data-method` and
//! `data-action` say where, `data-version` what `If-Match` to send, `data-then` what to do on
//! success (`reload`, `go:/path/{id}` with members of the answer, `show`), `data-shows` which
//! of the record's fields a conflict shows. Inputs say how their value travels with
//! `data-type` (`list`, `bool`, `int`, `set`, `set-int`, `instant`: a local time in the
//! company's zone; `money`: a decimal in the form's `data-exponent` to minor units; `deposit`:
//! `25%` or an amount; `percent`: to parts per million). Errors are shown in each `.field` by
//! its `data-field` name.

use maud::{html, Markup};

use crate::domain::money::Currency;

/// Where a form sends itself and what follows success.
pub struct Api<'a> {
    pub method: &'a str,
    pub action: &'a str,
    pub version: Option<i64>,
    pub then: &'a str,
    /// The currency amounts are typed in (`data-type="money"` reads its decimals).
    pub currency: Option<Currency>,
    /// A document editor's `preview` call: the script prices the edit as it is typed.
    pub preview: Option<&'a str>,
    /// The record's fields a version conflict shows (space-separated); by default the
    /// form's own fields.
    pub shows: Option<&'a str>,
}

impl<'a> Api<'a> {
    pub fn new(method: &'a str, action: &'a str, then: &'a str) -> Self {
        Api {
            method,
            action,
            version: None,
            then,
            currency: None,
            preview: None,
            shows: None,
        }
    }

    pub fn showing(mut self, fields: &'a str) -> Self {
        self.shows = Some(fields);
        self
    }

    pub fn versioned(mut self, version: i64) -> Self {
        self.version = Some(version);
        self
    }

    pub fn in_currency(mut self, currency: Currency) -> Self {
        self.currency = Some(currency);
        self
    }

    pub fn previewed(mut self, preview: &'a str) -> Self {
        self.preview = Some(preview);
        self
    }
}

/// A form for the API. It posts nowhere without the script (`method=post` so nothing typed
/// lands in a URL); `novalidate` so every message comes from the server, beside its field.
pub fn api_form(api: &Api<'_>, class: &str, body: Markup) -> Markup {
    html! {
        form.api.(class) method="post" novalidate data-method=(api.method)
            data-action=(api.action) data-version=[api.version] data-then=(api.then)
            data-shows=[api.shows] data-preview=[api.preview]
            data-currency=[api.currency.map(Currency::code)]
            data-exponent=[api.currency.map(Currency::exponent)] {
            p.form-error role="alert" hidden {}
            (body)
        }
    }
}

/// A labelled control with room for its error message.
pub fn field(label: &str, name: &str, control: Markup) -> Markup {
    html! {
        div.field data-field=(name) {
            label { span.label { (label) } (control) }
        }
    }
}

/// A labelled control with a hint below it.
pub fn field_hint(label: &str, name: &str, control: Markup, hint: &str) -> Markup {
    html! {
        div.field data-field=(name) {
            label { span.label { (label) } (control) }
            small.hint { (hint) }
        }
    }
}

/// The current password a security change asks for again (`http::api::reauth`): needed once
/// the session is older than a few minutes, so it may be left empty right after signing in.
pub fn password_again() -> Markup {
    field_hint(
        "Your password",
        "password",
        html! { input type="password" name="password" autocomplete="current-password" data-optional; },
        "Needed if you signed in more than 10 minutes ago.",
    )
}

/// A one-line text input.
pub fn text(name: &str, value: &str) -> Markup {
    html! { input type="text" name=(name) value=(value); }
}

/// An optional text input: empty means "none" (`null` in a change).
pub fn optional(name: &str, value: Option<&str>) -> Markup {
    html! { input type="text" name=(name) value=(value.unwrap_or_default()) data-optional; }
}

/// A select among `(value, label)` options.
pub fn select(name: &str, options: &[(&str, &str)], selected: &str) -> Markup {
    html! {
        select name=(name) {
            @for (value, label) in options {
                option value=(value) selected[*value == selected] { (label) }
            }
        }
    }
}

/// Checkboxes whose checked values travel as one array.
pub fn checkboxes<'a>(
    name: &str,
    options: impl Iterator<Item = (&'a str, &'a str)>,
    checked: &[String],
) -> Markup {
    html! {
        span.checks {
            @for (value, label) in options {
                label.check {
                    input type="checkbox" name=(name) value=(value) data-type="set"
                        checked[checked.iter().any(|c| c == value)];
                    " " (label)
                }
            }
        }
    }
}

pub fn submit(label: &str) -> Markup {
    html! { div.actions { button type="submit" { (label) } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_names_its_call_and_escapes_its_values() {
        let form = api_form(
            &Api::new("PATCH", "/api/v1/jobs/j\"1", "reload").versioned(3),
            "edit",
            field("Title", "title", text("title", "\"><script>")),
        )
        .into_string();
        assert!(form.contains(r#"data-method="PATCH""#), "{form}");
        assert!(
            form.contains(r#"data-action="/api/v1/jobs/j&quot;1""#),
            "{form}"
        );
        assert!(form.contains(r#"data-version="3""#));
        assert!(
            form.contains(r#"value="&quot;&gt;&lt;script&gt;""#),
            "{form}"
        );
        assert!(form.contains(r#"data-field="title""#));
        let unversioned = api_form(&Api::new("POST", "/x", "reload"), "", html! {}).into_string();
        assert!(!unversioned.contains("data-version"));
    }
}
