//! The served OpenAPI document, checked by tools from the package registries against a fresh
//! tenant: `openapi-spec-validator` validates it, and `schemathesis` sends property-based
//! requests to every operation (as the owner, with a personal access token, every webhook
//! configured) and checks each answer against the document. Both come from `.venv/`, which
//! `scripts/setup` installs from `tests/fuzz/requirements.txt`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};

use crate::people::*;
use crate::quotes::act;
use crate::spawn::{log_record, Options, Tenant};

/// Operations left out of the random run (by operationId), and why. Every other operation in
/// the document is fuzzed; the test fails if a name here leaves the document or a new operator
/// route is not listed.
const EXCLUDED: &[(&str, &str)] = &[
    (
        "OpsClock",
        "operator route: moving the clock expires the fuzzer's token",
    ),
    (
        "OpsCreateOwner",
        "operator route: provisioning, not the tenant's API",
    ),
    (
        "OpsPanic",
        "operator route: panics on purpose, a 500 is its answer",
    ),
    (
        "OpsAuditVerify",
        "operator route: a restore drill's verification (backups.rs)",
    ),
    (
        "OpsMaintenance",
        "operator route: maintenance would answer every fuzzed call 503 (backups.rs)",
    ),
    (
        "OpsRestored",
        "operator route: covered by its own test (backups.rs)",
    ),
    (
        "OpsUnlock",
        "operator route: covered by its own test (signin.rs)",
    ),
    (
        "OpsSelfcheck",
        "operator route: the operator's health probe",
    ),
    (
        "OpsSupportRequest",
        "operator route: covered by its own test (support.rs)",
    ),
    (
        "OpsPersonalData",
        "operator route: covered by its own test (personal_data.rs)",
    ),
    (
        "OpsRotateKeys",
        "operator route: covered by its own test (personal_data.rs)",
    ),
    (
        "OpsSealPersonalData",
        "operator route: covered by its own test (personal_data.rs)",
    ),
    (
        "OpsReplayErasures",
        "operator route: covered by its own test (personal_data.rs)",
    ),
    (
        "OpsRecoverOwner",
        "operator route: covered by its own test (support.rs); would end the fuzzer's session",
    ),
    (
        "RevokeToken",
        "could revoke the token the fuzzer authenticates with",
    ),
    (
        "Logout",
        "ends the session or token the fuzzer authenticates with",
    ),
    (
        "UpdateSettings",
        "can require MFA company-wide, which shuts the token out",
    ),
    (
        "UpdateUser",
        "can deactivate or demote the fuzzer's own user",
    ),
    ("MfaConfirm", "switches MFA on for the fuzzer's user"),
    ("MfaDisable", "changes the fuzzer's user's sign-in factors"),
    (
        "ChangePassword",
        "changes the fuzzer's user's password and ends its sessions",
    ),
    (
        "DeleteAccount",
        "would delete the fuzzer's own account (covered by account_deletion.rs)",
    ),
];

/// The checks every answer must pass.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance";

/// The random run's budget: examples per operation, and a cap on the whole run in seconds.
const MAX_EXAMPLES: &str = "25";
const MAX_TIME_SECS: &str = "120";

/// Every webhook switched on, and every outbound API pointed at a closed local port, so
/// nothing the fuzzer triggers leaves the machine.
fn webhook_vars() -> Vec<(String, String)> {
    let closed = "http://127.0.0.1:9".to_owned();
    [
        (
            "TELEGRAM_WEBHOOK_SECRET",
            "fuzz-telegram-secret_0123456789".to_owned(),
        ),
        ("TELEGRAM_BOT_TOKEN", "42:FUZZ".to_owned()),
        ("TELEGRAM_API_BASE", closed.clone()),
        ("TWILIO_AUTH_TOKEN", "fuzz-twilio-auth-token".to_owned()),
        (
            "TWILIO_SIGNING_KEYS",
            "SK0123:fuzz-twilio-signing-key".to_owned(),
        ),
        ("TWILIO_ACCOUNT_SID", "AC0123".to_owned()),
        ("TWILIO_FROM_NUMBER", "+15005550006".to_owned()),
        ("TWILIO_API_BASE", closed.clone()),
        ("STRIPE_WEBHOOK_SECRET", "whsec_fuzz0123456789".to_owned()),
        ("STRIPE_SECRET_KEY", "sk_test_fuzz".to_owned()),
        ("STRIPE_API_BASE", closed),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

fn venv_tool(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup (it installs tests/fuzz/requirements.txt into .venv)",
        path.display()
    );
    path
}

fn id_of(reply: &crate::spawn::Reply) -> String {
    assert!(
        matches!(reply.status, 200 | 201),
        "{}: {}",
        reply.status,
        reply.body
    );
    reply.json()["id"].as_str().expect("id").to_owned()
}

/// Runs `cmd`, echoing its output as it comes (for `--nocapture`) and keeping it.
fn run(mut cmd: Command) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let mut stderr = child.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut output = String::new();
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line = line.unwrap_or_default();
        println!("{line}");
        output.push_str(&line);
        output.push('\n');
    }
    let status = child.wait().expect("wait");
    output.push_str(&errors.join().unwrap_or_default());
    (status.success(), output)
}

/// Whether `path` is an instance of the document's `template` (`/jobs/{id}` and `/jobs/7`).
fn matches_template(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (template, path): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| *t == *p || (t.starts_with('{') && t.ends_with('}') && !p.is_empty()))
}

#[test]
fn the_openapi_document_is_valid_and_every_operation_answers_as_it_says() {
    let validator = venv_tool("openapi-spec-validator");
    let schemathesis = venv_tool("schemathesis");

    // The fuzzer sends thousands of requests a minute with one token: far past the real
    // limits, which it would then mostly measure.
    let tenant = Tenant::spawn_with(Options {
        vars: webhook_vars(),
        rate_limit: Some(1_000_000),
        ..Options::default()
    });
    let owner = owner(&tenant);
    let created = owner.post(
        "/api/v1/tokens",
        &json!({ "name": "openapi fuzzer", "expires_in_days": 1 }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.json()["token"].as_str().expect("token").to_owned();
    let bearer = |method: &str, path: &str| tenant.request(method, path).bearer(&token);
    let me = bearer("GET", "/api/v1/me").send();
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["role"], "owner");

    // A little of everything, so operations on an id reach a real record.
    let customer = id_of(&owner.post("/api/v1/customers", &json!({ "name": "Ada Lovelace" })));
    let site = id_of(&owner.post(
        &format!("/api/v1/customers/{customer}/sites"),
        &json!({ "line1": "1 Main St" }),
    ));
    let job = id_of(&owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": customer, "title": "Boiler service" }),
    ));
    let quote = id_of(&owner.post(
        "/api/v1/quotes",
        &json!({ "job_id": job, "title": "Boiler service" }),
    ));
    let invoice = id_of(&owner.post("/api/v1/invoices", &json!({ "job_id": job })));
    let visit = owner.post(
        &format!("/api/v1/jobs/{job}/visits"),
        &json!({ "start": "2030-06-11T08:00:00Z", "end": "2030-06-11T09:00:00Z" }),
    );
    assert_eq!(visit.status, 201, "{}", visit.body);
    let visit = visit.json()["visits"][0]["id"]
        .as_str()
        .expect("visit id")
        .to_owned();
    // A sent quote with two share links: one for the share pages (a made-up token there is
    // a miss, and misses are rate limited), one for the revocation.
    let sent = id_of(&owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer, "title": "Radiators",
                 "lines": [{ "description": "Radiator", "quantity_milli": 1000, "unit_price": 90_000 }] }),
    ));
    let send = act(
        &owner,
        "POST",
        &format!("/api/v1/quotes/{sent}/send"),
        1,
        None,
    );
    assert_eq!(send.status, 200, "{}", send.body);
    let share = || {
        let link = owner
            .request("POST", &format!("/api/v1/quotes/{sent}/share"))
            .send();
        assert_eq!(link.status, 201, "{}", link.body);
        link.json()
    };
    let page = share()["token"].as_str().expect("token").to_owned();
    let link = share()["id"].as_str().expect("id").to_owned();
    let user = owner.user["id"].as_str().expect("user id").to_owned();

    // The document as served, validated as OpenAPI 3.1.
    let document = tenant.get("/api/v1/openapi.json");
    assert_eq!(document.status, 200, "{}", document.body);
    let spec: Value = document.json();
    let spec_file = tenant.state.join("openapi.json");
    std::fs::write(&spec_file, &document.body).expect("write openapi.json");
    let mut validate = Command::new(&validator);
    validate.arg(&spec_file);
    let (valid, output) = run(validate);
    assert!(
        valid,
        "openapi-spec-validator refused the document:\n{output}"
    );

    // The exclusions name operations that exist, and cover every operator route.
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if let Some(id) = operation["operationId"].as_str() {
                operations.push((method.to_uppercase(), path.clone(), id.to_owned()));
            }
        }
    }
    for (id, _) in EXCLUDED {
        assert!(
            operations.iter().any(|(_, _, o)| o == id),
            "EXCLUDED names {id}, which the document no longer has"
        );
    }
    for (method, path, id) in &operations {
        assert!(
            !path.starts_with("/ops/") || EXCLUDED.iter().any(|(e, _)| e == id),
            "{method} {path} ({id}) is an operator route: add it to EXCLUDED"
        );
    }

    // The seeded records' ids, for the operations that take one.
    let config = tenant.state.join("schemathesis.toml");
    let mut toml = String::from("[cache]\nenabled = false\n");
    for (path_regex, id) in [
        ("^/api/v1/customers/\\\\{id\\\\}", &customer),
        ("^/api/v1/sites/\\\\{id\\\\}", &site),
        ("^/api/v1/jobs/\\\\{id\\\\}", &job),
        ("^/api/v1/quotes/\\\\{id\\\\}", &quote),
        ("^/api/v1/invoices/\\\\{id\\\\}", &invoice),
        ("^/api/v1/visits/\\\\{id\\\\}", &visit),
        ("^/api/v1/share-links/\\\\{id\\\\}", &link),
        ("^/api/v1/users/\\\\{id\\\\}/unlock", &user),
    ] {
        toml.push_str(&format!(
            "\n[[operations]]\ninclude-path-regex = \"{path_regex}\"\nparameters = {{ \"path.id\" = \"{id}\" }}\n"
        ));
    }
    toml.push_str(&format!(
        "\n[[operations]]\ninclude-path-regex = \"^/s/\"\nparameters = {{ \"path.token\" = \"{page}\" }}\n"
    ));
    std::fs::write(&config, toml).expect("write schemathesis.toml");

    let mut fuzz = Command::new(&schemathesis);
    fuzz.current_dir(&tenant.state)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/api/v1/openapi.json", tenant.base)])
        .args(["--url", &tenant.base])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", MAX_EXAMPLES, "--max-time", MAX_TIME_SECS])
        .arg("--generation-deterministic")
        .args(["--generation-with-security-parameters", "false"])
        .args(["--workers", "1", "--no-color"])
        .arg("--report")
        .arg("junit")
        .arg("--report-dir")
        .arg(tenant.state.join("schemathesis-report"));
    for (id, _) in EXCLUDED {
        fuzz.args(["--exclude-operation-id", id]);
    }
    let log_before = tenant.logs().len();
    let started = Instant::now();
    let (passed, output) = run(fuzz);
    println!("schemathesis ran for {:.0?}", started.elapsed());

    // What the Worker logged of the run: it reached the tenant, mostly authenticated, and
    // never called an excluded operation.
    let requests: Vec<(String, String, u64)> = tenant.logs()[log_before..]
        .lines()
        .filter_map(log_record)
        .filter(|entry| entry["msg"] == "request")
        .map(|entry| {
            (
                entry["method"].as_str().unwrap_or_default().to_owned(),
                entry["path"].as_str().unwrap_or_default().to_owned(),
                entry["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let unauthorized = requests.iter().filter(|r| r.2 == 401).count();
    println!(
        "the Worker logged {} requests of the run, {unauthorized} of them answered 401",
        requests.len()
    );
    assert!(requests.len() > 1_000, "the run barely reached the tenant");
    assert!(
        unauthorized * 5 < requests.len(),
        "{unauthorized} of {} requests were refused as unauthenticated: is the token sent?",
        requests.len()
    );
    for (method, template, id) in &operations {
        if EXCLUDED.iter().any(|(e, _)| e == id) {
            let hit = requests
                .iter()
                .find(|(m, path, _)| m == method && matches_template(template, path));
            assert!(hit.is_none(), "the run called excluded {id}: {hit:?}");
        }
    }

    let summary = output
        .find("=== SUMMARY")
        .or_else(|| output.find("FAILURES"))
        .map_or(output.as_str(), |at| &output[at..]);
    // The run could not have locked itself out: the token still acts as the owner.
    let address = tenant.base.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(address).is_ok(),
        "the tenant stopped answering during the run:\n{summary}"
    );
    let me = bearer("GET", "/api/v1/me").send();
    assert_eq!(
        me.status, 200,
        "the fuzzer's token stopped working: {}",
        me.body
    );
    assert_eq!(me.json()["role"], "owner");
    assert!(passed, "schemathesis reported failures:\n{summary}");
}
