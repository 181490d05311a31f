//! The company as a whole: its deletion request and its exports as the API shows them, the
//! banner every page shows while a deletion is pending, the Settings cards that ask for both,
//! and the page a browser gets once the company is gone.

use maud::{html, Markup};
use serde_json::Value;

use crate::db::deletion::DeletionRow;
use crate::db::exports::ExportRow;
use crate::domain::auth::permissions::Permission;
use crate::domain::deletion::GONE;
use crate::domain::time::Millis;
use crate::json;
use crate::views::pages::forms::{api_form, field, submit, text, Api};
use crate::views::pages::{bare, when, Viewer};

fn stamp(ms: i64) -> String {
    Millis::from_ms(ms).to_rfc3339()
}

/// The API's form of a deletion request.
pub fn deletion_view(row: &DeletionRow) -> Value {
    json!({
        "id": row.id,
        "status": row.status,
        "requested_by": row.requested_by,
        "requested_by_name": row.requested_by_name,
        "requested_at": stamp(row.requested_at),
        "effective_at": stamp(row.effective_at),
        "cancelled_by": row.cancelled_by,
        "cancelled_at": row.cancelled_at.map(stamp),
        "completed_at": row.completed_at.map(stamp),
        "version": row.version,
    })
}

/// The API's form of a company export.
pub fn export_view(row: &ExportRow) -> Value {
    json!({
        "id": row.id,
        "status": row.status,
        "requested_by": row.requested_by,
        "requested_by_name": row.requested_by_name,
        "created_at": stamp(row.created_at),
        "tables_done": row.tables_done,
        "finished_at": row.finished_at.map(stamp),
        "size": row.size,
        "error": row.error,
        "download": (row.status == "ready")
            .then(|| format!("/api/v1/company/exports/{}/download", row.id)),
        "version": row.version,
    })
}

/// The pending deletion, as every page's banner shows it.
#[derive(Debug, Clone)]
pub struct DeletionBanner {
    pub effective_at: i64,
    pub version: i64,
}

pub fn deletion_banner(viewer: &Viewer<'_>, banner: &DeletionBanner) -> Markup {
    html! {
        div.notice.danger.deletion-banner role="alert" {
            strong { "This company is to be deleted" }
            " on " (when(viewer, banner.effective_at))
            ": every record, file and account will be destroyed."
            @if viewer.can(Permission::ManageSettings) {
                form.api.inline data-method="POST" data-action="/api/v1/company/deletion/cancel"
                    data-version=(banner.version) data-then="reload" {
                    button type="submit" { "Cancel the deletion" }
                }
            } @else {
                " An owner can still cancel it."
            }
        }
    }
}

/// The owners' Settings cards: export the company's data, and delete the company.
pub fn cards(viewer: &Viewer<'_>, pending: Option<&DeletionRow>, exports: &[ExportRow]) -> Markup {
    if !viewer.can(Permission::ManageSettings) {
        return html! {};
    }
    html! {
        section.card id="export" {
            h2 { "Export the company's data" }
            p.muted { "Every table as JSON and the list of the company's files, built in the \
                       background into one ZIP archive you download here." }
            ul.rows {
                @for export in exports {
                    li {
                        span.title { "Requested " (when(viewer, export.created_at))
                            " " span.badge { (export.status) } }
                        @if let (Some(size), "ready") = (export.size, export.status.as_str()) {
                            a href=(format!("/api/v1/company/exports/{}/download", export.id)) {
                                "Download (" (size / 1024 + 1) " KiB)" }
                        }
                        @if let Some(error) = &export.error { span.meta { (error) } }
                    }
                }
            }
            (api_form(&Api::new("POST", "/api/v1/company/export", "reload"), "export", html! {
                (field("Your password", "password", html! {
                    input type="password" name="password" autocomplete="current-password" data-optional;
                }))
                (submit("Export everything"))
            }))
        }
        section.card.danger id="delete-company" {
            h2 { "Delete the company" }
            @if let Some(pending) = pending {
                p { "Deletion was asked for by "
                    (pending.requested_by_name.as_deref().unwrap_or("an owner"))
                    " and happens on " (when(viewer, pending.effective_at)) "." }
                (api_form(&Api::new("POST", "/api/v1/company/deletion/cancel", "reload").versioned(pending.version),
                    "cancel-deletion", html! { (submit("Cancel the deletion")) }))
            } @else {
                p { "Deleting the company destroys every record, file and account for good, \
                     seven days after you ask; until then any owner can cancel, and everyone \
                     in the team is told." }
                p { strong { "Export the company's data first" } " (above): nothing can be \
                    brought back afterwards." }
                p { "Records the law requires you to keep — issued invoices, for years — are \
                     from then on yours to keep: fieldworker will no longer hold them." }
                (api_form(&Api::new("POST", "/api/v1/company/deletion", "reload"), "delete-company", html! {
                    (field("Type the company's name", "company_name", text("company_name", "")))
                    (field("Your password", "password", html! {
                        input type="password" name="password" autocomplete="current-password";
                    }))
                    (field("Two-factor code (if you use it)", "code", html! {
                        input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" data-optional;
                    }))
                    div.actions { button.danger type="submit" { "Delete the company in 7 days" } }
                }))
            }
        }
    }
}

/// What a browser is shown once the company was deleted.
pub fn gone_page() -> Markup {
    bare(
        "Deleted",
        "",
        html! {
            h1 { "Gone" }
            p { (GONE) " Its records, files and accounts were destroyed at its owners' request." }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gone_page_says_the_company_was_deleted_and_nothing_else() {
        let page = gone_page().into_string();
        assert!(page.contains("This company was deleted."));
        assert!(!page.contains("/login"));
    }
}
