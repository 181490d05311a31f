//! fieldworker: the back office of one trades business, as one Cloudflare Worker.
//!
//! Pure code (`domain`, `views`, `error`) is kept apart from the Worker glue (`http`, `db`) so
//! it runs and is tested on the host with plain `cargo test`. See DESIGN.md §3.

pub mod agent;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod mcp;
pub mod services;
pub mod tools;
pub mod views;
pub mod write;

/// The version of this build, reported by `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[worker::event(fetch)]
async fn fetch(
    req: worker::Request,
    env: worker::Env,
    ctx: worker::Context,
) -> worker::Result<worker::Response> {
    Ok(http::serve(req, env, ctx).await)
}

/// The cron trigger (`[triggers]` in wrangler.toml): the sweep of cut-off messages, and the
/// backstops of the audit sealer and the outbox (both also run after the requests that need
/// them).
#[worker::event(scheduled)]
async fn scheduled(event: worker::ScheduledEvent, env: worker::Env, _ctx: worker::ScheduleContext) {
    http::panics::install_hook();
    // During a restore nothing runs: the database is being replaced.
    if http::maintenance::is_on(&env).await {
        worker::console_log!(
            "{}",
            r#"{"level":"info","msg":"scheduled","skipped":"maintenance"}"#
        );
        return;
    }
    // A deleted company sends nothing and seals its last audit rows; its deletion is carried
    // out here if no request came first.
    if http::gone::sweep(&env).await {
        http::seal::run_logged(&env, "cron").await;
        return;
    }
    http::sweep::run(&env, &event.cron()).await;
    http::files::sweep_logged(&env, "cron").await;
    http::documents::sweep_logged(&env, "cron").await;
    // Support sessions end at their deadline whatever is written; this writes it down (and
    // tells the owners) for those no request has found since.
    if let Err(e) = http::api::support::sweep(&env).await {
        worker::console_error!("support sweep: {e}");
    }
    http::oauth::sweep_logged(&env).await;
    http::api::users::sweep_lapsed_invites_logged(&env).await;
    // After the sweeps, so what they queued (an owner told a support session ended) goes out
    // in this run, not at the next request or cron.
    http::automatic::run_logged(&env, "cron").await;
    // The backstop: whatever the sweeps above, or a run cut off earlier, left unsealed.
    http::seal::run_logged(&env, "cron").await;
    // An owner's export left unfinished by a run that was cut off.
    http::api::exports::run_logged(&env, "cron").await;
    http::metrics::record_health(&env).await;
}
