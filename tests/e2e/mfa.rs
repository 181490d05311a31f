//! Two-factor sign-in: enrolment, the two-step login, code reuse, recovery codes, enforcement.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::Tenant;

/// Enrols the browser's user (whose password is `password`, asked again when the session is
/// older than ten minutes); returns (secret, recovery codes). Uses the code of the current
/// time step, so callers wait for the next step before signing in with a code.
fn enrol(browser: &mut Browser<'_>, password: &str, clock_offset_ms: u64) -> (String, Vec<String>) {
    let started = browser.post("/api/v1/me/mfa/enroll", &json!({ "password": password }));
    assert_eq!(started.status, 200, "{}", started.body);
    let started = started.json();
    let secret = started["secret"].as_str().unwrap().to_owned();
    let uri = started["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/fieldworker:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=fieldworker"), "{uri}");
    assert!(secret.len() >= 32, "160-bit secret expected: {secret}");

    let wrong = browser.post(
        "/api/v1/me/mfa/confirm",
        &json!({ "code": "000000", "password": password }),
    );
    if wrong.status != 200 {
        wrong.problem(422);
    }
    let code = totp(&secret, worker_now_secs(clock_offset_ms));
    let confirmed = browser.post(
        "/api/v1/me/mfa/confirm",
        &json!({ "code": code, "password": password }),
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let codes: Vec<String> = confirmed.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    browser.adopt(&confirmed);
    (secret, codes)
}

fn challenge_of(reply: &crate::spawn::Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(
        reply.header("set-cookie").is_none(),
        "no session before the second step"
    );
    body["challenge"].as_str().unwrap().to_owned()
}

fn second_step(tenant: &Tenant, challenge: &str, field: &str, value: &str) -> crate::spawn::Reply {
    tenant
        .request("POST", "/api/v1/auth/login/mfa")
        .json(&json!({ "challenge": challenge, field: value }))
        .send()
}

#[test]
fn enrolment_then_a_two_step_sign_in_with_a_code_that_cannot_be_reused() {
    let tenant = Tenant::spawn();
    let mut owner = owner(&tenant);
    // Run well inside the clock's future so the enrolment code's step is behind us.
    let offset = 10 * MINUTE;
    advance_clock(&tenant, offset);
    let (secret, _) = enrol(&mut owner, OWNER_PASSWORD, offset);
    assert_eq!(owner.get("/api/v1/me").json()["user"]["mfa_enabled"], true);

    // Two steps later, a fresh code.
    let offset = offset + MINUTE;
    advance_clock(&tenant, MINUTE);
    let challenge = challenge_of(&login(&tenant, OWNER_EMAIL, OWNER_PASSWORD));
    second_step(&tenant, &challenge, "code", "123").problem(401);
    let code = totp(&secret, worker_now_secs(offset));
    let signed_in = second_step(&tenant, &challenge, "code", &code);
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let (cookie, _) = session_of(&signed_in);
    assert_eq!(
        tenant
            .request("GET", "/api/v1/me")
            .header("Cookie", &cookie)
            .send()
            .status,
        200
    );

    // The challenge is spent, and the same code cannot open another session.
    second_step(&tenant, &challenge, "code", &code).problem(401);
    let again = challenge_of(&login(&tenant, OWNER_EMAIL, OWNER_PASSWORD));
    second_step(&tenant, &again, "code", &code).problem(401);
}

#[test]
fn a_recovery_code_signs_in_once() {
    let tenant = Tenant::spawn();
    let mut owner = owner(&tenant);
    let (_, codes) = enrol(&mut owner, OWNER_PASSWORD, 0);
    let challenge = challenge_of(&login(&tenant, OWNER_EMAIL, OWNER_PASSWORD));
    let typed = codes[3].to_uppercase().replace('-', " ");
    let signed_in = second_step(&tenant, &challenge, "recovery_code", &typed);
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let (cookie, _) = session_of(&signed_in);
    let me = tenant
        .request("GET", "/api/v1/me")
        .header("Cookie", &cookie)
        .send();
    assert_eq!(me.json()["recovery_codes_left"], 9);
    let challenge = challenge_of(&login(&tenant, OWNER_EMAIL, OWNER_PASSWORD));
    second_step(&tenant, &challenge, "recovery_code", &codes[3]).problem(401);
    assert_eq!(
        second_step(&tenant, &challenge, "recovery_code", &codes[4]).status,
        200
    );
}

#[test]
fn a_challenge_expires_after_five_minutes() {
    let tenant = Tenant::spawn();
    let mut owner = owner(&tenant);
    let (secret, _) = enrol(&mut owner, OWNER_PASSWORD, 0);
    let challenge = challenge_of(&login(&tenant, OWNER_EMAIL, OWNER_PASSWORD));
    advance_clock(&tenant, 6 * MINUTE);
    let code = totp(&secret, worker_now_secs(6 * MINUTE));
    second_step(&tenant, &challenge, "code", &code).problem(401);
}

#[test]
fn when_the_company_requires_mfa_members_without_it_must_enrol_first() {
    let tenant = Tenant::spawn();
    let mut owner = owner(&tenant);
    enrol(&mut owner, OWNER_PASSWORD, 0);
    let mut dispatcher = member(
        &owner,
        "dee@acme-heating.example",
        "dispatcher",
        "schedule-the-boilers-9",
    );

    let settings = owner.get("/api/v1/settings");
    assert_eq!(settings.status, 200, "{}", settings.body);
    let etag = settings.header("etag").unwrap().to_owned();
    let required = owner
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", &etag)
        .json(&json!({ "mfa_required": true }))
        .send();
    assert_eq!(required.status, 200, "{}", required.body);

    let blocked = dispatcher.get("/api/v1/users").problem(403);
    assert_eq!(blocked["mfa_enrolment_required"], true);
    let me: Value = dispatcher.get("/api/v1/me").json();
    assert_eq!(me["mfa_enrolment_required"], true);
    enrol(&mut dispatcher, "schedule-the-boilers-9", 0);
    assert_eq!(dispatcher.get("/api/v1/users").status, 200);
    // And it cannot be switched off while required.
    dispatcher
        .post("/api/v1/me/mfa/disable", &json!({ "code": "000000" }))
        .problem(409);
}

#[test]
fn a_burst_of_forty_wrong_codes_gets_at_most_five_checked_and_the_right_code_then_fails() {
    let tenant = Tenant::spawn();
    let mut owner = owner(&tenant);
    let offset = 10 * MINUTE;
    advance_clock(&tenant, offset);
    let (secret, _) = enrol(&mut owner, OWNER_PASSWORD, offset);
    let offset = offset + MINUTE;
    advance_clock(&tenant, MINUTE);
    let challenge = challenge_of(&login(&tenant, OWNER_EMAIL, OWNER_PASSWORD));
    let right = totp(&secret, worker_now_secs(offset));
    let wrong: Vec<String> = (0..40)
        .map(|i| format!("{:06}", (right.parse::<u32>().unwrap() + 1 + i) % 1_000_000))
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let sent: Vec<_> = wrong
            .iter()
            .map(|code| scope.spawn(|| second_step(&tenant, &challenge, "code", code).status))
            .collect();
        sent.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| [401, 429].contains(s)),
        "{statuses:?}"
    );
    let checked = tenant.d1_execute(
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'auth.login_failed' \
         AND json_extract(after, '$.reason') = 'wrong_code'",
    );
    assert!(checked[0]["n"].as_u64().unwrap() <= 5, "{checked:?}");
    // The right code no longer opens this challenge: it was burnt, or the address locked.
    let late = second_step(&tenant, &challenge, "code", &right);
    assert!(
        [401, 429].contains(&late.status),
        "{}: {}",
        late.status,
        late.body
    );
}

#[test]
fn security_changes_need_a_session_and_a_fresh_password_and_count_as_attempts() {
    let tenant = Tenant::spawn();
    let mut owner = owner(&tenant);
    let made = owner.post("/api/v1/tokens", &json!({ "name": "script" }));
    assert_eq!(made.status, 201, "{}", made.body);
    let token = made.json()["token"].as_str().unwrap().to_owned();
    // 90 days unless told otherwise.
    let expires = made.json()["expires_at"].as_str().unwrap().to_owned();
    let created = made.json()["created_at"].as_str().unwrap().to_owned();
    let days = |at: &str| at[..10].to_owned();
    assert_ne!(days(&expires), days(&created));

    // A token can neither enrol, nor switch two-factor off, nor make tokens, nor change the
    // password, whatever it sends.
    let by_token = |path: &str, body: Value| {
        tenant
            .request("POST", path)
            .bearer(&token)
            .json(&body)
            .send()
            .problem(403)
    };
    by_token(
        "/api/v1/me/mfa/enroll",
        json!({ "password": OWNER_PASSWORD }),
    );
    by_token(
        "/api/v1/me/mfa/disable",
        json!({ "code": "000000", "password": OWNER_PASSWORD }),
    );
    by_token(
        "/api/v1/tokens",
        json!({ "name": "more", "password": OWNER_PASSWORD }),
    );
    by_token(
        "/api/v1/me/password",
        json!({ "current_password": OWNER_PASSWORD, "new_password": "thermostat-on-the-wall-3" }),
    );

    // Eleven minutes after signing in, the session must give its password again.
    advance_clock(&tenant, 11 * MINUTE);
    let asked = owner
        .post("/api/v1/tokens", &json!({ "name": "late" }))
        .problem(422);
    assert_eq!(asked["errors"][0]["field"], "password", "{asked}");
    let wrong = owner
        .post(
            "/api/v1/tokens",
            &json!({ "name": "late", "password": "not-it-at-all" }),
        )
        .problem(422);
    assert_eq!(wrong["errors"][0]["field"], "password", "{wrong}");
    let (secret, _) = enrol(&mut owner, OWNER_PASSWORD, 11 * MINUTE);

    // Forty wrong codes at once to switch two-factor off: at most five are checked, the rest
    // are refused before checking, none fails, and the account is then locked.
    advance_clock(&tenant, MINUTE);
    let offset = 12 * MINUTE;
    let right = totp(&secret, worker_now_secs(offset));
    let wrong: Vec<String> = (0..40)
        .map(|i| format!("{:06}", (right.parse::<u32>().unwrap() + 1 + i) % 1_000_000))
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let sent: Vec<_> = wrong
            .iter()
            .map(|code| {
                let owner = &owner;
                scope.spawn(move || {
                    owner
                        .post(
                            "/api/v1/me/mfa/disable",
                            &json!({ "code": code, "password": OWNER_PASSWORD }),
                        )
                        .status
                })
            })
            .collect();
        sent.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| [422, 429].contains(s)),
        "{statuses:?}"
    );
    let checked = tenant.d1_execute(
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'auth.login_failed' \
         AND json_extract(after, '$.reason') IN ('reauth_code', 'reauth_password')",
    );
    // The wrong password above, then at most five codes.
    assert!(checked[0]["n"].as_u64().unwrap() <= 6, "{checked:?}");
    let late = owner.post(
        "/api/v1/me/mfa/disable",
        &json!({ "code": right, "password": OWNER_PASSWORD }),
    );
    assert_eq!(late.status, 429, "{}", late.body);
    assert!(late.header("retry-after").is_some());
    assert_eq!(owner.get("/api/v1/me").json()["user"]["mfa_enabled"], true);
}
