//! The schedule: a day per technician, or a week per day, each column a list of hour slots,
//! with double-bookings flagged. A visit is moved by dragging it to another slot (`app.js`) or,
//! without a pointer, by its small versioned form.

use maud::{html, Markup};

use crate::db::pages::{VisitLine, WaitingJob};
use crate::db::settings::Settings;
use crate::domain::auth::permissions::Permission;
use crate::domain::dispatch::{may_move_visit, VisitStatus};
use crate::domain::jobs::Priority;
use crate::views::pages::forms::{api_form, checkboxes, field, submit, Api};
use crate::views::pages::slots::{hours, pieces, slot, slot_start, Piece};
use crate::views::pages::{
    datetime_local, day_label, day_label_year, encode_component, hhmm, iso_date, label, shell,
    People, Section, Viewer,
};

const DAY_MS: i64 = 86_400_000;

/// Day or week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Day,
    Week,
}

impl Span {
    pub fn days(self) -> i64 {
        match self {
            Span::Day => 1,
            Span::Week => 7,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Span::Day => "day",
            Span::Week => "week",
        }
    }
}

/// What the schedule page shows.
pub struct Schedule<'a> {
    /// Local midnight (wall ms) of the first day shown.
    pub first_day: i64,
    pub span: Span,
    /// Local midnight of today.
    pub today: i64,
    /// The visits of the range, by start.
    pub visits: &'a [VisitLine],
    pub people: &'a People<'a>,
    /// The company's working hours as hour slots (`slots::work_day`).
    pub work_day: (i64, i64),
    /// Jobs waiting for a visit (for those who book; empty for others), before the filter.
    pub waiting: &'a [WaitingJob],
    pub filter: WaitingFilter<'a>,
}

/// The waiting list's filter, as the page was asked for it.
#[derive(Debug, Clone, Copy, Default)]
pub struct WaitingFilter<'a> {
    pub priority: Option<&'a str>,
    /// A customer's id.
    pub customer: Option<&'a str>,
}

impl WaitingFilter<'_> {
    fn keeps(&self, job: &WaitingJob) -> bool {
        self.priority.is_none_or(|p| p == job.priority)
            && self.customer.is_none_or(|c| c == job.customer_id)
    }
}

/// How long a visit booked by dropping a job on the board lasts (its Book form sets another).
const BOOKED_LENGTH_MS: i64 = 2 * 3_600_000;

/// The first day of the week (Monday) holding `day` (wall ms of a midnight).
pub fn week_start(day: i64) -> i64 {
    // 1970-01-01 was a Thursday: days since then, shifted so Monday is 0.
    let days = day.div_euclid(DAY_MS);
    (days - (days + 3).rem_euclid(7)) * DAY_MS
}

/// For each visit, the other visits in the list that share a technician and overlap it.
pub fn double_bookings(visits: &[VisitLine]) -> Vec<(&str, Vec<&VisitLine>)> {
    visits
        .iter()
        .map(|visit| {
            let mine = visit.technicians();
            let others = visits
                .iter()
                .filter(|other| {
                    other.id != visit.id
                        && other.start_ms < visit.end_ms
                        && visit.start_ms < other.end_ms
                        && other.technicians().iter().any(|t| mine.contains(t))
                })
                .collect();
            (visit.id.as_str(), others)
        })
        .filter(|(_, others): &(&str, Vec<&VisitLine>)| !others.is_empty())
        .collect()
}

pub fn page(viewer: &Viewer<'_>, schedule: &Schedule<'_>) -> Markup {
    let span = schedule.span;
    let first = schedule.first_day;
    let last = first + (span.days() - 1) * DAY_MS;
    let step = span.days() * DAY_MS;
    let link =
        |day: i64, span: Span| format!("/schedule?date={}&view={}", iso_date(day), span.name());
    let title = match span {
        Span::Day => day_label_year(first),
        Span::Week => format!("{} – {}", day_label(first), day_label_year(last)),
    };
    let clashes = double_bookings(schedule.visits);
    let body = html! {
        div.page-head {
            h1 { "Schedule " span.sub { (title) } }
            nav.pager aria-label="Dates" {
                a href=(link(first - step, span)) rel="prev" { "← Earlier" }
                a href=(link(schedule.today, span)) { "Today" }
                a href=(link(first + step, span)) rel="next" { "Later →" }
                @if span == Span::Day {
                    a href=(link(first, Span::Week)) { "Week" }
                } @else {
                    a href=(link(first, Span::Day)) { "Day" }
                }
            }
            form.jump method="get" action="/schedule" {
                input type="hidden" name="view" value=(span.name());
                label { span.label { "Date" } input type="date" name="date" value=(iso_date(first)); }
                button type="submit" { "Go" }
            }
        }
        @if !clashes.is_empty() {
            p.warning role="status" { (clashes.len()) " visits are double-booked; they are marked below." }
        }
        @if span == Span::Day && !viewer.can(Permission::ManageRecords) && viewer.can(Permission::WorkOnJobs) {
            (my_day(viewer, schedule))
        }
        @if viewer.can(Permission::ManageRecords) {
            (waiting(schedule))
        }
        @match span {
            Span::Day => (day_board(viewer, schedule, &clashes)),
            Span::Week => (week_board(viewer, schedule, &clashes)),
        }
    };
    shell(viewer, Section::Schedule, "Schedule", body)
}

type Clashes<'v> = [(&'v str, Vec<&'v VisitLine>)];

/// A column of the board: its heading, the person it is for (day view), and the pieces of
/// visits it holds.
struct Column<'v> {
    heading: Markup,
    today: bool,
    /// The day view's person (`Some("")` for the unassigned column); `None` in the week view.
    person: Option<&'v str>,
    /// Local midnight of the column's day.
    day: i64,
    entries: Vec<(&'v VisitLine, Piece)>,
}

/// The pieces of `visit` on the board's days.
fn cut(viewer: &Viewer<'_>, s: &Schedule<'_>, visit: &VisitLine) -> Vec<Piece> {
    pieces(
        viewer.local.wall(visit.start_ms),
        viewer.local.wall(visit.end_ms),
        s.first_day,
        s.span.days() as usize,
    )
}

/// One column per person with work (or who could be given some), and one for unassigned visits.
fn day_board(viewer: &Viewer<'_>, s: &Schedule<'_>, clashes: &Clashes<'_>) -> Markup {
    let mut columns: Vec<Column<'_>> = Vec::new();
    let showing_all = viewer.can(Permission::ManageRecords) || viewer.can(Permission::ViewUsers);
    let on_board = |keep: &dyn Fn(&VisitLine) -> bool| -> Vec<(&VisitLine, Piece)> {
        s.visits
            .iter()
            .filter(|v| keep(v))
            .flat_map(|v| cut(viewer, s, v).into_iter().map(move |p| (v, p)))
            .collect()
    };
    for person in s.people.0 {
        let theirs = on_board(&|v| v.technicians().contains(&person.id));
        let assignable = person.active == 1 && person.role != "viewer";
        let me = person.id == viewer.user_id;
        if !theirs.is_empty() || (assignable && (showing_all || me)) {
            columns.push(Column {
                heading: html! { (person.name) },
                today: false,
                person: Some(person.id.as_str()),
                day: s.first_day,
                entries: theirs,
            });
        }
    }
    let unassigned = on_board(&|v| v.technicians().is_empty());
    if !unassigned.is_empty() {
        columns.push(Column {
            heading: html! { "Unassigned" },
            today: false,
            person: Some(""),
            day: s.first_day,
            entries: unassigned,
        });
    }
    if columns.is_empty() {
        return html! { p.muted { "Nothing booked, and nobody to book yet." } };
    }
    board(viewer, s, clashes, &columns, "board", false)
}

/// One column per day; a visit over midnight shows on each day it covers.
fn week_board(viewer: &Viewer<'_>, s: &Schedule<'_>, clashes: &Clashes<'_>) -> Markup {
    let all: Vec<(&VisitLine, Piece)> = s
        .visits
        .iter()
        .flat_map(|v| cut(viewer, s, v).into_iter().map(move |p| (v, p)))
        .collect();
    let columns: Vec<Column<'_>> = (0..7)
        .map(|i| {
            let day = s.first_day + i * DAY_MS;
            Column {
                heading: html! {
                    a href=(format!("/schedule?date={}&view=day", iso_date(day))) { (day_label(day)) }
                },
                today: day == s.today,
                person: None,
                day,
                entries: all
                    .iter()
                    .filter(|(_, p)| p.day == i as usize)
                    .copied()
                    .collect(),
            }
        })
        .collect();
    board(viewer, s, clashes, &columns, "board week", true)
}

/// The columns, each a list of hour slots holding the visits that start in them. The slots are
/// where a dragged visit lands (`data-slot`, a local time); the same for every column, so a
/// week's days line up.
fn board(
    viewer: &Viewer<'_>,
    s: &Schedule<'_>,
    clashes: &Clashes<'_>,
    columns: &[Column<'_>],
    class: &str,
    with_names: bool,
) -> Markup {
    let range = hours(
        s.work_day,
        columns
            .iter()
            .flat_map(|c| c.entries.iter().map(|(_, p)| p)),
    );
    let reassign = viewer.can(Permission::ManageRecords) && !with_names;
    html! {
        p.live.muted id="schedule-live" role="status" aria-live="polite" {}
        div class=(class) data-reassign[reassign] {
            @for column in columns {
                section.column.today[column.today] data-person=[column.person] {
                    h2 { (column.heading) span.count { (column.entries.len()) } }
                    ol.slots {
                        @for hour in range.0..=range.1 {
                            @let start = slot_start(column.day, hour);
                            li.slot data-slot=(datetime_local(start)) {
                                span.hour { (hhmm(start)) }
                                @for (visit, piece) in column.entries.iter().filter(|(_, p)| slot(p, range) == hour) {
                                    (visit_card(viewer, s.people, visit, piece, clashes, with_names))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn visit_card(
    viewer: &Viewer<'_>,
    people: &People<'_>,
    visit: &VisitLine,
    piece: &Piece,
    clashes: &Clashes<'_>,
    with_names: bool,
) -> Markup {
    let start = viewer.local.wall(visit.start_ms);
    let end = viewer.local.wall(visit.end_ms);
    let technicians = visit.technicians();
    let clash = clashes
        .iter()
        .find(|(id, _)| *id == visit.id)
        .map(|(_, others)| others);
    let may_move = piece.is_head()
        && (viewer.can(Permission::ManageRecords)
            || (viewer.can(Permission::WorkOnJobs)
                && technicians.iter().any(|t| t == viewer.user_id)));
    html! {
        article.visit.clash[clash.is_some()].continued[piece.continued].continues[piece.continues]
            data-visit=(visit.id)
            data-start-ms=[may_move.then_some(visit.start_ms)]
            data-end-ms=[may_move.then_some(visit.end_ms)] {
            @if may_move {
                span.grip aria-hidden="true" title="Drag to another time" { "⠿" }
            }
            p.time {
                @if piece.continued {
                    "Since " (day_label(start)) " " (hhmm(start)) " – "
                    @if piece.continues { "all day" } @else { (hhmm(end)) }
                } @else {
                    (hhmm(start)) "–" (hhmm(end))
                    @if end - start >= DAY_MS || (end - 1).div_euclid(DAY_MS) != start.div_euclid(DAY_MS) {
                        " (to " (day_label(end)) ")"
                    }
                }
                " " span.badge.(visit.job_status.as_str()) { (label(&visit.job_status)) }
            }
            @if piece.continued || piece.continues {
                p.going-on {
                    @if piece.continued { "← Continued from " (day_label(start)) }
                    @if piece.continued && piece.continues { " · " }
                    @if piece.continues { "Continues the next day →" }
                }
            }
            p.what { a href=(format!("/jobs/{}", visit.job_id)) { "#" (visit.job_number) " " (visit.job_title) } }
            p.place {
                (visit.customer_name) " · " (visit.site_line1)
                @if let Some(city) = &visit.site_city { ", " (city) }
            }
            @if with_names {
                p.who {
                    @if technicians.is_empty() { "Unassigned" }
                    @for (i, id) in technicians.iter().enumerate() {
                        @if i > 0 { ", " }
                        (people.name(id))
                    }
                }
            }
            @if let Some(others) = clash {
                p.flag role="note" {
                    "Double-booked with "
                    @for (i, other) in others.iter().enumerate() {
                        @if i > 0 { ", " }
                        "#" (other.job_number) " " (hhmm(viewer.local.wall(other.start_ms)))
                        "–" (hhmm(viewer.local.wall(other.end_ms)))
                    }
                }
            }
            @if may_move {
                details.move {
                    summary { "Move" }
                    (move_form(viewer, people, visit, &technicians))
                }
            }
        }
    }
}

/// The jobs that need a visit, beside the schedule: filtered by priority and customer, each
/// dragged onto a slot (`app.js`) or booked by its own form. The booking names the job's
/// version, so of two dispatchers booking the same job at once, one gets a 409.
fn waiting(s: &Schedule<'_>) -> Markup {
    let shown: Vec<&WaitingJob> = s.waiting.iter().filter(|j| s.filter.keeps(j)).collect();
    let mut customers: Vec<(&str, &str)> = s
        .waiting
        .iter()
        .map(|j| (j.customer_id.as_str(), j.customer_name.as_str()))
        .collect();
    crate::domain::order::by_key(&mut customers, |(id, name)| {
        crate::domain::order::by_text(name, id)
    });
    customers.dedup();
    let span = match s.span {
        Span::Day => "day",
        Span::Week => "week",
    };
    html! {
        details.card.waiting id="waiting" open {
            summary { h2 { "To book " span.count { (shown.len()) } } }
            form.filters method="get" action="/schedule" {
                input type="hidden" name="date" value=(iso_date(s.first_day));
                input type="hidden" name="view" value=(span);
                label { span.label { "Priority" }
                    select name="priority" {
                        option value="" { "Any" }
                        @for p in Priority::ALL {
                            option value=(p.as_str()) selected[s.filter.priority == Some(p.as_str())] { (label(p.as_str())) }
                        }
                    }
                }
                label { span.label { "Customer" }
                    select name="customer" {
                        option value="" { "Any" }
                        @for (id, name) in &customers {
                            option value=(id) selected[s.filter.customer == Some(*id)] { (name) }
                        }
                    }
                }
                button type="submit" { "Filter" }
            }
            @if shown.is_empty() { p.muted { "Nothing waiting for a visit." } }
            ul.rows.waiting-jobs {
                @for job in shown {
                    li {
                        article.visit.waiting-job data-job=(job.id) data-length-ms=(BOOKED_LENGTH_MS) {
                            span.grip aria-hidden="true" title="Drag onto the schedule to book" { "⠿" }
                            p.what { a href=(format!("/jobs/{}", job.id)) { "#" (job.number) " " (job.title) } }
                            p.place {
                                (job.customer_name) " "
                                span.badge.(job.status.as_str()) { (label(&job.status)) }
                                @if job.priority != "normal" { " " span.badge.priority.(job.priority.as_str()) { (label(&job.priority)) } }
                            }
                            details.book { summary { "Book" } (book_form(s, job)) }
                        }
                    }
                }
            }
        }
    }
}

/// Booking a visit for a waiting job, on the job's version; the script fills it on a drop.
fn book_form(s: &Schedule<'_>, job: &WaitingJob) -> Markup {
    let people = s.people;
    let action = format!("/api/v1/jobs/{}/visits", job.id);
    // The first slot of the working day shown, as a start to edit.
    let start = slot_start(s.first_day, s.work_day.0);
    api_form(
        &Api::new("POST", &action, "reload"),
        "book-job",
        html! {
            input type="hidden" name="job_version" value=(job.version) data-type="int";
            div.row {
                (field("Start", "start", html! {
                    input type="datetime-local" name="start" data-type="instant" value=(datetime_local(start));
                }))
                (field("End", "end", html! {
                    input type="datetime-local" name="end" data-type="instant"
                        value=(datetime_local(start + BOOKED_LENGTH_MS));
                }))
            }
            (field("Who", "technician_ids", checkboxes(
                "technician_ids",
                people.assignable().map(|p| (p.id.as_str(), p.name.as_str())),
                &job.technicians(),
            )))
            (allow_conflict())
            div.actions { button type="submit" { "Book visit" } }
        },
    )
}

/// A technician's day on a phone: each visit with where, whom to call, how to get in, and the
/// buttons that move it along (on my way, arrived, complete).
fn my_day(viewer: &Viewer<'_>, s: &Schedule<'_>) -> Markup {
    html! {
        section.card.my-day id="my-day" {
            h2 { "Your day" }
            @if s.visits.is_empty() { p.muted { "Nothing booked for you." } }
            ol.rows {
                @for visit in s.visits {
                    li data-visit=(visit.id) {
                        p.time {
                            (hhmm(viewer.local.wall(visit.start_ms))) "–" (hhmm(viewer.local.wall(visit.end_ms)))
                            " " span.badge.(visit.status.as_str()) { (label(&visit.status)) }
                        }
                        p.what { a href=(format!("/jobs/{}", visit.job_id)) { "#" (visit.job_number) " " (visit.job_title) } }
                        p.place {
                            (visit.customer_name) " · "
                            a.maps href=(maps_link(visit)) rel="noopener" target="_blank" { (place(visit)) }
                        }
                        @if let Some(phone) = &visit.customer_phone {
                            p.phone { a href=(format!("tel:{phone}")) { "Call " (phone) } }
                        }
                        @if let Some(notes) = &visit.site_access_notes {
                            p.access { "Access: " (notes) }
                        }
                        (visit_actions(viewer, visit))
                        // On the way: the customer is told with the ETA (the company's "on my
                        // way" message; refused when it is switched off or they opted out).
                        @if matches!(VisitStatus::parse(&visit.status), Some(VisitStatus::Scheduled | VisitStatus::EnRoute))
                            && visit.technicians().iter().any(|t| t == viewer.user_id) {
                            details.tell {
                                summary { "Tell the customer you are on the way" }
                                (crate::views::pages::jobs::on_my_way_form(&visit.job_id))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn place(visit: &VisitLine) -> String {
    match &visit.site_city {
        Some(city) => format!("{}, {city}", visit.site_line1),
        None => visit.site_line1.clone(),
    }
}

/// The address in a maps search (any phone opens it in its maps app).
fn maps_link(visit: &VisitLine) -> String {
    format!(
        "https://www.google.com/maps/search/?api=1&query={}",
        encode_component(&place(visit))
    )
}

/// What a button moving a visit to `to` says.
fn visit_action_label(from: VisitStatus, to: VisitStatus) -> &'static str {
    match (from, to) {
        (_, VisitStatus::EnRoute) => "On my way",
        (_, VisitStatus::InProgress) => "Arrived",
        (_, VisitStatus::Completed) => "Complete",
        (_, VisitStatus::Cancelled) => "Cancel visit",
        (VisitStatus::Cancelled, VisitStatus::Scheduled) => "Put back",
        (_, VisitStatus::Scheduled) => "Not on my way",
    }
}

/// The buttons that move a visit through its statuses, for those who work it or manage the
/// schedule (as `may_move_visit` allows); each a versioned form.
pub fn visit_actions(viewer: &Viewer<'_>, visit: &VisitLine) -> Markup {
    let manager = viewer.can(Permission::ManageRecords);
    let works = viewer.can(Permission::WorkOnJobs)
        && visit.technicians().iter().any(|t| t == viewer.user_id);
    let Some(from) = VisitStatus::parse(&visit.status) else {
        return html! {};
    };
    if !(manager || works) {
        return html! {};
    }
    let action = format!("/api/v1/visits/{}/status", visit.id);
    html! {
        div.visit-actions {
            @for to in from.allowed_next().iter().filter(|to| may_move_visit(**to, manager).is_ok()) {
                (api_form(
                    &Api::new("POST", &action, "reload").versioned(visit.version),
                    "inline",
                    html! {
                        input type="hidden" name="status" value=(to.as_str());
                        button.secondary.danger[*to == VisitStatus::Cancelled] type="submit"
                            data-visit-status=(to.as_str()) { (visit_action_label(from, *to)) }
                    },
                ))
            }
        }
    }
}

/// The settings' dispatching card: the working hours the schedule shows, and whether the last
/// visit done completes its job.
pub fn settings(viewer: &Viewer<'_>, company: &Settings) -> Markup {
    let clock = |minutes: i64| format!("{:02}:{:02}", minutes / 60, minutes % 60);
    let auto = company.complete_job_with_last_visit == 1;
    let hours = |name: &str, from: i64, chosen: i64| {
        html! {
            select name=(name) data-type="int" {
                @for hour in from..from + 24 {
                    option value=(hour * 60) selected[hour * 60 == chosen] { (clock(hour * 60)) }
                }
            }
        }
    };
    html! {
        section.card id="dispatch-settings" {
            h2 { "Dispatching" }
            @if viewer.can(Permission::ManageSettings) {
                (api_form(&Api::new("PATCH", "/api/v1/settings", "reload").versioned(company.version), "dispatch-settings", html! {
                    div.row {
                        (field("Working day starts", "work_day_start", hours("work_day_start", 0, company.work_day_start)))
                        (field("Working day ends", "work_day_end", hours("work_day_end", 1, company.work_day_end)))
                    }
                    div.field data-field="complete_job_with_last_visit" {
                        label.check {
                            input type="checkbox" name="complete_job_with_last_visit" data-type="bool" checked[auto];
                            " Completing a job's last visit completes the job"
                        }
                    }
                    (submit("Save dispatching"))
                }))
            } @else {
                dl.facts {
                    dt { "Working day" } dd { (clock(company.work_day_start)) "–" (clock(company.work_day_end)) }
                    dt { "Last visit done" } dd { @if auto { "Completes the job" } @else { "Offers to complete the job" } }
                }
            }
        }
    }
}

/// Moving a visit (and, for those who assign work, changing who works it), versioned.
pub fn move_form(
    viewer: &Viewer<'_>,
    people: &People<'_>,
    visit: &VisitLine,
    technicians: &[String],
) -> Markup {
    let action = format!("/api/v1/visits/{}", visit.id);
    let api = Api::new("PATCH", &action, "reload").versioned(visit.version);
    api_form(
        &api,
        "move-visit",
        html! {
            div.row {
                (field("Start", "start", html! {
                    input type="datetime-local" name="start" data-type="instant"
                        value=(datetime_local(viewer.local.wall(visit.start_ms)));
                }))
                (field("End", "end", html! {
                    input type="datetime-local" name="end" data-type="instant"
                        value=(datetime_local(viewer.local.wall(visit.end_ms)));
                }))
            }
            @if viewer.can(Permission::ManageRecords) {
                (field("Who", "technician_ids", checkboxes(
                    "technician_ids",
                    people.assignable().map(|p| (p.id.as_str(), p.name.as_str())),
                    technicians,
                )))
            }
            (allow_conflict())
            div.actions { button type="submit" { "Save" } }
        },
    )
}

/// The choice to double-book on purpose, revealed by the script when a booking clashes.
pub fn allow_conflict() -> Markup {
    html! {
        div.field.allow-conflict data-field="allow_conflict" hidden {
            label.check {
                input type="checkbox" name="allow_conflict" data-type="bool";
                " Book anyway (double-book on purpose)"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::pages::Person;
    use crate::domain::auth::permissions::Role;
    use crate::views::pages::parse_date;
    use crate::views::pages::tests::viewer;

    fn visit(id: &str, number: i64, start_h: i64, end_h: i64, techs: &[&str]) -> VisitLine {
        let day = parse_date("2026-11-24").unwrap();
        VisitLine {
            id: id.into(),
            job_id: format!("job-{number}"),
            start_ms: day + start_h * 3_600_000,
            end_ms: day + end_h * 3_600_000,
            status: "scheduled".into(),
            version: 2,
            technician_ids: serde_json::to_string(techs).unwrap(),
            job_number: number,
            job_title: format!("Job <{number}>"),
            job_status: "scheduled".into(),
            customer_name: "Ada".into(),
            customer_phone: Some("+15550100".into()),
            site_line1: "1 Main St".into(),
            site_city: Some("Springfield".into()),
            site_access_notes: Some("Gate 1234".into()),
        }
    }

    fn people() -> Vec<Person> {
        ["u-1", "u-2"]
            .iter()
            .map(|id| Person {
                id: (*id).into(),
                name: format!("Person {id}"),
                role: "technician".into(),
                active: 1,
            })
            .collect()
    }

    #[test]
    fn weeks_start_on_monday() {
        let tuesday = parse_date("2026-11-24").unwrap();
        assert_eq!(week_start(tuesday), parse_date("2026-11-23").unwrap());
        let monday = parse_date("2026-11-23").unwrap();
        assert_eq!(week_start(monday), monday);
        let sunday = parse_date("2026-11-29").unwrap();
        assert_eq!(week_start(sunday), monday);
    }

    #[test]
    fn overlapping_visits_of_one_technician_are_double_booked_and_others_are_not() {
        let visits = [
            visit("a", 1, 9, 11, &["u-1"]),
            visit("b", 2, 10, 12, &["u-1", "u-2"]),
            visit("c", 3, 11, 13, &["u-2"]),
            visit("d", 4, 9, 10, &["u-2"]),
        ];
        let found: Vec<(&str, Vec<&str>)> = double_bookings(&visits)
            .into_iter()
            .map(|(id, others)| (id, others.iter().map(|o| o.id.as_str()).collect()))
            .collect();
        assert_eq!(
            found,
            vec![("a", vec!["b"]), ("b", vec!["a", "c"]), ("c", vec!["b"])]
        );
    }

    #[test]
    fn the_day_shows_each_technician_flags_clashes_and_offers_moves_to_whom_it_may() {
        let visits = [
            visit("a", 1, 9, 11, &["u-1"]),
            visit("b", 2, 10, 12, &["u-1"]),
        ];
        let list = people();
        let people = People(&list);
        let day = parse_date("2026-11-24").unwrap();
        let schedule = Schedule {
            first_day: day,
            span: Span::Day,
            today: day,
            visits: &visits,
            people: &people,
            work_day: (7, 18),
            waiting: &[],
            filter: WaitingFilter::default(),
        };
        let html = page(&viewer(Role::Dispatcher), &schedule).into_string();
        assert!(html.contains("Person u-1"));
        assert!(html.contains("Person u-2"), "free technicians show too");
        assert!(html.contains("Double-booked with #2 10:00–12:00"), "{html}");
        assert!(html.contains("Job &lt;1&gt;"));
        assert!(html.contains(r#"data-action="/api/v1/visits/a""#));
        assert!(html.contains(r#"value="2026-11-24T09:00""#));
        assert!(html.contains(r#"data-version="2""#));
        assert!(html.contains("2 visits are double-booked"));

        // A technician moves only their own visits; a viewer moves nothing.
        let tech = Viewer {
            user_id: "u-2",
            ..viewer(Role::Technician)
        };
        let html = page(&tech, &schedule).into_string();
        assert!(!html.contains("data-action=\"/api/v1/visits/"), "{html}");
        assert!(!html.contains("/on-my-way"), "nobody else's customer");
        // Their own day: the visit's buttons, and telling its customer they are on the way.
        let mine = Viewer {
            user_id: "u-1",
            ..viewer(Role::Technician)
        };
        let html = page(&mine, &schedule).into_string();
        assert!(
            html.contains(r#"data-action="/api/v1/jobs/job-1/on-my-way""#),
            "{html}"
        );
        let html = page(&viewer(Role::Viewer), &schedule).into_string();
        assert!(!html.contains("<details class=\"move\""));
    }

    #[test]
    fn the_week_has_seven_days_from_monday() {
        let list = people();
        let people = People(&list);
        let visits = [visit("a", 1, 9, 11, &["u-1"])];
        let monday = parse_date("2026-11-23").unwrap();
        let html = page(
            &viewer(Role::Owner),
            &Schedule {
                first_day: monday,
                span: Span::Week,
                today: monday + DAY_MS,
                visits: &visits,
                people: &people,
                work_day: (7, 18),
                waiting: &[],
                filter: WaitingFilter::default(),
            },
        )
        .into_string();
        assert!(html.contains("Mon 23 Nov – Sun 29 Nov 2026"), "{html}");
        assert_eq!(html.matches("<section class=\"column").count(), 7);
        assert!(html.contains("column today"));
        assert!(html.contains(r#"data-slot="2026-11-24T09:00""#), "{html}");
    }

    #[test]
    fn a_visit_over_midnight_shows_on_each_day_it_covers_and_moves_from_its_first() {
        let list = people();
        let people = People(&list);
        // Tue 22:00 to Wed 06:00.
        let visits = [visit("night", 7, 22, 30, &["u-1"])];
        let monday = parse_date("2026-11-23").unwrap();
        let html = page(
            &viewer(Role::Owner),
            &Schedule {
                first_day: monday,
                span: Span::Week,
                today: monday,
                visits: &visits,
                people: &people,
                work_day: (7, 18),
                waiting: &[],
                filter: WaitingFilter::default(),
            },
        )
        .into_string();
        let days: Vec<&str> = html.split("<section class=\"column").skip(1).collect();
        assert_eq!(days.len(), 7);
        let shown: Vec<usize> = (0..7).filter(|i| days[*i].contains("#7 ")).collect();
        assert_eq!(shown, vec![1, 2], "Tuesday and Wednesday");
        assert!(days[1].contains("Continues the next day"), "{}", days[1]);
        assert!(days[1].contains("22:00–06:00 (to Wed 25 Nov)"));
        assert!(days[2].contains("Continued from Tue 24 Nov"), "{}", days[2]);
        assert!(days[2].contains("visit continued"));
        // One way to move it: from its first day, not from each piece.
        assert!(days[1].contains("class=\"grip\""));
        assert!(!days[2].contains("class=\"grip\"") && !days[2].contains("data-action"));
        assert_eq!(
            html.matches(r#"data-action="/api/v1/visits/night""#)
                .count(),
            1
        );
    }

    #[test]
    fn the_day_board_names_each_column_for_dropping_and_lets_managers_reassign() {
        let list = people();
        let people = People(&list);
        let visits = [visit("a", 1, 9, 11, &["u-1"]), visit("b", 2, 10, 11, &[])];
        let day = parse_date("2026-11-24").unwrap();
        let schedule = Schedule {
            first_day: day,
            span: Span::Day,
            today: day,
            visits: &visits,
            people: &people,
            work_day: (7, 18),
            waiting: &[],
            filter: WaitingFilter::default(),
        };
        let html = page(&viewer(Role::Dispatcher), &schedule).into_string();
        assert!(html.contains(r#"data-person="u-1""#));
        assert!(html.contains(r#"data-person="""#), "the unassigned column");
        assert!(html.contains("data-reassign"));
        assert!(html.contains(r#"data-start-ms=""#));
        assert!(html.contains(r#"aria-live="polite""#));
        let tech = Viewer {
            user_id: "u-1",
            ..viewer(Role::Technician)
        };
        let html = page(&tech, &schedule).into_string();
        assert!(!html.contains("data-reassign"));
        assert_eq!(
            html.matches("class=\"grip\"").count(),
            1,
            "only their own visit"
        );
    }
}
