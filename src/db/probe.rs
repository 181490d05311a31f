//! The self-check's throw-away writes to each storage binding (see `domain::selfcheck`).
//! Every function returns the binding's error as text for the report; none panics.

use worker::{Bucket, Conditional, D1Database, KvStore};

pub const INSERT_PROBE: &str = "INSERT INTO ops_probe (key, value, created_at) VALUES (?1, ?2, ?3)";
pub const SELECT_PROBE: &str = "SELECT value FROM ops_probe WHERE key = ?1";
pub const DELETE_PROBE: &str = "DELETE FROM ops_probe WHERE key = ?1";

#[derive(serde::Deserialize)]
struct ProbeRow {
    value: String,
}

/// KV refuses keys longer than 512 bytes; the self-check uses one to see an error surface.
pub const KV_KEY_LIMIT: usize = 512;
/// Leftovers of an interrupted check disappear on their own (60 s is KV's minimum).
const KV_PROBE_TTL_SECONDS: u64 = 60;

fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

pub async fn d1_insert(db: &D1Database, key: &str, value: &str, now_ms: u64) -> Result<(), String> {
    db.prepare(INSERT_PROBE)
        .bind(&[key.into(), value.into(), (now_ms as f64).into()])
        .map_err(text)?
        .run()
        .await
        .map_err(text)?;
    Ok(())
}

pub async fn d1_select(db: &D1Database, key: &str) -> Result<Option<String>, String> {
    let row = db
        .prepare(SELECT_PROBE)
        .bind(&[key.into()])
        .map_err(text)?
        .first::<ProbeRow>(None)
        .await
        .map_err(text)?;
    Ok(row.map(|r| r.value))
}

pub async fn d1_delete(db: &D1Database, key: &str) -> Result<(), String> {
    db.prepare(DELETE_PROBE)
        .bind(&[key.into()])
        .map_err(text)?
        .run()
        .await
        .map_err(text)?;
    Ok(())
}

pub async fn kv_put(kv: &KvStore, key: &str, value: &str) -> Result<(), String> {
    kv.put(key, value)
        .map_err(text)?
        .expiration_ttl(KV_PROBE_TTL_SECONDS)
        .execute()
        .await
        .map_err(text)
}

pub async fn kv_get(kv: &KvStore, key: &str) -> Result<Option<String>, String> {
    kv.get(key).text().await.map_err(text)
}

pub async fn kv_delete(kv: &KvStore, key: &str) -> Result<(), String> {
    kv.delete(key).await.map_err(text)
}

/// Writes and returns the new object's etag.
pub async fn r2_put(bucket: &Bucket, key: &str, value: &str) -> Result<String, String> {
    let object = bucket
        .put(key, value.to_owned())
        .execute()
        .await
        .map_err(text)?
        .ok_or("the bucket stored nothing")?;
    Ok(object.etag())
}

/// A write that must only happen if the object still has `etag`: R2 answers a failed
/// precondition with no object, which is reported here as an error.
pub async fn r2_put_if_match(
    bucket: &Bucket,
    key: &str,
    value: &str,
    etag: &str,
) -> Result<(), String> {
    let condition = Conditional {
        etag_matches: Some(etag.to_owned()),
        ..Conditional::default()
    };
    match bucket
        .put(key, value.to_owned())
        .only_if(condition)
        .execute()
        .await
        .map_err(text)?
    {
        Some(_) => Ok(()),
        None => Err("precondition failed".to_owned()),
    }
}

pub async fn r2_get(bucket: &Bucket, key: &str) -> Result<Option<String>, String> {
    let Some(object) = bucket.get(key).execute().await.map_err(text)? else {
        return Ok(None);
    };
    let Some(body) = object.body() else {
        return Ok(None);
    };
    body.text().await.map(Some).map_err(text)
}

pub async fn r2_exists(bucket: &Bucket, key: &str) -> Result<bool, String> {
    bucket.head(key).await.map(|o| o.is_some()).map_err(text)
}

pub async fn r2_delete(bucket: &Bucket, key: &str) -> Result<(), String> {
    bucket.delete(key).await.map_err(text)
}
