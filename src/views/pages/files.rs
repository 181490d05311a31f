//! The frames of the files a page shows: a record's files card, the job's signature card and
//! the settings' files card. Only the frames are rendered here, with what the viewer may do;
//! `app.js` lists the files from the API once the page has loaded (so a page reads no more
//! than it did), uploads them, watches pending scans and draws the signature pad.

use maud::{html, Markup};

use crate::db::settings::Settings;
use crate::domain::auth::permissions::Permission;
use crate::views::pages::forms::{api_form, field_hint, submit, Api};
use crate::views::pages::Viewer;

/// What the uploads accept (the server decides by the bytes; this only guides the picker).
const ACCEPT: &str = "image/jpeg,image/png,image/webp,image/heic,image/heif,application/pdf";

const MIB: i64 = 1024 * 1024;

/// A record's files: `record` is its API path (`/api/v1/jobs/j-1`). `add`: the viewer may
/// attach files; `work`: a job or visit, where technicians delete what they added and the
/// phone's camera is offered.
pub fn card(viewer: &Viewer<'_>, record: &str, add: bool, work: bool) -> Markup {
    let delete = if viewer.can(Permission::ManageRecords) {
        "any"
    } else if work && viewer.can(Permission::WorkOnJobs) {
        "own"
    } else {
        "none"
    };
    html! {
        section.card.files id="files" aria-labelledby="files-title"
            data-files=(format!("{record}/files")) data-delete=(delete) data-me=(viewer.user_id) {
            h2 id="files-title" { "Files" }
            p.muted data-files-note { "The files are listed with JavaScript switched on." }
            ul.rows.file-list {}
            @if add {
                div.dropzone data-dropzone {
                    label.pick {
                        span.label { "Add files" }
                        input type="file" multiple accept=(ACCEPT) data-upload;
                    }
                    small.hint { "Or drop them here: photos (JPEG, PNG, WebP, HEIC) and PDFs." }
                    @if work {
                        label.button.secondary.camera {
                            "Take photo"
                            input.visually-hidden type="file" accept="image/*" capture="environment" data-upload;
                        }
                    }
                    progress hidden max="100" value="0" aria-label="Upload progress" {}
                }
            }
            p.upload-status role="status" aria-live="polite" {}
        }
    }
}

/// The job's signature: shown once given (from the files list), and the button that opens the
/// pad for those who work on the job. `required`: the company needs one before the job is completed.
pub fn signature(viewer: &Viewer<'_>, job_id: &str, sign: bool, required: bool) -> Markup {
    html! {
        section.card.signature id="signature" aria-labelledby="signature-title" data-required[required] {
            h2 id="signature-title" { "Customer signature" }
            div data-signature-shown {
                @if required { p.muted { "Completing this job needs the customer's signature." } }
            }
            @if sign && viewer.can(Permission::WorkOnJobs) {
                // The script builds the pad (a canvas, the signer's name) when it is opened.
                button.secondary type="button" aria-haspopup="dialog" aria-expanded="false"
                    data-open-pad=(format!("/api/v1/jobs/{job_id}/signature")) { "Customer signature" }
            }
            p.upload-status role="status" aria-live="polite" {}
        }
    }
}

/// The settings' files card: the upload limit, the signature rule, the logo and the storage
/// used (read by the script from the API).
pub fn settings(viewer: &Viewer<'_>, company: &Settings) -> Markup {
    let mib = company.max_upload_bytes / MIB;
    let required = company.require_signature == 1;
    html! {
        section.card id="files-settings" data-storage="/api/v1/settings/storage" {
            h2 { "Files" }
            @if viewer.can(Permission::ManageSettings) {
                (api_form(&Api::new("PATCH", "/api/v1/settings", "reload").versioned(company.version), "file-settings", html! {
                    (field_hint("Upload limit (MB)", "max_upload_bytes", html! {
                        input type="number" name="max_upload_bytes" min="1" max="25" step="1" inputmode="numeric"
                            data-type="mib" value=(mib);
                    }, "Each file at most this size, 1 to 25 MB."))
                    div.field data-field="require_signature" {
                        label.check {
                            input type="checkbox" name="require_signature" data-type="bool" checked[required];
                            " Completing a job needs the customer's signature"
                        }
                    }
                    (submit("Save file settings"))
                }))
                div.logo data-logo-card {
                    h3 { "Logo" }
                    p.muted { "On the customer's pages: PNG or JPEG." }
                    img.logo-preview src=[company.logo_file_id.as_ref().map(|_| "/logo")]
                        alt="The company's logo" hidden[company.logo_file_id.is_none()];
                    label.pick { span.label { "Upload a logo" } input type="file" accept="image/png,image/jpeg" data-logo; }
                    p.upload-status role="status" aria-live="polite" {}
                }
            } @else {
                dl.facts {
                    dt { "Upload limit" } dd { (mib) " MB" }
                    dt { "Signature" } dd { @if required { "Needed to complete a job" } @else { "Optional" } }
                }
            }
            h3 { "Storage" }
            dl.facts.storage data-storage-facts { dt { "Files" } dd { "…" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::permissions::Role;
    use crate::views::pages::tests::viewer;

    #[test]
    fn the_files_card_offers_only_what_the_role_may_do() {
        let owner = card(&viewer(Role::Owner), "/api/v1/jobs/j-1", true, true).into_string();
        assert!(
            owner.contains(r#"data-files="/api/v1/jobs/j-1/files""#),
            "{owner}"
        );
        assert!(owner.contains(r#"data-delete="any""#));
        assert!(owner.contains(r#"capture="environment""#));
        assert!(owner.contains(r#"aria-live="polite""#));
        let tech = card(&viewer(Role::Technician), "/api/v1/jobs/j-1", true, true).into_string();
        assert!(tech.contains(r#"data-delete="own""#) && tech.contains("data-upload"));
        let customer =
            card(&viewer(Role::Owner), "/api/v1/customers/c-1", true, false).into_string();
        assert!(
            !customer.contains("capture="),
            "the camera is for work on site"
        );
        let looker = card(&viewer(Role::Viewer), "/api/v1/jobs/j-1", false, true).into_string();
        assert!(looker.contains(r#"data-delete="none""#) && !looker.contains("data-upload"));
    }

    #[test]
    fn the_pad_is_for_those_who_work_on_jobs() {
        let tech = signature(&viewer(Role::Technician), "j-1", true, true).into_string();
        assert!(
            tech.contains(r#"data-open-pad="/api/v1/jobs/j-1/signature""#),
            "{tech}"
        );
        assert!(tech.contains("data-required") && tech.contains("needs the customer"));
        let looker = signature(&viewer(Role::Viewer), "j-1", true, false).into_string();
        assert!(!looker.contains("data-open-pad") && !looker.contains("data-required"));
    }
}
