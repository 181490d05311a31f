//! The versioned-write engine: the one place the sequence every write obeys is written
//! (DESIGN.md §4). A handler states only what is its own — how to load its record
//! ([`Entity`]), the pure decision that turns the record and the request into a [`Change`],
//! and how to render — and the engine does the rest: the version check (409 with the current
//! record), the batch with its guard and audit rows, the re-read in the same batch, and
//! `Idempotency-Key` replay for creates.
//!
//! It is generic over a small [`Store`] (a batch of statements in, results out), so it runs on
//! D1 in the Worker (`db::store`) and on SQLite with the real migrations in the host tests.

pub mod sql;

use std::future::Future;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::audit::AuditEvent;
use crate::error::{AppError, AppResult, ErrorKind};
pub use sql::{Param, Sql};

/// The results of one batch, statement by statement.
pub trait Results {
    /// Rows changed by statement `index`.
    fn changes(&self, index: usize) -> usize;
    /// The rows statement `index` answered.
    fn rows<T: DeserializeOwned>(&self, index: usize) -> AppResult<Vec<T>>;
}

/// Somewhere a batch of statements runs as one transaction, in one round trip.
pub trait Store {
    type Results: Results;
    fn batch(&self, statements: Vec<Sql>) -> impl Future<Output = Result<Self::Results, String>>;
}

/// A record type the engine writes: how to read it (one or more statements, answered
/// together), its version, and its wire form (also the body of a 409).
pub trait Entity {
    type Record;
    /// How the record is named to the client ("customer").
    const NAME: &'static str;
    /// Where records of this kind live ("/api/v1/customers"): a create's `Location`.
    const COLLECTION: &'static str;
    fn load(id: &str) -> Vec<Sql>;
    /// The record from the load statements' results, starting at result `from`.
    fn parse(results: &impl Results, from: usize) -> AppResult<Option<Self::Record>>;
    fn version(record: &Self::Record) -> i64;
    fn view(record: &Self::Record) -> Value;
}

/// An [`Entity`] read by one statement answering its row, versioned by the row's `version`:
/// `row_entity!(JobEntity, JobRow, "job", "/api/v1/jobs", |id| sql!(SELECT_BY_ID, id), job_view);`
#[macro_export]
macro_rules! row_entity {
    ($(#[$meta:meta])* $name:ident, $row:ty, $what:literal, $collection:literal,
     $load:expr, $view:expr $(,)?) => {
        $(#[$meta])*
        pub struct $name;

        impl $crate::write::Entity for $name {
            type Record = $row;
            const NAME: &'static str = $what;
            const COLLECTION: &'static str = $collection;

            fn load(id: &str) -> Vec<$crate::write::Sql> {
                vec![($load)(id)]
            }

            fn parse(
                results: &impl $crate::write::Results,
                from: usize,
            ) -> $crate::error::AppResult<Option<$row>> {
                $crate::write::first_row(results, from)
            }

            fn version(record: &$row) -> i64 {
                record.version
            }

            fn view(record: &$row) -> serde_json::Value {
                ($view)(record)
            }
        }
    };
}

/// What a decision writes: statements in order, one of which may be the guard (it must change
/// a row, else nothing is written), and the audit events of the change.
#[derive(Debug, Default)]
pub struct Change {
    statements: Vec<Sql>,
    guard: Option<usize>,
    events: Vec<AuditEvent>,
}

impl Change {
    pub fn new() -> Self {
        Self::default()
    }

    /// The statement that must change a row: the versioned `UPDATE … WHERE id = ? AND
    /// version = ?`, or an `INSERT … SELECT … WHERE` that checks its parents. One per change.
    pub fn guarded(mut self, statement: Sql) -> Self {
        self.guard = Some(self.statements.len());
        self.statements.push(statement);
        self
    }

    /// A statement written with the change (after the guard, only if it took).
    pub fn then(mut self, statement: Sql) -> Self {
        self.statements.push(statement);
        self
    }

    /// A statement with an audit event written only if that statement changed a row (a lock
    /// that a failure may or may not trigger), unlike the change's own events.
    pub fn then_audited(mut self, statement: Sql, event: AuditEvent) -> Self {
        self.statements.push(statement);
        self.statements.push(sql::append_audit_if_changed(&event));
        self
    }

    pub fn then_all(mut self, statements: impl IntoIterator<Item = Sql>) -> Self {
        self.statements.extend(statements);
        self
    }

    /// A statement that must come first: an idempotency key, so that a repeat fails on it
    /// before anything else of the change can refuse it differently.
    pub fn first(mut self, statement: Sql) -> Self {
        self.statements.insert(0, statement);
        self.guard = self.guard.map(|g| g + 1);
        self
    }

    pub fn audit(mut self, event: AuditEvent) -> Self {
        self.events.push(event);
        self
    }

    /// The statements of the batch: each statement, the guard's check right after the guard,
    /// the audit rows, then `reads`. Answers the batch and where `reads` start.
    fn into_batch(self, reads: Vec<Sql>) -> (Vec<Sql>, usize) {
        let mut batch = Vec::with_capacity(self.statements.len() + self.events.len() + 2);
        for (i, statement) in self.statements.into_iter().enumerate() {
            batch.push(statement);
            if Some(i) == self.guard {
                batch.push(Sql::new(sql::GUARD, vec![]));
            }
        }
        batch.extend(self.events.iter().map(sql::append_audit));
        let reads_from = batch.len();
        batch.extend(reads);
        (batch, reads_from)
    }
}

/// Why a batch wrote nothing.
#[derive(Debug)]
pub enum Refusal {
    /// The guard changed no row: a stale version, or a parent that is gone.
    Guard,
    /// The batch's Idempotency-Key was recorded already: a repeat (see [`recall_repeated`]).
    RepeatedKey,
    /// A unique constraint refused a row; the message names the table.
    Duplicate(String),
    /// A rule the database itself enforces (a trigger raising `RULE: …`) refused the change;
    /// the text says why, for the client.
    Rule(String),
    Store(String),
}

impl Refusal {
    fn from_store(message: String) -> Self {
        if message.contains(sql::GUARD_FAILED) {
            Refusal::Guard
        } else if message.contains("UNIQUE constraint failed: idempotency_keys") {
            Refusal::RepeatedKey
        } else if message.contains("UNIQUE constraint failed") {
            Refusal::Duplicate(message)
        } else if let Some((_, rule)) = message.split_once(sql::RULE) {
            let rule = rule.split(": SQLITE_CONSTRAINT").next().unwrap_or(rule);
            Refusal::Rule(rule.trim().to_owned())
        } else {
            Refusal::Store(message)
        }
    }

    /// The error for refusals a handler does not treat itself.
    pub fn into_error(self, guard: impl FnOnce() -> AppError) -> AppError {
        match self {
            Refusal::Guard => guard(),
            Refusal::RepeatedKey => AppError::new(ErrorKind::Conflict)
                .with_detail("That already exists.")
                .with_cause("write batch: a repeated Idempotency-Key"),
            Refusal::Duplicate(message) => AppError::new(ErrorKind::Conflict)
                .with_detail("That already exists.")
                .with_cause(format!("write batch: {message}")),
            Refusal::Rule(rule) => AppError::new(ErrorKind::Conflict).with_detail(rule),
            Refusal::Store(message) => AppError::internal(format!("write batch: {message}")),
        }
    }
}

/// A written change and what was read after it, in the same batch.
pub struct Written<R> {
    pub results: R,
    pub reads_from: usize,
}

/// Writes `change` and reads `reads` after it, in one batch (one round trip).
pub async fn apply<S: Store>(
    store: &S,
    change: Change,
    reads: Vec<Sql>,
) -> Result<Written<S::Results>, Refusal> {
    let (batch, reads_from) = change.into_batch(reads);
    store
        .batch(batch)
        .await
        .map(|results| Written {
            results,
            reads_from,
        })
        .map_err(Refusal::from_store)
}

// The engine's steps are written once, generic only over the store (one in the Worker): what
// they need of an entity is its `Kind`, a few plain values and function pointers. The
// functions generic over the entity and the handler's closures are thin: they decide (pure,
// before any round trip) and parse the record from what the step read. A body generic over
// both would be one copy per handler, inlined into the router's future.

/// What the engine's steps need of an [`Entity`], without its record type.
struct Kind<R> {
    name: &'static str,
    load: fn(&str) -> Vec<Sql>,
    /// The record's wire form from a load's results, if there is one (the body of a 409).
    view_loaded: fn(&R) -> AppResult<Option<Value>>,
}

fn kind<R: Results, E: Entity>() -> Kind<R> {
    Kind {
        name: E::NAME,
        load: E::load,
        view_loaded: |results| Ok(E::parse(results, 0)?.map(|record| E::view(&record))),
    }
}

/// `E`'s record from `results` at `from`; 404 when there is none.
fn found<E: Entity>(results: &impl Results, from: usize) -> AppResult<E::Record> {
    E::parse(results, from)?.ok_or_else(|| AppError::not_found(E::NAME))
}

/// Reads `E`'s record in one round trip; 404 when there is none.
pub async fn load<S: Store, E: Entity>(store: &S, id: &str) -> AppResult<E::Record> {
    let results = read(store, E::load(id), E::NAME).await?;
    found::<E>(&results, 0)
}

/// The results of an entity's load statements.
async fn read<S: Store>(store: &S, load: Vec<Sql>, name: &str) -> AppResult<S::Results> {
    store
        .batch(load)
        .await
        .map_err(|e| AppError::internal(format!("loading {name}: {e}")))
}

/// A 409 carrying the record as it is now, so the client can merge and retry.
pub fn conflict<E: Entity>(current: &E::Record) -> AppError {
    conflict_with(E::NAME, E::view(current))
}

fn conflict_with(name: &str, current: Value) -> AppError {
    AppError::new(ErrorKind::Conflict)
        .with_detail(format!("The {name} changed since you read it."))
        .with_extension("current", current)
}

/// The versioned update: loads the record, refuses a stale `expected` version with 409 and
/// the current record, lets `decide` (pure) turn the record into a change whose guard names
/// `expected`, writes it with its audit rows and answers the record as written — all in two
/// round trips. Losing a race after the load is the same 409.
pub async fn update<S: Store, E: Entity>(
    store: &S,
    id: &str,
    expected: i64,
    decide: impl FnOnce(&E::Record) -> AppResult<Change>,
) -> AppResult<E::Record> {
    let decide: Decide<'_, E::Record> = Box::new(decide);
    let current = load::<S, E>(store, id).await?;
    update_loaded::<S, E>(store, id, current, expected, decide).await
}

/// A handler's decision, boxed: one copy of [`update`]'s body per entity, not per handler.
type Decide<'a, R> = Box<dyn FnOnce(&R) -> AppResult<Change> + 'a>;

/// [`update`] of a record already loaded (with the caller's own reads, in its own batch).
pub async fn update_loaded<S: Store, E: Entity>(
    store: &S,
    id: &str,
    current: E::Record,
    expected: i64,
    decide: impl FnOnce(&E::Record) -> AppResult<Change>,
) -> AppResult<E::Record> {
    let decided = decided::<E>(&current, expected, decide);
    drop(current);
    let written = write_back(store, id, decided, kind::<S::Results, E>(), true).await?;
    found::<E>(&written.results, written.reads_from)
}

/// The change `decide` makes of `current`, or the 409 when `current` is not at `expected`.
fn decided<E: Entity>(
    current: &E::Record,
    expected: i64,
    decide: impl FnOnce(&E::Record) -> AppResult<Change>,
) -> AppResult<Change> {
    if E::version(current) != expected {
        return Err(conflict::<E>(current));
    }
    decide(current)
}

/// Writes a decided change of record `id`, reading the record back after it when `reread`.
async fn write_back<S: Store>(
    store: &S,
    id: &str,
    decided: AppResult<Change>,
    kind: Kind<S::Results>,
    reread: bool,
) -> AppResult<Written<S::Results>> {
    let reads = if reread { (kind.load)(id) } else { vec![] };
    match apply(store, decided?, reads).await {
        Ok(written) => Ok(written),
        Err(refusal) => Err(refused_as(store, id, refusal, &kind).await),
    }
}

/// The versioned delete: as [`update`], but nothing is read back (there is nothing).
pub async fn remove<S: Store, E: Entity>(
    store: &S,
    id: &str,
    current: E::Record,
    expected: i64,
    decide: impl FnOnce(&E::Record) -> AppResult<Change>,
) -> AppResult<()> {
    let decided = decided::<E>(&current, expected, decide);
    drop(current);
    write_back(store, id, decided, kind::<S::Results, E>(), false)
        .await
        .map(drop)
}

/// The error for a write of record `id` that wrote nothing: a refused guard is the 409 with
/// the record as it is now (404 when it is gone).
pub async fn refused<S: Store, E: Entity>(store: &S, id: &str, refusal: Refusal) -> AppError {
    refused_as(store, id, refusal, &kind::<S::Results, E>()).await
}

async fn refused_as<S: Store>(
    store: &S,
    id: &str,
    refusal: Refusal,
    kind: &Kind<S::Results>,
) -> AppError {
    match refusal {
        Refusal::Guard => {
            let now = match read(store, (kind.load)(id), kind.name).await {
                Ok(results) => (kind.view_loaded)(&results),
                Err(e) => Err(e),
            };
            match now {
                Ok(Some(now)) => conflict_with(kind.name, now),
                Ok(None) => AppError::not_found(kind.name),
                Err(e) => e,
            }
        }
        other => other.into_error(|| AppError::internal("unreachable guard")),
    }
}

/// An `Idempotency-Key` on a create, with the request's fingerprint.
#[derive(Debug, Clone)]
pub struct Keyed {
    pub user_id: String,
    pub key: String,
    pub fingerprint: String,
}

/// What a create answered.
pub struct Created<T> {
    pub status: u16,
    pub id: String,
    pub record: T,
    /// A retry with the same key: the first request's result, nothing created now.
    pub replayed: bool,
}

/// Creates record `id` of `E` by `change` (its guard refusing with `refused`), recording
/// `keyed` in the same batch; a retry with the same key and request answers the record the
/// first one made and creates nothing, a different request with it is 422. One round trip
/// (two on a replay).
pub async fn create<S: Store, E: Entity>(
    store: &S,
    id: &str,
    keyed: Option<&Keyed>,
    change: Change,
    refused: impl FnOnce() -> AppError,
    now_ms: i64,
) -> AppResult<Created<E::Record>> {
    let change = match keyed {
        Some(k) => change.first(sql::remember_key(k, 201, &location::<E>(id), now_ms)),
        None => change,
    };
    let refused: Box<dyn FnOnce() -> AppError + '_> = Box::new(refused);
    let created = create_as(store, id, keyed, change, refused, &kind::<S::Results, E>()).await?;
    Ok(Created {
        status: created.status,
        record: found::<E>(&created.record.results, created.record.reads_from)?,
        id: created.id,
        replayed: created.replayed,
    })
}

/// [`create`]'s round trips: what was written and read back, or on a repeated key the first
/// request's answer and its record as read now.
async fn create_as<S: Store>(
    store: &S,
    id: &str,
    keyed: Option<&Keyed>,
    change: Change,
    refused: Box<dyn FnOnce() -> AppError + '_>,
    kind: &Kind<S::Results>,
) -> AppResult<Created<Written<S::Results>>> {
    match apply(store, change, (kind.load)(id)).await {
        Ok(written) => Ok(Created {
            status: 201,
            id: id.to_owned(),
            record: written,
            replayed: false,
        }),
        // The answer a keyed create gave the first time, after its key was found taken.
        Err(Refusal::RepeatedKey) => {
            let (status, location) = recall_repeated(store, keyed).await?;
            let id = location.rsplit('/').next().unwrap_or_default().to_owned();
            let results = read(store, (kind.load)(&id), kind.name).await?;
            Ok(Created {
                status,
                id,
                record: Written {
                    results,
                    reads_from: 0,
                },
                replayed: true,
            })
        }
        Err(other) => Err(other.into_error(refused)),
    }
}

/// What a keyed request recorded the first time: its status and body (a location, or what
/// the create chose to record). A different request with the same key is 422.
pub async fn recall<S: Store>(store: &S, k: &Keyed) -> AppResult<Option<(u16, String)>> {
    #[derive(serde::Deserialize)]
    struct Recorded {
        fingerprint: String,
        status: i64,
        body: String,
    }
    let results = store
        .batch(vec![sql::recall_key(k)])
        .await
        .map_err(|e| AppError::internal(format!("reading an idempotency key: {e}")))?;
    let Some(recorded) = results.rows::<Recorded>(0)?.into_iter().next() else {
        return Ok(None);
    };
    if recorded.fingerprint != k.fingerprint {
        return Err(AppError::new(ErrorKind::Unprocessable)
            .with_detail("This Idempotency-Key was already used for a different request."));
    }
    Ok(Some((
        u16::try_from(recorded.status).unwrap_or(201),
        recorded.body,
    )))
}

/// What the first request with `keyed` recorded, after a batch was refused as a
/// [`Refusal::RepeatedKey`]: a concurrent retry won the race.
pub async fn recall_repeated<S: Store>(
    store: &S,
    keyed: Option<&Keyed>,
) -> AppResult<(u16, String)> {
    let k = keyed.ok_or_else(|| AppError::internal("a repeated key on an unkeyed write"))?;
    recall(store, k)
        .await?
        .ok_or_else(|| AppError::internal("a repeated idempotency key that is not there"))
}

/// Where record `id` of `E` lives.
pub fn location<E: Entity>(id: &str) -> String {
    format!("{}/{id}", E::COLLECTION)
}

/// The rows of result `index` (for [`Entity::parse`]).
pub fn first_row<T: DeserializeOwned>(
    results: &impl Results,
    index: usize,
) -> AppResult<Option<T>> {
    Ok(results.rows::<T>(index)?.into_iter().next())
}
