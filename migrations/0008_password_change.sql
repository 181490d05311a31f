-- 0008: a password someone else chose for the user (scripts/tenant's generated owner
-- password, kept in the operator's tenants folder) must be changed at the first sign-in. Until
-- it is, the user's sessions may read who they are, change the password and sign out, nothing
-- else; changing the password clears the flag.
--
-- Rollout: this runs before the new code deploys. The old code never names the column: its
-- inserts get the default (no change required) and its selects name their columns.

ALTER TABLE users ADD COLUMN password_change_required INTEGER NOT NULL DEFAULT 0
    CHECK (password_change_required IN (0, 1));

INSERT INTO schema_history (version, name) VALUES (8, 'password_change');
