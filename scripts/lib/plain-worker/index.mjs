// The second baseline for scripts/bench: the three jobs operations fieldworker benchmarks,
// written as a plain JavaScript Worker would write them (Hono + D1), on the same runtime and the
// same migrated schema (migrations/), so it can run on fieldworker's own local database.
//
// - Every request looks its bearer token up in D1 (access_tokens.token_hash = SHA-256 hex of the
//   token, joined to its user), as fieldworker does for `Authorization: Bearer fwp_…`.
// - GET /api/v1/jobs/:id        the job and its notes (one batch), ETag "<version>".
// - GET /api/v1/jobs?status=…   newest first, limit 50 (at most 200), cursor.
// - PATCH /api/v1/jobs/:id      If-Match "<version>": one batch of the versioned UPDATE, its
//                               audit row and the job re-read; 409 if stale.
// - GET /healthz                no D1 (for wait_healthy).
// Every answer carries a request id and the usual API headers, and one JSON log line is written
// per request, as fieldworker does; outside production X-D1-Round-Trips counts D1 calls.
// Not a product: technician ids cannot be changed here, there is no session or Access auth, and
// the audit row records the change sent (`after`) but no `before` (the job is not read first).
import { Hono } from "hono";

const STATUSES = ["requested", "scheduled", "in_progress", "completed", "on_hold", "cancelled"];
const PRIORITIES = ["low", "normal", "high", "urgent"];
const JOB_COLUMNS = `j.id, j.number, j.customer_id, j.site_id, j.title, j.description, j.priority,
  j.status, j.items, j.version, j.created_at, j.updated_at,
  (SELECT json_group_array(t.user_id) FROM job_technicians t WHERE t.job_id = j.id) AS technician_ids`;
const SELECT_JOB = `SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.id = ?`;
const SELECT_NOTES = "SELECT id, author_id, text, created_at FROM job_notes WHERE job_id = ? ORDER BY created_at, id";
const SELECT_PRINCIPAL = `SELECT t.id AS token_id, t.expires_at, t.revoked_at, t.last_used_at,
  u.id, u.role, u.active, u.totp_secret IS NOT NULL AS mfa_enabled,
  (SELECT mfa_required FROM company_settings WHERE id = 1) AS company_mfa_required
  FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`;
const TOUCH_TOKEN = `UPDATE access_tokens SET last_used_at = ?1
  WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1 - 60000)`;
// The audit row, appended as migrations/0007_audit_seal.sql tells writers to: the next seq taken
// inside the batch (D1 runs a batch as one transaction), no hash, no seal (fieldworker's sealer
// seals rows later, in order), and only if the UPDATE just before it changed a row. (On a database
// migrated only up to 0006 such rows would break the unkeyed hash chain's verification.)
const APPEND_AUDIT_IF_CHANGED = `INSERT INTO audit_log (seq, prev_seq, at, actor_kind, actor_id,
  action, entity, entity_id, before, after, ip, request_id, prev_hash, hash)
  SELECT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log), (SELECT COALESCE(MAX(seq), 0) FROM audit_log),
         ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '' WHERE changes() > 0`;

class HttpError extends Error {
  constructor(status, title, detail, extra = {}) {
    super(detail);
    Object.assign(this, { status, title, extra });
  }
}

const app = new Hono();

// Request id, the common headers, the log line and (outside production) the D1 round trips.
app.use("*", async (c, next) => {
  const started = Date.now();
  const incoming = c.req.header("X-Request-Id");
  c.set("requestId", incoming && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : crypto.randomUUID());
  const trips = { count: 0 };
  c.set("db", c.env.ENVIRONMENT === "production" ? c.env.DB : countedD1(c.env.DB, trips));
  await next();
  const headers = c.res.headers;
  headers.set("X-Request-Id", c.get("requestId"));
  headers.set("Cache-Control", "no-store");
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("Referrer-Policy", "no-referrer");
  headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  headers.set("Strict-Transport-Security", "max-age=31536000");
  if (c.env.ENVIRONMENT !== "production") headers.set("X-D1-Round-Trips", String(trips.count));
  console.log(JSON.stringify({
    level: c.res.status >= 500 ? "error" : "info", msg: "request", request_id: c.get("requestId"),
    method: c.req.method, path: c.req.path, status: c.res.status, duration_ms: Date.now() - started,
  }));
});

app.onError((err, c) => {
  if (!(err instanceof HttpError)) {
    console.error(JSON.stringify({ level: "error", msg: "unhandled", request_id: c.get("requestId"), error: String(err?.stack ?? err) }));
    return problem(c, new HttpError(500, "Internal error", "Something went wrong on our side."));
  }
  return problem(c, err);
});
app.notFound((c) => problem(c, new HttpError(404, "Not found", "No such route.")));

// RFC 9457 problem+json, as fieldworker answers errors.
function problem(c, err) {
  const body = {
    type: `urn:plain-worker:problem:${err.status}`, title: err.title, status: err.status,
    detail: err.message, instance: c.req.path, request_id: c.get("requestId"), ...err.extra,
  };
  return new Response(JSON.stringify(body), { status: err.status, headers: { "Content-Type": "application/problem+json" } });
}

app.get("/healthz", (c) => c.json({ status: "ok" }));

// Bearer token -> principal: one D1 query (the token joined to its user).
const auth = async (c, next) => {
  const match = /^Bearer (fwp_[A-Za-z0-9]{40})$/.exec(c.req.header("Authorization") ?? "");
  if (!match) throw unauthenticated();
  const row = await c.get("db").prepare(SELECT_PRINCIPAL).bind(await sha256Hex(match[1])).first();
  const now = Date.now();
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now) || row.active !== 1) {
    throw unauthenticated();
  }
  if (row.company_mfa_required === 1 && !row.mfa_enabled) {
    throw new HttpError(403, "Forbidden", "Your company requires two-factor sign-in: enrol first.");
  }
  // Last use at most once a minute, after the response.
  if (row.last_used_at === null || row.last_used_at < now - 60_000) {
    c.executionCtx.waitUntil(c.env.DB.prepare(TOUCH_TOKEN).bind(now, row.token_id).run().catch(() => {}));
  }
  c.set("user", { id: row.id, role: row.role });
  await next();
};
const unauthenticated = () => new HttpError(401, "Unauthorized", "Sign in, or present a valid access token.");
app.use("/api/*", auth);

app.get("/api/v1/jobs/:id", async (c) => {
  const db = c.get("db");
  const id = c.req.param("id");
  const [job, notes] = await db.batch([db.prepare(SELECT_JOB).bind(id), db.prepare(SELECT_NOTES).bind(id)]);
  const row = job.results[0];
  if (!row || !visible(row, c.get("user"))) throw new HttpError(404, "Not found", "No such job.");
  c.header("ETag", `"${row.version}"`);
  return c.json({ ...jobView(row), notes: notes.results });
});

app.get("/api/v1/jobs", async (c) => {
  const user = c.get("user");
  const where = [];
  const args = [];
  const status = c.req.query("status");
  if (status !== undefined) {
    if (!STATUSES.includes(status)) throw invalid("status", `One of ${STATUSES.join(", ")}.`);
    where.push("j.status = ?");
    args.push(status);
  }
  const customer = c.req.query("customer");
  if (customer !== undefined) {
    where.push("j.customer_id = ?");
    args.push(customer);
  }
  const technician = user.role === "technician" ? user.id : c.req.query("technician");
  if (technician !== undefined) {
    where.push("EXISTS (SELECT 1 FROM job_technicians t WHERE t.job_id = j.id AND t.user_id = ?)");
    args.push(technician);
  }
  const cursor = c.req.query("cursor");
  if (cursor !== undefined) {
    let after;
    try {
      after = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    } catch {
      throw invalid("cursor", "Not a cursor this API gave.");
    }
    if (!Array.isArray(after) || after.length !== 2) throw invalid("cursor", "Not a cursor this API gave.");
    where.push("(j.created_at < ? OR (j.created_at = ? AND j.id < ?))");
    args.push(after[0], after[0], after[1]);
  }
  const limitParam = c.req.query("limit") ?? "50";
  const limit = Number(limitParam);
  if (!/^\d+$/.test(limitParam) || limit < 1 || limit > 200) throw invalid("limit", "limit must be 1 to 200.");
  const sql = `SELECT ${JOB_COLUMNS} FROM jobs j ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY j.created_at DESC, j.id DESC LIMIT ?`;
  const { results } = await c.get("db").prepare(sql).bind(...args, limit).all();
  const last = results.length === limit ? results[results.length - 1] : null;
  const nextCursor = last
    ? btoa(JSON.stringify([last.created_at, last.id])).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")
    : null;
  return c.json({ jobs: results.map(jobView), next_cursor: nextCursor });
});

app.patch("/api/v1/jobs/:id", async (c) => {
  const user = c.get("user");
  if (user.role === "viewer") throw new HttpError(403, "Forbidden", "Your role (viewer) does not allow this.");
  const ifMatch = c.req.header("If-Match");
  if (!ifMatch) throw new HttpError(428, "Precondition required", 'Name the version you read: send If-Match: "<version>".');
  const version = Number(ifMatch.trim().replace(/^W\//, "").replaceAll('"', ""));
  if (!Number.isSafeInteger(version) || version < 1) throw new HttpError(400, "Bad request", 'If-Match must be a version number in quotes, e.g. "3".');
  let body;
  try {
    body = await c.req.json();
  } catch {
    throw new HttpError(400, "Bad request", "The body must be a JSON object.");
  }
  const changes = validateChanges(body, user.role);

  const db = c.get("db");
  const id = c.req.param("id");
  const now = new Date().toISOString();
  const sets = Object.keys(changes).map((field) => `${field} = ?`);
  const values = Object.values(changes).map(column);
  // Technicians change only jobs assigned to them.
  const assigned = user.role === "technician"
    ? " AND EXISTS (SELECT 1 FROM job_technicians t WHERE t.job_id = jobs.id AND t.user_id = ?)" : "";
  const update = db
    .prepare(`UPDATE jobs SET ${sets.join(", ")}, version = version + 1, updated_at = ? WHERE id = ? AND version = ?${assigned}`)
    .bind(...values, now, id, version, ...(assigned ? [user.id] : []));
  const audit = db.prepare(APPEND_AUDIT_IF_CHANGED).bind(
    now, "token", user.id, "job.updated", "job", id, null, JSON.stringify(changes),
    c.req.header("CF-Connecting-IP") ?? null, c.get("requestId"),
  );
  const [updated, , reread] = await db.batch([update, audit, db.prepare(SELECT_JOB).bind(id)]);
  const row = reread.results[0];
  if (!row || !visible(row, user)) throw new HttpError(404, "Not found", "No such job.");
  if (updated.meta.changes !== 1) {
    throw new HttpError(409, "Conflict", "The job changed since you read it.", { current: jobView(row) });
  }
  c.header("ETag", `"${row.version}"`);
  return c.json(jobView(row));
});

const column = (value) => (value !== null && typeof value === "object" ? JSON.stringify(value) : value);

function validateChanges(body, role) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, "Bad request", "The body must be a JSON object.");
  }
  const allowed = role === "technician" ? ["items"] : ["title", "description", "priority", "items"];
  const errors = [];
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) errors.push({ field: key, message: "This field cannot be changed here." });
  }
  const { title, description, priority, items } = body;
  if (title !== undefined && (typeof title !== "string" || title.trim().length < 1 || title.length > 200)) {
    errors.push({ field: "title", message: "1 to 200 characters." });
  }
  if (description !== undefined && description !== null && (typeof description !== "string" || description.length > 10_000)) {
    errors.push({ field: "description", message: "At most 10 000 characters, or null." });
  }
  if (priority !== undefined && !PRIORITIES.includes(priority)) {
    errors.push({ field: "priority", message: `One of ${PRIORITIES.join(", ")}.` });
  }
  if (items !== undefined && (!Array.isArray(items) || !items.every(validItem))) {
    errors.push({ field: "items", message: "A list of {kind: work|part, description, quantity_milli, unit?}." });
  }
  if (Object.keys(body).length === 0) errors.push({ field: "", message: "Nothing to change." });
  if (errors.length) throw new HttpError(422, "Invalid fields", "The job could not be saved.", { errors });
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, k === "title" ? v.trim() : v]));
}

const validItem = (item) => item !== null && typeof item === "object" && ["work", "part"].includes(item.kind)
  && typeof item.description === "string" && Number.isSafeInteger(item.quantity_milli)
  && (item.unit === undefined || item.unit === null || typeof item.unit === "string");

const invalid = (name, message) => new HttpError(422, "Invalid fields", `${name} is not valid.`, { errors: [{ field: name, message }] });

const visible = (row, user) => user.role !== "technician" || JSON.parse(row.technician_ids).includes(user.id);

function jobView(row) {
  return {
    id: row.id, number: row.number, customer_id: row.customer_id, site_id: row.site_id,
    title: row.title, description: row.description, priority: row.priority, status: row.status,
    technician_ids: JSON.parse(row.technician_ids), items: JSON.parse(row.items),
    version: row.version, created_at: row.created_at, updated_at: row.updated_at,
  };
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// D1 with each call that reaches the database counted: a statement's first/all/run/raw, a batch.
function countedD1(db, trips) {
  const counted = (fn) => (...args) => {
    trips.count += 1;
    return fn(...args);
  };
  const statement = (s) => ({
    inner: s,
    bind: (...args) => statement(s.bind(...args)),
    first: counted((...a) => s.first(...a)),
    all: counted((...a) => s.all(...a)),
    run: counted((...a) => s.run(...a)),
    raw: counted((...a) => s.raw(...a)),
  });
  return {
    prepare: (sql) => statement(db.prepare(sql)),
    batch: counted((statements) => db.batch(statements.map((s) => s.inner ?? s))),
  };
}

export default app;
