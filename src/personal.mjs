// Personal data at rest (DESIGN.md §9): the layer between the Worker and its D1 database that
// seals personal values on their way in and opens them on their way out. The Rust side handles
// plaintext and says which values are personal; D1 only ever holds their ciphertext.
//
// - The Rust side writes a personal value as a pending token, `fwp1.<data key>.<base64url of
//   the text>` (domain::personal::pending), alone in a parameter or inside a JSON one (audit
//   snapshots, lists of addresses). Before a statement runs each pending token becomes a sealed
//   one, `fwe1.<data key>.<base64url(nonce || AES-256-GCM ciphertext)>`, the data key's id as
//   associated data (a ciphertext moved under another key's name does not open).
// - A statement whose SQL holds NEW_KEY inserts a data key: its id is the first parameter, and
//   the key is made here (32 random bytes), wrapped under the current tenant key (AES-256-GCM,
//   "data key " + id as associated data) and bound as the second and third parameters.
// - Results are scanned for sealed tokens, each replaced by its text (JSON-escaped when the
//   token sits inside a longer string, which only JSON columns hold). A token whose data key is
//   gone — the subject was erased — opens as ERASED.
// - Statements whose SQL holds STORED (the audit sealer and verifier, key rotation) see what is
//   stored: the chain is sealed over ciphertext, so it verifies without any data key.
//
// Tenant keys (the key ring) come from the Worker secret PII_KEYS: `id:base64` entries separated
// by spaces or commas, the first the current one. Unwrapped data keys are kept in the isolate
// for KEY_TTL_MS, so a read of a subject seen lately costs no extra round trip; an erasure
// drops its key here at once, and from other isolates within that time.

export const ERASED = "[erased]";
export const NEW_KEY = "/*new data key*/";
export const STORED = "/*stored*/";
// A statement whose SQL holds REWRAP re-wraps a data key under the current tenant key: its
// parameters are the key's id, (the new tenant key id), the wrapped key as read, the tenant
// key it was wrapped under; the layer puts the new tenant key id and wrapped key in 2 and 3.
export const REWRAP = "/*rewrap data key*/";
// A statement whose SQL holds ERASE deletes the data key its first parameter names: the key is
// forgotten by this isolate too.
export const ERASE = "/*erase data key*/";
// A statement whose SQL holds ERASE_ALL deletes every data key (the company's deletion): this
// isolate forgets every key it holds.
export const ERASE_ALL = "/*erase every data key*/";
const KEY_TTL_MS = 300_000;
const KEY_CACHE_MAX = 4096;
// Outside production, without PII_KEYS, data is sealed under this well-known key so that local
// runs and tests work out of the box (production refuses to run without the secret).
const DEV_KEYS = "dev:ZmllbGR3b3JrZXItZGV2ZWxvcG1lbnQta2V5LTAwMDA";

const SEALED = /fwe1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{38,})/g;
const PENDING = /fwp1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]*)/g;
const INSERT_KEY = "INSERT INTO data_keys (id, kek, wrapped, created_at) VALUES (?1, ?2, ?3, ?4)";
const SELECT_KEYS =
  "SELECT id, kek, wrapped FROM data_keys WHERE id IN (SELECT value FROM json_each(?1))";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function b64url(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function unb64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

// The tenant keys: { current, keys: Map(id → raw bytes) }, parsed once per secret value.
let ringSource = null;
let ring = null;
export function keyRing(env) {
  let source = typeof env.PII_KEYS === "string" ? env.PII_KEYS.trim() : "";
  if (!source) {
    if (env.ENVIRONMENT === "production") {
      throw new Error("PII_KEYS is not set: personal data cannot be sealed or opened");
    }
    source = DEV_KEYS;
  }
  if (source === ringSource) return ring;
  const keys = new Map();
  let current = null;
  for (const entry of source.split(/[\s,]+/).filter(Boolean)) {
    const at = entry.indexOf(":");
    const id = entry.slice(0, at);
    const raw = at > 0 ? unb64url(entry.slice(at + 1).replace(/=+$/, "")) : null;
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id) || !raw || raw.length !== 32) {
      throw new Error(`PII_KEYS: entry ${JSON.stringify(id)} is not id:base64 of 32 bytes`);
    }
    keys.set(id, { raw, key: null });
    current ??= id;
  }
  ringSource = source;
  ring = { current, keys };
  return ring;
}

async function tenantKey(env, id) {
  const entry = keyRing(env).keys.get(id);
  if (!entry) throw new Error(`tenant key ${id} is not in PII_KEYS`);
  entry.key ??= await crypto.subtle.importKey("raw", entry.raw, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return entry.key;
}

async function gcmSeal(key, plain, aad) {
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, key, plain),
  );
  const out = new Uint8Array(12 + sealed.length);
  out.set(nonce);
  out.set(sealed, 12);
  return b64url(out);
}

async function gcmOpen(key, text, aad) {
  const bytes = unb64url(text);
  return new Uint8Array(
    await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.subarray(0, 12), additionalData: aad },
      key,
      bytes.subarray(12),
    ),
  );
}

const wrapAad = (id) => encoder.encode(`data key ${id}`);
const fieldAad = (id) => encoder.encode(`fwe1.${id}`);

/// A new data key wrapped under the current tenant key: { kek, wrapped, key }.
export async function newDataKey(env, id) {
  const { current } = keyRing(env);
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const wrapped = await gcmSeal(await tenantKey(env, current), raw, wrapAad(id));
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  return { kek: current, wrapped, key };
}

/// The data key `id` wrapped under tenant key `kek`, re-wrapped under the current one.
export async function rewrap(env, id, kek, wrapped) {
  const { current } = keyRing(env);
  const raw = await gcmOpen(await tenantKey(env, kek), wrapped, wrapAad(id));
  return { kek: current, wrapped: await gcmSeal(await tenantKey(env, current), raw, wrapAad(id)) };
}

async function unwrap(env, id, kek, wrapped) {
  const raw = await gcmOpen(await tenantKey(env, kek), wrapped, wrapAad(id));
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

// Unwrapped data keys of this isolate: id → { key, at }.
const cache = new Map();
function cached(id, now) {
  const hit = cache.get(id);
  if (hit && now - hit.at < KEY_TTL_MS) return hit.key;
  if (hit) cache.delete(id);
  return null;
}
function remember(id, key, now) {
  cache.delete(id);
  cache.set(id, { key, at: now });
  if (cache.size > KEY_CACHE_MAX) cache.delete(cache.keys().next().value);
}
/// Forgets every data key this isolate holds (tests: to read through the wrapping again).
export function forgetAll() {
  cache.clear();
  opened.clear();
}

// Texts this isolate opened lately: sealed token → { id, text, at }. A sealed token never
// changes its text (a new value is a new token, with a new nonce), so a read of a record seen
// lately skips its decryptions; an entry lives no longer than its data key would be kept, and
// goes with it when the key is erased.
const opened = new Map();
const OPENED_MAX = 8192;
function openedText(token, now) {
  const hit = opened.get(token);
  if (!hit) return undefined;
  if (now - hit.at < KEY_TTL_MS && cache.has(hit.id)) return hit.text;
  opened.delete(token);
  return undefined;
}
function rememberText(token, id, text, now) {
  opened.set(token, { id, text, at: now });
  if (opened.size > OPENED_MAX) opened.delete(opened.keys().next().value);
}

// Forgets the data keys erased by `statements` ({ sql, args }) that ran, and what they opened.
function forgetErased(statements) {
  for (const s of statements) {
    if (s.sql.includes(ERASE_ALL)) {
      cache.clear();
      opened.clear();
    } else if (s.sql.includes(ERASE)) {
      const id = String(s.args[0]);
      cache.delete(id);
      for (const [token, hit] of opened) if (hit.id === id) opened.delete(token);
    }
  }
}

// The CryptoKeys of `ids` (a Set), from the cache or in one query; a key not found is absent
// from the answer (erased, or never made).
async function dataKeys(env, db, ids, count) {
  const now = Date.now();
  const found = new Map();
  const missing = [];
  for (const id of ids) {
    const key = cached(id, now);
    if (key) found.set(id, key);
    else missing.push(id);
  }
  if (missing.length) {
    count();
    const { results } = await db
      .prepare(SELECT_KEYS)
      .bind(JSON.stringify(missing))
      .all();
    await Promise.all(
      results.map(async (row) => {
        const key = await unwrap(env, row.id, row.kek, row.wrapped);
        remember(row.id, key, now);
        found.set(row.id, key);
      }),
    );
  }
  return found;
}

function tokensIn(value, pattern, into) {
  if (typeof value === "string") {
    if (value.indexOf(pattern === SEALED ? "fwe1." : "fwp1.") === -1) return;
    for (const m of value.matchAll(pattern)) into.set(m[0], m[1]);
  } else if (Array.isArray(value)) {
    for (const v of value) tokensIn(v, pattern, into);
  } else if (value && typeof value === "object" && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) tokensIn(v, pattern, into);
  }
}

// `value` with every token of `pattern` replaced from `texts` (token → text).
function replaced(value, pattern, texts) {
  if (typeof value === "string") {
    if (texts.has(value)) return texts.get(value);
    if (value.indexOf(pattern === SEALED ? "fwe1." : "fwp1.") === -1) return value;
    return value.replace(pattern, (token) => {
      const text = texts.get(token);
      if (text === undefined) return token;
      // Inside a longer string: a JSON column, where the token is a whole JSON string.
      return pattern === SEALED ? JSON.stringify(text).slice(1, -1) : text;
    });
  }
  if (Array.isArray(value)) return value.map((v) => replaced(v, pattern, texts));
  if (value && typeof value === "object" && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = replaced(v, pattern, texts);
    return out;
  }
  return value;
}

/// `value` (rows, a result, a batch's results) with its sealed tokens opened.
export async function open(env, db, value, count = uncounted) {
  const tokens = new Map();
  tokensIn(value, SEALED, tokens);
  if (!tokens.size) return value;
  const now = Date.now();
  const texts = new Map();
  const ids = new Set();
  for (const [token, id] of tokens) {
    const text = openedText(token, now);
    if (text === undefined) ids.add(id);
    else texts.set(token, text);
  }
  if (ids.size) {
    const keys = await dataKeys(env, db, ids, count);
    await Promise.all(
      [...tokens].map(async ([token, id]) => {
        if (texts.has(token)) return;
        const key = keys.get(id);
        let text = ERASED;
        if (key) {
          try {
            text = decoder.decode(await gcmOpen(key, token.slice(6 + id.length), fieldAad(id)));
            rememberText(token, id, text, now);
          } catch {
            // Not a ciphertext of ours after all (or tampered with): shown as it is stored.
            text = token;
          }
        }
        texts.set(token, text);
      }),
    );
  }
  return replaced(value, SEALED, texts);
}

// Seals the pending tokens of `statements` ({ sql, args }) in place, making the data keys their
// NEW_KEY statements insert first. A pending token may name a data key that does not exist yet
// (a subject written before personal data was sealed): it is made here, and the statements
// that insert it are returned, to run first in the same batch.
async function seal(env, db, statements, count) {
  const now = Date.now();
  for (const s of statements) {
    if (s.sql.includes(REWRAP)) {
      const made = await rewrap(env, String(s.args[0]), String(s.args[3]), String(s.args[2]));
      s.args[1] = made.kek;
      s.args[2] = made.wrapped;
    }
    if (s.sql.includes(NEW_KEY)) {
      const id = String(s.args[0]);
      const made = await newDataKey(env, id);
      s.args[1] = made.kek;
      s.args[2] = made.wrapped;
      remember(id, made.key, now);
    }
  }
  const tokens = new Map();
  for (const s of statements) tokensIn(s.args, PENDING, tokens);
  if (!tokens.size) return [];
  const ids = new Set(tokens.values());
  const keys = await dataKeys(env, db, ids, count);
  const inserts = [];
  for (const id of ids) {
    if (keys.has(id)) continue;
    const made = await newDataKey(env, id);
    keys.set(id, made.key);
    remember(id, made.key, now);
    inserts.push({ sql: INSERT_KEY, args: [id, made.kek, made.wrapped, now] });
  }
  const texts = new Map();
  await Promise.all(
    [...tokens].map(async ([token, id]) => {
      const plain = unb64url(token.slice(6 + id.length));
      const sealed = `fwe1.${id}.${await gcmSeal(keys.get(id), plain, fieldAad(id))}`;
      texts.set(token, sealed);
      // A write's batch reads its record back: what was just sealed opens without decrypting.
      rememberText(sealed, id, decoder.decode(plain), now);
    }),
  );
  for (const s of statements) s.args = s.args.map((a) => replaced(a, PENDING, texts));
  return inserts;
}

class Statement {
  constructor(layer, sql, args) {
    this.layer = layer;
    this.sql = sql;
    this.args = args;
  }
  bind(...args) {
    return new Statement(this.layer, this.sql, args);
  }
  async run_(method, args) {
    const { env, db, count } = this.layer;
    const own = { sql: this.sql, args: [...this.args] };
    const inserts = await seal(env, db, [own], count);
    const statement = db.prepare(own.sql).bind(...own.args);
    let value;
    count();
    if (!inserts.length) {
      value = await statement[method](...args);
    } else {
      const results = await db.batch([
        ...inserts.map((s) => db.prepare(s.sql).bind(...s.args)),
        statement,
      ]);
      const last = results[results.length - 1];
      if (method === "first") {
        const row = last.results[0] ?? null;
        value = row && typeof args[0] === "string" ? row[args[0]] : row;
      } else if (method === "raw") {
        value = last.results.map((row) => Object.values(row));
      } else {
        value = last;
      }
    }
    forgetErased([own]);
    return this.sql.includes(STORED) ? value : open(env, db, value, count);
  }
  first(...args) {
    return this.run_("first", args);
  }
  all(...args) {
    return this.run_("all", args);
  }
  run(...args) {
    return this.run_("run", args);
  }
  raw(...args) {
    return this.run_("raw", args);
  }
}

const uncounted = () => {};

/// The env with its D1 binding behind the layer; everything else passes through. With `trips`
/// ({ count }), every call that reaches the database is counted there: each statement run, each
/// batch, and the layer's own reads of data keys.
export function withPersonalData(env, trips = null) {
  if (!env.DB) return env;
  const inner = env.DB;
  const count = trips ? () => void trips.count++ : uncounted;
  const layer = { env, db: inner, count };
  const batch = async (statements, ...rest) => {
    const own = statements.map((s) =>
      s instanceof Statement ? { sql: s.sql, args: [...s.args] } : null,
    );
    const inserts = await seal(env, inner, own.filter(Boolean), count);
    const real = [
      ...inserts.map((s) => inner.prepare(s.sql).bind(...s.args)),
      ...statements.map((s, i) => (own[i] ? inner.prepare(own[i].sql).bind(...own[i].args) : s)),
    ];
    count();
    const results = (await inner.batch(real, ...rest)).slice(inserts.length);
    forgetErased(own.filter(Boolean));
    const stored = own.map((s) => s && s.sql.includes(STORED));
    const opened = await open(
      env,
      inner,
      results.map((r, i) => (stored[i] ? null : r)),
      count,
    );
    return results.map((r, i) => (stored[i] ? r : opened[i]));
  };
  const db = new Proxy(inner, {
    get(t, prop) {
      if (prop === "prepare") return (sql) => new Statement(layer, sql, []);
      if (prop === "batch") return batch;
      if (prop === "exec") return (...args) => (count(), t.exec(...args));
      const value = Reflect.get(t, prop, t);
      return typeof value === "function" && prop !== "constructor" ? value.bind(t) : value;
    },
  });
  return new Proxy(env, {
    get(t, prop) {
      return prop === "DB" ? db : Reflect.get(t, prop, t);
    },
  });
}
