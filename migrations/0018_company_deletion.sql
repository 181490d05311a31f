-- The company's own way out (DESIGN.md §9): an owner asks for the whole company to be deleted,
-- every owner may cancel during a grace period, and once it is over the Worker destroys every
-- data key, the R2 files and KV, and from then answers "this company was deleted". And the
-- owners' exports of the company's data, built in the background into R2.
--
-- Rollout: new tables; the running code never reads them.

-- One row per request to delete the company. At most one is pending (or completed) at a
-- time; a cancelled one stays as the record of what was asked and by whom.
CREATE TABLE company_deletion (
    id            TEXT PRIMARY KEY,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'cancelled', 'completed')),
    requested_by  TEXT NOT NULL,
    requested_at  INTEGER NOT NULL,
    -- The end of the grace period: from then the next request (or the cron) deletes.
    effective_at  INTEGER NOT NULL,
    cancelled_by  TEXT,
    cancelled_at  INTEGER,
    -- When the data keys were destroyed (the marker that survives, with an R2 object).
    completed_at  INTEGER,
    -- When the R2 files and KV were emptied, in rounds after the completion.
    purged_at     INTEGER,
    version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    CHECK (effective_at > requested_at),
    CHECK (status <> 'cancelled' OR (cancelled_at IS NOT NULL AND cancelled_by IS NOT NULL)),
    CHECK (status <> 'completed' OR completed_at >= effective_at)
);
CREATE UNIQUE INDEX company_deletion_one_open ON company_deletion (status)
    WHERE status IN ('pending', 'completed');

-- A cancelled request stays cancelled, a completed deletion stays completed.
CREATE TRIGGER company_deletion_final BEFORE UPDATE ON company_deletion
WHEN OLD.status IN ('cancelled', 'completed') AND NEW.status <> OLD.status
BEGIN
    SELECT RAISE(ABORT, 'RULE: This deletion request was already cancelled or carried out.');
END;

-- The owners' exports of the whole company: every table as JSON and an index of the R2 files,
-- built in steps (each under a lease, so two runs never build the same export) into R2 under
-- `exports/<id>/`, then one ZIP archive at `object_key`.
CREATE TABLE company_exports (
    id            TEXT PRIMARY KEY,
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'ready', 'failed')),
    requested_by  TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- How many of the export's tables (in name order) are written to R2.
    tables_done   INTEGER NOT NULL DEFAULT 0 CHECK (tables_done >= 0),
    -- A run holds the export until then; a later run takes over an expired lease.
    lease_until   INTEGER,
    finished_at   INTEGER,
    object_key    TEXT,
    size          INTEGER,
    error         TEXT,
    version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    CHECK (status <> 'ready' OR (object_key IS NOT NULL AND size IS NOT NULL))
);
CREATE INDEX company_exports_by_created ON company_exports (created_at);
CREATE INDEX company_exports_unfinished ON company_exports (status)
    WHERE status IN ('queued', 'running');

INSERT INTO schema_history (version, name) VALUES (18, 'company_deletion');
