//! Host tests of the schema: the migrations apply in order to a real SQLite, record their
//! numbers as the Worker expects, and every SQL constant the Worker runs is valid against them.

use std::fs;
use std::path::PathBuf;

use fieldworker::db::{
    audit, customer_messages, customers, deletion, exports, invites, invoices, jobs, messages,
    messaging, notifications, oauth, outbox, pages, personal, probe, quotes, schema, settings,
    share_links, support, tokens, users, visits,
};
use fieldworker::domain::auth::session::lockout::{BASE_LOCK_MS, MAX_LOCK_MS, WINDOW_MS};
use fieldworker::domain::personal::{pending_text, phone_terms};
use fieldworker::domain::schema::SCHEMA_VERSION;
use fieldworker::write::sql as write_sql;
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
        write_sql::APPEND_AUDIT,
        write_sql::APPEND_AUDIT_IF_CHANGED,
        write_sql::GUARD,
        write_sql::REMEMBER_KEY,
        write_sql::RECALL_KEY,
        users::RESERVE_ATTEMPT,
        users::RELEASE_ATTEMPT,
        audit::SELECT_RECENT,
        audit::SELECT_PAGE,
        audit::SELECT_ROW,
        audit::SELECT_CHAIN,
        audit::SELECT_SEALED_TIP,
        audit::SELECT_UNSEALED,
        audit::SELECT_LAG,
        audit::SEAL_ROW,
        audit::RECORD_ANCHOR,
        audit::SELECT_RESTORES,
        users::END_SESSIONS_AFTER_RESTORE,
        users::SELECT_BY_EMAIL,
        users::SELECT_BY_ID,
        users::SELECT_BY_TOKEN_HASH,
        users::SELECT_ALL,
        users::INSERT,
        users::INSERT_OWNER,
        users::INSERT_FROM_INVITE,
        users::UPDATE_ROLE_ACTIVE,
        users::UPDATE_PASSWORD,
        users::SET_TOTP_PENDING,
        users::CONFIRM_TOTP,
        users::DISABLE_TOTP,
        users::CONSUME_TOTP_STEP,
        users::SELECT_ATTEMPTS,
        users::LOCK_IF_OVER,
        users::RESET_ATTEMPTS,
        users::CLEAR_ATTEMPTS,
        users::INSERT_RECOVERY_CODE,
        users::DELETE_RECOVERY_CODES,
        users::CONSUME_RECOVERY_CODE,
        users::COUNT_RECOVERY_CODES,
        notifications::ACCOUNT_LOCKED,
        notifications::SELECT_FOR_USER,
        notifications::MARK_ALL_READ,
        outbox::CLAIM,
        outbox::FINISH_SENT,
        outbox::FINISH_RETRY,
        outbox::FINISH_FAILED,
        outbox::SELECT_ORPHANS,
        outbox::FINISH_UNKNOWN,
        outbox::COUNT_DUE,
        outbox::SELECT_NOTICE_MAIL,
        outbox::SELECT_FOR_ENTITY,
        outbox::SELECT_PENDING,
        outbox::HOLD_CLAIMED,
        notifications::NOTIFY_ROLES,
        customer_messages::SELECT_BY_PHONE,
        customer_messages::INSERT_INBOUND_DONE,
        customer_messages::INSERT_IN,
        customer_messages::INSERT_OUT,
        customer_messages::QUEUE_REPLY,
        customer_messages::OPT_OUT,
        customer_messages::OPT_IN,
        customer_messages::SELECT_CONVERSATION,
        customer_messages::SELECT_MESSAGE,
        customer_messages::SELECT_SMS_STATE,
        customer_messages::MARK_READ,
        customer_messages::SELECT_BODY,
        customer_messages::SELECT_BY_PROVIDER_ID,
        customer_messages::RECORD_DELIVERY,
        tokens::INSERT,
        tokens::SELECT_BY_HASH,
        tokens::SELECT_BY_ID,
        tokens::SELECT_FOR_USER,
        tokens::REVOKE,
        tokens::TOUCH,
        users::SELECT_BY_OAUTH_HASH,
        oauth::REGISTER,
        oauth::SWEEP_CLIENTS,
        oauth::SWEEP_CODES,
        oauth::SWEEP_TOKENS,
        oauth::SELECT_CLIENT,
        oauth::KEEP_CLIENT,
        oauth::INSERT_CODE,
        oauth::TAKE_CODE,
        oauth::SELECT_GRANT,
        oauth::SELECT_GRANTS_OF_USER,
        oauth::SELECT_GRANTS_ALL,
        oauth::INSERT_GRANT,
        oauth::REVOKE_GRANT,
        oauth::REVOKE_GRANT_NOW,
        oauth::DELETE_GRANT_TOKENS,
        oauth::INSERT_TOKEN,
        oauth::SELECT_REFRESH,
        oauth::USE_REFRESH,
        oauth::SELECT_ACCESS,
        oauth::TOUCH_GRANT,
        oauth::SELECT_TOKEN_GRANT,
        invites::INSERT,
        invites::SELECT_BY_HASH,
        invites::CONSUME,
        invites::SELECT_LAPSED,
        invites::DELETE_LAPSED,
        settings::SELECT,
        settings::UPDATE,
        customers::SELECT_PAGE,
        customers::SELECT_BY_ID,
        customers::INSERT,
        customers::UPDATE,
        customers::ARCHIVE,
        customers::ERASE,
        customers::ERASE_REPLAYED,
        customers::SELECT_UNSEALED,
        customers::SELECT_UNSEALED_SITES,
        customers::RESEAL,
        customers::RESEAL_SITE,
        customers::ISSUED_INVOICES,
        personal::INSERT_DATA_KEY,
        personal::ERASE_DATA_KEY,
        personal::DELETE_TERMS,
        personal::INSERT_TERMS,
        personal::SELECT_TO_REWRAP,
        personal::COUNT_BY_KEK,
        personal::REWRAP,
        customers::SELECT_SITES,
        customers::SELECT_SITE,
        customers::INSERT_SITE,
        customers::CLEAR_OTHER_PRIMARY,
        customers::UPDATE_SITE,
        jobs::SELECT_BY_ID,
        jobs::SELECT_PAGE,
        jobs::INSERT,
        jobs::UPDATE,
        jobs::SET_STATUS,
        jobs::CLEAR_TECHNICIANS,
        jobs::ADD_TECHNICIANS,
        jobs::SELECT_ASSIGNABLE,
        jobs::SELECT_PRIMARY_SITE,
        jobs::INSERT_NOTE,
        jobs::SELECT_NOTES,
        visits::SELECT_RANGE,
        visits::SELECT_BY_ID,
        visits::SELECT_BY_IDS,
        visits::SELECT_OVERLAPPING,
        visits::INSERT,
        visits::MOVE,
        visits::CLEAR_TECHNICIANS,
        visits::ADD_TECHNICIANS,
        visits::DELETE_TECHNICIANS,
        visits::DELETE,
        quotes::SELECT_BY_ID,
        quotes::SELECT_PAGE,
        quotes::SELECT_SHOWN_STATUS,
        quotes::SELECT_PARTIES,
        quotes::BUMP_COUNTER,
        quotes::INSERT,
        quotes::UPDATE,
        quotes::SET_STATUS,
        quotes::ACCEPT,
        quotes::CONVERT,
        quotes::INSERT_JOB,
        quotes::DELETE,
        invoices::SELECT_BY_ID,
        invoices::SELECT_PAGE,
        invoices::SELECT_SHOWN_STATUS,
        invoices::SELECT_PAYMENTS,
        invoices::SELECT_PAYMENT,
        invoices::SELECT_COUNTER,
        invoices::INSERT,
        invoices::INSERT_FROM_QUOTE,
        invoices::UPDATE,
        invoices::DELETE_DRAFT,
        invoices::RELEASE_QUOTE,
        invoices::BUMP_INVOICE_COUNTER,
        invoices::ISSUE,
        invoices::VOID,
        invoices::INSERT_PAYMENT,
        invoices::RECORD_PAYMENT,
        invoices::BUMP_CREDIT_NOTE_COUNTER,
        invoices::INSERT_CREDIT_NOTE,
        invoices::MARK_CREDITED,
        share_links::INSERT,
        share_links::SELECT_BY_ID,
        share_links::SELECT_BY_HASH,
        share_links::REVOKE,
        share_links::SELECT_CUSTOMER_NAME,
        share_links::SELECT_INVOICE_CUSTOMER_NAME,
        share_links::SELECT_QUOTE_CUSTOMER_NAME,
        messaging::INSERT_INBOUND,
        messaging::FINISH_INBOUND,
        messaging::SELECT_INBOUND,
        messaging::SELECT_LINKED_USER,
        messaging::SELECT_LINKED_USER_ID,
        messaging::INSERT_LINK_CODE,
        messaging::SELECT_CODE_USER,
        messaging::CONSUME_LINK_CODE,
        messaging::INSERT_LINK_FROM_CODE,
        messaging::SELECT_LINKS_OF_USER,
        messaging::DELETE_LINK,
        messaging::SELECT_TURNS,
        messaging::INSERT_TURN,
        messaging::TRIM_TURNS,
        messaging::INSERT_CONFIRMATION,
        messaging::SELECT_CONFIRMATION,
        messaging::DELETE_CONFIRMATION,
        pages::PEOPLE,
        pages::VISITS,
        pages::JOBS,
        pages::CUSTOMER_OF_JOB,
        pages::SITE_OF_JOB,
        support::SELECT_BY_ID,
        support::SELECT_RECENT,
        support::SELECT_OVERDUE,
        support::INSERT,
        support::DECIDE,
        support::START,
        support::END,
        support::END_AT_DEADLINE,
        support::SELECT_PREAPPROVE,
        support::QUEUE_LINK,
        users::INSERT_OWNER,
        users::RECOVER,
        users::QUEUE_RECOVERY_IF_SOLE,
        users::SEAL_LEGACY,
        users::DELETE_ACCOUNT,
        users::DELETE_REPLAYED,
        users::SELECT_LAST_DELETED_NUMBER,
        users::DELETE_NOTIFICATIONS,
        users::CANCEL_QUEUED_MAIL,
        tokens::REVOKE_ALL_OF_USER,
        oauth::DELETE_TOKENS_OF_USER,
        oauth::REVOKE_GRANTS_OF_USER,
        messaging::FORGET_TURNS_OF_USER,
        messaging::FORGET_CONFIRMATIONS_OF_USER,
        messaging::DELETE_LINKS_OF_USER,
        messaging::DELETE_CODES_OF_USER,
        personal::ERASE_DATA_KEY,
        personal::DELETE_TERMS,
        settings::SELECT,
        settings::UPDATE,
        deletion::SELECT_BY_ID,
        deletion::SELECT_OPEN,
        deletion::INSERT,
        deletion::CANCEL,
        deletion::COMPLETE,
        deletion::DESTROY_KEYS,
        deletion::MARK_PURGED,
        exports::CUSTOMER,
        exports::CUSTOMER_SITES,
        exports::CUSTOMER_JOBS,
        exports::CUSTOMER_VISITS,
        exports::CUSTOMER_JOB_NOTES,
        exports::CUSTOMER_QUOTES,
        exports::CUSTOMER_INVOICES,
        exports::CUSTOMER_PAYMENTS,
        exports::CUSTOMER_MESSAGES,
        exports::CUSTOMER_FILES,
        exports::TABLES,
        exports::SELECT_BY_ID,
        exports::SELECT_RECENT,
        exports::SELECT_RESUMABLE,
        exports::INSERT,
        exports::TAKE,
        exports::PROGRESS,
        exports::FINISH,
        exports::FAIL,
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
    let placeholder: String = conn
        .query_row("SELECT name FROM company_settings WHERE id = 1", [], |r| {
            r.get(0)
        })
        .expect("the migrations create the settings row");
    assert_eq!(placeholder, "Unnamed company");
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

fn add_user(conn: &Connection, id: &str, role: &str) {
    conn.execute(
        users::INSERT,
        (
            id,
            format!("{id}@x.example"),
            id,
            role,
            "h",
            "t",
            format!("ix-{id}"),
        ),
    )
    .unwrap();
}

/// The parameters of `APPEND_AUDIT` for an event named `action`: at, actor kind, actor id,
/// action, entity, entity id, before, after, ip, request id.
fn appended(action: &str) -> rusqlite::ParamsFromIter<Vec<Option<String>>> {
    let text = |s: &str| Some(s.to_owned());
    rusqlite::params_from_iter(vec![
        text("t"),
        text("system"),
        None,
        text(action),
        text("e"),
        None,
        None,
        None,
        None,
        text("r"),
    ])
}

fn audit_count(conn: &Connection) -> i64 {
    conn.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn appended_audit_rows_number_themselves_and_can_only_be_sealed_once() {
    let conn = migrated();
    for action in ["a", "b", "c"] {
        conn.execute(write_sql::APPEND_AUDIT, appended(action))
            .unwrap();
    }
    let seqs: Vec<(i64, i64)> = conn
        .prepare("SELECT seq, prev_seq FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(seqs, vec![(1, 0), (2, 1), (3, 2)]);
    assert!(conn
        .execute("UPDATE audit_log SET action = 'x' WHERE seq = 1", [])
        .is_err());
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    // Sealing: the first keyed row follows the legacy tip (none here), each next one only
    // after exactly the seal it was computed from.
    assert_eq!(
        conn.execute(audit::SEAL_ROW, ("s1", 1, 0, None::<&str>))
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(audit::SEAL_ROW, ("s2", 2, 1, Some("another seal")))
            .unwrap(),
        0,
        "a seal computed after another predecessor is not written"
    );
    assert_eq!(
        conn.execute(audit::SEAL_ROW, ("s2", 2, 1, Some("s1")))
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(audit::SEAL_ROW, ("again", 2, 1, Some("s1")))
            .unwrap(),
        0,
        "a sealed row is not sealed again"
    );
    assert!(
        conn.execute("UPDATE audit_log SET seal = 'x' WHERE seq = 2", [])
            .is_err(),
        "the trigger refuses changing a seal"
    );
    assert!(conn
        .execute(
            "UPDATE audit_log SET seal = 's3', after = '{}' WHERE seq = 3",
            []
        )
        .is_err());
    let unsealed: Vec<i64> = conn
        .prepare(audit::SELECT_UNSEALED)
        .unwrap()
        .query_map([10], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(unsealed, vec![3]);
}

#[test]
fn legacy_rows_keep_their_hash_chain_and_are_never_sealed() {
    let conn = Connection::open_in_memory().expect("sqlite");
    let all = migrations();
    // A tenant with rows written the old way before the keyed chain's migration.
    for (number, name, sql) in &all {
        if *number == 7 {
            conn.execute(
                "INSERT INTO audit_log (seq, prev_seq, at, actor_kind, action, entity, \
                 prev_hash, hash) VALUES (1, 0, 't', 'system', 'old', 'e', '0', 'h1')",
                [],
            )
            .unwrap();
        }
        conn.execute_batch(sql)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let (legacy_seq, legacy_hash): (i64, String) = conn
        .query_row(audit::SELECT_CHAIN, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((legacy_seq, legacy_hash.as_str()), (1, "h1"));
    assert!(conn
        .execute("UPDATE audit_log SET seal = 'x' WHERE seq = 1", [])
        .is_err());
    // The old code, still running until its deploy, appends after the tip it reads.
    conn.execute(
        "INSERT INTO audit_log (seq, prev_seq, at, actor_kind, action, entity, prev_hash, \
         hash) VALUES (2, 1, 't', 'system', 'old code', 'e', 'h1', 'h2')",
        [],
    )
    .unwrap();
    conn.execute(write_sql::APPEND_AUDIT, appended("new"))
        .unwrap();
    let next: Vec<i64> = conn
        .prepare(audit::SELECT_UNSEALED)
        .unwrap()
        .query_map([10], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        next,
        vec![2, 3],
        "rows after the legacy tip are sealed, whoever wrote them"
    );
}

#[test]
fn a_guarded_audit_row_is_written_only_when_the_statement_before_it_changed_a_row() {
    let conn = migrated();
    add_user(&conn, "u1", "viewer");
    // Stale version: no change, so no audit row.
    conn.execute(users::UPDATE_ROLE_ACTIVE, ("dispatcher", 1, "t", "u1", 9))
        .unwrap();
    conn.execute(write_sql::APPEND_AUDIT_IF_CHANGED, appended("user.updated"))
        .unwrap();
    assert_eq!(audit_count(&conn), 0);
    conn.execute(users::UPDATE_ROLE_ACTIVE, ("dispatcher", 1, "t", "u1", 1))
        .unwrap();
    conn.execute(write_sql::APPEND_AUDIT_IF_CHANGED, appended("user.updated"))
        .unwrap();
    assert_eq!(audit_count(&conn), 1);
    // Several rows for one statement (a conversion audits the quote, job and invoice): each
    // follows the one before, so a refused write leaves none and an accepted one all.
    conn.execute(users::UPDATE_ROLE_ACTIVE, ("viewer", 1, "t", "u1", 9))
        .unwrap();
    for _ in 2..=4 {
        conn.execute(write_sql::APPEND_AUDIT_IF_CHANGED, appended("user.updated"))
            .unwrap();
    }
    assert_eq!(audit_count(&conn), 1, "none after a refused write");
    conn.execute(users::UPDATE_ROLE_ACTIVE, ("viewer", 1, "t", "u1", 2))
        .unwrap();
    for _ in 2..=4 {
        conn.execute(write_sql::APPEND_AUDIT_IF_CHANGED, appended("user.updated"))
            .unwrap();
    }
    assert_eq!(audit_count(&conn), 4, "all after an accepted one");
}

#[test]
fn the_last_active_owner_cannot_be_demoted_or_deactivated_by_the_update() {
    let conn = migrated();
    add_user(&conn, "o1", "owner");
    let changed = |role: &str, active: i64, version: i64| {
        conn.execute(
            users::UPDATE_ROLE_ACTIVE,
            (role, active, "t", "o1", version),
        )
        .unwrap()
    };
    assert_eq!(changed("dispatcher", 1, 1), 0);
    assert_eq!(changed("owner", 0, 1), 0);
    assert_eq!(changed("owner", 1, 1), 1, "keeping the role is fine");
    add_user(&conn, "o2", "owner");
    assert_eq!(changed("viewer", 1, 2), 1);
    let epoch: i64 = conn
        .query_row("SELECT session_epoch FROM users WHERE id = 'o1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(epoch, 2, "each change ends the user's sessions");
}

#[test]
fn a_generated_password_must_be_changed_and_a_new_password_clears_that() {
    let conn = migrated();
    let required = |id: &str| -> i64 {
        conn.query_row(users::SELECT_BY_ID, [id], |r| {
            r.get("password_change_required")
        })
        .unwrap()
    };
    conn.execute(
        users::INSERT_OWNER,
        ("gen", "gen@x.example", "Gen", "h", 1, "t", "ix-gen"),
    )
    .unwrap();
    // (The operator makes the first owner only; the others came in by invitation.)
    conn.execute(
        users::INSERT,
        (
            "own",
            "own@x.example",
            "Own",
            "dispatcher",
            "h",
            "t",
            "ix-own",
        ),
    )
    .unwrap();
    // The code before this column inserts without naming it.
    add_user(&conn, "old", "owner");
    assert_eq!(
        (required("gen"), required("own"), required("old")),
        (1, 0, 0)
    );
    assert_eq!(
        conn.execute(users::UPDATE_PASSWORD, ("h2", "t2", "gen", 1))
            .unwrap(),
        1
    );
    assert_eq!(required("gen"), 0, "the new password is the user's own");
}

#[test]
fn a_totp_step_is_accepted_once_and_never_an_older_one() {
    let conn = migrated();
    add_user(&conn, "u1", "viewer");
    conn.execute("UPDATE users SET totp_secret = 'S' WHERE id = 'u1'", [])
        .unwrap();
    let consume = |step: i64| {
        conn.execute(users::CONSUME_TOTP_STEP, (step, "u1"))
            .unwrap()
    };
    assert_eq!(consume(100), 1);
    assert_eq!(consume(100), 0);
    assert_eq!(consume(99), 0);
    assert_eq!(consume(101), 1);
}

#[test]
fn an_invited_user_is_created_only_by_the_batch_that_consumed_the_invite() {
    let conn = migrated();
    add_user(&conn, "o1", "owner");
    conn.execute(
        invites::INSERT,
        ("i1", "hash", "new@x.example", "viewer", "o1", 5_000, 1_000),
    )
    .unwrap();
    let insert = |now: i64| {
        conn.execute(
            users::INSERT_FROM_INVITE,
            rusqlite::params![
                "n1",
                "new@x.example",
                "New",
                "viewer",
                "h",
                "t",
                "i1",
                now,
                "ix-n1"
            ],
        )
        .unwrap()
    };
    assert_eq!(insert(2_000), 0, "not consumed yet");
    assert_eq!(conn.execute(invites::CONSUME, (2_000, "i1")).unwrap(), 1);
    assert_eq!(
        conn.execute(invites::CONSUME, (2_001, "i1")).unwrap(),
        0,
        "single use"
    );
    assert_eq!(insert(2_000), 1);
    conn.execute(
        invites::INSERT,
        (
            "i2",
            "hash2",
            "late@x.example",
            "viewer",
            "o1",
            5_000,
            1_000,
        ),
    )
    .unwrap();
    assert_eq!(
        conn.execute(invites::CONSUME, (5_000, "i2")).unwrap(),
        0,
        "expired"
    );
}

/// Runs one failed sign-in for `subject` at `now` with limit `max`, as the Worker's batch
/// does; answers whether it locked the subject.
/// One failed attempt, as sign-in makes it: reserved before it is checked, then the lock if
/// it was the last one allowed. Answers whether it locked the subject.
fn fail(conn: &Connection, subject: &str, now: i64, max: i64) -> bool {
    assert_eq!(
        reserve(conn, subject, now, max),
        1,
        "the attempt was refused"
    );
    conn.execute(
        users::LOCK_IF_OVER,
        (subject, now, max, BASE_LOCK_MS as i64, MAX_LOCK_MS as i64),
    )
    .unwrap()
        == 1
}

fn reserve(conn: &Connection, subject: &str, now: i64, max: i64) -> usize {
    conn.execute(
        users::RESERVE_ATTEMPT,
        (subject, now, WINDOW_MS as i64, max),
    )
    .unwrap()
}

#[test]
fn attempts_are_reserved_before_they_are_checked_and_refused_past_the_cap_or_while_locked() {
    let conn = migrated();
    let s = "email:a@x.example";
    let t = 50_000_000;
    // A burst: five reservations take, every later one is refused before any is checked.
    let taken: Vec<usize> = (0..40).map(|i| reserve(&conn, s, t + i, 5)).collect();
    assert_eq!(taken.iter().sum::<usize>(), 5);
    assert_eq!(&taken[..5], &[1; 5]);
    // The five fail: the lock follows, and nothing is reserved while it holds.
    conn.execute(
        users::LOCK_IF_OVER,
        (s, t + 50, 5, BASE_LOCK_MS as i64, MAX_LOCK_MS as i64),
    )
    .unwrap();
    assert_eq!(reserve(&conn, s, t + 60, 5), 0);
    let after_lock = t + 50 + BASE_LOCK_MS as i64;
    assert_eq!(reserve(&conn, s, after_lock, 5), 1);
    // A success gives its reservation back; an IP's release only takes one away.
    conn.execute(users::RESET_ATTEMPTS, [s]).unwrap();
    let ip = "ip:203.0.113.9";
    reserve(&conn, ip, t, 30);
    reserve(&conn, ip, t, 30);
    conn.execute(users::RELEASE_ATTEMPT, [ip]).unwrap();
    let failures: i64 = conn
        .query_row(users::SELECT_ATTEMPTS, [ip], |r| r.get(0))
        .unwrap();
    assert_eq!(failures, 1);
}

#[test]
fn a_lock_tells_the_user_once_and_the_bell_counts_until_read() {
    let conn = migrated();
    conn.execute(
        users::INSERT,
        (
            "u1",
            "a@x.example",
            "A",
            "owner",
            "pbkdf2$x",
            "2026-01-01T00:00:00Z",
            "ix-u1",
        ),
    )
    .unwrap();
    let s = "email:a@x.example";
    let t = 70_000_000_i64;
    let notice = |id: &str, now: i64| {
        conn.execute(notifications::ACCOUNT_LOCKED, (id, "u1", now, s, 5))
            .unwrap()
    };
    for i in 0..4 {
        assert!(!fail(&conn, s, t + i, 5));
        assert_eq!(notice(&format!("n{i}"), t + i), 0, "no lock, no notice");
    }
    assert!(fail(&conn, s, t + 4, 5));
    assert_eq!(notice("n4", t + 4), 1);
    assert_eq!(notice("n5", t + 5), 0, "the same lock is told once");
    let unread = |conn: &Connection| -> i64 {
        conn.query_row(users::SELECT_BY_ID, ["u1"], |r| {
            r.get("unread_notifications")
        })
        .unwrap()
    };
    assert_eq!(unread(&conn), 1);
    let (kind, data): (String, String) = conn
        .query_row(notifications::SELECT_FOR_USER, ("u1", 50), |r| {
            Ok((r.get("kind")?, r.get("data")?))
        })
        .unwrap();
    assert_eq!(kind, "account_locked");
    assert!(
        data.contains(&format!("\"until\":{}", t + 4 + BASE_LOCK_MS as i64)),
        "{data}"
    );
    assert!(data.contains("\"failures\":5"), "{data}");
    assert_eq!(
        conn.execute(notifications::MARK_ALL_READ, ("u1", t + 10))
            .unwrap(),
        1
    );
    assert_eq!(unread(&conn), 0);
}

#[test]
fn a_notice_queues_its_email_once_and_each_message_is_claimed_by_one_sender() {
    let conn = migrated();
    conn.execute(
        users::INSERT,
        (
            "u1",
            "a@x.example",
            "Ann",
            "owner",
            "pbkdf2$x",
            "2026-01-01T00:00:00Z",
            "ix-u1",
        ),
    )
    .unwrap();
    let s = "email:a@x.example";
    let t = 80_000_000_i64;
    for i in 0..5 {
        fail(&conn, s, t + i, 5);
    }
    conn.execute(notifications::ACCOUNT_LOCKED, ("n1", "u1", t + 5, s, 5))
        .unwrap();
    conn.execute(notifications::ACCOUNT_LOCKED, ("n2", "u1", t + 6, s, 5))
        .unwrap();
    let queued: Vec<(String, String, String)> = conn
        .prepare("SELECT channel, recipient, kind FROM outbox")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        queued,
        vec![("email".into(), "a@x.example".into(), "notice".into())],
        "one email per notice, the notice once per lock"
    );
    let claim = |now: i64| -> Option<(String, i64)> {
        conn.query_row(outbox::CLAIM, [now], |r| {
            Ok((r.get("id")?, r.get("attempts")?))
        })
        .ok()
    };
    assert_eq!(claim(t), None, "not due before it was queued");
    let (id, attempts) = claim(t + 10).expect("due");
    assert_eq!(attempts, 1);
    assert_eq!(claim(t + 11), None, "a claimed message is nobody else's");
    let mail: String = conn
        .query_row(outbox::SELECT_NOTICE_MAIL, ["n1"], |r| r.get("company"))
        .unwrap();
    assert!(!mail.is_empty());
    // Cut off mid-send: after the lease it is an orphan, and its outcome unknown.
    let lease = fieldworker::domain::outbox::LEASE_MS as i64;
    let orphans = |now: i64| -> usize {
        conn.prepare(outbox::SELECT_ORPHANS)
            .unwrap()
            .query_map([now - lease], |_| Ok(()))
            .unwrap()
            .count()
    };
    assert_eq!(orphans(t + 10 + lease), 0);
    assert_eq!(orphans(t + 11 + lease), 1);
    assert_eq!(
        conn.execute(outbox::FINISH_SENT, (id.as_str(), "m1", t + 12))
            .unwrap(),
        1
    );
    assert_eq!(orphans(t + 11 + lease), 0);
    assert_eq!(
        conn.execute(outbox::FINISH_SENT, (id.as_str(), "m1", t + 13))
            .unwrap(),
        0,
        "finished once"
    );
}

fn locked_until(conn: &Connection, subject: &str) -> Option<i64> {
    conn.query_row(users::SELECT_ATTEMPTS, [subject], |r| r.get(2))
        .unwrap()
}

#[test]
fn failures_lock_an_address_for_a_period_that_doubles_with_each_lock() {
    let conn = migrated();
    let s = "email:a@x.example";
    let t = 10_000_000;
    for i in 0..4 {
        assert!(!fail(&conn, s, t + i, 5));
    }
    assert!(fail(&conn, s, t + 4, 5));
    assert_eq!(locked_until(&conn, s), Some(t + 4 + BASE_LOCK_MS as i64));

    // A successful sign-in starts the count over but remembers the lock.
    conn.execute(users::RESET_ATTEMPTS, [s]).unwrap();
    let later = t + 3_600_000;
    for i in 0..4 {
        assert!(!fail(&conn, s, later + i, 5));
    }
    assert!(fail(&conn, s, later + 4, 5));
    assert_eq!(
        locked_until(&conn, s),
        Some(later + 4 + 2 * BASE_LOCK_MS as i64)
    );

    // An owner's unlock forgets everything.
    conn.execute(users::CLEAR_ATTEMPTS, [s]).unwrap();
    assert!(!fail(&conn, s, later + 10, 5));
}

#[test]
fn failures_outside_the_window_start_a_new_count_and_locks_are_capped() {
    let conn = migrated();
    let s = "ip:203.0.113.7";
    for i in 0..4 {
        fail(&conn, s, i, 5);
    }
    // The window has passed: this is failure 1 of a new window, not failure 5.
    assert!(!fail(&conn, s, WINDOW_MS as i64, 5));
    conn.execute(
        "UPDATE login_attempts SET lockouts = 40 WHERE subject = ?1",
        [s],
    )
    .unwrap();
    let now = 10 * WINDOW_MS as i64;
    for i in 0..4 {
        fail(&conn, s, now + i, 5);
    }
    assert!(fail(&conn, s, now + 4, 5));
    assert_eq!(locked_until(&conn, s), Some(now + 4 + MAX_LOCK_MS as i64));
}

/// A customer added at "time" `id` (lists are in the order customers were added), found by
/// the words of `words` (stored unblinded here: the blind index is the Worker's).
fn add_customer(conn: &Connection, id: &str, name: &str, words: &str) {
    conn.execute(
        customers::INSERT,
        (
            id,
            name,
            None::<&str>,
            "[]",
            "[]",
            "[]",
            None::<&str>,
            "phone",
            "",
            id,
        ),
    )
    .unwrap();
    let terms: Vec<String> = words.split(' ').map(|w| format!("name:{w}")).collect();
    conn.execute(
        personal::INSERT_TERMS,
        ("customer", id, serde_json::to_string(&terms).unwrap()),
    )
    .unwrap();
}

fn add_site(conn: &Connection, id: &str, customer: &str, primary: i64) -> usize {
    conn.execute(
        customers::INSERT_SITE,
        (
            id,
            customer,
            None::<&str>,
            "1 Main St",
            None::<&str>,
            None::<&str>,
            None::<&str>,
            None::<&str>,
            None::<&str>,
            None::<&str>,
            primary,
            "t",
        ),
    )
    .unwrap()
}

fn primaries(conn: &Connection, customer: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT id FROM sites WHERE customer_id = ?1 AND is_primary = 1")
        .unwrap();
    stmt.query_map([customer], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn customers_page_by_name_then_id_and_search_escapes_wildcards() {
    let conn = migrated();
    for (id, name) in [("c3", "bob"), ("c1", "Ann"), ("c2", "ann"), ("c4", "Cy")] {
        add_customer(&conn, id, name, &name.to_lowercase());
    }
    add_customer(&conn, "c5", "Percent", "100% sure");
    let scoped = |after: Option<(&str, &str)>,
                  pattern: Option<&str>,
                  limit: i64,
                  technician: Option<&str>|
     -> Vec<String> {
        let mut stmt = conn.prepare(customers::SELECT_PAGE).unwrap();
        stmt.query_map(
            (
                0,
                pattern,
                after.map(|a| a.0),
                after.map(|a| a.1),
                limit,
                technician,
            ),
            |r| r.get::<_, String>(0),
        )
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let page = |after: Option<(&str, &str)>, pattern: Option<&str>, limit: i64| {
        scoped(after, pattern, limit, None)
    };
    assert_eq!(page(None, None, 3), ["c1", "c2", "c3"]);
    assert_eq!(page(Some(("c2", "c2")), None, 3), ["c3", "c4", "c5"]);
    assert_eq!(page(Some(("c1", "c1")), None, 1), ["c2"]);
    // Every term of a search must be the customer's.
    assert_eq!(page(None, Some(r#"["name:100%","name:sure"]"#), 10), ["c5"]);
    assert_eq!(
        page(None, Some(r#"["name:100%","name:ann"]"#), 10),
        Vec::<String>::new()
    );
    assert_eq!(page(None, Some(r#"["name:ann"]"#), 10), ["c1", "c2"]);
    // A technician sees the customers of the jobs they are on, or have a visit of.
    add_user(&conn, "u1", "technician");
    add_site(&conn, "s4", "c4", 0);
    add_site(&conn, "s3", "c3", 0);
    for (job, customer, site) in [("j4", "c4", "s4"), ("j3", "c3", "s3")] {
        conn.execute(
            jobs::INSERT,
            (
                job,
                customer,
                site,
                "Fix",
                None::<&str>,
                "normal",
                "[]",
                "t",
            ),
        )
        .unwrap();
    }
    assert!(scoped(None, None, 10, Some("u1")).is_empty());
    conn.execute(
        "INSERT INTO job_technicians (job_id, user_id) VALUES ('j4', 'u1')",
        [],
    )
    .unwrap();
    assert_eq!(scoped(None, None, 10, Some("u1")), ["c4"]);
    conn.execute(
        "INSERT INTO visits (id, job_id, start_ms, end_ms, created_at, updated_at) \
         VALUES ('v1', 'j3', 0, 1, 't', 't')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO visit_technicians (visit_id, user_id, start_ms, end_ms) \
         VALUES ('v1', 'u1', 0, 1)",
        [],
    )
    .unwrap();
    assert_eq!(scoped(None, None, 10, Some("u1")), ["c3", "c4"]);
    let works_for = |customer: &str| {
        conn.query_row(customers::SELECT_WORKS_FOR, (customer, "u1"), |_| Ok(()))
            .is_ok()
    };
    assert!(works_for("c3") && works_for("c4") && !works_for("c1"));
    let plan: String = conn
        .query_row(
            &format!("EXPLAIN QUERY PLAN {}", customers::SELECT_PAGE),
            (0, None::<&str>, None::<&str>, None::<&str>, 5, None::<&str>),
            |r| r.get(3),
        )
        .unwrap();
    assert!(
        plan.contains("customers_by_added"),
        "the listing must use its index: {plan}"
    );
}

#[test]
fn a_customer_has_one_primary_site_and_a_refused_write_demotes_nothing() {
    let conn = migrated();
    add_customer(&conn, "c1", "Ann", "ann");
    assert_eq!(add_site(&conn, "s1", "c1", 0), 1);
    assert_eq!(primaries(&conn, "c1"), ["s1"], "the first site is primary");
    assert_eq!(add_site(&conn, "s2", "c1", 0), 1);
    assert_eq!(primaries(&conn, "c1"), ["s1"]);
    // Two primaries are impossible.
    assert!(conn
        .execute("UPDATE sites SET is_primary = 1 WHERE id = 's2'", [])
        .is_err());
    // A stale version clears nothing.
    assert_eq!(
        conn.execute(customers::CLEAR_OTHER_PRIMARY, ("c1", "s2", "t", 9))
            .unwrap(),
        0
    );
    assert_eq!(primaries(&conn, "c1"), ["s1"]);
    // The right version clears the other, then the update makes s2 primary.
    assert_eq!(
        conn.execute(customers::CLEAR_OTHER_PRIMARY, ("c1", "s2", "t", 1))
            .unwrap(),
        1
    );
    conn.execute(
        customers::UPDATE_SITE,
        (
            None::<&str>,
            "1 Main St",
            None::<&str>,
            None::<&str>,
            None::<&str>,
            None::<&str>,
            None::<&str>,
            None::<&str>,
            1,
            "t",
            "s2",
            1,
        ),
    )
    .unwrap();
    assert_eq!(primaries(&conn, "c1"), ["s2"]);
    // No sites for an archived customer.
    conn.execute(customers::ARCHIVE, ("t", "c1", 1)).unwrap();
    assert_eq!(add_site(&conn, "s3", "c1", 0), 0);
}

#[test]
fn jobs_are_numbered_in_order_and_only_at_a_live_customers_site() {
    let conn = migrated();
    add_customer(&conn, "c1", "Ann", "ann");
    add_site(&conn, "s1", "c1", 0);
    add_customer(&conn, "c2", "Bo", "bo");
    add_site(&conn, "s2", "c2", 0);
    let insert = |id: &str, customer: &str, site: &str| {
        conn.execute(
            jobs::INSERT,
            (
                id,
                customer,
                site,
                "Fix boiler",
                None::<&str>,
                "normal",
                "[]",
                "t",
            ),
        )
        .unwrap()
    };
    assert_eq!(insert("j1", "c1", "s1"), 1);
    assert_eq!(insert("j2", "c1", "s1"), 1);
    assert_eq!(insert("j3", "c1", "s2"), 0, "a site of another customer");
    conn.execute(customers::ARCHIVE, ("t", "c2", 1)).unwrap();
    assert_eq!(insert("j4", "c2", "s2"), 0, "an archived customer");
    let numbers: Vec<i64> = conn
        .prepare("SELECT number FROM jobs ORDER BY number")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(numbers, [1, 2]);
}

#[test]
fn technicians_are_replaced_only_when_the_job_write_took() {
    let conn = migrated();
    add_customer(&conn, "c1", "Ann", "ann");
    add_site(&conn, "s1", "c1", 0);
    add_user(&conn, "t1", "technician");
    add_user(&conn, "t2", "technician");
    conn.execute(
        jobs::INSERT,
        ("j1", "c1", "s1", "Fix", None::<&str>, "normal", "[]", "t0"),
    )
    .unwrap();
    conn.execute(jobs::ADD_TECHNICIANS, ("j1", "[\"t1\"]", "t0"))
        .unwrap();
    // A write stamped t1 did not happen (stale version): nothing changes.
    conn.execute(
        jobs::UPDATE,
        ("Fix", None::<&str>, "normal", "[]", "t1", "j1", 9),
    )
    .unwrap();
    conn.execute(jobs::CLEAR_TECHNICIANS, ("j1", "t1")).unwrap();
    conn.execute(jobs::ADD_TECHNICIANS, ("j1", "[\"t2\"]", "t1"))
        .unwrap();
    let assigned = |conn: &Connection| -> String {
        conn.query_row(
            "SELECT group_concat(user_id) FROM job_technicians WHERE job_id = 'j1'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(assigned(&conn), "t1");
    conn.execute(
        jobs::UPDATE,
        ("Fix", None::<&str>, "normal", "[]", "t2", "j1", 1),
    )
    .unwrap();
    conn.execute(jobs::CLEAR_TECHNICIANS, ("j1", "t2")).unwrap();
    conn.execute(jobs::ADD_TECHNICIANS, ("j1", "[\"t2\"]", "t2"))
        .unwrap();
    assert_eq!(assigned(&conn), "t2");
    let assignable: Vec<String> = conn
        .prepare(jobs::SELECT_ASSIGNABLE)
        .unwrap()
        .query_map(["[\"t1\", \"nobody\"]"], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(assignable, ["t1"]);
}

#[test]
fn the_trigger_refuses_double_booking_unless_it_is_allowed() {
    let conn = migrated();
    add_customer(&conn, "c1", "Ann", "ann");
    add_site(&conn, "s1", "c1", 0);
    add_user(&conn, "t1", "technician");
    conn.execute(
        jobs::INSERT,
        ("j1", "c1", "s1", "Fix", None::<&str>, "normal", "[]", "t"),
    )
    .unwrap();
    let book = |visit: &str, start: i64, end: i64, allow: i64| {
        conn.execute(visits::INSERT, (visit, "j1", start, end, visit))
            .unwrap();
        conn.execute(
            visits::ADD_TECHNICIANS,
            (visit, start, end, allow, "[\"t1\"]", visit),
        )
    };
    assert!(book("v1", 1_000, 2_000, 0).is_ok());
    assert!(
        book("v2", 2_000, 3_000, 0).is_ok(),
        "touching is not overlapping"
    );
    let refused = book("v3", 1_500, 2_500, 0).unwrap_err().to_string();
    assert!(refused.contains("visit_conflict"), "{refused}");
    assert!(book("v4", 1_500, 2_500, 1).is_ok(), "allowed on purpose");
}

// ---- Money: quotes, invoices, payments, counters ----

use fieldworker::domain::invoices::{format_number, Account, InvoiceStatus};
use fieldworker::domain::money::Currency;
use fieldworker::domain::quotes::QuoteStatus;
use fieldworker::domain::time::Millis;
use rusqlite::params;

/// A customer `c1` with site `s1`, and a user `u1`.
fn money_fixture() -> Connection {
    let conn = migrated();
    add_customer(&conn, "c1", "Ann", "ann");
    add_site(&conn, "s1", "c1", 0);
    add_user(&conn, "u1", "owner");
    conn
}

fn counter(conn: &Connection, name: &str) -> i64 {
    conn.query_row(invoices::SELECT_COUNTER, [name], |r| r.get(0))
        .unwrap()
}

/// A draft invoice of `total` (no tax) for c1.
fn add_draft(conn: &Connection, id: &str, total: i64) -> usize {
    let totals =
        format!(r#"{{"subtotal":{total},"discount_total":0,"tax_total":0,"total":{total}}}"#);
    conn.execute(
        invoices::INSERT,
        params![
            id,
            "c1",
            "s1",
            None::<&str>,
            "USD",
            "per_line",
            "[]",
            totals,
            total,
            0,
            0,
            total,
            0,
            None::<&str>,
            None::<&str>,
            30,
            "2026-01-01T00:00:00.000Z"
        ],
    )
    .unwrap()
}

/// Issues `id` (read at `version`) as the next number, as the Worker's batch does: the
/// compare-and-set bump from `counter_read`, then the issue. Answers the rows each changed.
fn issue(conn: &Connection, id: &str, version: i64, counter_read: i64) -> (usize, usize) {
    let next = counter_read + 1;
    let bumped = conn
        .execute(invoices::BUMP_INVOICE_COUNTER, params![id, version, next])
        .unwrap();
    let issued = conn
        .execute(
            invoices::ISSUE,
            params![
                next,
                format_number("INV-", next as u64),
                "2026-01-02T00:00:00.000Z",
                "2026-02-01T00:00:00.000Z",
                id,
                version
            ],
        )
        .unwrap();
    (bumped, issued)
}

fn number_of(conn: &Connection, id: &str) -> Option<String> {
    conn.query_row("SELECT number FROM invoices WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .unwrap()
}

#[test]
fn invoice_numbers_are_taken_by_compare_and_set_so_a_race_neither_shares_nor_skips_one() {
    let conn = money_fixture();
    for id in ["i1", "i2", "i3"] {
        assert_eq!(add_draft(&conn, id, 1_000), 1);
    }
    assert_eq!(counter(&conn, "invoice"), 0);
    assert_eq!(issue(&conn, "i1", 1, 0), (1, 1));
    // i2 was decided on the same counter value as i1: both its statements change nothing.
    assert_eq!(issue(&conn, "i2", 1, 0), (0, 0));
    assert_eq!(number_of(&conn, "i2"), None);
    assert_eq!(counter(&conn, "invoice"), 1);
    // Decided again on the counter as it is now, it takes the next number.
    assert_eq!(issue(&conn, "i2", 1, 1), (1, 1));
    // A stale version moves neither the counter nor the draft.
    assert_eq!(issue(&conn, "i3", 7, 2), (0, 0));
    assert_eq!(counter(&conn, "invoice"), 2);
    // Reissuing an issued invoice does nothing either.
    assert_eq!(issue(&conn, "i1", 2, 2), (0, 0));
    assert_eq!(issue(&conn, "i3", 1, 2), (1, 1));
    let numbers: Vec<String> = ["i1", "i2", "i3"]
        .iter()
        .map(|id| number_of(&conn, id).unwrap())
        .collect();
    assert_eq!(numbers, ["INV-0001", "INV-0002", "INV-0003"]);
    // The counter only ever counts up by one.
    assert!(conn
        .execute("UPDATE counters SET value = 10 WHERE name = 'invoice'", [])
        .is_err());
    assert!(conn
        .execute("UPDATE counters SET value = 2 WHERE name = 'invoice'", [])
        .is_err());
    assert!(conn.execute("DELETE FROM counters", []).is_err());
}

#[test]
fn issued_invoices_are_never_deleted_or_changed_and_drafts_are() {
    let conn = money_fixture();
    add_draft(&conn, "d1", 500);
    add_draft(&conn, "i1", 500);
    issue(&conn, "i1", 1, 0);
    assert_eq!(
        conn.execute(invoices::DELETE_DRAFT, params!["i1", 2])
            .unwrap(),
        0,
        "the statement only deletes drafts"
    );
    let refused = conn
        .execute("DELETE FROM invoices WHERE id = 'i1'", [])
        .unwrap_err()
        .to_string();
    assert!(refused.contains("voided, never deleted"), "{refused}");
    for change in [
        "UPDATE invoices SET lines = '[{}]' WHERE id = 'i1'",
        "UPDATE invoices SET number = 'INV-9999' WHERE id = 'i1'",
        "UPDATE invoices SET status = 'draft', number = NULL, sequence = NULL, issued_at = NULL WHERE id = 'i1'",
    ] {
        assert!(conn.execute(change, []).is_err(), "{change}");
    }
    // Voided, it keeps its number and stays final.
    assert_eq!(
        conn.execute(invoices::VOID, params!["2026-01-03T00:00:00.000Z", "i1", 2])
            .unwrap(),
        1
    );
    assert!(conn
        .execute("UPDATE invoices SET status = 'issued' WHERE id = 'i1'", [])
        .is_err());
    assert!(conn
        .execute("DELETE FROM invoices WHERE id = 'i1'", [])
        .is_err());
    assert_eq!(number_of(&conn, "i1").as_deref(), Some("INV-0001"));
    // A draft is deleted by the statement, with its version.
    assert_eq!(
        conn.execute(invoices::DELETE_DRAFT, params!["d1", 9])
            .unwrap(),
        0
    );
    assert_eq!(
        conn.execute(invoices::DELETE_DRAFT, params!["d1", 1])
            .unwrap(),
        1
    );
}

/// Records a payment (or refund) as the Worker's batch does, in one transaction; answers the
/// rows each statement changed.
fn pay(
    conn: &Connection,
    payment: &str,
    kind: &str,
    amount: i64,
    version: i64,
) -> Result<(usize, usize), rusqlite::Error> {
    let batch = conn.unchecked_transaction()?;
    let inserted = conn.execute(
        invoices::INSERT_PAYMENT,
        params![
            payment,
            "i1",
            kind,
            amount,
            "cash",
            "2026-01-05T00:00:00.000Z",
            None::<&str>,
            None::<&str>,
            "u1",
            version
        ],
    )?;
    let (paid, refunded) = if kind == "payment" {
        (amount, 0)
    } else {
        (0, amount)
    };
    let summed = conn.execute(
        invoices::RECORD_PAYMENT,
        params![
            paid,
            refunded,
            "2026-01-05T00:00:00.000Z",
            "i1",
            version,
            payment
        ],
    )?;
    batch.commit()?;
    Ok((inserted, summed))
}

#[test]
fn payments_are_an_append_only_ledger_whose_sums_the_invoice_keeps() {
    let conn = money_fixture();
    add_draft(&conn, "i1", 1_000);
    assert_eq!(
        pay(&conn, "p0", "payment", 100, 1).unwrap(),
        (0, 0),
        "a draft"
    );
    issue(&conn, "i1", 1, 0);
    assert_eq!(pay(&conn, "p1", "payment", 400, 2).unwrap(), (1, 1));
    assert_eq!(
        pay(&conn, "p2", "payment", 100, 2).unwrap(),
        (0, 0),
        "stale version"
    );
    assert_eq!(pay(&conn, "p3", "payment", 600, 3).unwrap(), (1, 1));
    // More than the total is refused by the table itself.
    assert!(pay(&conn, "p4", "payment", 1, 4).is_err());
    assert_eq!(pay(&conn, "p5", "refund", 250, 4).unwrap(), (1, 1));
    let sums: (i64, i64) = conn
        .query_row(
            "SELECT paid, refunded FROM invoices WHERE id = 'i1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(sums, (1_000, 250));
    let ledger: (i64, i64) = conn
        .query_row(
            "SELECT SUM(CASE kind WHEN 'payment' THEN amount ELSE 0 END), \
                    SUM(CASE kind WHEN 'refund' THEN amount ELSE 0 END) \
             FROM payments WHERE invoice_id = 'i1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(ledger, sums, "the sums are exactly the ledger's");
    assert!(conn.execute("UPDATE payments SET amount = 1", []).is_err());
    assert!(conn.execute("DELETE FROM payments", []).is_err());
    // A refund beyond what was paid is refused by the table too.
    assert!(pay(&conn, "p6", "refund", 751, 5).is_err());
    // Money kept: the void statement refuses.
    assert_eq!(
        conn.execute(invoices::VOID, params!["t", "i1", 5]).unwrap(),
        0
    );
    let external = |id: &str| {
        conn.execute(
            "INSERT INTO payments (id, invoice_id, kind, amount, method, at, external_id, \
             created_at) VALUES (?1, 'i1', 'refund', 1, 'card', 't', 'pi_123', 't')",
            [id],
        )
    };
    external("x1").unwrap();
    assert!(external("x2").is_err(), "a processor's id is recorded once");
}

#[test]
fn a_paid_invoice_gets_one_credit_note_numbered_from_its_own_counter() {
    let conn = money_fixture();
    add_draft(&conn, "i1", 1_000);
    issue(&conn, "i1", 1, 0);
    let credit = |note: &str, version: i64, counter_read: i64| -> (usize, usize, usize) {
        let next = counter_read + 1;
        let number = format_number("CN-", next as u64);
        let bumped = conn
            .execute(
                invoices::BUMP_CREDIT_NOTE_COUNTER,
                params!["i1", version, next],
            )
            .unwrap();
        let inserted = conn
            .execute(
                invoices::INSERT_CREDIT_NOTE,
                params![
                    "i1",
                    version,
                    next,
                    note,
                    number,
                    "Reverses invoice INV-0001.",
                    "t",
                    "[]",
                    r#"{"total":1000}"#,
                    1_000,
                    0,
                    0,
                    1_000
                ],
            )
            .unwrap();
        let marked = conn
            .execute(invoices::MARK_CREDITED, params!["t", "i1", version, note])
            .unwrap();
        (bumped, inserted, marked)
    };
    assert_eq!(credit("n0", 2, 0), (0, 0, 0), "not paid yet");
    pay(&conn, "p1", "payment", 1_000, 2).unwrap();
    assert_eq!(credit("n1", 3, 0), (1, 1, 1));
    assert_eq!(credit("n2", 4, 1), (0, 0, 0), "one credit note per invoice");
    assert_eq!(counter(&conn, "credit_note"), 1);
    assert_eq!(
        counter(&conn, "invoice"),
        1,
        "invoice numbers are untouched"
    );
    assert_eq!(number_of(&conn, "n1").as_deref(), Some("CN-0001"));
    let credited: Option<String> = conn
        .query_row(invoices::SELECT_BY_ID, ["i1"], |r| r.get("credit_note_id"))
        .unwrap();
    assert_eq!(credited.as_deref(), Some("n1"));
    assert!(conn
        .execute("DELETE FROM invoices WHERE id = 'n1'", [])
        .is_err());
}

/// An invoice as it may stand: id, (kind, stored status), (total, paid, refunded), due date.
type InvoiceCase<'a> = (
    &'a str,
    (&'a str, &'a str),
    (i64, i64, i64),
    Option<&'a str>,
);

/// Inserts an invoice row as it may stand: stored status, money, due date, kind.
fn raw_invoice(
    conn: &Connection,
    id: &str,
    (kind, status): (&str, &str),
    (total, paid, refunded): (i64, i64, i64),
    due_at: Option<&str>,
) {
    let numbered = status != "draft";
    let seq = conn
        .query_row("SELECT COUNT(*) + 1 FROM invoices", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    conn.execute(
        "INSERT INTO invoices (id, kind, sequence, number, customer_id, credit_note_for, status, \
         currency, rounding, lines, totals, subtotal, discount_total, tax_total, total, \
         payment_terms_days, paid, refunded, issued_at, due_at, voided_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, 'c1', ?5, ?6, 'USD', 'per_line', '[]', '{}', ?7, 0, 0, ?7, 30, \
                 ?8, ?9, ?10, ?11, ?12, 't', 't')",
        params![
            id,
            kind,
            numbered.then_some(seq),
            numbered.then(|| format!("N-{seq}")),
            (kind == "credit_note").then_some("a"),
            status,
            total,
            paid,
            refunded,
            numbered.then_some("2026-01-01T00:00:00.000Z"),
            due_at,
            (status == "void").then_some("t"),
        ],
    )
    .unwrap();
}

#[test]
fn the_status_filter_of_the_invoice_list_agrees_with_the_domain() {
    let conn = money_fixture();
    let due = "2026-02-01T00:00:00.000Z";
    let cases: [InvoiceCase<'_>; 11] = [
        ("a", ("invoice", "draft"), (1_000, 0, 0), None),
        ("b", ("invoice", "issued"), (1_000, 0, 0), Some(due)),
        ("c", ("invoice", "issued"), (1_000, 400, 0), Some(due)),
        ("d", ("invoice", "issued"), (1_000, 1_000, 0), Some(due)),
        ("e", ("invoice", "issued"), (1_000, 1_000, 400), Some(due)),
        ("f", ("invoice", "issued"), (1_000, 400, 400), Some(due)),
        ("g", ("invoice", "issued"), (0, 0, 0), Some(due)),
        ("h", ("invoice", "issued"), (1_000, 0, 0), None),
        ("i", ("invoice", "void"), (1_000, 0, 0), Some(due)),
        ("j", ("credit_note", "issued"), (1_000, 0, 0), None),
        ("k", ("invoice", "issued"), (1_000, 999, 0), Some(due)),
    ];
    for (id, kind_status, money, due_at) in cases {
        raw_invoice(&conn, id, kind_status, money, due_at);
    }
    let moments = [
        "2026-01-15T00:00:00.000Z",
        due,
        "2026-02-01T00:00:00.001Z",
        "2027-01-01T00:00:00.000Z",
    ];
    for now in moments {
        let shown: Vec<(String, String)> = conn
            .prepare(invoices::SELECT_SHOWN_STATUS)
            .unwrap()
            .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for ((id, (kind, status), (total, paid, refunded), due_at), (row_id, sql)) in
            cases.iter().zip(&shown)
        {
            assert_eq!(id, row_id);
            let stored = InvoiceStatus::parse(status).unwrap();
            let account = Account {
                currency: Currency::USD,
                total: *total,
                deposit: 0,
                paid: *paid,
                refunded: *refunded,
            };
            let domain = if *kind == "credit_note" {
                stored
            } else {
                stored.derive(
                    &account,
                    due_at.and_then(Millis::parse_rfc3339),
                    Millis::parse_rfc3339(now).unwrap(),
                )
            };
            assert_eq!(sql, domain.as_str(), "{id} at {now}");
        }
    }
}

fn add_quote(conn: &Connection, id: &str, site: &str, job: Option<&str>) -> (usize, usize) {
    let bumped = conn
        .execute(quotes::BUMP_COUNTER, params![id, "c1", site, job])
        .unwrap();
    let inserted = conn
        .execute(
            quotes::INSERT,
            params![
                id,
                "c1",
                site,
                job,
                "Boiler",
                "USD",
                "per_line",
                "[]",
                "[]",
                None::<&str>,
                None::<&str>,
                "2026-02-01T00:00:00.000Z",
                None::<&str>,
                "t"
            ],
        )
        .unwrap();
    (bumped, inserted)
}

#[test]
fn quotes_are_numbered_from_their_counter_only_when_they_are_created() {
    let conn = money_fixture();
    add_customer(&conn, "c2", "Bo", "bo");
    add_site(&conn, "s2", "c2", 0);
    assert_eq!(add_quote(&conn, "q1", "s1", None), (1, 1));
    assert_eq!(add_quote(&conn, "q2", "s2", None), (0, 0), "another's site");
    assert_eq!(
        add_quote(&conn, "q3", "s1", Some("nope")),
        (0, 0),
        "no such job"
    );
    assert_eq!(add_quote(&conn, "q4", "s1", None), (1, 1));
    let numbers: Vec<i64> = conn
        .prepare("SELECT number FROM quotes ORDER BY number")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(numbers, [1, 2]);
}

#[test]
fn an_accepted_quote_is_final_and_converts_once() {
    let conn = money_fixture();
    add_quote(&conn, "q1", "s1", None);
    let set = |to: &str, version: i64, from: &str| {
        conn.execute(quotes::SET_STATUS, params![to, "t", "q1", version, from])
            .unwrap()
    };
    assert_eq!(set("sent", 1, "draft"), 1);
    assert_eq!(set("sent", 1, "draft"), 0, "stale");
    let accept = |version: i64, now: &str| {
        conn.execute(
            quotes::ACCEPT,
            params![
                "Best",
                "[]",
                "Ada",
                now,
                None::<&str>,
                "u1",
                1_000,
                250,
                "q1",
                version
            ],
        )
        .unwrap()
    };
    assert_eq!(accept(2, "2026-02-01T00:00:00.001Z"), 0, "expired");
    assert_eq!(accept(2, "2026-02-01T00:00:00.000Z"), 1);
    assert_eq!(accept(3, "2026-01-01T00:00:00.000Z"), 0, "accepted once");
    for change in [
        "UPDATE quotes SET status = 'draft' WHERE id = 'q1'",
        "UPDATE quotes SET lines = '[{}]' WHERE id = 'q1'",
        "UPDATE quotes SET signer_name = 'Bob' WHERE id = 'q1'",
        "DELETE FROM quotes WHERE id = 'q1'",
    ] {
        assert!(conn.execute(change, []).is_err(), "{change}");
    }
    // The conversion: a job, a draft invoice, and the quote's record, all on version 3.
    let convert = |job: &str, invoice: &str, version: i64| -> (usize, usize, usize) {
        let job_made = conn
            .execute(quotes::INSERT_JOB, params![job, "t", "q1", version])
            .unwrap();
        let invoiced = conn
            .execute(
                invoices::INSERT_FROM_QUOTE,
                params![
                    invoice,
                    "t",
                    job,
                    "USD",
                    "per_line",
                    "[]",
                    "{}",
                    1_000,
                    0,
                    0,
                    1_000,
                    250,
                    None::<&str>,
                    None::<&str>,
                    30,
                    "q1",
                    version
                ],
            )
            .unwrap();
        let recorded = conn
            .execute(quotes::CONVERT, params![job, invoice, "t", "q1", version])
            .unwrap();
        (job_made, invoiced, recorded)
    };
    assert_eq!(convert("j1", "i1", 3), (1, 1, 1));
    assert_eq!(convert("j2", "i2", 4), (0, 0, 0), "converted once");
    let deposit: i64 = conn
        .query_row(
            "SELECT deposit FROM invoices WHERE quote_id = 'q1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(deposit, 250);
    // Deleting the draft frees the quote to be converted again.
    assert_eq!(
        conn.execute(invoices::RELEASE_QUOTE, params!["i1", 1, "t"])
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(invoices::DELETE_DRAFT, params!["i1", 1])
            .unwrap(),
        1
    );
    let freed: Option<String> = conn
        .query_row("SELECT invoice_id FROM quotes WHERE id = 'q1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(freed, None);
}

#[test]
fn the_status_filter_of_the_quote_list_agrees_with_the_domain() {
    let conn = money_fixture();
    let until = "2026-02-01T00:00:00.000Z";
    for (id, status) in [
        ("a", "draft"),
        ("b", "sent"),
        ("c", "viewed"),
        ("d", "declined"),
        ("e", "expired"),
    ] {
        conn.execute(
            "INSERT INTO quotes (id, number, customer_id, site_id, title, status, currency, \
             rounding, valid_until, created_at, updated_at) \
             VALUES (?1, (SELECT COUNT(*) + 1 FROM quotes), 'c1', 's1', 'Q', ?2, 'USD', \
                     'per_line', ?3, 't', 't')",
            params![id, status, until],
        )
        .unwrap();
    }
    for now in [
        "2026-01-01T00:00:00.000Z",
        until,
        "2026-02-01T00:00:00.001Z",
    ] {
        let shown: Vec<(String, String)> = conn
            .prepare(quotes::SELECT_SHOWN_STATUS)
            .unwrap()
            .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (id, sql) in shown {
            let stored: String = conn
                .query_row("SELECT status FROM quotes WHERE id = ?1", [&id], |r| {
                    r.get(0)
                })
                .unwrap();
            let domain = QuoteStatus::parse(&stored).unwrap().at(
                Millis::parse_rfc3339(until).unwrap(),
                Millis::parse_rfc3339(now).unwrap(),
            );
            assert_eq!(sql, domain.as_str(), "{id} at {now}");
        }
    }
}

#[test]
fn the_parties_of_a_new_document_are_checked_in_one_read() {
    let conn = money_fixture();
    add_customer(&conn, "c2", "Bo", "bo");
    add_site(&conn, "s2", "c2", 0);
    add_site(&conn, "s3", "c1", 0);
    conn.execute(
        jobs::INSERT,
        ("j1", "c1", "s3", "Fix", None::<&str>, "normal", "[]", "t"),
    )
    .unwrap();
    type Parties = Option<(String, i64, Option<String>, Option<String>)>;
    let parties = |customer: Option<&str>, site: Option<&str>, job: Option<&str>| -> Parties {
        conn.query_row(quotes::SELECT_PARTIES, params![customer, site, job], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .ok()
    };
    let some = |c: &str, s: Option<&str>, j: Option<&str>| {
        Some((c.to_owned(), 0, s.map(str::to_owned), j.map(str::to_owned)))
    };
    assert_eq!(
        parties(Some("c1"), None, None),
        some("c1", Some("s1"), None),
        "the primary site"
    );
    assert_eq!(
        parties(Some("c1"), Some("s3"), None),
        some("c1", Some("s3"), None)
    );
    assert_eq!(
        parties(Some("c1"), Some("s2"), None),
        some("c1", None, None),
        "another's site"
    );
    assert_eq!(
        parties(Some("c1"), None, Some("j1")),
        some("c1", Some("s3"), Some("j1")),
        "the job's site"
    );
    assert_eq!(
        parties(None, None, Some("j1")),
        some("c1", Some("s3"), Some("j1")),
        "the job's customer"
    );
    assert_eq!(
        parties(Some("c2"), None, Some("j1")),
        some("c2", Some("s2"), None),
        "another's job"
    );
    assert_eq!(parties(Some("nobody"), None, None), None);
    assert_eq!(parties(None, None, None), None);
}

#[test]
fn the_billing_settings_hold_only_valid_values() {
    let conn = migrated();
    let defaults: (i64, String, String, i64, String) = conn
        .query_row(
            "SELECT default_tax_rate_ppm, rounding, invoice_prefix, payment_terms_days, \
             brand_color FROM company_settings",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        defaults,
        (0, "per_line".into(), "INV-".into(), 30, "#1f6feb".into())
    );
    for bad in [
        "default_tax_rate_ppm = 1000001",
        "default_tax_rate_ppm = -1",
        "rounding = 'sideways'",
        "invoice_prefix = 'INV 1'",
        "invoice_prefix = 'ABCDEFGHIJKLM'",
        "payment_terms_days = 366",
        "brand_color = '#1F6FEB'",
        "brand_color = 'blue'",
    ] {
        assert!(
            conn.execute(&format!("UPDATE company_settings SET {bad}"), [])
                .is_err(),
            "{bad}"
        );
    }
    for good in [
        "invoice_prefix = '2026/'",
        "invoice_prefix = ''",
        "brand_color = '#00ff00'",
        "rounding = 'per_document'",
    ] {
        conn.execute(&format!("UPDATE company_settings SET {good}"), [])
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn share_links_are_made_only_for_shared_documents_found_by_hash_and_revoked_once() {
    let conn = money_fixture();
    add_quote(&conn, "q1", "s1", None);
    add_draft(&conn, "i1", 1_000);
    let link = |id: &str, kind: &str, document: &str| {
        conn.execute(
            share_links::INSERT,
            params![
                id,
                format!("hash-{id}"),
                kind,
                document,
                "u1",
                "t",
                "2026-03-01T00:00:00.000Z"
            ],
        )
        .unwrap()
    };
    assert_eq!(link("l1", "quote", "q1"), 0, "a draft quote");
    assert_eq!(link("l2", "invoice", "i1"), 0, "a draft invoice");
    assert_eq!(link("l3", "invoice", "q1"), 0, "the wrong kind");
    conn.execute(quotes::SET_STATUS, params!["sent", "t", "q1", 1, "draft"])
        .unwrap();
    issue(&conn, "i1", 1, 0);
    assert_eq!(link("l4", "quote", "q1"), 1);
    assert_eq!(link("l5", "invoice", "i1"), 1);
    let found: String = conn
        .query_row(share_links::SELECT_BY_HASH, ["hash-l4"], |r| {
            r.get("document_id")
        })
        .unwrap();
    assert_eq!(found, "q1");
    assert_eq!(
        conn.execute(share_links::REVOKE, params!["t", "l4", 9])
            .unwrap(),
        0,
        "stale"
    );
    assert_eq!(
        conn.execute(share_links::REVOKE, params!["t", "l4", 1])
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(share_links::REVOKE, params!["t", "l4", 2])
            .unwrap(),
        0,
        "once"
    );
    conn.execute(invoices::VOID, params!["t", "i1", 2]).unwrap();
    assert_eq!(link("l6", "invoice", "i1"), 0, "a void invoice");
}

#[test]
fn an_inbound_message_is_recorded_once_and_a_link_code_links_once() {
    let conn = migrated();
    let insert = |id: &str| {
        conn.execute(
            messaging::INSERT_INBOUND,
            rusqlite::params!["telegram", id, "1111", "/today", 1_000, "received", "s-x"],
        )
        .unwrap()
    };
    assert_eq!(insert("10000"), 1);
    assert_eq!(insert("10000"), 0, "a redelivery changes nothing");
    assert_eq!(insert("10001"), 1);

    conn.execute(
        "INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) \
         VALUES ('u1', 'a@b.example', 'Ann', 'technician', 'x', 't', 't')",
        [],
    )
    .unwrap();
    conn.execute(
        messaging::INSERT_LINK_CODE,
        rusqlite::params!["h1", "u1", 5_000, "t"],
    )
    .unwrap();
    let link = |now: i64, address: &str| -> (usize, usize) {
        let consumed = conn
            .execute(messaging::CONSUME_LINK_CODE, rusqlite::params!["h1", now])
            .unwrap();
        let linked = conn
            .execute(
                messaging::INSERT_LINK_FROM_CODE,
                rusqlite::params![
                    format!("l{now}"),
                    "telegram",
                    format!("sealed {address}"),
                    "t",
                    "h1",
                    now,
                    format!("index {address}")
                ],
            )
            .unwrap();
        (consumed, linked)
    };
    assert_eq!(link(6_000, "1111"), (0, 0), "an expired code links nothing");
    assert_eq!(link(2_000, "1111"), (1, 1));
    assert_eq!(link(3_000, "2222"), (0, 0), "a used code links nothing");
    let linked = |query: &str, index: &str, address: &str| -> Option<String> {
        conn.query_row(
            query,
            [
                "index ".to_owned() + index,
                "telegram".into(),
                address.into(),
            ],
            |r| r.get(0),
        )
        .ok()
    };
    assert_eq!(
        linked(messaging::SELECT_LINKED_USER, "1111", "1111").as_deref(),
        Some("u1"),
        "found by the address's blind index"
    );
    assert_eq!(
        linked(messaging::SELECT_LINKED_USER_ID, "1111", "9").as_deref(),
        Some("u1")
    );
    assert_eq!(
        linked(messaging::SELECT_LINKED_USER, "2222", "sealed 1111"),
        None,
        "never by the stored address"
    );
    // A link made before addresses were sealed has no index: found by its plain address.
    conn.execute(
        "INSERT INTO channel_links (id, user_id, channel, address, created_at) \
         VALUES ('old', 'u1', 'sms', '+15550001', 't')",
        [],
    )
    .unwrap();
    let old: Option<String> = conn
        .query_row(
            messaging::SELECT_LINKED_USER_ID,
            ["index +15550001", "sms", "+15550001"],
            |r| r.get(0),
        )
        .ok();
    assert_eq!(old.as_deref(), Some("u1"));
}

#[test]
fn a_conversation_is_trimmed_by_age_and_count() {
    let conn = migrated();
    for at in 0..10 {
        conn.execute(
            messaging::INSERT_TURN,
            rusqlite::params![
                "sms",
                "+1",
                if at % 2 == 0 { "user" } else { "assistant" },
                format!("m{at}"),
                at * 100
            ],
        )
        .unwrap();
    }
    conn.execute(
        messaging::INSERT_TURN,
        rusqlite::params!["sms", "+2", "user", "other chat", 0],
    )
    .unwrap();
    // Older than 200 goes, then all but the newest 4.
    conn.execute(
        messaging::TRIM_TURNS,
        rusqlite::params!["sms", "+1", 200, 4],
    )
    .unwrap();
    let mut statement = conn.prepare(messaging::SELECT_TURNS).unwrap();
    let kept: Vec<String> = statement
        .query_map(rusqlite::params!["sms", "+1", 0, 100], |r| r.get(1))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kept, ["m9", "m8", "m7", "m6"]);
    let other: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM conversation_turns WHERE address = '+2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(other, 1, "another chat is untouched");
}

#[test]
fn the_dashboards_job_search_finds_by_title_customer_or_number_and_visits_by_job() {
    let conn = migrated();
    add_customer(&conn, "c1", "Ann Archer", "ann archer");
    add_site(&conn, "s1", "c1", 0);
    add_customer(&conn, "c2", "Bo Baker", "bo baker");
    add_site(&conn, "s2", "c2", 0);
    for (id, customer, site, title) in [
        ("j1", "c1", "s1", "Fix boiler"),
        ("j2", "c2", "s2", "Radiator 100% leak"),
    ] {
        conn.execute(
            jobs::INSERT,
            (id, customer, site, title, None::<&str>, "normal", "[]", id),
        )
        .unwrap();
    }
    let find = |pattern: Option<&str>, number: Option<i64>, customer: Option<&str>| {
        // The customer's part of the search: the words of the pattern as terms.
        let terms = pattern
            .map(|p| serde_json::to_string(&[format!("name:{}", p.trim_matches('%'))]).unwrap());
        conn.prepare(pages::JOBS)
            .unwrap()
            .query_map(
                rusqlite::params![
                    None::<&str>,
                    None::<&str>,
                    customer,
                    pattern,
                    number,
                    None::<&str>,
                    None::<&str>,
                    50,
                    terms
                ],
                |r| r.get::<_, String>(0),
            )
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    assert_eq!(find(Some("%boil%"), None, None), ["j1"]);
    assert_eq!(find(Some("%baker%"), None, None), ["j2"], "by customer");
    assert_eq!(find(Some("%2%"), Some(2), None), ["j2"], "by number");
    assert_eq!(find(Some("%100\\%%"), None, None), ["j2"], "escaped %");
    assert_eq!(find(None, None, Some("c1")), ["j1"]);
    assert_eq!(find(None, None, None).len(), 2);

    conn.execute(visits::INSERT, ("v1", "j1", 1_000, 2_000, "t"))
        .unwrap();
    conn.execute(visits::INSERT, ("v2", "j2", 1_500, 2_500, "t"))
        .unwrap();
    let visits_of = |job: Option<&str>| {
        conn.prepare(pages::VISITS)
            .unwrap()
            .query_map(rusqlite::params![0, 10_000, None::<&str>, job, 100], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(10)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        visits_of(None),
        [
            ("v1".to_owned(), "Ann Archer".to_owned()),
            ("v2".to_owned(), "Bo Baker".to_owned())
        ]
    );
    assert_eq!(visits_of(Some("j2")).len(), 1);
}

/// Runs one of the engine's statements (`write::Sql`) on SQLite: the rows it changed.
fn run_sql(conn: &Connection, statement: &fieldworker::write::Sql) -> rusqlite::Result<usize> {
    use fieldworker::write::Param;
    let params: Vec<rusqlite::types::Value> = statement
        .params
        .iter()
        .map(|p| match p {
            Param::Null => rusqlite::types::Value::Null,
            Param::Int(i) => rusqlite::types::Value::Integer(*i),
            Param::Text(t) => rusqlite::types::Value::Text(t.clone()),
        })
        .collect();
    conn.execute(&statement.sql, rusqlite::params_from_iter(params))
}

/// The first column of every row an engine statement answers, as text.
fn column_of(conn: &Connection, statement: &fieldworker::write::Sql) -> Vec<Option<String>> {
    use fieldworker::write::Param;
    let params: Vec<rusqlite::types::Value> = statement
        .params
        .iter()
        .map(|p| match p {
            Param::Null => rusqlite::types::Value::Null,
            Param::Int(i) => rusqlite::types::Value::Integer(*i),
            Param::Text(t) => rusqlite::types::Value::Text(t.clone()),
        })
        .collect();
    let mut prepared = conn.prepare(&statement.sql).unwrap();
    prepared
        .query_map(rusqlite::params_from_iter(params), |row| {
            let value: rusqlite::types::Value = row.get(0)?;
            Ok(match value {
                rusqlite::types::Value::Null => None,
                rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                rusqlite::types::Value::Text(t) => Some(t),
                other => Some(format!("{other:?}")),
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The blind-index key of the host tests.
fn index_key() -> fieldworker::domain::personal::IndexKey {
    fieldworker::domain::personal::IndexKey::new("host-test blind-index key, 32 bytes+").unwrap()
}

/// A customer with `phones` (a JSON array), indexed as the Worker indexes them.
fn add_phone_customer(conn: &Connection, id: &str, phones: &str, archived: i64) {
    conn.execute(
        "INSERT INTO customers (id, name, phones, search, archived, created_at, updated_at) \
         VALUES (?1, ?1, ?2, ?1, ?3, 't', 't')",
        rusqlite::params![id, phones, archived],
    )
    .unwrap();
    let numbers: Vec<String> = serde_json::from_str(phones).unwrap();
    let terms: Vec<String> = numbers
        .iter()
        .flat_map(|n| fieldworker::domain::personal::phone_terms(n))
        .collect();
    for statement in fieldworker::db::personal::index(
        &index_key(),
        fieldworker::domain::personal::Kind::Customer,
        id,
        &terms,
    ) {
        run_sql(conn, &statement).unwrap();
    }
}

#[test]
fn a_number_finds_exactly_the_customers_who_have_it_and_their_consent_changes_once() {
    use fieldworker::domain::time::Millis;
    let conn = migrated();
    add_phone_customer(&conn, "c1", r#"["+14155550100","+14155550123"]"#, 0);
    add_phone_customer(&conn, "c2", r#"["+141555501234"]"#, 0);
    add_phone_customer(&conn, "c0", r#"["+14155550123"]"#, 1);
    // A sealed customer: phones as ciphertext, found by the blind index of its number.
    let index = index_key();
    conn.execute(
        "INSERT INTO customers (id, name, phones, archived, created_at, updated_at) \
         VALUES ('c3', 'fwe1.c-c3.BBBB', '[\"fwe1.c-c3.AAAA\"]', 0, 't', 't')",
        [],
    )
    .unwrap();
    for term in phone_terms("+14155550123") {
        conn.execute(
            "INSERT INTO personal_terms (kind, term, id) VALUES ('customer', ?1, 'c3')",
            [index.blind(&term)],
        )
        .unwrap();
    }
    let by_phone = |phone: &str| column_of(&conn, &customer_messages::by_phone(&index, phone));
    assert_eq!(
        by_phone("+14155550123"),
        [Some("c1".into()), Some("c3".into()), Some("c0".into())],
        "live first, no prefix match"
    );
    assert!(by_phone("+1415555012").is_empty());
    assert_eq!(
        by_phone("+4155550123"),
        [Some("c1".into()), Some("c3".into()), Some("c0".into())],
        "an ending is matched by the index too; NumberOwner::has tells them apart"
    );

    let at = Millis(1_000);
    assert_eq!(
        run_sql(&conn, &customer_messages::opt_out("c1", at)).unwrap(),
        1
    );
    assert_eq!(
        run_sql(&conn, &customer_messages::opt_out("c1", Millis(2_000))).unwrap(),
        0,
        "the first opt-out's time stays"
    );
    let state = column_of(&conn, &customer_messages::sms_state("c1"));
    assert_eq!(state, [Some("1000".into())]);
    assert_eq!(run_sql(&conn, &customer_messages::opt_in("c1")).unwrap(), 1);
    assert_eq!(run_sql(&conn, &customer_messages::opt_in("c1")).unwrap(), 0);

    // A text is recorded once on Twilio's id.
    let inbound = customer_messages::inbound_done("SM1", "c-c1", "+14155550123", "Hi", at);
    assert_eq!(run_sql(&conn, &inbound).unwrap(), 1);
    let again = run_sql(&conn, &inbound).unwrap_err().to_string();
    assert!(again.contains("UNIQUE constraint failed"), "{again}");
}

#[test]
fn a_reply_is_queued_with_its_message_only_for_a_live_customer_and_goes_where_they_wrote_from() {
    use fieldworker::db::customer_messages::NewReply;
    use fieldworker::domain::customer_messages::Delivery;
    use fieldworker::domain::time::Millis;
    let conn = migrated();
    add_phone_customer(&conn, "c1", r#"["+14155550100","+14155550123"]"#, 0);
    add_phone_customer(&conn, "c0", r#"["+14155550999"]"#, 1);
    for (id, from, at) in [("m1", "+14155550100", 1_000), ("m2", "+14155550123", 2_000)] {
        let insert = customer_messages::insert_in(id, "c1", "Hello", from, Millis(at));
        assert_eq!(run_sql(&conn, &insert).unwrap(), 1);
    }
    let state: (Option<i64>, Option<String>) = conn
        .query_row(customer_messages::SELECT_SMS_STATE, ["c1"], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        (state.0, state.1.as_deref().and_then(pending_text)),
        (None, Some("+14155550123".into())),
        "the newest text's number (sealed under the customer's key)"
    );

    let reply = |id: &str, customer: &str| {
        let [message, queued] = customer_messages::insert_reply(&NewReply {
            id,
            outbox_id: &format!("o-{id}"),
            customer_id: customer,
            body: "Thursday at 9?",
            author_id: "u1",
            to: "+14155550123",
            now: Millis(3_000),
        });
        (run_sql(&conn, &message).unwrap(), message, queued)
    };
    let (archived, ..) = reply("m0", "c0");
    assert_eq!(archived, 0, "an archived customer gets no reply");
    let (inserted, _, queued) = reply("m3", "c1");
    assert_eq!(inserted, 1);
    assert_eq!(run_sql(&conn, &queued).unwrap(), 1);
    let (occasion, recipient, data, kind): (String, String, String, String) = conn
        .query_row(
            "SELECT occasion, recipient, data, kind FROM outbox WHERE id = 'o-m3'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(occasion, "reply:m3");
    assert!(
        recipient.starts_with("fwp1.c-c1."),
        "the recipient is sealed"
    );
    assert_eq!(pending_text(&recipient).as_deref(), Some("+14155550123"));
    assert_eq!(data, r#"{"customer_message_id":"m3"}"#);
    assert_eq!(kind, "reply");
    assert!(run_sql(&conn, &queued).is_err(), "once per message");
    let body = column_of(&conn, &customer_messages::body("m3"));
    assert_eq!(
        body[0].as_deref().and_then(pending_text).as_deref(),
        Some("Thursday at 9?")
    );

    // The conversation, newest first, with the reply's outbox state.
    let conversation = column_of(&conn, &customer_messages::conversation("c1"));
    assert_eq!(
        conversation,
        [Some("m3".into()), Some("m2".into()), Some("m1".into())]
    );
    assert_eq!(
        run_sql(&conn, &customer_messages::mark_read("c1", Millis(4_000))).unwrap(),
        2
    );
    assert_eq!(
        run_sql(&conn, &customer_messages::mark_read("c1", Millis(5_000))).unwrap(),
        0
    );

    // Delivery reports: a later step replaces an earlier one, never the other way round.
    conn.execute(
        "UPDATE outbox SET status = 'sent', provider_id = 'SM9' WHERE id = 'o-m3'",
        [],
    )
    .unwrap();
    assert_eq!(
        column_of(&conn, &customer_messages::by_provider_id("SM9")),
        [Some("o-m3".into())]
    );
    let report = |status: Delivery, at: u64| {
        run_sql(
            &conn,
            &customer_messages::record_delivery("o-m3", status, None, Millis(at)),
        )
        .unwrap()
    };
    assert_eq!(report(Delivery::Sent, 10), 1);
    assert_eq!(report(Delivery::Delivered, 20), 1);
    assert_eq!(
        report(Delivery::Sent, 30),
        0,
        "a late 'sent' does not undo 'delivered'"
    );
    assert_eq!(
        report(Delivery::Delivered, 40),
        0,
        "a repeat changes nothing"
    );
    assert_eq!(
        report(Delivery::Failed, 50),
        0,
        "the first final word stays"
    );
    let (delivery, delivered_at): (String, i64) = conn
        .query_row(
            "SELECT delivery, delivered_at FROM outbox WHERE id = 'o-m3'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((delivery.as_str(), delivered_at), ("delivered", 20));
}

#[test]
fn the_office_is_told_of_a_customers_text_in_the_app_only() {
    use fieldworker::domain::auth::permissions::Role;
    use fieldworker::domain::notices::Notice;
    use fieldworker::domain::time::Millis;
    let conn = migrated();
    for (id, role, active) in [
        ("u-owner", "owner", 1),
        ("u-disp", "dispatcher", 1),
        ("u-tech", "technician", 1),
        ("u-gone", "dispatcher", 0),
    ] {
        conn.execute(
            "INSERT INTO users (id, email, name, role, password_hash, active, created_at, \
             updated_at) VALUES (?1, ?1 || '@x.example', ?1, ?2, 'x', ?3, 't', 't')",
            rusqlite::params![id, role, active],
        )
        .unwrap();
    }
    let texted = Notice::CustomerMessage {
        customer_id: "c1".into(),
        name: "Ann".into(),
        preview: "Hi".into(),
        others: 0,
    };
    let office = [Role::Owner, Role::Dispatcher];
    let told = notifications::notify_roles(&texted, &office, "r1", Millis(1_000));
    assert_eq!(run_sql(&conn, &told).unwrap(), 2);
    assert_eq!(run_sql(&conn, &told).unwrap(), 0, "once per occasion");
    let mails: i64 = conn
        .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mails, 0, "no email per customer text");
    let other = notifications::notify_roles(&Notice::CompanyMfaOff, &office, "r2", Millis(1_000));
    assert_eq!(run_sql(&conn, &other).unwrap(), 2);
    let mails: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'notice'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(mails, 2, "other notices still go by email");
}

/// A customer with contact details and a job with one visit starting at `start_ms`.
fn add_visit_for(conn: &Connection, customer: &str, phones: &str, visit: &str, start_ms: i64) {
    conn.execute(
        "INSERT INTO customers (id, name, emails, phones, preferred_contact, created_at, updated_at) \
         VALUES (?1, 'Ann', '[\"ann@x.example\"]', ?2, 'sms', 't', 't')",
        params![customer, phones],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO sites (id, customer_id, line1, created_at, updated_at) VALUES (?1, ?2, '1 Main St', 't', 't')",
        params![format!("site-{customer}"), customer],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO jobs (id, number, customer_id, site_id, title, created_at, updated_at) \
         VALUES (?1, (SELECT COALESCE(MAX(number), 0) + 1 FROM jobs), ?2, ?3, 'Boiler service', 't', 't')",
        params![format!("job-{customer}"), customer, format!("site-{customer}")],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO visits (id, job_id, start_ms, end_ms, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, '2026-12-06T00:00:00.000Z', 't')",
        params![visit, format!("job-{customer}"), start_ms, start_ms + 3_600_000],
    )
    .unwrap();
}

#[test]
fn messages_to_customers_are_queued_once_with_their_link_and_conversation_line() {
    let conn = migrated();
    for sql in [
        messages::QUOTE_TO_SEND,
        messages::INVOICE_TO_SEND,
        messages::QUEUE,
        messages::CONVERSATION_LINE,
        messages::SHARE_LINK,
        messages::DELIVERIES,
        messages::SENDING,
        messages::TIMING,
        messages::UPDATE_TIMING,
        messages::TEMPLATES,
        messages::TEMPLATE,
        messages::UPDATE_TEMPLATE,
        messages::COMPANY,
        messages::DUE_REMINDERS,
        messages::DUE_BOOKINGS,
        messages::DUE_COMPLETIONS,
        messages::OVERDUE_INVOICES,
        messages::UNANSWERED_QUOTES,
        messages::ON_MY_WAY,
        notifications::NOTIFY_IF_SIGNED_IN_BEFORE,
    ] {
        conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // Six automatic messages, switched on, in the product's wording until edited.
    let templates: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM message_templates WHERE enabled = 1 AND body IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(templates, 6);

    let start = 1_800_000_000_000_i64;
    add_visit_for(&conn, "c1", "[\"+15550001111\"]", "v1", start);
    let due = |conn: &Connection| -> Vec<(String, i64)> {
        let mut statement = conn.prepare(messages::DUE_REMINDERS).unwrap();
        let rows = statement
            .query_map(params![start - 1000, start + 1000], |r| {
                Ok((
                    r.get::<_, String>("visit_id")?,
                    r.get::<_, i64>("opted_out")?,
                ))
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    };
    assert_eq!(due(&conn), vec![("v1".to_owned(), 0)]);

    let queue = |conn: &Connection, outbox_id: &str| -> usize {
        let queued = conn
            .execute(
                messages::QUEUE,
                params![
                    outbox_id,
                    format!("reminder:v1:{start}"),
                    "sms",
                    "+15550001111",
                    "{}",
                    "visit",
                    "v1",
                    start - 100,
                    start - 200
                ],
            )
            .unwrap();
        conn.execute(
            messages::CONVERSATION_LINE,
            params![
                format!("line-{outbox_id}"),
                "c1",
                "sms",
                "See you",
                outbox_id,
                None::<&str>,
                1
            ],
        )
        .unwrap();
        queued
    };
    assert_eq!(queue(&conn, "o1"), 1);
    // The same occasion again (a second planner, a repeated cron run): nothing more.
    assert_eq!(queue(&conn, "o2"), 0);
    let lines: i64 = conn
        .query_row("SELECT COUNT(*) FROM customer_messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(lines, 1);
    assert!(due(&conn).is_empty(), "a reminded visit is not due again");

    // A share link goes only with its outbox row, and only for a shared document.
    let link = |conn: &Connection, id: &str, outbox_id: &str| -> usize {
        conn.execute(
            messages::SHARE_LINK,
            params![
                id,
                format!("hash-{id}"),
                "quote",
                "q-none",
                None::<&str>,
                "t",
                "t",
                outbox_id
            ],
        )
        .unwrap()
    };
    assert_eq!(link(&conn, "l1", "o1"), 0, "no such quote");
    assert_eq!(link(&conn, "l2", "o-missing"), 0, "no such message");

    // Opting out shows in the planner's read.
    conn.execute(
        "UPDATE customers SET sms_opted_out_at = 5 WHERE id = 'c1'",
        [],
    )
    .unwrap();
    add_visit_for(&conn, "c2", "[]", "v2", start + 10);
    let mut statement = conn.prepare(messages::DUE_REMINDERS).unwrap();
    let rows: Vec<i64> = statement
        .query_map(params![start - 1000, start + 1000], |r| {
            r.get::<_, i64>("opted_out")
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        vec![0],
        "only the visit of c2 is due, and c2 did not opt out"
    );
}

#[test]
fn a_support_session_is_bounded_and_never_extended_or_reopened() {
    let conn = migrated();
    let insert = |id: &str, minutes: i64| {
        conn.execute(
            support::INSERT,
            rusqlite::params![
                id,
                "Sam",
                "sam@support.example",
                "why",
                "T-1",
                "[]",
                minutes,
                "approved",
                1_000,
                "preapproved",
                2_000
            ],
        )
    };
    assert!(insert("too-long", 241).is_err(), "at most 4 hours");
    assert!(insert("too-short", 4).is_err());
    insert("s1", 60).unwrap();
    assert_eq!(
        conn.execute(support::START, rusqlite::params!["s1", 1_500])
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(support::START, rusqlite::params!["s1", 1_600])
            .unwrap(),
        0,
        "the link starts it once"
    );
    let ends: i64 = conn
        .query_row(
            "SELECT ends_at FROM support_sessions WHERE id = 's1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ends, 1_500 + 60 * 60_000);
    let extend = conn.execute(
        "UPDATE support_sessions SET ends_at = ends_at + 1 WHERE id = 's1'",
        [],
    );
    assert!(extend
        .unwrap_err()
        .to_string()
        .contains("cannot be extended"));
    let beyond = conn.execute(
        "UPDATE support_sessions SET started_at = started_at + 5 WHERE id = 's1'",
        [],
    );
    assert!(beyond.is_err(), "a later start would move the deadline");
    assert_eq!(
        conn.execute(support::END, rusqlite::params!["s1", 2, "owner-1", 9_000])
            .unwrap(),
        1
    );
    let (status, ends): (String, i64) = conn
        .query_row(
            "SELECT status, ends_at FROM support_sessions WHERE id = 's1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (status.as_str(), ends),
        ("ended", 9_000),
        "ending moves the deadline earlier"
    );
    let reopen = conn.execute(
        "UPDATE support_sessions SET status = 'active' WHERE id = 's1'",
        [],
    );
    assert!(reopen.is_err(), "an ended session stays ended");
}

#[test]
fn the_operator_makes_the_first_owner_only() {
    let conn = migrated();
    let owner = |id: &str, email: &str| {
        conn.execute(
            users::INSERT_OWNER,
            rusqlite::params![id, email, "O", "h", 0, "now", email],
        )
        .unwrap()
    };
    assert_eq!(owner("o1", "o1@x.example"), 1);
    assert_eq!(
        owner("o2", "o2@x.example"),
        0,
        "a second owner is invited, not made"
    );
}

#[test]
fn oauth_codes_are_taken_once_refresh_tokens_used_once_and_registrations_limited() {
    let conn = migrated();
    conn.execute(
        "INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) \
         VALUES ('u1', 'a@b.example', 'A', 'owner', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        [],
    )
    .expect("user");
    let register = |id: &str, ip: &str, at: i64| {
        conn.execute(
            oauth::REGISTER,
            (id, "App", "[]", ip, at, at + 86_400_000, 2, 500),
        )
        .expect("register")
    };
    assert_eq!(register("c1", "ip1", 1_000), 1);
    assert_eq!(register("c2", "ip1", 2_000), 1);
    assert_eq!(
        register("c3", "ip1", 3_000),
        0,
        "a third within the hour from one address"
    );
    assert_eq!(register("c4", "ip2", 3_000), 1);
    assert_eq!(register("c5", "ip1", 3_700_000), 1, "an hour later");

    conn.execute(
        oauth::INSERT_CODE,
        (
            "h1",
            "c1",
            "u1",
            "http://127.0.0.1/cb",
            "ch",
            "read",
            None::<String>,
            1_000,
            301_000,
        ),
    )
    .expect("code");
    let take = |conn: &Connection| {
        let mut statement = conn.prepare(oauth::TAKE_CODE).unwrap();
        let rows: Vec<String> = statement
            .query_map(["h1"], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows
    };
    assert_eq!(take(&conn), vec!["c1".to_owned()]);
    assert!(take(&conn).is_empty(), "a code is taken once");

    conn.execute(
        oauth::INSERT_GRANT,
        ("g1", "c1", "u1", "read write", None::<String>, 1_000),
    )
    .expect("grant");
    conn.execute(
        oauth::INSERT_TOKEN,
        ("r1", "g1", "refresh", 1_000, 9_000_000),
    )
    .expect("token");
    assert_eq!(conn.execute(oauth::USE_REFRESH, (2_000, "r1")).unwrap(), 1);
    assert_eq!(
        conn.execute(oauth::USE_REFRESH, (3_000, "r1")).unwrap(),
        0,
        "used once"
    );
    conn.execute(oauth::REVOKE_GRANT_NOW, (4_000, "reused", "g1"))
        .unwrap();
    assert_eq!(
        conn.execute(
            oauth::INSERT_TOKEN,
            ("r2", "g1", "refresh", 5_000, 9_000_000)
        )
        .unwrap(),
        0,
        "a revoked grant gets no new tokens"
    );
    // Clients that completed a grant stay; the others go once expired.
    conn.execute(oauth::SWEEP_CLIENTS, [100_000_000]).unwrap();
    let left: Vec<String> = conn
        .prepare("SELECT id FROM oauth_clients ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(left, vec!["c1".to_owned()]);
}

#[test]
fn a_job_follows_its_visit_only_when_the_conditions_hold_and_the_waiting_list_knows_who_waits() {
    use fieldworker::domain::dispatch::{Follow, When};
    use fieldworker::domain::jobs::JobStatus::*;
    let conn = migrated();
    add_customer(&conn, "c1", "Ann Archer", "ann archer");
    add_site(&conn, "s1", "c1", 0);
    for (id, title) in [("j1", "Boiler"), ("j2", "Tap"), ("j3", "Gutter")] {
        conn.execute(
            jobs::INSERT,
            (id, "c1", "s1", title, None::<&str>, "normal", "[]", id),
        )
        .unwrap();
    }
    conn.execute(visits::INSERT, ("v1", "j1", 1_000, 2_000, "t"))
        .unwrap();
    conn.execute(visits::INSERT, ("v2", "j1", 3_000, 4_000, "t"))
        .unwrap();
    let status = |job: &str| -> String {
        conn.query_row("SELECT status FROM jobs WHERE id = ?1", [job], |r| r.get(0))
            .unwrap()
    };
    let follow = |job: &str, visit: &str, from, to, when| -> usize {
        run_sql(
            &conn,
            &jobs::follow(job, visit, &Follow { from, to, when }, "t2"),
        )
        .unwrap()
    };
    // Always: from the status it names only.
    assert_eq!(follow("j1", "v1", Scheduled, InProgress, When::Always), 0);
    assert_eq!(follow("j1", "v1", Requested, Scheduled, When::Always), 1);
    assert_eq!(status("j1"), "scheduled");
    // Not while another visit is open; then, once it is cancelled, yes.
    assert_eq!(
        follow("j1", "v1", Scheduled, Requested, When::NoOtherOpenVisit),
        0
    );
    conn.execute("UPDATE visits SET status = 'cancelled' WHERE id = 'v2'", [])
        .unwrap();
    assert_eq!(
        follow("j1", "v1", Scheduled, Requested, When::NoOtherOpenVisit),
        1
    );
    // Completing with the last visit: only when the company says so, and never past a
    // required signature (the trigger is not even reached).
    conn.execute("UPDATE jobs SET status = 'in_progress' WHERE id = 'j1'", [])
        .unwrap();
    let complete = || {
        follow(
            "j1",
            "v1",
            InProgress,
            Completed,
            When::LastVisitCompletesJob,
        )
    };
    assert_eq!(complete(), 0);
    conn.execute(
        "UPDATE company_settings SET complete_job_with_last_visit = 1, require_signature = 1",
        [],
    )
    .unwrap();
    assert_eq!(complete(), 0);
    conn.execute("UPDATE company_settings SET require_signature = 0", [])
        .unwrap();
    assert_eq!(complete(), 1);
    assert_eq!(status("j1"), "completed");

    // Waiting: requested jobs, and open ones with no open visit ending after now.
    conn.execute("UPDATE jobs SET status = 'scheduled' WHERE id = 'j2'", [])
        .unwrap();
    conn.execute(visits::INSERT, ("v3", "j2", 5_000, 6_000, "t"))
        .unwrap();
    let waiting = |now: i64| -> Vec<String> {
        conn.prepare(pages::UNSCHEDULED)
            .unwrap()
            .query_map(rusqlite::params![now, 50], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(waiting(0), ["j3"], "j2 has a visit ahead, j1 is done");
    assert_eq!(waiting(7_000), ["j2", "j3"], "its visit is over");
}

#[test]
fn a_company_has_one_open_deletion_cancelled_for_good_and_completed_only_when_due() {
    let conn = migrated();
    let day = 86_400_000_i64;
    let ask = |id: &str, at: i64| conn.execute(deletion::INSERT, (id, "u1", at, at + 7 * day));
    assert_eq!(ask("d1", 1_000).unwrap(), 1);
    assert_eq!(
        ask("d2", 2_000).unwrap(),
        0,
        "one pending request at a time"
    );
    // Not before its time.
    assert_eq!(
        conn.execute(deletion::COMPLETE, ("d1", 1_000 + 6 * day))
            .unwrap(),
        0
    );
    assert_eq!(
        conn.execute(deletion::CANCEL, ("d1", 1_i64, "u2", 5_000_i64))
            .unwrap(),
        1
    );
    // Cancelled is final: neither completed nor reopened.
    assert_eq!(
        conn.execute(deletion::COMPLETE, ("d1", 1_000 + 8 * day))
            .unwrap(),
        0
    );
    let reopen = conn.execute(
        "UPDATE company_deletion SET status = 'pending' WHERE id = 'd1'",
        [],
    );
    assert!(reopen.unwrap_err().to_string().contains("RULE:"));
    assert_eq!(ask("d3", 10_000).unwrap(), 1, "asked again after a cancel");
    assert_eq!(
        conn.execute(deletion::COMPLETE, ("d3", 10_000 + 7 * day))
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(deletion::COMPLETE, ("d3", 10_000 + 7 * day))
            .unwrap(),
        0,
        "once"
    );
    assert_eq!(
        ask("d4", 20_000 + 7 * day).unwrap(),
        0,
        "nothing after the completion"
    );
    conn.execute(
        "INSERT INTO data_keys (id, kek, wrapped, created_at) VALUES ('k', 'dev', 'w', 1)",
        [],
    )
    .unwrap();
    conn.execute(deletion::DESTROY_KEYS, []).unwrap();
    let keys: i64 = conn
        .query_row("SELECT count(*) FROM data_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(keys, 0);
    assert_eq!(
        conn.execute(deletion::MARK_PURGED, ("d3", 30_000_i64))
            .unwrap(),
        1
    );
}

#[test]
fn every_exported_table_reads_page_by_page() {
    let conn = migrated();
    let names: Vec<String> = conn
        .prepare(exports::TABLES)
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let tables = fieldworker::domain::exports::exported_tables(&names);
    assert!(tables.contains(&"customers".to_owned()) && tables.contains(&"audit_log".to_owned()));
    assert!(!tables.contains(&"data_keys".to_owned()));
    for table in &tables {
        let page = exports::table_page(table, 10, 0);
        conn.prepare(&page.sql)
            .unwrap_or_else(|e| panic!("{}: {e}", page.sql));
    }
}

#[test]
fn one_company_export_is_built_at_a_time_under_a_lease() {
    let conn = migrated();
    assert_eq!(
        conn.execute(exports::INSERT, ("e1", "u1", 1_000_i64))
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(exports::INSERT, ("e2", "u1", 2_000_i64))
            .unwrap(),
        0
    );
    // A run takes it; another cannot while the lease runs, and can once it is over.
    assert_eq!(
        conn.execute(exports::TAKE, ("e1", 1_i64, 3_000_i64, 9_000_i64))
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(exports::TAKE, ("e1", 2_i64, 4_000_i64, 10_000_i64))
            .unwrap(),
        0
    );
    assert_eq!(
        conn.execute(exports::TAKE, ("e1", 2_i64, 9_000_i64, 20_000_i64))
            .unwrap(),
        1
    );
    // The first run's next step names a version that moved on: it stops.
    assert_eq!(
        conn.execute(exports::PROGRESS, ("e1", 2_i64, 1_i64, 30_000_i64))
            .unwrap(),
        0
    );
    assert_eq!(
        conn.execute(exports::PROGRESS, ("e1", 3_i64, 1_i64, 30_000_i64))
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(
            exports::FINISH,
            ("e1", 4_i64, 31_000_i64, "exports/e1/x.zip", 99_i64)
        )
        .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(exports::INSERT, ("e3", "u1", 40_000_i64))
            .unwrap(),
        1
    );
}

/// Migrations 0017 on rebuild `customers`, `sites`, `quotes`, `job_notes`, … on a tenant that
/// has data, with foreign keys enforced as D1 enforces them, each in one transaction as a
/// migration runs: every row and every reference to them (jobs, messages, invoices) is kept.
#[test]
fn the_personal_data_migration_keeps_every_customer_and_site_with_foreign_keys_on() {
    let conn = Connection::open_in_memory().expect("sqlite");
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let all = migrations();
    let (before, after): (Vec<_>, Vec<_>) = all.iter().partition(|(n, _, _)| *n < 17);
    for (_, name, sql) in &before {
        conn.execute_batch(&format!("BEGIN;\n{sql}\nCOMMIT;"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    conn.execute_batch(
        "INSERT INTO customers (id, name, emails, phones, search, created_at, updated_at, \
             sms_opted_out_at) \
             VALUES ('c1', 'Ann Lee', '[\"ann@x.example\"]', '[\"+12125550143\"]', 'ann', 't', 't', 5); \
         INSERT INTO sites (id, customer_id, line1, is_primary, created_at, updated_at) \
             VALUES ('s1', 'c1', '1 Main St', 1, 't', 't'); \
         INSERT INTO jobs (id, number, customer_id, site_id, title, priority, items, created_at, \
             updated_at) VALUES ('j1', 1, 'c1', 's1', 'Fix', 'normal', '[]', 't', 't'); \
         INSERT INTO customer_messages (id, customer_id, direction, channel, body, address, \
             created_at) VALUES ('m1', 'c1', 'in', 'sms', 'Hi', '+12125550143', 1); \
         INSERT INTO job_notes (id, job_id, author_id, text, created_at) \
             VALUES ('n1', 'j1', 'u0', 'Gate', 't'); \
         INSERT INTO quotes (id, number, customer_id, site_id, title, currency, rounding, \
             valid_until, created_at, updated_at) \
             VALUES ('q1', 1, 'c1', 's1', 'Boiler', 'USD', 'per_line', 't', 't', 't'); \
         INSERT INTO invoices (id, customer_id, quote_id, currency, rounding, totals, subtotal, \
             discount_total, tax_total, total, payment_terms_days, created_at, updated_at) \
             VALUES ('i1', 'c1', 'q1', 'USD', 'per_line', '[]', 0, 0, 0, 0, 30, 't', 't'); \
         INSERT INTO files (id, parent_kind, parent_id, purpose, name, content_type, size, \
             sha256, r2_key, status, signer_name, source, created_at, updated_at) \
             VALUES ('f1', 'job', 'j1', 'signature', 's.png', 'image/png', 10, \
             '0000000000000000000000000000000000000000000000000000000000000000', 'files/f1', \
             'clean', 'Ann Lee', 'dashboard', 1, 1);",
    )
    .unwrap();
    for (_, name, sql) in &after {
        conn.execute_batch(&format!("BEGIN;\n{sql}\nCOMMIT;"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT COUNT(*) FROM customers WHERE name = 'Ann Lee' AND sms_opted_out_at = 5"),
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM sites WHERE customer_id = 'c1'"),
        1
    );
    assert_eq!(count("SELECT COUNT(*) FROM jobs WHERE site_id = 's1'"), 1);
    assert_eq!(count("SELECT COUNT(*) FROM customer_messages"), 1);
    assert_eq!(count("SELECT COUNT(*) FROM job_notes"), 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM invoices WHERE quote_id = 'q1'"),
        1
    );
    assert_eq!(count("SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
    // The length rules are the domain's now: a sealed value longer than they allowed fits.
    conn.execute(
        "UPDATE customers SET name = ?1 WHERE id = 'c1'",
        ["x".repeat(400)],
    )
    .unwrap();
}

/// Migration 0019 rebuilds `users` and `invites` on a tenant that has data, with foreign keys
/// enforced as D1 enforces them, in one transaction as a migration runs.
#[test]
fn the_identity_migration_keeps_every_user_reference_and_notice_with_foreign_keys_on() {
    let conn = Connection::open_in_memory().expect("sqlite");
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let all = migrations();
    let (before, after): (Vec<_>, Vec<_>) = all.iter().partition(|(n, _, _)| *n < 19);
    for (_, name, sql) in &before {
        conn.execute_batch(&format!("BEGIN;\n{sql}\nCOMMIT;"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    conn.execute_batch(
        "INSERT INTO users (id, email, name, role, created_at, updated_at) \
             VALUES ('u1', 'ann@x.example', 'Ann', 'owner', 't', 't'); \
         INSERT INTO notifications (id, user_id, kind, occasion, data, created_at) \
             VALUES ('n1', 'u1', 'mfa_disabled', 'o1', '{}', 1); \
         INSERT INTO access_tokens (id, user_id, name, token_hash, created_at) \
             VALUES ('t1', 'u1', 'ci', 'th', 1); \
         INSERT INTO invites (id, token_hash, email, role, invited_by, expires_at, created_at) \
             VALUES ('i1', 'ih', 'bob@x.example', 'viewer', 'u1', 9, 1); \
         INSERT INTO login_attempts (subject, window_start) \
             VALUES ('email:ann@x.example', 1), ('device:d:ann@x.example', 1), ('ip:10.0.0.1', 1);",
    )
    .unwrap();
    let queued = |conn: &Connection| -> i64 {
        conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
            .unwrap()
    };
    let mails = queued(&conn);
    for (_, name, sql) in &after {
        conn.execute_batch(&format!("BEGIN;\n{sql}\nCOMMIT;"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT COUNT(*) FROM notifications WHERE user_id = 'u1'"),
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM access_tokens WHERE user_id = 'u1'"),
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM invites WHERE invited_by = 'u1'"),
        1
    );
    assert_eq!(queued(&conn), mails, "notices put back queue no mail");
    // The counters that named addresses are gone; the IP's stays.
    assert_eq!(count("SELECT COUNT(*) FROM login_attempts"), 1);
    let broken: i64 = conn
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(broken, 0);
    // The row not sealed yet is found by its plain address until it is sealed.
    let found: String = conn
        .query_row(users::SELECT_BY_EMAIL, ("no-index", "ann@x.example"), |r| {
            r.get("id")
        })
        .unwrap();
    assert_eq!(found, "u1");
    // The trigger that mails notices came back.
    conn.execute(
        notifications::NOTIFY,
        ("n2", "u1", "mfa_disabled", "o2", "{}", 2),
    )
    .unwrap();
    assert_eq!(queued(&conn), mails + 1);
}

#[test]
fn accounts_are_found_by_their_address_index_and_a_legacy_row_is_sealed_once() {
    let conn = migrated();
    add_user(&conn, "u1", "owner");
    let by_email = |index: &str, email: &str| -> Option<String> {
        conn.query_row(users::SELECT_BY_EMAIL, (index, email), |r| r.get("id"))
            .ok()
    };
    assert_eq!(by_email("ix-u1", "anything"), Some("u1".to_owned()));
    assert_eq!(
        by_email("ix-other", "u1@x.example"),
        None,
        "an indexed row is not found by plaintext"
    );
    // A second account cannot take an address index already held.
    assert!(conn
        .execute(users::INSERT, ("u2", "e", "n", "viewer", "h", "t", "ix-u1"),)
        .is_err());
    // A row written before the migration: no index, found by its plain address, then sealed.
    conn.execute(
        "INSERT INTO users (id, email, name, role, created_at, updated_at) \
         VALUES ('old', 'old@x.example', 'Old', 'viewer', 't', 't')",
        [],
    )
    .unwrap();
    assert_eq!(by_email("ix-old", "old@x.example"), Some("old".to_owned()));
    let seal = |index: &str| {
        conn.execute(
            users::SEAL_LEGACY,
            rusqlite::params!["E", index, "N", None::<String>, None::<String>, "old", 1],
        )
        .unwrap()
    };
    assert_eq!(
        seal("ix-u1"),
        0,
        "never onto an index another account holds"
    );
    assert_eq!(seal("ix-old"), 1);
    assert_eq!(seal("ix-old"), 0, "once");
    assert_eq!(by_email("ix-old", "old@x.example"), Some("old".to_owned()));
    let version: i64 = conn
        .query_row("SELECT version FROM users WHERE id = 'old'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, 1, "sealing is no change of the account");
}

#[test]
fn an_account_is_deleted_once_numbered_and_never_the_last_active_owner() {
    let conn = migrated();
    add_user(&conn, "o1", "owner");
    add_user(&conn, "t1", "technician");
    add_user(&conn, "t2", "technician");
    let delete = |id: &str, number: i64| {
        conn.execute(
            users::DELETE_ACCOUNT,
            rusqlite::params![
                1_000,
                number,
                format!("Deleted user #{number}"),
                "now",
                id,
                1,
                "sealed"
            ],
        )
    };
    let last = |conn: &Connection| -> i64 {
        conn.query_row(users::SELECT_LAST_DELETED_NUMBER, [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(last(&conn), 0);
    assert_eq!(delete("o1", 1).unwrap(), 0, "the last active owner stays");
    assert_eq!(delete("t1", 1).unwrap(), 1);
    assert_eq!(delete("t1", 2).unwrap(), 0, "once");
    assert!(delete("t2", 1).is_err(), "a number is never given twice");
    assert_eq!(delete("t2", 2).unwrap(), 1);
    assert_eq!(last(&conn), 2);
    let (name, active, index, epoch): (String, i64, Option<String>, i64) = conn
        .query_row(
            "SELECT name, active, email_index, session_epoch FROM users WHERE id = 't1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (name.as_str(), active, index, epoch),
        ("Deleted user #1", 0, None, 1)
    );
    // Its address is free for a new account; a deleted account is never found, nor changed.
    add_user(&conn, "t3", "technician");
    conn.execute("UPDATE users SET email_index = 'ix-t1' WHERE id = 't3'", [])
        .unwrap();
    assert!(conn
        .query_row(users::SELECT_BY_EMAIL, ("nothing", "t1@x.example"), |r| {
            r.get::<_, String>("id")
        })
        .is_err());
    assert_eq!(
        conn.execute(users::UPDATE_ROLE_ACTIVE, ("owner", 1, "now", "t1", 2))
            .unwrap(),
        0
    );
}
