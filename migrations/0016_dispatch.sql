-- Dispatching: a visit's own status, jobs that follow their visits, and the company's
-- working hours for the schedule.

-- Where a visit is in its day. Cancelling keeps the visit and its history (deleting stays
-- for mistakes); a cancelled visit no longer holds its technicians' time.
ALTER TABLE visits ADD COLUMN status TEXT NOT NULL DEFAULT 'scheduled'
    CHECK (status IN ('scheduled', 'en_route', 'in_progress', 'completed', 'cancelled'));
CREATE INDEX visits_by_job_status ON visits (job_id, status);

-- Completing a job's last open visit completes the job (unless a required signature is
-- missing) instead of only offering to.
ALTER TABLE company_settings ADD COLUMN complete_job_with_last_visit INTEGER NOT NULL DEFAULT 0
    CHECK (complete_job_with_last_visit IN (0, 1));
-- The schedule's visible range, in minutes after local midnight (visits outside still show).
ALTER TABLE company_settings ADD COLUMN work_day_start INTEGER NOT NULL DEFAULT 420
    CHECK (work_day_start BETWEEN 0 AND 1380);
ALTER TABLE company_settings ADD COLUMN work_day_end INTEGER NOT NULL DEFAULT 1140
    CHECK (work_day_end BETWEEN 60 AND 1440);

-- A cancelled visit no longer blocks its technicians' time: the same rule as before, over the
-- visits that are not cancelled.
DROP TRIGGER visit_technicians_no_overlap;
CREATE TRIGGER visit_technicians_no_overlap BEFORE INSERT ON visit_technicians
WHEN NEW.allow_conflict = 0 AND EXISTS (
    SELECT 1 FROM visit_technicians o JOIN visits ov ON ov.id = o.visit_id
    WHERE o.user_id = NEW.user_id AND o.visit_id <> NEW.visit_id
      AND o.start_ms < NEW.end_ms AND NEW.start_ms < o.end_ms
      AND ov.status <> 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'visit_conflict');
END;

INSERT INTO schema_history (version, name) VALUES (16, 'dispatch');
