-- 0005: placeholder for the messaging tables (Telegram/SMS), which land from another branch.
-- It only records its number so that 0006 can follow without a gap; the real migration
-- replaces this file when the branches are merged.

INSERT INTO schema_history (version, name) VALUES (5, 'messaging');
