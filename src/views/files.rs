//! A file record as the API, the tools and the pages show it.

use serde_json::Value;

use crate::db::files::FileRow;
use crate::db::files::StorageRow;
use crate::domain::time::Millis;
use crate::json;

fn stamp(ms: i64) -> String {
    Millis::from_ms(ms).to_rfc3339()
}

/// Where a file's bytes are served (only once it is clean).
pub fn content_url(id: &str) -> String {
    format!("/api/v1/files/{id}/content")
}

pub fn file_view(row: &FileRow) -> Value {
    let clean = row.status == "clean" && row.deleted_at.is_none();
    json!({
        "id": row.id,
        "parent": { "kind": row.parent_kind, "id": row.parent_id },
        "purpose": row.purpose,
        "name": row.name,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "status": row.status,
        "scan": {
            "detail": row.scan_detail,
            "attempts": row.scan_attempts,
            "scanned_at": row.scanned_at.map(stamp),
        },
        "signer_name": row.signer_name,
        "uploaded_by": row.uploaded_by.as_ref().map(|id| json!({ "id": id, "name": row.uploader_name })),
        "source": row.source,
        "url": clean.then(|| content_url(&row.id)),
        "created_at": stamp(row.created_at),
        "updated_at": stamp(row.updated_at),
        "deleted_at": row.deleted_at.map(stamp),
        "version": row.version,
    })
}

pub fn storage_view(row: &StorageRow, limit: i64) -> Value {
    json!({
        "files": row.files,
        "bytes": row.bytes,
        "pending": row.pending,
        "rejected": row.rejected,
        "deleted_awaiting_purge": row.deleted,
        "max_upload_bytes": limit,
    })
}
