//! The automatic messages' planner (DESIGN.md §10): finds what is due — tomorrow's visits'
//! reminders, new bookings' confirmations, completed jobs, overdue invoices, unanswered
//! quotes — and queues each message once (its occasion is unique in the outbox), held back
//! through quiet hours, never for a customer who opted out or a message the company switched
//! off. It runs on the cron trigger and, since a tenant past the account's 250 cron triggers
//! has none, after a response at most every few minutes per instance: any request drives it.
//! One read batch, one write batch; the outbox sends what is due.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::json;
use worker::{console_error, console_log, Env};

use crate::db::messages::{self as store, Company, Due, TemplateRow, TimingRow};
use crate::db::store::D1Store;
use crate::domain::audit::{Action, AuditEvent, SealKey};
use crate::domain::automatic::Timing;
use crate::domain::deliveries::{automatic, Contact};
use crate::domain::money::Currency;
use crate::domain::templates::{quote_amount, render, Kind, Wording};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::messages::{self, LinkTo, Outgoing};
use crate::http::zone::Zone;
use crate::http::{clock, outbox};
use crate::sql;
use crate::views::pages::{day_label, hhmm};
use crate::write::{self, Change, Results, Store};

/// How often a running instance plans on its own (the cron trigger runs every 5 minutes).
const EVERY_MS: u64 = 5 * 60_000;
/// Bookings and completions older than this are not confirmed late.
const RECENT_MS: u64 = 24 * 3_600_000;
/// Visits read for reminders: the next two days cover "tomorrow" in any zone.
const LOOKAHEAD_MS: u64 = 50 * 3_600_000;

static LAST_PLANNED_AT: AtomicU64 = AtomicU64::new(0);

/// Whether this instance is due to plan (and, if so, marks it planned now).
pub fn due(now: Millis) -> bool {
    let last = LAST_PLANNED_AT.load(Ordering::Relaxed);
    if last != 0 && now.0.saturating_sub(last) < EVERY_MS {
        return false;
    }
    LAST_PLANNED_AT.store(now.0, Ordering::Relaxed);
    true
}

/// Plans, then sends what is due; logged. What either appended to the audit trail is sealed
/// at once (one run for both).
pub async fn run_logged(env: &Env, cause: &str) {
    let planned = match plan(env).await {
        Ok(0) => false,
        Ok(queued) => {
            let line = json!({ "level": "info", "msg": "automatic messages", "cause": cause, "queued": queued });
            console_log!("{line}");
            true
        }
        Err(e) => {
            let line = json!({ "level": "error", "msg": "automatic messages", "cause": cause, "error": e.to_string() });
            console_error!("{line}");
            false
        }
    };
    if outbox::drain_logged(env, cause).await || planned {
        crate::http::seal::run_logged(env, cause).await;
    }
}

/// What the planner read.
struct Found {
    timing: Timing,
    templates: Vec<TemplateRow>,
    zone: Zone,
}

/// `amount` in `code`'s format (the bare number should the code be unknown).
fn money(code: &str, amount: i64) -> String {
    Currency::parse(code).map_or_else(|_| amount.to_string(), |c| c.format(amount))
}

impl Found {
    /// The company's wording of `kind`, if it sends it.
    fn wording(&self, kind: Kind) -> Option<Wording> {
        let row = self.templates.iter().find(|t| t.kind == kind.as_str())?;
        if row.enabled == 0 {
            return None;
        }
        let default = kind.default_wording();
        Some(Wording {
            subject: row.subject.clone().unwrap_or(default.subject),
            body: row.body.clone().unwrap_or(default.body),
        })
    }
}

/// Queues what is due now; answers how many messages.
pub async fn plan(env: &Env) -> AppResult<usize> {
    let store = D1Store::from_env(env)?;
    let now = clock::now();
    let now_ms = now.0 as i64;
    let since = Millis(now.0.saturating_sub(RECENT_MS)).to_rfc3339();
    let stamp = now.to_rfc3339();
    let results = store
        .batch(vec![
            sql!(store::TIMING),
            sql!(store::TEMPLATES),
            sql!(store::COMPANY),
            sql!(store::DUE_REMINDERS, now_ms, now_ms + LOOKAHEAD_MS as i64),
            sql!(store::DUE_BOOKINGS, since.as_str(), now_ms),
            sql!(store::DUE_COMPLETIONS, since.as_str()),
            sql!(store::OVERDUE_INVOICES, stamp.as_str()),
            sql!(store::UNANSWERED_QUOTES, &stamp[..10]),
        ])
        .await
        .map_err(|e| AppError::internal(format!("planner read: {e}")))?;
    let Some(timing_row) = results.rows::<TimingRow>(0)?.into_iter().next() else {
        return Ok(0);
    };
    let Some(company) = results.rows::<Company>(2)?.into_iter().next() else {
        return Ok(0);
    };
    let found = Found {
        timing: timing(&timing_row),
        templates: results.rows::<TemplateRow>(1)?,
        zone: Zone(company.time_zone.clone()),
    };
    let offset = |at: i64| found.zone.offset_minutes(at);
    let send_at = found.timing.send_at(now_ms, offset);
    let mut planned: Vec<Outgoing> = Vec::new();

    if let (Some(wording), Some((from, to))) = (
        found.wording(Kind::Reminder),
        found.timing.reminder_window(now_ms, offset),
    ) {
        for visit in results.rows::<Due>(3)? {
            let (Some(id), Some(start)) = (&visit.visit_id, visit.start_ms) else {
                continue;
            };
            if start < from || start >= to {
                continue;
            }
            let occasion = format!("reminder:{id}:{start}");
            planned.extend(visit_message(
                &found,
                &company,
                &wording,
                Kind::Reminder,
                &visit,
                occasion,
                send_at,
            ));
        }
    }
    if let Some(wording) = found.wording(Kind::Booking) {
        for visit in results.rows::<Due>(4)? {
            let Some(id) = &visit.visit_id else { continue };
            let occasion = format!("booking:{id}");
            planned.extend(visit_message(
                &found,
                &company,
                &wording,
                Kind::Booking,
                &visit,
                occasion,
                send_at,
            ));
        }
    }
    if let Some(wording) = found.wording(Kind::JobCompleted) {
        for job in results.rows::<Due>(5)? {
            let Some(job_id) = job.job_id.clone() else {
                continue;
            };
            let values = [
                ("customer", job.customer.as_str()),
                ("company", company.name.as_str()),
                ("job", job.job.as_deref().unwrap_or_default()),
            ];
            let link = job.invoice_id.as_ref().map(|id| LinkTo {
                document: "invoice",
                id: id.clone(),
                label: "View and pay the invoice",
            });
            planned.extend(message(
                &job,
                Kind::JobCompleted,
                &wording,
                &values,
                link,
                format!("job_completed:{job_id}"),
                ("job", job_id.clone()),
                send_at,
                None,
            ));
        }
    }
    if let Some(wording) = found.wording(Kind::InvoiceOverdue) {
        for invoice in results.rows::<Due>(6)? {
            let (Some(invoice_id), Some(due)) = (
                invoice.invoice_id.clone(),
                invoice.due_at.as_deref().and_then(Millis::parse_rfc3339),
            ) else {
                continue;
            };
            let due = due.0 as i64;
            let Some(step) = found.timing.overdue_step(due, now_ms) else {
                continue;
            };
            if invoice.last_step.is_some_and(|last| last >= step) {
                continue;
            }
            let amount = money(
                invoice.currency.as_deref().unwrap_or_default(),
                invoice.balance.unwrap_or(0),
            );
            let days = ((now_ms - due) / Millis::DAY as i64).to_string();
            let values = [
                ("customer", invoice.customer.as_str()),
                ("company", company.name.as_str()),
                ("number", invoice.number.as_deref().unwrap_or_default()),
                ("amount", amount.as_str()),
                ("days", days.as_str()),
            ];
            planned.extend(message(
                &invoice,
                Kind::InvoiceOverdue,
                &wording,
                &values,
                Some(LinkTo {
                    document: "invoice",
                    id: invoice_id.clone(),
                    label: "View and pay the invoice",
                }),
                format!("invoice_overdue:{invoice_id}:{step}"),
                ("invoice", invoice_id.clone()),
                send_at,
                None,
            ));
        }
    }
    if let Some(wording) = found.wording(Kind::QuoteFollowUp) {
        for quote in results.rows::<Due>(7)? {
            let (Some(quote_id), Some(sent)) = (
                quote.quote_id.clone(),
                quote.sent_at.as_deref().and_then(Millis::parse_rfc3339),
            ) else {
                continue;
            };
            if !found.timing.follow_up_due(sent.0 as i64, now_ms) {
                continue;
            }
            let amount = quote_amount(
                money(
                    quote.currency.as_deref().unwrap_or_default(),
                    quote.amount.unwrap_or(0),
                ),
                quote.options.unwrap_or(1),
            );
            let values = [
                ("customer", quote.customer.as_str()),
                ("company", company.name.as_str()),
                ("number", quote.number.as_deref().unwrap_or_default()),
                ("amount", amount.as_str()),
            ];
            planned.extend(message(
                &quote,
                Kind::QuoteFollowUp,
                &wording,
                &values,
                Some(LinkTo {
                    document: "quote",
                    id: quote_id.clone(),
                    label: "View the quote",
                }),
                format!("quote_follow_up:{quote_id}"),
                ("quote", quote_id.clone()),
                send_at,
                None,
            ));
        }
    }
    if planned.is_empty() {
        return Ok(0);
    }
    let key = messages::key(env)?;
    let count = planned.len();
    write::apply(&store, queue_all(&key, &planned, now)?, vec![])
        .await
        .map_err(|refusal| {
            refusal.into_error(|| AppError::internal("queuing automatic messages"))
        })?;
    Ok(count)
}

/// The change that queues `planned`, each message with its audit row.
pub fn queue_all(key: &SealKey, planned: &[Outgoing], now: Millis) -> AppResult<Change> {
    let mut change = Change::new();
    for message in planned {
        let statements = messages::queue(key, message, now)?;
        let mut statements = statements.into_iter();
        if let Some(first) = statements.next() {
            change = change.then_audited(first, queued_event(message, now));
        }
        change = change.then_all(statements);
    }
    Ok(change)
}

/// The audit row of a queued automatic message (written only if it was not queued before).
fn queued_event(message: &Outgoing, now: Millis) -> AuditEvent {
    AuditEvent::by_system(
        now,
        Action::MessageQueued,
        message.entity,
        Some(&message.entity_id),
        None,
        Some(json!({
            "automatic": message.template.map(Kind::as_str),
            "channel": message.delivery.channel.as_str(),
            "to": message.sealed(&message.delivery.to),
            "send_at": Millis::from_ms(message.send_at).to_rfc3339(),
        })),
        "automatic",
    )
}

fn visit_message(
    found: &Found,
    company: &Company,
    wording: &Wording,
    kind: Kind,
    visit: &Due,
    occasion: String,
    send_at: i64,
) -> Option<Outgoing> {
    let (Some(visit_id), Some(start)) = (&visit.visit_id, visit.start_ms) else {
        return None;
    };
    let wall = found.zone.wall_of(start);
    let (date, time) = (day_label(wall), hhmm(wall));
    let values = [
        ("customer", visit.customer.as_str()),
        ("company", company.name.as_str()),
        ("job", visit.job.as_deref().unwrap_or_default()),
        ("date", date.as_str()),
        ("time", time.as_str()),
    ];
    message(
        visit,
        kind,
        wording,
        &values,
        None,
        occasion,
        ("visit", visit_id.clone()),
        send_at,
        Some(start),
    )
}

#[allow(clippy::too_many_arguments)]
fn message(
    contact: &Due,
    kind: Kind,
    wording: &Wording,
    values: &[(&str, &str)],
    link: Option<LinkTo>,
    occasion: String,
    (entity, entity_id): (&'static str, String),
    send_at: i64,
    not_after: Option<i64>,
) -> Option<Outgoing> {
    let stored = Contact::from_stored(
        &contact.emails,
        &contact.phones,
        &contact.preferred_contact,
        contact.opted_out != 0,
    );
    let delivery = automatic(&stored)?;
    let has_link = link.is_some();
    Some(Outgoing {
        occasion,
        delivery,
        customer_id: contact.customer_id.clone(),
        entity,
        entity_id,
        subject: render(&wording.subject, values, has_link),
        body: render(&wording.body, values, has_link),
        link,
        template: Some(kind),
        send_at,
        not_after,
        author: None,
    })
}

/// The stored timing as the domain reads it.
pub fn timing(row: &TimingRow) -> Timing {
    Timing {
        quiet_start: row.quiet_start,
        quiet_end: row.quiet_end,
        reminder_at: row.reminder_at,
        overdue_days: serde_json::from_str(&row.overdue_days).unwrap_or_default(),
        quote_follow_up_days: row.quote_follow_up_days,
    }
}
