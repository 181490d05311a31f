//! Jobs: the list with its filters, a job with its visits, notes and timeline, and the form
//! that creates one. Buttons offer only the status moves the machine allows, and only to those
//! whose role may make them.

use maud::{html, Markup};

use crate::db::customers::{CustomerRow, SiteRow};
use crate::db::jobs::{JobRow, NoteRow};
use crate::db::pages::{JobLine, VisitLine};
use crate::domain::audit::{Action, AuditRow};
use crate::domain::auth::permissions::Permission;
use crate::domain::dispatch::{self, VisitStatus};
use crate::domain::jobs::JobStatus;
use crate::views::pages::forms::{
    api_form, checkboxes, field, field_hint, optional, select, submit, text, Api,
};
use crate::views::pages::money::{self, DocOwner};
use crate::views::pages::schedule::{allow_conflict, move_form, visit_actions};
use crate::views::pages::{
    encode_component, files, hhmm, items, label, shell, when, when_text, People, Section, Viewer,
};

pub const PRIORITIES: [(&str, &str); 4] = [
    ("low", "Low"),
    ("normal", "Normal"),
    ("high", "High"),
    ("urgent", "Urgent"),
];

/// What the button that moves a job to `status` says.
fn action_label(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Requested => "Back to requested",
        JobStatus::Scheduled => "Mark scheduled",
        JobStatus::InProgress => "Start work",
        JobStatus::Completed => "Complete",
        JobStatus::OnHold => "Put on hold",
        JobStatus::Cancelled => "Cancel job",
    }
}

fn badge(status: &str) -> Markup {
    html! { span.badge.(status) { (label(status)) } }
}

/// Whether the page offers to complete the job: its visits are all over and one at least was
/// done (`domain::dispatch::offers_completion` for each, as the API answers it).
fn offers_completion(visits: &[VisitLine], job: Option<JobStatus>) -> bool {
    let Some(job) = job else { return false };
    let statuses: Vec<VisitStatus> = visits
        .iter()
        .filter_map(|v| VisitStatus::parse(&v.status))
        .collect();
    let open = statuses.iter().filter(|s| s.is_open()).count() as i64;
    statuses
        .iter()
        .any(|s| dispatch::offers_completion(*s, job, open))
}

/// The list's filters, as the page was asked for them.
pub struct JobFilter<'a> {
    pub status: Option<&'a str>,
    pub q: &'a str,
}

pub fn list(
    viewer: &Viewer<'_>,
    filter: &JobFilter<'_>,
    jobs: &[JobLine],
    people: &People<'_>,
    next_cursor: Option<&str>,
) -> Markup {
    let mut statuses: Vec<(&str, &str)> = vec![("", "Any status")];
    let labels: Vec<(&str, String)> = JobStatus::ALL
        .iter()
        .map(|s| (s.as_str(), label(s.as_str())))
        .collect();
    statuses.extend(labels.iter().map(|(v, l)| (*v, l.as_str())));
    let body = html! {
        div.page-head {
            h1 { "Jobs" }
            @if viewer.can(Permission::ManageRecords) {
                a.button href="/jobs/new" { "New job" }
            }
        }
        form.filters method="get" action="/jobs" role="search" {
            label { span.label { "Status" } (select("status", &statuses, filter.status.unwrap_or_default())) }
            label { span.label { "Search" }
                input type="search" name="q" value=(filter.q) placeholder="Title, customer, #42"; }
            button type="submit" { "Filter" }
        }
        @if jobs.is_empty() {
            p.muted { "No jobs match." }
        } @else {
            ul.rows.jobs {
                @for job in jobs {
                    li {
                        a.title href=(format!("/jobs/{}", job.id)) { "#" (job.number) " " (job.title) }
                        span.meta {
                            (badge(&job.status))
                            @if job.priority != "normal" { " " span.priority.(job.priority.as_str()) { (label(&job.priority)) } }
                            " " (job.customer_name)
                            @let techs = job.technicians();
                            @if !techs.is_empty() {
                                " · "
                                @for (i, id) in techs.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    (people.name(id))
                                }
                            }
                            " · " (when_text(viewer, &job.created_at))
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = next_cursor {
            p.more {
                a href=(format!("/jobs?status={}&q={}&cursor={}",
                    encode_component(filter.status.unwrap_or_default()),
                    encode_component(filter.q), encode_component(cursor))) { "Older jobs →" }
            }
        }
    };
    shell(viewer, Section::Jobs, "Jobs", body)
}

/// Everything the job page shows.
pub struct JobPage<'a> {
    pub job: &'a JobRow,
    pub customer: Option<&'a CustomerRow>,
    pub site: Option<&'a SiteRow>,
    pub notes: &'a [NoteRow],
    pub visits: &'a [VisitLine],
    pub timeline: &'a [AuditRow],
    pub people: &'a People<'a>,
    /// The job's quotes and invoices (the API's list views); shown to those who see money.
    pub quotes: &'a [crate::views::money::QuoteSummary],
    pub invoices: &'a [crate::views::money::InvoiceSummary],
    /// The company needs the customer's signature before a job is completed.
    pub require_signature: bool,
}

pub fn page(viewer: &Viewer<'_>, p: &JobPage<'_>) -> Markup {
    let job = p.job;
    let technicians = job.technicians();
    // Shown: everyone who works the job (assigned, or on a visit); edited: the assigned.
    let workers = job.workers();
    let status = JobStatus::parse(&job.status);
    let title = format!("#{} {}", job.number, job.title);
    let api = format!("/api/v1/jobs/{}", job.id);
    // As the API: managers, and the technicians working the job.
    let works_on = viewer.can(Permission::ManageRecords)
        || (viewer.can(Permission::WorkOnJobs) && job.is_assigned(viewer.user_id));
    let body = html! {
        div.page-head {
            h1 { (title) " " (badge(&job.status)) }
        }
        div.split {
            div.primary {
                section.card {
                    dl.facts {
                        dt { "Customer" }
                        dd { @if let Some(c) = p.customer { a href=(format!("/customers/{}", c.id)) { (c.name) } } }
                        dt { "Site" }
                        dd { @if let Some(s) = p.site { (address(s)) } }
                        @if let Some(notes) = p.site.and_then(|s| s.access_notes.as_deref()) {
                            dt { "Access" } dd { (notes) }
                        }
                        dt { "Priority" } dd { (label(&job.priority)) }
                        dt { "Technicians" }
                        dd {
                            @if workers.is_empty() { "Nobody yet" }
                            @for (i, id) in workers.iter().enumerate() {
                                @if i > 0 { ", " } (p.people.name(id))
                            }
                        }
                        @if let Some(d) = &job.description { dt { "Description" } dd.pre { (d) } }
                    }
                }
                (items::section(&api, job.version, &job.items(), works_on))
                (files::signature(viewer, &job.id, works_on, p.require_signature))
                @if let (Some(status), true) = (status, viewer.can(Permission::WorkOnJobs)) {
                    @if !status.allowed_next().is_empty() {
                        section.card.status-actions aria-label="Change status" {
                            @for next in status.allowed_next() {
                                (api_form(
                                    &Api::new("POST", &format!("/api/v1/jobs/{}/status", job.id), "reload")
                                        .versioned(job.version),
                                    "inline",
                                    html! {
                                        input type="hidden" name="status" value=(next.as_str());
                                        button.secondary.danger[*next == JobStatus::Cancelled] type="submit"
                                            data-status=(next.as_str()) { (action_label(*next)) }
                                    },
                                ))
                            }
                        }
                    }
                }
                @if viewer.can(Permission::WorkOnJobs)
                    && matches!(status, Some(JobStatus::Scheduled | JobStatus::InProgress))
                    && (viewer.can(Permission::ManageRecords) || job.is_assigned(viewer.user_id)) {
                    section.card id="on-my-way" {
                        h2 { "On my way" }
                        (on_my_way_form(&job.id))
                    }
                }
                section.card id="visits" {
                    h2 { "Visits" }
                    @if p.visits.is_empty() { p.muted { "No visits booked." } }
                    @if offers_completion(p.visits, status) {
                        p.warning role="status" { "Every visit is done: complete the job with its status buttons above." }
                    }
                    ul.rows {
                        @for visit in p.visits {
                            @let techs = visit.technicians();
                            li data-visit=(visit.id) {
                                span.title {
                                    (when(viewer, visit.start_ms)) "–" (hhmm(viewer.local.wall(visit.end_ms)))
                                    " " (badge(&visit.status))
                                }
                                span.meta {
                                    @if techs.is_empty() { "Unassigned" }
                                    @for (i, id) in techs.iter().enumerate() { @if i > 0 { ", " } (p.people.name(id)) }
                                }
                                @if viewer.can(Permission::ManageRecords)
                                    || (viewer.can(Permission::WorkOnJobs) && techs.iter().any(|t| t == viewer.user_id)) {
                                    details.move { summary { "Move" } (move_form(viewer, p.people, visit, &techs)) }
                                }
                                (visit_actions(viewer, visit))
                                @if viewer.can(Permission::ManageRecords) {
                                    details.delete { summary { "Delete" } (delete_visit_form(viewer, visit)) }
                                }
                            }
                        }
                    }
                    @if viewer.can(Permission::ManageRecords) {
                        details.add open[p.visits.is_empty()] {
                            summary { "Schedule a visit" }
                            (api_form(
                                &Api::new("POST", &format!("/api/v1/jobs/{}/visits", job.id), "reload"),
                                "book-visit",
                                html! {
                                    div.row {
                                        (field("Start", "start", html! { input type="datetime-local" name="start" data-type="instant"; }))
                                        (field("End", "end", html! { input type="datetime-local" name="end" data-type="instant"; }))
                                    }
                                    (field("Who", "technician_ids", checkboxes("technician_ids",
                                        p.people.assignable().map(|p| (p.id.as_str(), p.name.as_str())), &technicians)))
                                    (allow_conflict())
                                    (submit("Book visit"))
                                },
                            ))
                        }
                    }
                }
                section.card id="notes" {
                    h2 { "Notes" }
                    @if p.notes.is_empty() { p.muted { "No notes yet." } }
                    ul.notes {
                        @for note in p.notes {
                            li { p.pre { (note.text) } p.meta { (p.people.name(&note.author_id)) " · " (when_text(viewer, &note.created_at)) } }
                        }
                    }
                    @if viewer.can(Permission::WorkOnJobs) {
                        (api_form(
                            &Api::new("POST", &format!("/api/v1/jobs/{}/notes", job.id), "reload"),
                            "add-note",
                            html! {
                                (field("Add a note", "text", html! { textarea name="text" rows="3" {} }))
                                (submit("Add note"))
                            },
                        ))
                    }
                }
                (files::card(viewer, &api, works_on, true))
            }
            div.secondary {
                @if viewer.can(Permission::ManageRecords) {
                    section.card id="edit" {
                        h2 { "Edit job" }
                        (api_form(
                            &Api::new("PATCH", &format!("/api/v1/jobs/{}", job.id), "reload").versioned(job.version),
                            "edit-job",
                            html! {
                                (field("Title", "title", html! { input type="text" name="title" value=(job.title) required; }))
                                (field("Description", "description", html! {
                                    textarea name="description" rows="4" data-optional { (job.description.as_deref().unwrap_or_default()) }
                                }))
                                (field("Priority", "priority", select("priority", &PRIORITIES, &job.priority)))
                                (field("Technicians", "technician_ids", checkboxes("technician_ids",
                                    p.people.assignable().map(|p| (p.id.as_str(), p.name.as_str())), &technicians)))
                                (submit("Save changes"))
                            },
                        ))
                    }
                }
                @if viewer.can(Permission::ViewMoney) {
                    (money::documents(viewer, &DocOwner::Job {
                        id: &job.id,
                        title: &job.title,
                        archived: p.customer.is_some_and(|c| c.archived == 1),
                    }, p.quotes, p.invoices))
                }
                section.card id="timeline" {
                    h2 { "Timeline" }
                    ol.timeline {
                        @for row in p.timeline {
                            li {
                                span.when { (when_text(viewer, &row.at)) }
                                " " span.what { (timeline_text(row)) }
                                " " span.who { (actor(p.people, row)) }
                            }
                        }
                    }
                }
            }
        }
    };
    shell(viewer, Section::Jobs, &title, body)
}

/// Taking a visit off the calendar: a second step, behind "Delete", that says what it does.
fn delete_visit_form(viewer: &Viewer<'_>, visit: &VisitLine) -> Markup {
    let action = format!("/api/v1/visits/{}", visit.id);
    api_form(
        &Api::new("DELETE", &action, "reload")
            .versioned(visit.version)
            .showing("start end technician_ids"),
        "delete-visit",
        html! {
            p { "Take the visit of " (when(viewer, visit.start_ms)) " off the calendar? The audit trail keeps a record of it." }
            div.actions { button.danger type="submit" { "Delete visit" } }
        },
    )
}

/// Who did it, as the timeline says.
pub fn actor(people: &People<'_>, row: &AuditRow) -> String {
    match (&row.actor_id, row.actor_kind.as_str()) {
        (Some(id), "user") => people.name(id).to_owned(),
        (Some(id), "support") => format!("support session {}", id.get(..8).unwrap_or(id)),
        (Some(id), kind) => format!("{} ({kind})", people.name(id)),
        (None, kind) => kind.to_owned(),
    }
}

/// The part of a status move's audit picture the timeline reads.
#[derive(serde::Deserialize)]
struct Moved {
    status: String,
}

/// One timeline line: the action, and for a status move, from where to where.
fn timeline_text(row: &AuditRow) -> String {
    let status = |json: &Option<String>| {
        json.as_deref()
            .and_then(|t| serde_json::from_str::<Moved>(t).ok())
            .map(|m| label(&m.status))
    };
    match Action::parse(&row.action) {
        Some(Action::JobCreated) => "Created".to_owned(),
        Some(Action::JobUpdated) => "Edited".to_owned(),
        Some(Action::JobNoteAdded) => "Note added".to_owned(),
        Some(Action::VisitCreated) => "Visit booked".to_owned(),
        Some(Action::JobStatusChanged) => match (status(&row.before), status(&row.after)) {
            (Some(from), Some(to)) => format!("{from} → {to}"),
            _ => "Status changed".to_owned(),
        },
        _ => label(row.action.rsplit('.').next().unwrap_or(&row.action)),
    }
}

pub fn address(site: &SiteRow) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(label) = &site.label {
        parts.push(label);
    }
    parts.push(&site.line1);
    for part in [&site.line2, &site.city, &site.region, &site.postal_code]
        .into_iter()
        .flatten()
    {
        parts.push(part);
    }
    parts.join(", ")
}

/// `GET /jobs/new`: a job for a chosen customer (and one of its sites), or for any customer at
/// its main site.
pub fn new_job(
    viewer: &Viewer<'_>,
    customers: &[CustomerRow],
    chosen: Option<(&CustomerRow, &[SiteRow])>,
    people: &People<'_>,
) -> Markup {
    let body = html! {
        h1 { "New job" }
        @if customers.is_empty() && chosen.is_none() {
            p { "Add a customer first: " a href="/customers/new" { "new customer" } "." }
        } @else {
            (api_form(
                &Api::new("POST", "/api/v1/jobs", "go:/jobs/{id}"),
                "new-job card",
                html! {
                    @match chosen {
                        Some((customer, sites)) => {
                            input type="hidden" name="customer_id" value=(customer.id);
                            p { "For " a href=(format!("/customers/{}", customer.id)) { (customer.name) } }
                            @if sites.is_empty() {
                                p.warning { "This customer has no site yet: "
                                    a href=(format!("/customers/{}", customer.id)) { "add one" } " first." }
                            } @else {
                                @let options: Vec<(&str, String)> = sites.iter().map(|s| (s.id.as_str(), address(s))).collect();
                                @let options: Vec<(&str, &str)> = options.iter().map(|(i, a)| (*i, a.as_str())).collect();
                                (field("Site", "site_id", select("site_id", &options, "")))
                            }
                        }
                        None => {
                            @let options: Vec<(&str, &str)> = customers.iter().map(|c| (c.id.as_str(), c.name.as_str())).collect();
                            (field_hint("Customer", "customer_id", select("customer_id", &options, ""),
                                "The job is at the customer's main site. To choose another, start from the customer's page."))
                        }
                    }
                    (field("Title", "title", text("title", "")))
                    (field("Description", "description", optional("description", None)))
                    (field("Priority", "priority", select("priority", &PRIORITIES, "normal")))
                    (field("Technicians", "technician_ids", checkboxes("technician_ids",
                        people.assignable().map(|p| (p.id.as_str(), p.name.as_str())), &[])))
                    (submit("Create job"))
                },
            ))
        }
    };
    shell(viewer, Section::Jobs, "New job", body)
}

/// The "on my way" message to the job's customer, with the ETA: on the job page and on each
/// visit of a technician's day.
pub fn on_my_way_form(job_id: &str) -> Markup {
    api_form(
        &Api::new(
            "POST",
            &format!("/api/v1/jobs/{job_id}/on-my-way"),
            "reload",
        ),
        "on-my-way",
        html! {
            div.row {
                (field("Arriving in (minutes)", "eta_minutes", html! {
                    input type="number" name="eta_minutes" min="1" max="600" value="20" data-type="int" inputmode="numeric";
                }))
            }
            (submit("Tell the customer"))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::pages::Person;
    use crate::domain::auth::permissions::Role;
    use crate::views::pages::tests::viewer;

    fn job(status: &str) -> JobRow {
        JobRow {
            id: "j-1".into(),
            number: 42,
            customer_id: "c-1".into(),
            site_id: "s-1".into(),
            title: "Boiler <service>".into(),
            description: Some("Annual & check".into()),
            priority: "high".into(),
            status: status.into(),
            items: "[]".into(),
            version: 5,
            created_at: "2026-11-20T10:00:00.000Z".into(),
            updated_at: "2026-11-20T10:00:00.000Z".into(),
            technician_ids: "[\"u-2\"]".into(),
            worker_ids: "[\"u-2\"]".into(),
        }
    }

    fn render(role: Role, status: &str, timeline: &[AuditRow]) -> String {
        let list = vec![Person {
            id: "u-2".into(),
            name: "Theo Tech".into(),
            role: "technician".into(),
            active: 1,
        }];
        let people = People(&list);
        let job = job(status);
        page(
            &Viewer {
                user_id: "u-2",
                ..viewer(role)
            },
            &JobPage {
                job: &job,
                customer: None,
                site: None,
                notes: &[],
                visits: &[],
                timeline,
                people: &people,
                quotes: &[],
                invoices: &[],
                require_signature: false,
            },
        )
        .into_string()
    }

    #[test]
    fn quotes_and_invoices_are_started_from_the_job_by_those_who_see_money_only() {
        let owner = render(Role::Owner, "completed", &[]);
        assert!(owner.contains(r#"id="documents""#) && owner.contains("new-job-quote"));
        assert!(owner.contains("new-job-invoice"));
        let viewer = render(Role::Viewer, "completed", &[]);
        assert!(viewer.contains(r#"id="documents""#) && !viewer.contains("new-job-quote"));
        assert!(!render(Role::Technician, "completed", &[]).contains(r#"id="documents""#));
    }

    #[test]
    fn status_buttons_are_exactly_the_allowed_moves_for_those_who_work_on_jobs() {
        let html = render(Role::Technician, "scheduled", &[]);
        for status in ["in_progress", "on_hold", "cancelled", "requested"] {
            assert!(
                html.contains(&format!(r#"data-status="{status}""#)),
                "{status}"
            );
        }
        assert!(!html.contains(r#"data-status="completed""#));
        assert!(html.contains(r#"data-version="5""#));
        assert!(!render(Role::Viewer, "scheduled", &[]).contains("data-status"));
        assert!(!render(Role::Owner, "completed", &[]).contains("data-status"));
    }

    #[test]
    fn only_those_who_manage_records_edit_the_job_or_book_visits() {
        let owner = render(Role::Dispatcher, "requested", &[]);
        assert!(owner.contains(r#"data-action="/api/v1/jobs/j-1""#));
        assert!(owner.contains("/api/v1/jobs/j-1/visits"));
        let tech = render(Role::Technician, "requested", &[]);
        assert!(!tech.contains("edit-job"));
        assert!(
            tech.contains("job-items"),
            "the technician on the job records work"
        );
        assert!(!render(Role::Viewer, "requested", &[]).contains("job-items"));
        assert!(!tech.contains("/api/v1/jobs/j-1/visits"));
        assert!(
            tech.contains("/api/v1/jobs/j-1/notes"),
            "technicians add notes"
        );
        assert!(tech.contains("Boiler &lt;service&gt;"));
        assert!(tech.contains("Annual &amp; check"));
    }

    #[test]
    fn only_managers_may_delete_a_visit_and_only_after_confirming() {
        let visit = VisitLine {
            id: "v-1".into(),
            job_id: "j-1".into(),
            start_ms: 1_900_000_000_000,
            end_ms: 1_900_003_600_000,
            status: "scheduled".into(),
            version: 4,
            technician_ids: "[\"u-2\"]".into(),
            job_number: 42,
            job_title: "Boiler".into(),
            job_status: "scheduled".into(),
            customer_name: "Ada".into(),
            customer_phone: None,
            site_line1: "1 Main St".into(),
            site_city: None,
            site_access_notes: None,
        };
        let list = vec![];
        let people = People(&list);
        let job = job("scheduled");
        let render = |role| {
            page(
                &Viewer {
                    user_id: "u-2",
                    ..viewer(role)
                },
                &JobPage {
                    job: &job,
                    customer: None,
                    site: None,
                    notes: &[],
                    visits: std::slice::from_ref(&visit),
                    timeline: &[],
                    people: &people,
                    quotes: &[],
                    invoices: &[],
                    require_signature: false,
                },
            )
            .into_string()
        };
        let html = render(Role::Dispatcher);
        assert!(
            html.contains(r#"data-method="DELETE" data-action="/api/v1/visits/v-1""#),
            "{html}"
        );
        assert!(html.contains("<details class=\"delete\"><summary>Delete</summary>"));
        assert!(html.contains(r#"data-shows="start end technician_ids""#));
        let tech = render(Role::Technician);
        assert!(!tech.contains("delete-visit"));
        assert!(tech.contains("move-visit"), "their own visit still moves");
    }

    #[test]
    fn the_timeline_says_what_happened_and_who_did_it() {
        let row = AuditRow {
            seq: 3,
            prev_seq: 2,
            at: "2026-11-20T11:00:00.000Z".into(),
            actor_kind: "user".into(),
            actor_id: Some("u-2".into()),
            action: "job.status_changed".into(),
            entity: "job".into(),
            entity_id: Some("j-1".into()),
            before: Some(r#"{"status":"scheduled"}"#.into()),
            after: Some(r#"{"status":"in_progress"}"#.into()),
            ip: None,
            request_id: None,
            prev_hash: String::new(),
            hash: String::new(),
            seal: None,
        };
        let html = render(Role::Viewer, "in_progress", &[row]);
        assert!(html.contains("Scheduled → In progress"), "{html}");
        assert!(html.contains("Theo Tech"));
    }
}
