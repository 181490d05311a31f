//! The one spawn helper of the end-to-end tests: a fresh local tenant per test, on the real
//! Workers runtime (`wrangler dev --local`: workerd with D1, KV and R2 on disk), on a free port,
//! with its own temporary state folder that is removed when the test ends; and the virus
//! scanner tenants scan uploads with, a real clamd with the test database (`Clamd`).

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The operator token every test tenant is started with (unless a test says otherwise).
pub const OPS_TOKEN: &str = "e2e-ops-token-0123456789";
/// The key the audit trail is sealed under (a Worker secret, never in D1).
pub const AUDIT_KEY: &str = "e2e-audit-key-0123456789abcdef-0123456789";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);
/// How long work after a response (the sealer, the outbox's sender: several D1 round trips
/// each) may take to show in the log or on disk while the whole suite loads the machine.
pub const AFTER_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn node_bin() -> PathBuf {
    root().join("node_modules/.bin")
}

/// A command with node 22 and the project's tools first on PATH, and no telemetry.
pub fn tool(name: &str) -> Command {
    let path = format!(
        "{}:{}",
        node_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(node_bin().join(name));
    cmd.current_dir(root())
        .env("PATH", path)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CI", "true")
        .stdin(Stdio::null());
    cmd
}

fn check_prerequisites() {
    let missing: Vec<&str> = [
        "build/index.js",
        "build/index_bg.wasm",
        // The dashboard's files (wrangler.toml [assets]).
        "build/public/_headers",
        "node_modules/.bin/wrangler",
    ]
    .into_iter()
    .filter(|p| !root().join(p).exists())
    .collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?}: the end-to-end tests run the built Worker; run scripts/test \
         (or scripts/build) first"
    );
}

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

fn fresh_dir(label: &str) -> PathBuf {
    let n = NEXT_DIR.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "fieldworker-e2e-{}-{label}-{n}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Applies the migrations once per test run into a template state folder; each migrated
/// tenant starts from a copy of it (a copy costs milliseconds, a migration seconds).
fn migrated_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        check_prerequisites();
        let dir = fresh_dir("template");
        let output = tool("wrangler")
            .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
            .arg(&dir)
            .output()
            .expect("run wrangler d1 migrations apply");
        assert!(
            output.status.success(),
            "migrations failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        dir
    })
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .expect("cp");
    assert!(status.success(), "copying the template state failed");
}

/// A port nobody else uses: handed out from one counter per test process (so two tenants,
/// or one tenant's HTTP port and another's inspector port, never collide), skipping any port
/// something outside already holds. Asking the OS for port 0 and releasing it raced here.
fn free_port() -> u16 {
    use std::sync::atomic::AtomicU16;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        // Below the kernel's ephemeral range (32768 and up), so no process's outgoing or
        // port-0 sockets land on a port we hand out.
        10_000 + (std::process::id() % 1_000) as u16 * 20,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        // Browsers refuse to load pages from a few ports (Chromium: net::ERR_UNSAFE_PORT);
        // 10080 is the only one in the range handed out here.
        if port == 10080 {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// How a test tenant is started.
pub struct Options {
    pub migrated: bool,
    pub ops_token: Option<&'static str>,
    /// Extra Worker variables, e.g. the Cloudflare Access settings.
    pub vars: Vec<(String, String)>,
    /// Every rate limit of `wrangler.toml` set to this (requests per period) for this tenant,
    /// for a load or a fuzzer that would exceed the real ones: `None` keeps them.
    pub rate_limit: Option<u32>,
    /// The clamd the tenant's `CLAMD_HOST` and `CLAMD_PORT` name.
    pub scanner: Scanner,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            migrated: true,
            ops_token: Some(OPS_TOKEN),
            vars: Vec::new(),
            rate_limit: None,
            scanner: Scanner::Shared,
        }
    }
}

/// Which virus scanner a tenant is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scanner {
    /// The test process's one clamd, started when the first tenant needs it.
    Shared,
    /// A clamd on this local port: a test's own (`Clamd::port`), running or stopped.
    Port(u16),
    /// No scanner: neither `CLAMD_HOST` nor `CLAMD_PORT` is set.
    Unset,
}

/// clamd with the repository's test database (`scripts/clamav/`, the config from
/// `scripts/lib/clamd.sh`) on a free local port, run by a watchdog shell that stops it once the
/// test process is gone, however that ends: the shared one lives in a static, and statics are
/// never dropped. Its output goes to a file in its folder, never to the test's. Dropping it
/// stops it and removes its folder.
pub struct Clamd {
    port: u16,
    dir: PathBuf,
    watchdog: Option<Child>,
}

/// How long clamd may take to answer PING after starting (about 70 ms with the test database).
const CLAMD_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

impl Clamd {
    /// A clamd of this test's own, running.
    pub fn start() -> Self {
        let mut clamd = Clamd {
            port: free_port(),
            dir: fresh_dir("clamd"),
            watchdog: None,
        };
        clamd.start_again();
        clamd
    }

    /// The test process's shared clamd, started on first use.
    pub fn shared() -> &'static Clamd {
        static SHARED: OnceLock<Clamd> = OnceLock::new();
        SHARED.get_or_init(Clamd::start)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What clamd logged so far.
    pub fn logs(&self) -> String {
        ["clamd.out", "clamd.log"]
            .iter()
            .filter_map(|name| fs::read_to_string(self.dir.join(name)).ok())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Starts clamd (again) on its port and waits until it answers PING.
    pub fn start_again(&mut self) {
        assert!(self.watchdog.is_none(), "clamd is already running");
        let script = root().join("scripts/lib/clamd.sh");
        // The watchdog: clamd in the background, and a loop that ends it when the test process
        // ($4) or clamd itself is gone, or on SIGTERM (`stop`); it waits for clamd, so no
        // zombie is left behind. `wait` on the pause, unlike a foreground sleep, lets the trap
        // run at once.
        let watchdog = r#"
            source "$1" || exit 1
            config="$(clamd_config "$2" "$3")" || exit 1
            "$CLAMD_BIN" --config-file="$config" &
            clamd=$!
            trap 'kill "$clamd" 2>/dev/null; wait "$clamd"; exit 0' TERM
            while kill -0 "$4" 2>/dev/null && kill -0 "$clamd" 2>/dev/null; do
                sleep 0.5 & wait $!
            done
            kill "$clamd" 2>/dev/null
            wait "$clamd"
        "#;
        let out = fs::File::create(self.dir.join("clamd.out")).expect("clamd's output file");
        let child = Command::new("bash")
            .args(["-c", watchdog, "clamd-watchdog"])
            .arg(&script)
            .arg(&self.dir)
            .arg(self.port.to_string())
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("clamd's output file"))
            .stderr(out)
            // Its own process group, so stop() ends the watchdog and clamd together.
            .process_group(0)
            .spawn()
            .expect("start clamd's watchdog (bash)");
        self.watchdog = Some(child);
        let started = Instant::now();
        while !self.answers_ping() {
            if let Some(Ok(Some(status))) = self.watchdog.as_mut().map(Child::try_wait) {
                panic!(
                    "clamd exited with {status} (is clamav-daemon installed? scripts/setup):\n{}",
                    self.logs()
                );
            }
            assert!(
                started.elapsed() < CLAMD_STARTUP_TIMEOUT,
                "clamd did not answer PING within {CLAMD_STARTUP_TIMEOUT:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Stops clamd and waits until its port refuses connections; `start_again` brings it back
    /// on the same port.
    pub fn stop(&mut self) {
        let Some(mut watchdog) = self.watchdog.take() else {
            return;
        };
        // The watchdog stops clamd and waits for it; whatever is left after 10 s is killed.
        let _ = Command::new("kill")
            .args(["-TERM", &watchdog.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(watchdog.try_wait(), Ok(Some(_))) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(25));
        }
        let group = format!("-{}", watchdog.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = watchdog.wait();
        while self.accepts_connections() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn accepts_connections(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    fn answers_ping(&self) -> bool {
        use std::io::Write;
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut reply = Vec::new();
        stream.write_all(b"zPING\0").is_ok()
            && stream.read_to_end(&mut reply).is_ok()
            && reply == b"PONG\0"
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        self.stop();
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// `wrangler.toml` with every `[[ratelimits]]` limit set to `limit` and its paths made
/// absolute, written into `dir`: a config for this tenant alone.
fn config_with_rate_limit(dir: &Path, limit: u32) -> PathBuf {
    let text = fs::read_to_string(root().join("wrangler.toml")).expect("wrangler.toml");
    let absolute = |value: &str| format!("\"{}\"", root().join(value).display());
    let mut changed = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if let Some(rest) = line.strip_prefix("simple = { limit = ") {
                changed += 1;
                let period = rest.split_once(',').map_or("", |(_, p)| p);
                return format!("simple = {{ limit = {limit},{period}");
            }
            for key in ["main", "directory", "migrations_dir"] {
                if let Some(value) = line.strip_prefix(&format!("{key} = \"")) {
                    return format!("{key} = {}", absolute(value.trim_end_matches('"')));
                }
            }
            line.to_owned()
        })
        .collect();
    assert!(changed > 0, "wrangler.toml declares no rate limits");
    let path = dir.join("wrangler.toml");
    fs::write(&path, lines.join("\n")).expect("write the tenant's config");
    path
}

/// Starts `wrangler dev` for the tenant whose state is in `state`, on `port`.
fn start_runtime(state: &Path, log: &Path, port: u16, options: &Options) -> Child {
    let mut cmd = tool("wrangler");
    // No request traces in the state folder (they hold whole URLs; see scripts/lib/env.sh).
    cmd.arg("dev").env("X_LOCAL_OBSERVABILITY", "false");
    if let Some(limit) = options.rate_limit {
        cmd.arg("--config")
            .arg(config_with_rate_limit(state, limit));
    }
    cmd.args(["--local", "--ip", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .args(["--inspector-port", &free_port().to_string()])
        .args(["--show-interactive-dev-session=false", "--persist-to"])
        .arg(state)
        // GET /__scheduled runs the Worker's cron handler (see `Tenant::cron`).
        .arg("--test-scheduled");
    if let Some(token) = options.ops_token {
        cmd.args(["--var", &format!("OPS_TOKEN:{token}")]);
    }
    cmd.args(["--var", &format!("AUDIT_KEY:{AUDIT_KEY}")]);
    // Links in messages (share links, unsubscribe) point back at this tenant.
    cmd.args(["--var", &format!("PUBLIC_URL:http://127.0.0.1:{port}")]);
    let clamd_port = match options.scanner {
        Scanner::Shared => Some(Clamd::shared().port()),
        Scanner::Port(port) => Some(port),
        Scanner::Unset => None,
    };
    if let Some(port) = clamd_port {
        cmd.args(["--var", "CLAMD_HOST:127.0.0.1"])
            .args(["--var", &format!("CLAMD_PORT:{port}")]);
    }
    for (name, value) in &options.vars {
        cmd.args(["--var", &format!("{name}:{value}")]);
    }
    let log_file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    cmd.stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        // Its own process group, so Drop stops wrangler and workerd together.
        .process_group(0);
    cmd.spawn().expect("start wrangler dev")
}

/// A running local tenant. Dropping it stops the runtime and deletes its state.
pub struct Tenant {
    pub base: String,
    pub state: PathBuf,
    child: Child,
    log: PathBuf,
    agent: ureq::Agent,
}

impl Tenant {
    /// A migrated tenant with the operator endpoints switched on.
    pub fn spawn() -> Self {
        Self::spawn_with(Options::default())
    }

    pub fn spawn_with(options: Options) -> Self {
        check_prerequisites();
        let state = fresh_dir("tenant");
        if options.migrated {
            copy_dir(migrated_template(), &state);
        }
        let log = state.join("wrangler.log");
        let port = free_port();
        let child = start_runtime(&state, &log, port, &options);
        // Redirects are answers to check (share pages send 303s), not to follow.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut tenant = Tenant {
            base: format!("http://127.0.0.1:{port}"),
            state,
            child,
            log,
            agent,
        };
        tenant.wait_until_listening();
        tenant
    }

    fn wait_until_listening(&mut self) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("wrangler dev exited with {status}:\n{}", self.logs());
            }
            // Only our Worker counts as up: it answers with a request id (anything else on the
            // port, such as another process's debugger, does not).
            if self
                .agent
                .get(format!("{}/healthz", self.base))
                .call()
                .is_ok_and(|r| r.headers().contains_key("x-request-id"))
            {
                return;
            }
            assert!(
                started.elapsed() < STARTUP_TIMEOUT,
                "the Worker did not answer within {STARTUP_TIMEOUT:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Everything the runtime printed so far (the Worker's log lines among it).
    pub fn logs(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// Waits for a log line containing every one of `needles`, and returns it.
    pub fn log_line_with(&self, needles: &[&str]) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self
                .logs()
                .lines()
                .find(|line| needles.iter().all(|n| line.contains(n)))
            {
                return line.to_owned();
            }
            assert!(
                started.elapsed() < AFTER_RESPONSE_TIMEOUT,
                "no log line with {needles:?} in:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// How many messages the outbox reported sending so far, once at least `count` (or the
    /// wait for work after the responses is over): the outbox runs after the response that
    /// queued a message, and logs its run once the provider answered.
    pub fn outbox_sent(&self, count: u64) -> u64 {
        let started = Instant::now();
        loop {
            let sent: u64 = self
                .log_records("outbox")
                .iter()
                .filter_map(|run| run["sent"].as_u64())
                .sum();
            if sent >= count || started.elapsed() > AFTER_RESPONSE_TIMEOUT {
                return sent;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// How many audit rows wait unsealed, read from D1 past the Worker (which would seal them).
    pub fn unsealed_audit_rows(&self) -> Value {
        self.d1_execute("SELECT count(*) AS n FROM audit_log WHERE seal IS NULL")[0]["n"].clone()
    }

    /// The Worker's structured log lines whose `msg` is `msg`, parsed, in order.
    pub fn log_records(&self, msg: &str) -> Vec<Value> {
        let needle = format!("\"msg\":\"{msg}\"");
        self.logs()
            .lines()
            .filter(|line| line.contains(&needle))
            .filter_map(log_record)
            .collect()
    }

    pub fn request(&self, method: &str, path: &str) -> Call<'_> {
        Call {
            tenant: self,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path).send()
    }

    /// Runs the Worker's scheduled handler as the cron trigger would.
    pub fn cron(&self) -> Reply {
        self.get("/__scheduled?cron=*%2F5+*+*+*+*")
    }

    /// Runs SQL on this tenant's local D1, beside the running Worker: for setting up states
    /// no request can make (e.g. a message whose handling was cut off).
    /// Answers the rows of the (last) statement.
    pub fn d1_execute(&self, sql: &str) -> Vec<Value> {
        let output = tool("wrangler")
            .args(["d1", "execute", "DB", "--local", "--json", "--persist-to"])
            .arg(&self.state)
            .args(["--command", sql])
            .output()
            .expect("run wrangler d1 execute");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "wrangler d1 execute failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answers: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("wrangler d1 execute printed {stdout:?}: {e}"));
        answers
            .as_array()
            .and_then(|all| all.last())
            .and_then(|last| last["results"].as_array())
            .cloned()
            .unwrap_or_default()
    }

    /// `POST` of a JSON body with the operator token.
    pub fn ops_post(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path)
            .bearer(OPS_TOKEN)
            .json(body)
            .send()
    }
}

impl Tenant {
    /// Stops the runtime and starts it again on the same state and port with `options`
    /// (e.g. other secrets), as a deploy of new settings would.
    pub fn restart_with(&mut self, options: Options) {
        self.stop_runtime();
        let port: u16 = self
            .base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        self.child = start_runtime(&self.state, &self.log, port, &options);
        self.wait_until_listening();
    }

    fn stop_runtime(&mut self) {
        let pgid = self.child.id() as i32;
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        self.stop_runtime();
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.state);
        } else {
            eprintln!(
                "kept the failed tenant's state and log in {}",
                self.state.display()
            );
        }
    }
}

/// A request being built.
/// The JSON object a log line carries. wrangler prints console.warn and console.error lines
/// wrapped (`▲ [WARNING] {…}` and `✘ [ERROR] {…}`, with colour codes either side).
pub fn log_record(line: &str) -> Option<Value> {
    serde_json::from_str(line.get(line.find('{')?..=line.rfind('}')?)?).ok()
}

pub struct Call<'a> {
    tenant: &'a Tenant,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub fn json(self, value: &Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(value.to_string().into_bytes())
    }

    pub fn body(mut self, bytes: Vec<u8>) -> Self {
        self.body = Some(bytes);
        self
    }

    pub fn send(self) -> Reply {
        let url = format!("{}{}", self.tenant.base, self.path);
        let mut builder = ureq::http::Request::builder()
            .method(self.method.as_str())
            .uri(&url);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(self.body.unwrap_or_default())
            .expect("a valid request");
        let mut response = self
            .tenant
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{} {url}: {e}", self.method));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(40 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy: see `bytes` for a file).
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn request_id(&self) -> &str {
        self.header("x-request-id")
            .expect("every response has X-Request-Id")
    }

    /// Asserts an RFC 9457 problem response with `status` and returns its body.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.body
        );
        let problem = self.json();
        assert_eq!(problem["status"], status);
        assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:fieldworker:problem:")),
            "{problem}"
        );
        assert!(problem["title"].is_string(), "{problem}");
        assert_eq!(problem["request_id"], self.request_id(), "{problem}");
        problem
    }
}

/// The parts of an email the local runtime "sent" (`wrangler dev` writes each message's text,
/// HTML and attachments under `.wrangler/tmp/email/<instance>/<part>/<message id>.<ext>`,
/// below the folder it runs in): `(part, content)` of every file named by `message_id`, once
/// each of the `parts` named (`email-text`, `email-html`, …) is there and reads the same twice
/// (wrangler writes them one after another, after `send()` has answered).
pub fn local_email(message_id: &str, parts: &[&str]) -> Vec<(String, String)> {
    let started = Instant::now();
    let mut previous = Vec::new();
    loop {
        let found = email_files(message_id);
        let complete = parts.iter().all(|want| {
            found
                .iter()
                .any(|(part, content)| part == want && !content.is_empty())
        });
        if (complete && found == previous) || started.elapsed() > AFTER_RESPONSE_TIMEOUT {
            return found;
        }
        previous = found;
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `(part, bytes)` of the local email files named by `message_id` (attachments are bytes), once
/// they stop changing.
pub fn local_email_files(message_id: &str) -> Vec<(String, Vec<u8>)> {
    let started = Instant::now();
    let mut previous = Vec::new();
    loop {
        let base = root().join(".wrangler/tmp/email");
        let wanted = message_id.trim_matches(|c| c == '<' || c == '>');
        let mut found = Vec::new();
        for instance in fs::read_dir(&base).into_iter().flatten().flatten() {
            for part in fs::read_dir(instance.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                for file in fs::read_dir(part.path()).into_iter().flatten().flatten() {
                    if file.file_name().to_string_lossy().contains(wanted) {
                        found.push((
                            part.file_name().to_string_lossy().into_owned(),
                            fs::read(file.path()).unwrap_or_default(),
                        ));
                    }
                }
            }
        }
        found.sort();
        if (!found.is_empty() && found == previous) || started.elapsed() > AFTER_RESPONSE_TIMEOUT {
            return found;
        }
        previous = found;
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `(part, content)` of the local email files named by `message_id`, sorted.
fn email_files(message_id: &str) -> Vec<(String, String)> {
    let base = root().join(".wrangler/tmp/email");
    let wanted = message_id.trim_matches(|c| c == '<' || c == '>');
    let mut found = Vec::new();
    for instance in fs::read_dir(&base).into_iter().flatten().flatten() {
        for part in fs::read_dir(instance.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            for file in fs::read_dir(part.path()).into_iter().flatten().flatten() {
                if file.file_name().to_string_lossy().contains(wanted) {
                    found.push((
                        part.file_name().to_string_lossy().into_owned(),
                        fs::read_to_string(file.path()).unwrap_or_default(),
                    ));
                }
            }
        }
    }
    found.sort();
    found
}

/// The files under `dir` (recursively: SQLite databases with their WAL, KV and R2 blobs, logs)
/// whose bytes hold `needle`.
pub fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if fs::read(&path)
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        {
            found.push(path);
        }
    }
    found
}
