//! The company's automatic messages: when they go out (quiet hours, the reminder time, the
//! overdue and follow-up days) and, per message, whether it is sent and its wording. Everyone
//! signed in who sees settings reads them; owners change them, each a versioned, audited write.

use crate::json;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db::messages::{self as store, TemplateRow, TimingRow};
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::automatic::{clock, parse_clock};
use crate::domain::templates::{check, Kind};
use crate::error::{AppError, AppResult};
use crate::http::api::{event, if_match, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_bytes, MAX_JSON_BODY};
use crate::http::router::Matched;
use crate::http::{respond, RequestCtx};
use crate::sql;
use crate::views::fields::Body;
use crate::write::{self, Change, Results, Store};

crate::row_entity!(
    /// The timing of automatic messages (one row).
    TimingEntity,
    TimingRow,
    "message settings",
    "/api/v1/settings/messages",
    |_id: &str| sql!(store::TIMING),
    timing_view,
);

crate::row_entity!(
    /// One automatic message's switch and wording, by kind.
    TemplateEntity,
    TemplateRow,
    "message template",
    "/api/v1/settings/messages/templates",
    |kind: &str| sql!(store::TEMPLATE, kind),
    template_view,
);

pub fn timing_view(row: &TimingRow) -> Value {
    let days: Vec<i64> = serde_json::from_str(&row.overdue_days).unwrap_or_default();
    json!({
        "quiet_start": clock(row.quiet_start),
        "quiet_end": clock(row.quiet_end),
        "reminder_at": clock(row.reminder_at),
        "overdue_days": days,
        "quote_follow_up_days": row.quote_follow_up_days,
        "version": row.version,
        "updated_at": row.updated_at,
    })
}

pub fn template_view(row: &TemplateRow) -> Value {
    let kind = Kind::parse(&row.kind);
    let default = kind.map(Kind::default_wording);
    json!({
        "kind": row.kind,
        "title": kind.map(Kind::title),
        "when": kind.map(Kind::when),
        "enabled": row.enabled == 1,
        "subject": row.subject.clone().or_else(|| default.as_ref().map(|d| d.subject.clone())),
        "body": row.body.clone().or_else(|| default.as_ref().map(|d| d.body.clone())),
        "customised": row.subject.is_some() || row.body.is_some(),
        "placeholders": kind.map(Kind::placeholders),
        "version": row.version,
        "updated_at": row.updated_at,
    })
}

/// `GET /api/v1/settings/messages`: the timing and every automatic message.
pub async fn get(env: &Env) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let results = store
        .batch(vec![sql!(store::TIMING), sql!(store::TEMPLATES)])
        .await
        .map_err(|e| AppError::internal(format!("message settings: {e}")))?;
    let timing = results
        .rows::<TimingRow>(0)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("message settings"))?;
    let templates = results.rows::<TemplateRow>(1)?;
    respond::json(
        200,
        &json!({
            "timing": timing_view(&timing),
            "templates": templates.iter().map(template_view).collect::<Vec<_>>(),
        }),
    )
}

pub struct TimingPatch {
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub reminder_at: Option<String>,
    pub overdue_days: Option<Vec<i64>>,
    pub quote_follow_up_days: Option<i64>,
}

/// `PATCH /api/v1/settings/messages` with `If-Match`: the timing fields given change.
pub async fn update_timing(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let bytes = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(
        &bytes,
        &[
            "quiet_start",
            "quiet_end",
            "reminder_at",
            "overdue_days",
            "quote_follow_up_days",
        ],
    )?;
    let patch = TimingPatch {
        quiet_start: body.take("quiet_start", "a time as HH:MM"),
        quiet_end: body.take("quiet_end", "a time as HH:MM"),
        reminder_at: body.take("reminder_at", "a time as HH:MM"),
        overdue_days: body.take("overdue_days", "a list of whole numbers of days"),
        quote_follow_up_days: body.take("quote_follow_up_days", "a whole number of days"),
    };
    body.finish()?;
    let store_ = D1Store::from_env(env)?;
    let written = write::update::<_, TimingEntity>(&store_, "1", version, |before| {
        let next = apply_timing(before, &patch)?;
        Ok(Change::new()
            .guarded(sql!(
                store::UPDATE_TIMING,
                next.quiet_start,
                next.quiet_end,
                next.reminder_at,
                next.overdue_days.as_str(),
                next.quote_follow_up_days,
                now().to_rfc3339(),
                version,
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::MessageSettingsUpdated,
                "message_settings",
                Some("1"),
                Some(timing_view(before)),
                Some(timing_view(&next)),
            )))
    })
    .await?;
    respond::record::<TimingEntity>(200, &written)
}

/// The timing with `patch` applied, or 422 naming each field that is not right.
pub fn apply_timing(before: &TimingRow, patch: &TimingPatch) -> AppResult<TimingRow> {
    let mut next = before.clone();
    let mut errors = Vec::new();
    for (field, value, slot) in [
        ("quiet_start", &patch.quiet_start, &mut next.quiet_start),
        ("quiet_end", &patch.quiet_end, &mut next.quiet_end),
        ("reminder_at", &patch.reminder_at, &mut next.reminder_at),
    ] {
        if let Some(text) = value {
            match parse_clock(text) {
                Some(minutes) => *slot = minutes,
                None => errors
                    .push(json!({ "field": field, "message": "A time as HH:MM, e.g. 20:00." })),
            }
        }
    }
    if let Some(days) = &patch.overdue_days {
        let mut days = days.clone();
        days.sort_unstable();
        days.dedup();
        if days.len() > 5 || days.iter().any(|d| !(1..=365).contains(d)) {
            errors.push(json!({ "field": "overdue_days", "message": "At most five numbers of days, each from 1 to 365." }));
        } else {
            next.overdue_days = json!(days).to_string();
        }
    }
    if let Some(days) = patch.quote_follow_up_days {
        if (1..=60).contains(&days) {
            next.quote_follow_up_days = days;
        } else {
            errors.push(json!({ "field": "quote_follow_up_days", "message": "A number of days from 1 to 60." }));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(
            "The message settings could not be saved.",
            errors,
        ));
    }
    Ok(next)
}

pub struct TemplatePatch {
    pub enabled: Option<bool>,
    /// `null` goes back to the product's wording.
    pub subject: Option<Option<String>>,
    pub body: Option<Option<String>>,
}

/// `PATCH /api/v1/settings/messages/templates/{kind}` with `If-Match`.
pub async fn update_template(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let kind_text = matched.param("kind").unwrap_or_default().to_owned();
    let kind = Kind::parse(&kind_text).ok_or_else(|| AppError::not_found("message template"))?;
    let bytes = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &["enabled", "subject", "body"])?;
    let patch = TemplatePatch {
        enabled: body.take("enabled", "true or false"),
        subject: body.take_nullable("subject", "text, or null"),
        body: body.take_nullable("body", "text, or null"),
    };
    body.finish()?;
    let store_ = D1Store::from_env(env)?;
    let written = write::update::<_, TemplateEntity>(&store_, &kind_text, version, |before| {
        let next = apply_template(kind, before, &patch)?;
        Ok(Change::new()
            .guarded(sql!(
                store::UPDATE_TEMPLATE,
                kind.as_str(),
                next.enabled,
                next.subject.as_deref(),
                next.body.as_deref(),
                now().to_rfc3339(),
                version,
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::MessageTemplateUpdated,
                "message_template",
                Some(kind.as_str()),
                Some(template_view(before)),
                Some(template_view(&next)),
            )))
    })
    .await?;
    respond::record::<TemplateEntity>(200, &written)
}

/// The template with `patch` applied: wording checked against the kind's placeholders; the
/// product's own wording, or blank, is stored as none (so it follows the product's).
pub fn apply_template(
    kind: Kind,
    before: &TemplateRow,
    patch: &TemplatePatch,
) -> AppResult<TemplateRow> {
    let mut next = before.clone();
    let default = kind.default_wording();
    let mut errors = Vec::new();
    if let Some(enabled) = patch.enabled {
        next.enabled = i64::from(enabled);
    }
    for (field, value, max, default, slot) in [
        (
            "subject",
            &patch.subject,
            200,
            &default.subject,
            &mut next.subject,
        ),
        ("body", &patch.body, 2000, &default.body, &mut next.body),
    ] {
        let Some(value) = value else { continue };
        let text = value.as_deref().map(str::trim).unwrap_or("");
        if text.is_empty() || text == default {
            *slot = None;
            continue;
        }
        if text.chars().count() > max {
            errors.push(json!({ "field": field, "message": format!("At most {max} characters.") }));
        } else if let Err(message) = check(text, kind.placeholders()) {
            errors.push(json!({ "field": field, "message": message }));
        } else {
            *slot = Some(text.to_owned());
        }
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(
            "The message could not be saved.",
            errors,
        ));
    }
    Ok(next)
}
