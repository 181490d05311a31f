// The personal-data layer (src/personal.mjs) over a real SQLite with the real migrations
// (node:sqlite behind a small D1-shaped adapter): what reaches the database is sealed, what
// comes back is opened, erasure and rotation do what they say. Run by scripts/test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";

import { withPersonalData, ERASED, forgetAll } from "../../src/personal.mjs";

const root = new URL("../../", import.meta.url);
const pending = (key, text) => `fwp1.${key}.${Buffer.from(text).toString("base64url")}`;
const ring = (...ids) =>
  ids.map((id) => `${id}:${Buffer.alloc(32, id.charCodeAt(0)).toString("base64url")}`).join(" ");

// A D1-shaped adapter: prepare/bind/first/all/run/raw/batch, counting round trips.
function d1() {
  const db = new DatabaseSync(":memory:");
  for (const file of readdirSync(new URL("migrations/", root)).sort()) {
    db.exec(readFileSync(new URL(`migrations/${file}`, root), "utf8"));
  }
  const trips = { count: 0 };
  const run = (sql, args) => {
    const statement = db.prepare(sql);
    const reader = /^\s*(\/\*.*?\*\/\s*)?(SELECT|WITH)/i.test(sql) || /RETURNING/i.test(sql);
    if (reader) return { results: statement.all(...args), success: true, meta: { changes: 0 } };
    const info = statement.run(...args);
    return { results: [], success: true, meta: { changes: Number(info.changes) } };
  };
  class Statement {
    constructor(sql, args = []) {
      this.sql = sql;
      this.args = args;
    }
    bind(...args) {
      return new Statement(this.sql, args);
    }
    async all() {
      trips.count++;
      return run(this.sql, this.args);
    }
    async run() {
      return this.all();
    }
    async first(column) {
      const row = (await this.all()).results[0] ?? null;
      return row && column ? row[column] : row;
    }
    async raw() {
      return (await this.all()).results.map((r) => Object.values(r));
    }
  }
  return {
    sqlite: db,
    trips,
    binding: {
      prepare: (sql) => new Statement(sql),
      async batch(statements) {
        trips.count++;
        db.exec("BEGIN");
        try {
          const out = statements.map((s) => run(s.sql, s.args));
          db.exec("COMMIT");
          return out;
        } catch (e) {
          db.exec("ROLLBACK");
          throw e;
        }
      },
    },
  };
}

const INSERT_CUSTOMER =
  "INSERT INTO customers (id, name, emails, created_at, updated_at) VALUES (?1, ?2, ?3, 't', 't')";
const NEW_KEY = "INSERT INTO data_keys (id, kek, wrapped, created_at) VALUES (?1, ?2, ?3, ?4) /*new data key*/";

test("personal values are sealed in the database and opened in results", async () => {
  const { sqlite, binding } = d1();
  const env = withPersonalData({ DB: binding, PII_KEYS: ring("a") });
  await env.DB.batch([
    env.DB.prepare(NEW_KEY).bind("c-1", "", "", 1),
    env.DB.prepare(INSERT_CUSTOMER).bind(
      "1",
      pending("c-1", "Zoë O'Hara"),
      JSON.stringify([pending("c-1", "zoe@example.com")]),
    ),
  ]);
  const stored = sqlite.prepare("SELECT name, emails FROM customers").get();
  assert.match(stored.name, /^fwe1\.c-1\./);
  assert.doesNotMatch(JSON.stringify(stored), /Zo|zoe@/);
  const row = await env.DB.prepare("SELECT name, emails FROM customers WHERE id = ?1").bind("1").first();
  assert.equal(row.name, "Zoë O'Hara");
  assert.deepEqual(JSON.parse(row.emails), ["zoe@example.com"]);
  const raw = await env.DB.prepare("/*stored*/ SELECT name FROM customers").first();
  assert.equal(raw.name, stored.name, "a /*stored*/ statement sees what is stored");
});

test("text with quotes inside a JSON column opens as valid JSON", async () => {
  const { binding } = d1();
  const env = withPersonalData({ DB: binding });
  const snapshot = JSON.stringify({ name: pending("c-9", 'A "quoted"\\ name\n') });
  await env.DB.prepare(
    "INSERT INTO data_keys (id, kek, wrapped, created_at) VALUES (?1, ?2, ?3, ?4) /*new data key*/",
  )
    .bind("c-9", "", "", 1)
    .run();
  await env.DB.prepare("INSERT INTO ops_probe (key, value, created_at) VALUES ('k', ?1, 1)")
    .bind(snapshot)
    .run();
  const back = await env.DB.prepare("SELECT value FROM ops_probe").first("value");
  assert.equal(JSON.parse(back).name, 'A "quoted"\\ name\n');
});

test("a key named but not yet made is made in the same batch", async () => {
  const { sqlite, binding, trips } = d1();
  const env = withPersonalData({ DB: binding });
  await env.DB.prepare(INSERT_CUSTOMER).bind("2", pending("c-2", "Ann"), "[]").run();
  assert.equal(sqlite.prepare("SELECT COUNT(*) AS n FROM data_keys WHERE id = 'c-2'").get().n, 1);
  const before = trips.count;
  assert.equal(await env.DB.prepare("SELECT name FROM customers").first("name"), "Ann");
  assert.equal(trips.count - before, 1, "a key made here is cached: one round trip");
});

test("an erased key opens as erased, everywhere", async () => {
  const { binding } = d1();
  const env = withPersonalData({ DB: binding });
  await env.DB.batch([
    env.DB.prepare(NEW_KEY).bind("c-3", "", "", 1),
    env.DB.prepare(INSERT_CUSTOMER).bind("3", pending("c-3", "Bo"), "[]"),
  ]);
  // Opened once, so this isolate remembers the text as well as the key: the erasure forgets both.
  assert.equal(await env.DB.prepare("SELECT name FROM customers").first("name"), "Bo");
  await env.DB.prepare("DELETE FROM data_keys WHERE id = ?1 /*erase data key*/").bind("c-3").run();
  assert.equal(await env.DB.prepare("SELECT name FROM customers").first("name"), ERASED);
});

test("rotation re-wraps data keys and values stay readable under the new ring", async () => {
  const { sqlite, binding } = d1();
  const old = withPersonalData({ DB: binding, PII_KEYS: ring("k1") });
  await old.DB.batch([
    old.DB.prepare(NEW_KEY).bind("c-4", "", "", 1),
    old.DB.prepare(INSERT_CUSTOMER).bind("4", pending("c-4", "Cy"), "[]"),
  ]);
  const value = sqlite.prepare("SELECT name FROM customers").get().name;
  const both = withPersonalData({ DB: binding, PII_KEYS: ring("k2", "k1") });
  const keys = await both.DB.prepare("/*stored*/ SELECT id, kek, wrapped FROM data_keys").all();
  await both.DB.batch(
    keys.results.map((k) =>
      both.DB.prepare(
        "UPDATE data_keys SET kek = ?2, wrapped = ?3, rewrapped_at = ?5 WHERE id = ?1 AND kek = ?4 /*rewrap data key*/",
      ).bind(k.id, "", k.wrapped, k.kek, 2),
    ),
  );
  assert.equal(sqlite.prepare("SELECT kek FROM data_keys").get().kek, "k2");
  assert.equal(sqlite.prepare("SELECT name FROM customers").get().name, value, "values never change");
  forgetAll();
  const retired = withPersonalData({ DB: binding, PII_KEYS: ring("k2") });
  assert.equal(await retired.DB.prepare("SELECT name FROM customers").first("name"), "Cy");
});
