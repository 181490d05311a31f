-- The audit trail's keyed chain (DESIGN.md §4). Writers no longer read the chain's tip: a row
-- is appended with the next seq and no hash, and a sealer later seals rows in order, each with
-- an HMAC (under the Worker secret AUDIT_KEY, never stored here) over its content and the
-- previous row's seal. Rows up to `legacy_seq` keep their unkeyed SHA-256 chain and are
-- verified as before; the first keyed seal covers the last of them.
--
-- Rollout: this runs before the new code deploys. The old code keeps appending hash-chained
-- rows (it reads the tip, `prev_seq` stays unique); rows it writes after `legacy_seq` are
-- sealed by the new code like any other.

ALTER TABLE audit_log ADD COLUMN seal TEXT;

CREATE TABLE audit_chain (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    -- The last row of the unkeyed chain, and its hash: where the keyed chain starts.
    legacy_seq  INTEGER NOT NULL,
    legacy_hash TEXT NOT NULL,
    -- The newest anchor written to R2 (a hint for when to write the next one; verification
    -- reads the anchors themselves from R2, never this).
    anchor_seq  INTEGER NOT NULL DEFAULT 0,
    anchor_at   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO audit_chain (id, legacy_seq, legacy_hash)
SELECT 1,
       COALESCE((SELECT MAX(seq) FROM audit_log), 0),
       COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1),
                '0000000000000000000000000000000000000000000000000000000000000000');

-- A row may change once, and only by getting its seal; legacy rows never.
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_seal_once BEFORE UPDATE ON audit_log
WHEN OLD.seal IS NOT NULL OR NEW.seal IS NULL
  OR OLD.seq <= (SELECT legacy_seq FROM audit_chain WHERE id = 1)
  OR NEW.seq IS NOT OLD.seq OR NEW.prev_seq IS NOT OLD.prev_seq OR NEW.at IS NOT OLD.at
  OR NEW.actor_kind IS NOT OLD.actor_kind OR NEW.actor_id IS NOT OLD.actor_id
  OR NEW.action IS NOT OLD.action OR NEW.entity IS NOT OLD.entity
  OR NEW.entity_id IS NOT OLD.entity_id OR NEW.before IS NOT OLD.before
  OR NEW.after IS NOT OLD.after OR NEW.ip IS NOT OLD.ip OR NEW.request_id IS NOT OLD.request_id
  OR NEW.prev_hash IS NOT OLD.prev_hash OR NEW.hash IS NOT OLD.hash
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are sealed once and never changed');
END;

CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is kept');
END;

-- The sealer's work list: rows still without a seal, in order.
CREATE INDEX audit_log_unsealed ON audit_log (seq) WHERE seal IS NULL;

-- A write whose guarded statement changed nothing inserts NULL here, which fails the whole
-- batch (D1 runs a batch as one transaction): the statements after the guard, and the audit
-- rows, are then never half-written. The table never holds a row.
CREATE TABLE write_guard (
    stale_version INTEGER NOT NULL
);

INSERT INTO schema_history (version, name) VALUES (7, 'audit_seal');
