-- 0021: the signer of an on-site signature is personal data: files.signer_name is sealed
-- (DESIGN.md §9) under the file's own data key, `f-<file id>`. The table is rebuilt without
-- the CHECK on the name's length (the domain checks it), in place — rows copied aside, the
-- table made anew under its own name, the rows put back — since a trigger on jobs names it;
-- every other column, index and constraint is as before, so code deployed before this
-- migration keeps working on it.
PRAGMA defer_foreign_keys = on;

CREATE TABLE files_0021 AS SELECT * FROM files;
DROP TABLE files;
CREATE TABLE files (
    id            TEXT PRIMARY KEY,
    -- What the file belongs to; the company itself for its logo (no parent_id).
    parent_kind   TEXT NOT NULL CHECK (parent_kind IN ('job', 'visit', 'customer', 'site',
                                                       'quote', 'invoice', 'company')),
    parent_id     TEXT CHECK ((parent_kind = 'company') = (parent_id IS NULL)),
    purpose       TEXT NOT NULL CHECK (purpose IN ('attachment', 'signature', 'logo',
                                                   'document')),
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Told by the bytes (domain::files::sniff), never by the name or the declared type.
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL CHECK (size BETWEEN 1 AND 104857600),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    r2_key        TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'clean', 'rejected')),
    -- The scanner's word: the signature found, or why it could not scan (while pending).
    scan_detail   TEXT,
    scan_attempts INTEGER NOT NULL DEFAULT 0,
    scanned_at    INTEGER,
    -- When the sweep next tries a pending file.
    next_scan_at  INTEGER,
    -- An on-site signature's signer: sealed under the file's own data key (`f-<id>`), the
    -- signer being a person of their own; domain::files checks the length.
    signer_name   TEXT,
    -- Who uploaded it (NULL: made by the product, e.g. an invoice's PDF) and through what.
    uploaded_by   TEXT,
    source        TEXT NOT NULL CHECK (source IN ('dashboard', 'api', 'mcp', 'telegram',
                                                  'sms', 'system')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    -- A deleted file is kept (and still counted) until its bytes are purged from R2.
    deleted_at    INTEGER,
    purge_after   INTEGER,
    purged_at     INTEGER,
    version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);
INSERT INTO files (id, parent_kind, parent_id, purpose, name, content_type, size, sha256, r2_key, status, scan_detail, scan_attempts, scanned_at, next_scan_at, signer_name, uploaded_by, source, created_at, updated_at, deleted_at, purge_after, purged_at, version)
SELECT id, parent_kind, parent_id, purpose, name, content_type, size, sha256, r2_key, status, scan_detail, scan_attempts, scanned_at, next_scan_at, signer_name, uploaded_by, source, created_at, updated_at, deleted_at, purge_after, purged_at, version FROM files_0021;
DROP TABLE files_0021;
CREATE INDEX files_by_parent ON files (parent_kind, parent_id, created_at)
    WHERE deleted_at IS NULL;
CREATE INDEX files_to_scan ON files (next_scan_at) WHERE status = 'pending';
CREATE INDEX files_to_purge ON files (purge_after) WHERE purged_at IS NULL
    AND purge_after IS NOT NULL;
CREATE UNIQUE INDEX files_one_document ON files (parent_kind, parent_id)
    WHERE purpose = 'document';

INSERT INTO schema_history (version, name) VALUES (21, 'personal_files');
