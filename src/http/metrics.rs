//! The operators' figures in Workers Analytics Engine (`METRICS`), beside the one data point per
//! request `src/entry.mjs` writes: each cron run adds the tenant's health — how far the audit
//! sealer lags and how many files wait for the scanner. `scripts/tenant status` reads both
//! through Cloudflare's SQL API. No D1 write; without the binding nothing is recorded.

use worker::{console_warn, AnalyticsEngineDataPointBuilder, Env};

use crate::db::audit::{LagRow, SELECT_LAG};
use crate::db::files::{StorageRow, SELECT_STORAGE};
use crate::db::store::D1Store;
use crate::domain::time::Millis;
use crate::http::clock;
use crate::json;
use crate::write::{first_row, Sql, Store};

pub const BINDING: &str = "METRICS";

/// Records the health data point: index1 the tenant; blob1 `health`; doubles the unsealed
/// audit rows, the oldest one's age in seconds, files waiting for a scan, rejected files.
pub async fn record_health(env: &Env) {
    let Ok(dataset) = env.analytics_engine(BINDING) else {
        return;
    };
    let figures = match health(env).await {
        Ok(figures) => figures,
        Err(e) => {
            console_warn!(
                "{}",
                json!({ "level": "warn", "msg": "metrics", "error": e })
            );
            return;
        }
    };
    let tenant = env.var("TENANT").map(|v| v.to_string()).unwrap_or_default();
    let written = AnalyticsEngineDataPointBuilder::new()
        .indexes([tenant.as_str()])
        .add_blob("health")
        .doubles(figures)
        .write_to(&dataset);
    if let Err(e) = written {
        console_warn!(
            "{}",
            json!({ "level": "warn", "msg": "metrics", "error": e.to_string() })
        );
    }
}

/// The health figures, in the order of the data point's doubles.
async fn health(env: &Env) -> Result<[f64; 4], String> {
    let d1 = D1Store::from_env(env).map_err(|e| e.to_string())?;
    let results = d1
        .batch(vec![
            Sql::new(SELECT_LAG, vec![]),
            Sql::new(SELECT_STORAGE, vec![]),
        ])
        .await?;
    let lag: Option<LagRow> = first_row(&results, 0).map_err(|e| e.to_string())?;
    let storage: Option<StorageRow> = first_row(&results, 1).map_err(|e| e.to_string())?;
    let now = clock::now().0 as f64;
    let lag_seconds = lag
        .as_ref()
        .and_then(|l| l.oldest_at.as_deref())
        .and_then(Millis::parse_rfc3339)
        .map_or(0.0, |oldest| ((now - oldest.0 as f64) / 1000.0).max(0.0));
    Ok([
        lag.map_or(0.0, |l| l.unsealed as f64),
        lag_seconds,
        storage.as_ref().map_or(0.0, |s| s.pending as f64),
        storage.map_or(0.0, |s| s.rejected as f64),
    ])
}
