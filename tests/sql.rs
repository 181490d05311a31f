//! Host tests of the schema: the migrations apply in order to a real SQLite, record their
//! numbers as the Worker expects, and every SQL constant the Worker runs is valid against them.

use std::fs;
use std::path::PathBuf;

use fieldworker::db::{probe, schema};
use fieldworker::domain::schema::SCHEMA_VERSION;
use rusqlite::Connection;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(number, file name, sql)` of every migration, in order.
fn migrations() -> Vec<(i64, String, String)> {
    let mut files: Vec<_> = fs::read_dir(root().join("migrations"))
        .expect("migrations folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let number = name
                .split('_')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{name} must start with its number, e.g. 0002_"));
            (number, name, fs::read_to_string(&path).expect("readable"))
        })
        .collect()
}

fn migrated() -> Connection {
    let conn = Connection::open_in_memory().expect("sqlite");
    for (_, name, sql) in migrations() {
        conn.execute_batch(&sql)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    conn
}

fn max_version(conn: &Connection) -> i64 {
    conn.query_row(schema::SELECT_SCHEMA_VERSION, [], |row| row.get(0))
        .expect("schema version")
}

#[test]
fn migrations_are_numbered_one_to_n_without_gaps() {
    let numbers: Vec<i64> = migrations().iter().map(|(n, _, _)| *n).collect();
    let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
    assert_eq!(numbers, expected);
}

#[test]
fn each_migration_records_its_own_number_and_the_last_is_what_the_build_expects() {
    let conn = Connection::open_in_memory().expect("sqlite");
    for (number, name, sql) in migrations() {
        conn.execute_batch(&sql)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            max_version(&conn),
            number,
            "{name} must record version {number}"
        );
    }
    assert_eq!(max_version(&conn), SCHEMA_VERSION);
}

#[test]
fn every_sql_constant_prepares_against_the_migrated_schema() {
    let conn = migrated();
    for sql in [
        schema::SELECT_SCHEMA_VERSION,
        probe::INSERT_PROBE,
        probe::SELECT_PROBE,
        probe::DELETE_PROBE,
    ] {
        conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[test]
fn the_probe_statements_round_trip_and_refuse_a_duplicate_key() {
    let conn = migrated();
    conn.execute(probe::INSERT_PROBE, ("k", "v", 1_i64))
        .unwrap();
    let value: String = conn
        .query_row(probe::SELECT_PROBE, ["k"], |row| row.get(0))
        .unwrap();
    assert_eq!(value, "v");
    assert!(conn
        .execute(probe::INSERT_PROBE, ("k", "w", 2_i64))
        .is_err());
    assert_eq!(conn.execute(probe::DELETE_PROBE, ["k"]).unwrap(), 1);
}

#[test]
fn company_settings_hold_exactly_one_valid_row() {
    let conn = migrated();
    conn.execute(
        "INSERT INTO company_settings (id, name) VALUES (1, 'Acme Plumbing')",
        [],
    )
    .unwrap();
    let second = conn.execute(
        "INSERT INTO company_settings (id, name) VALUES (2, 'Other')",
        [],
    );
    assert!(second.is_err(), "a second company row must be refused");
    let bad_currency = conn.execute(
        "UPDATE company_settings SET currency = 'usd' WHERE id = 1",
        [],
    );
    assert!(
        bad_currency.is_err(),
        "currency codes are upper-case ISO 4217"
    );
    let blank_name = conn.execute("UPDATE company_settings SET name = '  ' WHERE id = 1", []);
    assert!(blank_name.is_err(), "a company needs a name");
    let version: i64 = conn
        .query_row("SELECT version FROM company_settings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
}

#[test]
fn the_demo_seed_is_idempotent() {
    let conn = migrated();
    let seed = fs::read_to_string(root().join("scripts/seed/demo.sql")).unwrap();
    let snapshot = |conn: &Connection| -> String {
        conn.query_row(
            "SELECT json_group_array(json_array(id, name, currency, time_zone, version)) \
             FROM company_settings",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    conn.execute_batch(&seed).unwrap();
    let once = snapshot(&conn);
    conn.execute_batch(&seed).unwrap();
    assert_eq!(snapshot(&conn), once);
    assert!(once.contains("Demo Plumbing & Heating"), "{once}");
}
