//! Company settings: everyone signed in reads them, owners change them.

use crate::json;
use serde::Deserialize;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db::settings;
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::billing;
use crate::domain::dispatch;
use crate::domain::files;
use crate::domain::invoices::parse_prefix;
use crate::domain::money::Currency;
use crate::domain::notices::Notice;
use crate::error::{AppError, AppResult};
use crate::http::api::notifications::tell_owners;
use crate::http::api::{event, if_match, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::zone;
use crate::http::{respond, RequestCtx};
use crate::write::{self, Change, Entity, Results, Sql};

fn view(s: &settings::Settings) -> Value {
    json!({
        "name": s.name,
        "currency": s.currency,
        "time_zone": s.time_zone,
        "locale": s.locale,
        "email": s.email,
        "phone": s.phone,
        "address": s.address,
        "mfa_required": s.mfa_required == 1,
        "default_tax_rate_ppm": s.default_tax_rate_ppm,
        "rounding": s.rounding,
        "invoice_prefix": s.invoice_prefix,
        "payment_terms_days": s.payment_terms_days,
        "brand_color": s.brand_color,
        "max_upload_bytes": s.max_upload_bytes,
        "require_signature": s.require_signature == 1,
        "complete_job_with_last_visit": s.complete_job_with_last_visit == 1,
        "work_day_start": s.work_day_start,
        "work_day_end": s.work_day_end,
        "support_preapprove_read_only": s.support_preapprove_read_only == 1,
        "logo_file_id": s.logo_file_id,
        "version": s.version,
        "updated_at": s.updated_at,
    })
}

/// The company settings (one row), as the engine reads and writes them.
pub struct SettingsEntity;

impl Entity for SettingsEntity {
    type Record = settings::Settings;
    const NAME: &'static str = "company settings";
    const COLLECTION: &'static str = "/api/v1/settings";

    fn load(_id: &str) -> Vec<Sql> {
        vec![settings::load()]
    }

    fn parse(results: &impl Results, from: usize) -> AppResult<Option<settings::Settings>> {
        write::first_row(results, from)
    }

    fn version(s: &settings::Settings) -> i64 {
        s.version
    }

    fn view(s: &settings::Settings) -> Value {
        view(s)
    }
}

/// The one row's id, for the engine.
const ID: &str = "1";

/// `GET /api/v1/settings`.
pub async fn get(env: &Env) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let current = write::load::<_, SettingsEntity>(&store, ID).await?;
    respond::record::<SettingsEntity>(200, &current)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    name: Option<String>,
    currency: Option<String>,
    time_zone: Option<String>,
    locale: Option<String>,
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    address: Option<Option<String>>,
    mfa_required: Option<bool>,
    default_tax_rate_ppm: Option<i64>,
    rounding: Option<String>,
    invoice_prefix: Option<String>,
    payment_terms_days: Option<i64>,
    brand_color: Option<String>,
    max_upload_bytes: Option<i64>,
    require_signature: Option<bool>,
    complete_job_with_last_visit: Option<bool>,
    work_day_start: Option<i64>,
    work_day_end: Option<i64>,
    support_preapprove_read_only: Option<bool>,
}

/// `PATCH /api/v1/settings` with `If-Match`: the fields given change, the rest stay.
pub async fn update(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let patch: Patch = json_body(&mut req, MAX_JSON_BODY).await?;
    let store = D1Store::from_env(env)?;
    let written = write::update::<_, SettingsEntity>(&store, ID, version, |before| {
        let next = apply(before, patch)?;
        let mut change =
            Change::new().guarded(settings::update(&next, version, &now().to_rfc3339()));
        if before.mfa_required == 1 && next.mfa_required == 0 {
            change = change.then(tell_owners(rctx, &Notice::CompanyMfaOff, None));
        }
        Ok(change.audit(event(
            rctx,
            Some(principal),
            Action::SettingsUpdated,
            "company_settings",
            Some(ID),
            Some(view(before)),
            Some(view(&next)),
        )))
    })
    .await?;
    respond::record::<SettingsEntity>(200, &written)
}

/// The settings with `patch` applied, or 422 naming every field that is not right.
fn apply(before: &settings::Settings, patch: Patch) -> AppResult<settings::Settings> {
    let mut next = before.clone();
    let mut errors = Vec::new();
    if let Some(name) = patch.name {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(json!({"field": "name", "message": "1 to 200 characters."}));
        }
        next.name = name;
    }
    if let Some(currency) = patch.currency {
        // Only a currency documents can be priced in: new quotes and invoices copy it.
        if let Err(message) = Currency::parse(&currency) {
            errors.push(json!({"field": "currency", "message": message}));
        }
        next.currency = currency;
    }
    if let Some(tz) = patch.time_zone {
        // Stored as the runtime's `Intl` spells it, the name every offset is then read by.
        match Some(tz.trim()).filter(|tz| tz.len() <= 64).and_then(zone::canonical) {
            Some(tz) => next.time_zone = tz,
            None => errors.push(json!({"field": "time_zone", "message": "An IANA time zone such as America/New_York."})),
        }
    }
    if let Some(locale) = patch.locale {
        if !(2..=35).contains(&locale.len()) {
            errors.push(json!({"field": "locale", "message": "A language tag such as en-US."}));
        }
        next.locale = locale;
    }
    if let Some(email) = patch.email {
        let email = email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
        if email.as_deref().is_some_and(|e| {
            e.len() > 254
                || !e
                    .split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        }) {
            errors.push(json!({"field": "email", "message": "A valid email address, or null."}));
        }
        next.email = email;
    }
    if let Some(phone) = patch.phone {
        let phone = phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        let e164 = |p: &str| {
            p.strip_prefix('+').is_some_and(|digits| {
                (8..=15).contains(&digits.len())
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && !digits.starts_with('0')
            })
        };
        if phone.as_deref().is_some_and(|p| !e164(p)) {
            errors.push(json!({"field": "phone", "message": "An E.164 number such as +12125550143, or null."}));
        }
        next.phone = phone;
    }
    if let Some(address) = patch.address {
        next.address = address;
    }
    if let Some(required) = patch.mfa_required {
        next.mfa_required = i64::from(required);
    }
    let mut check = |field: &str, result: Result<(), &str>| {
        if let Err(message) = result {
            errors.push(json!({ "field": field, "message": message }));
        }
    };
    if let Some(ppm) = patch.default_tax_rate_ppm {
        check(
            "default_tax_rate_ppm",
            billing::check_tax_rate_ppm(ppm).map(|_| ()),
        );
        next.default_tax_rate_ppm = ppm;
    }
    if let Some(rounding) = patch.rounding {
        check("rounding", billing::parse_rounding(&rounding).map(|_| ()));
        next.rounding = rounding;
    }
    if let Some(prefix) = patch.invoice_prefix {
        match parse_prefix(&prefix) {
            Ok(prefix) => next.invoice_prefix = prefix,
            Err(message) => check("invoice_prefix", Err(message)),
        }
    }
    if let Some(days) = patch.payment_terms_days {
        check(
            "payment_terms_days",
            billing::check_payment_terms_days(days).map(|_| ()),
        );
        next.payment_terms_days = days;
    }
    if let Some(colour) = patch.brand_color {
        match billing::parse_brand_color(&colour) {
            Ok(colour) => next.brand_color = colour,
            Err(message) => check("brand_color", Err(message)),
        }
    }
    if let Some(limit) = patch.max_upload_bytes {
        check("max_upload_bytes", files::check_upload_limit(limit));
        next.max_upload_bytes = limit;
    }
    if let Some(required) = patch.require_signature {
        next.require_signature = i64::from(required);
    }
    if let Some(complete) = patch.complete_job_with_last_visit {
        next.complete_job_with_last_visit = i64::from(complete);
    }
    if patch.work_day_start.is_some() || patch.work_day_end.is_some() {
        next.work_day_start = patch.work_day_start.unwrap_or(next.work_day_start);
        next.work_day_end = patch.work_day_end.unwrap_or(next.work_day_end);
        let field = match patch.work_day_start {
            Some(_) => "work_day_start",
            None => "work_day_end",
        };
        check(
            field,
            dispatch::check_work_day(next.work_day_start, next.work_day_end),
        );
    }
    if let Some(preapprove) = patch.support_preapprove_read_only {
        next.support_preapprove_read_only = i64::from(preapprove);
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(
            "The settings could not be saved.",
            errors,
        ));
    }
    Ok(next)
}
