-- Files on R2 (DESIGN.md §8): the record of every file a company keeps — job photos,
-- attachments, on-site signatures, the company logo, the PDFs of issued invoices. R2 holds the
-- bytes under `r2_key`, written once; this row decides whether they may be served: only a
-- `clean` file is, a `pending` one waits for the scanner, a `rejected` one never will be.
--
-- Rollout: new tables, defaulted columns and a trigger that only fires on completion while
-- `require_signature` (default 0) is set; the running code never reads any of it.

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
    -- An on-site signature's signer.
    signer_name   TEXT CHECK (signer_name IS NULL OR length(signer_name) BETWEEN 1 AND 200),
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
CREATE INDEX files_by_parent ON files (parent_kind, parent_id, created_at)
    WHERE deleted_at IS NULL;
CREATE INDEX files_to_scan ON files (next_scan_at) WHERE status = 'pending';
CREATE INDEX files_to_purge ON files (purge_after) WHERE purged_at IS NULL
    AND purge_after IS NOT NULL;
-- One PDF per issued invoice: written once, what the customer was sent.
CREATE UNIQUE INDEX files_one_document ON files (parent_kind, parent_id)
    WHERE purpose = 'document';

-- The company's upload limit (bytes, at most the product's 25 MiB), whether completing a job
-- needs the customer's signature, and its current logo.
ALTER TABLE company_settings ADD COLUMN max_upload_bytes INTEGER NOT NULL DEFAULT 26214400
    CHECK (max_upload_bytes BETWEEN 1048576 AND 26214400);
ALTER TABLE company_settings ADD COLUMN require_signature INTEGER NOT NULL DEFAULT 0
    CHECK (require_signature IN (0, 1));
ALTER TABLE company_settings ADD COLUMN logo_file_id TEXT;

-- No path completes a job without the customer's signature while the company requires one:
-- by hand, from chat, or automatically. A signature counts unless the scanner rejected it.
-- `RULE:` marks a refusal the write engine answers as a conflict with this text.
CREATE TRIGGER jobs_completion_needs_signature BEFORE UPDATE OF status ON jobs
WHEN NEW.status = 'completed' AND OLD.status <> 'completed'
    AND (SELECT require_signature FROM company_settings WHERE id = 1) = 1
    AND NOT EXISTS (SELECT 1 FROM files f WHERE f.parent_kind = 'job' AND f.parent_id = NEW.id
                    AND f.purpose = 'signature' AND f.status <> 'rejected'
                    AND f.deleted_at IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'RULE: This job needs the customer''s signature before it can be completed.');
END;

INSERT INTO schema_history (version, name) VALUES (13, 'files');
