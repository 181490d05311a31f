//! The write engine on the host: the same engine the Worker runs, over SQLite with the real
//! migrations in place of D1 (a batch is one transaction, as D1 runs it). Covers the version
//! check, the guard's all-or-nothing batch, audit rows, the re-read, a lost race, and
//! Idempotency-Key replay.

use fieldworker::domain::personal::pending_text;
use std::cell::{Cell, RefCell};
use std::fs;
use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use fieldworker::db::customers as customers_db;
use fieldworker::domain::audit::{Action, ActorKind, AuditEvent};
use fieldworker::domain::customers::{Customer, CustomerChanges};
use fieldworker::domain::time::Millis;
use fieldworker::error::{AppResult, ErrorKind};
use fieldworker::http::api::customers::CustomerEntity;
use fieldworker::write::{self, Change, Keyed, Param, Results, Sql, Store};

/// Another writer's statement, run between two of the engine's batches.
type OtherWriter = Box<dyn FnOnce(&Connection)>;

/// SQLite as the engine's store. `interleave` runs once before the next batch: another
/// writer getting in between a load and a write. Personal values stay as the pending tokens
/// the Worker binds (no sealing layer on the host) and read back as their text, as the layer
/// opens them (`domain::personal::pending_text`).
struct Sqlite {
    conn: RefCell<Connection>,
    interleave: RefCell<Option<OtherWriter>>,
    batches: Cell<usize>,
}

struct Rows(Vec<(usize, Vec<Value>)>);

impl Results for Rows {
    fn changes(&self, index: usize) -> usize {
        self.0[index].0
    }

    fn rows<T: DeserializeOwned>(&self, index: usize) -> AppResult<Vec<T>> {
        Ok(self.0[index]
            .1
            .iter()
            .map(|row| serde_json::from_value(row.clone()).unwrap())
            .collect())
    }
}

fn to_sql(param: &Param) -> rusqlite::types::Value {
    match param {
        Param::Null => rusqlite::types::Value::Null,
        Param::Int(v) => rusqlite::types::Value::Integer(*v),
        Param::Text(v) => rusqlite::types::Value::Text(v.clone()),
    }
}

impl Store for Sqlite {
    type Results = Rows;

    fn batch(&self, statements: Vec<Sql>) -> impl Future<Output = Result<Rows, String>> {
        if let Some(other_writer) = self.interleave.borrow_mut().take() {
            other_writer(&self.conn.borrow());
        }
        self.batches.set(self.batches.get() + 1);
        let mut conn = self.conn.borrow_mut();
        let outcome = (|| {
            let tx = conn.transaction().map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            for statement in &statements {
                let mut stmt = tx.prepare(&statement.sql).map_err(|e| e.to_string())?;
                let names: Vec<String> =
                    stmt.column_names().iter().map(|s| s.to_string()).collect();
                let params: Vec<_> = statement.params.iter().map(to_sql).collect();
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params))
                    .map_err(|e| e.to_string())?;
                let mut answered = Vec::new();
                while let Some(row) = rows.next().map_err(|e| e.to_string())? {
                    let mut object = Map::new();
                    for (i, name) in names.iter().enumerate() {
                        let value = match row.get_ref(i).unwrap() {
                            ValueRef::Null => Value::Null,
                            ValueRef::Integer(v) => json!(v),
                            ValueRef::Real(v) => json!(v),
                            ValueRef::Text(t) => {
                                let text = String::from_utf8_lossy(t);
                                json!(pending_text(&text).unwrap_or_else(|| text.into_owned()))
                            }
                            ValueRef::Blob(_) => Value::Null,
                        };
                        object.insert(name.clone(), value);
                    }
                    answered.push(Value::Object(object));
                }
                drop(rows);
                drop(stmt);
                out.push((tx.changes() as usize, answered));
            }
            tx.commit().map_err(|e| e.to_string())?;
            Ok(Rows(out))
        })();
        std::future::ready(outcome)
    }
}

/// Runs a future whose store answers at once.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the SQLite store never waits"),
    }
}

fn migrated() -> Sqlite {
    let conn = Connection::open_in_memory().unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        conn.execute_batch(&fs::read_to_string(file).unwrap())
            .unwrap();
    }
    Sqlite {
        conn: RefCell::new(conn),
        interleave: RefCell::new(None),
        batches: Cell::new(0),
    }
}

fn audit_actions(store: &Sqlite) -> Vec<String> {
    let conn = store.conn.borrow();
    let mut stmt = conn
        .prepare("SELECT action FROM audit_log ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn event(action: Action, id: &str) -> AuditEvent {
    AuditEvent {
        at: Millis(1_764_000_000_000),
        actor_kind: ActorKind::User,
        actor_id: Some("u1".into()),
        action,
        entity: "customer",
        entity_id: Some(id.into()),
        before: None,
        after: Some(json!({ "id": id })),
        ip: None,
        request_id: "r1".into(),
    }
}

fn customer(name: &str) -> Customer {
    let changes: CustomerChanges = serde_json::from_value(json!({ "name": name })).unwrap();
    Customer::create(changes).unwrap()
}

fn create(
    store: &Sqlite,
    id: &str,
    name: &str,
    keyed: Option<&Keyed>,
) -> write::Created<<CustomerEntity as write::Entity>::Record> {
    let change = Change::new()
        .guarded(customers_db::insert(
            id,
            &customer(name),
            "2026-12-01T00:00:00Z",
        ))
        .audit(event(Action::CustomerCreated, id));
    run(write::create::<_, CustomerEntity>(
        store,
        id,
        keyed,
        change,
        || unreachable!("a customer insert has no condition"),
        1,
    ))
    .unwrap()
}

fn rename(store: &Sqlite, id: &str, expected: i64, name: &str) -> AppResult<i64> {
    run(write::update::<_, CustomerEntity>(
        store,
        id,
        expected,
        |(row, _)| {
            let after = row
                .to_domain()?
                .apply(serde_json::from_value(json!({ "name": name })).unwrap())?;
            Ok(Change::new()
                .guarded(customers_db::update(
                    id,
                    expected,
                    &after,
                    "2026-12-02T00:00:00Z",
                ))
                .audit(event(Action::CustomerUpdated, id)))
        },
    ))
    .map(|(row, _)| row.version)
}

#[test]
fn a_create_writes_the_record_its_audit_row_and_reads_it_back_in_one_batch() {
    let store = migrated();
    let created = create(&store, "c1", "Ann Lee", None);
    assert_eq!(created.record.0.name, "Ann Lee");
    assert_eq!(created.record.0.version, 1);
    assert_eq!((created.status, created.replayed), (201, false));
    assert_eq!(store.batches.get(), 1);
    assert_eq!(audit_actions(&store), ["customer.created"]);
}

#[test]
fn an_update_names_its_version_and_a_stale_one_is_a_conflict_carrying_the_current_record() {
    let store = migrated();
    create(&store, "c1", "Ann Lee", None);
    assert_eq!(rename(&store, "c1", 1, "Ann Chen").unwrap(), 2);
    let stale = rename(&store, "c1", 1, "Someone Else").unwrap_err();
    assert_eq!(stale.kind, ErrorKind::Conflict);
    let problem = stale.to_problem("/", "r");
    assert_eq!(problem["current"]["name"], "Ann Chen");
    assert_eq!(problem["current"]["version"], 2);
    assert_eq!(
        audit_actions(&store),
        ["customer.created", "customer.updated"]
    );
    let missing = rename(&store, "nobody", 1, "X").unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound);
}

#[test]
fn losing_the_race_after_the_load_writes_nothing_and_answers_409_with_the_winner() {
    let store = migrated();
    create(&store, "c1", "Ann Lee", None);
    // Another writer takes version 1 between our load and our write.
    *store.interleave.borrow_mut() = Some(Box::new(|conn: &Connection| {
        conn.execute(
            "UPDATE customers SET name = 'Winner', version = version + 1 WHERE id = 'c1'",
            [],
        )
        .unwrap();
    }));
    let lost = rename(&store, "c1", 1, "Loser").unwrap_err();
    assert_eq!(lost.kind, ErrorKind::Conflict);
    assert_eq!(lost.to_problem("/", "r")["current"]["name"], "Winner");
    assert_eq!(
        audit_actions(&store),
        ["customer.created"],
        "no audit row for a lost race"
    );
}

#[test]
fn a_refused_guard_leaves_nothing_of_the_batch_behind() {
    let store = migrated();
    create(&store, "c1", "Ann Lee", None);
    // A statement before the guard and one after it: neither may survive a refused guard.
    let change = Change::new()
        .then(Sql::new(
            "UPDATE customers SET notes = 'half-written' WHERE id = 'c1'",
            vec![],
        ))
        .guarded(customers_db::update("c1", 7, &customer("Nobody"), "t"))
        .then(Sql::new(
            "UPDATE customers SET tags = '[\"x\"]' WHERE id = 'c1'",
            vec![],
        ))
        .audit(event(Action::CustomerUpdated, "c1"));
    let refused = run(write::apply(&store, change, vec![]));
    assert!(matches!(refused, Err(write::Refusal::Guard)));
    let (notes, tags): (Option<String>, String) = store
        .conn
        .borrow()
        .query_row(
            "SELECT notes, tags FROM customers WHERE id = 'c1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((notes, tags.as_str()), (None, "[]"));
    assert_eq!(audit_actions(&store), ["customer.created"]);
}

#[test]
fn a_keyed_create_repeated_answers_the_first_record_and_a_different_request_is_refused() {
    let store = migrated();
    let key = Keyed {
        user_id: "u1".into(),
        key: "k-1".into(),
        fingerprint: "f-1".into(),
    };
    let first = create(&store, "c1", "Ann Lee", Some(&key));
    let again = create(&store, "c2", "Ann Lee", Some(&key));
    assert!(again.replayed);
    assert_eq!((again.id.as_str(), again.status), ("c1", 201));
    assert_eq!(again.record.0.name, first.record.0.name);
    let count: i64 = store
        .conn
        .borrow()
        .query_row("SELECT COUNT(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 1, "the retry created nothing");
    assert_eq!(audit_actions(&store), ["customer.created"]);

    let other = Keyed {
        fingerprint: "f-2".into(),
        ..key
    };
    let change = Change::new()
        .guarded(customers_db::insert("c3", &customer("Bo"), "t"))
        .audit(event(Action::CustomerCreated, "c3"));
    let refused = run(write::create::<_, CustomerEntity>(
        &store,
        "c3",
        Some(&other),
        change,
        || unreachable!(),
        1,
    ));
    assert_eq!(refused.err().unwrap().kind, ErrorKind::Unprocessable);
}

#[test]
fn audit_rows_of_interleaved_writers_number_themselves_without_reading_the_tip() {
    let store = migrated();
    for i in 0..5 {
        create(&store, &format!("c{i}"), &format!("Customer {i}"), None);
    }
    let conn = store.conn.borrow();
    let seqs: Vec<(i64, i64)> = conn
        .prepare("SELECT seq, prev_seq FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(seqs, (1..=5).map(|s| (s, s - 1)).collect::<Vec<_>>());
}
