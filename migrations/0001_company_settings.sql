-- 0001: the tenant's schema history, its company settings, and the operators' probe table.
-- Every migration ends by recording its number in schema_history; the Worker compares the
-- highest number with the version it was built for (GET /healthz).

CREATE TABLE schema_history (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- One row: the company this tenant is. Created at provisioning (or by the demo seed), edited
-- by owners later; versioned like every mutable record.
CREATE TABLE company_settings (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    name        TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    currency    TEXT NOT NULL DEFAULT 'USD'
                CHECK (length(currency) = 3 AND currency = upper(currency)),
    time_zone   TEXT NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
    locale      TEXT NOT NULL DEFAULT 'en-US' CHECK (length(locale) BETWEEN 2 AND 35),
    email       TEXT,
    phone       TEXT,
    address     TEXT,
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Throw-away rows written and deleted by POST /ops/selfcheck.
CREATE TABLE ops_probe (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

INSERT INTO schema_history (version, name) VALUES (1, 'company_settings');
