//! Signing in and out, lockout, session lifetimes, CSRF, deactivation.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::Tenant;

/// A problem body without the members that differ per request.
fn comparable(reply: &crate::spawn::Reply) -> Value {
    let mut body = reply.json();
    let object = body.as_object_mut().expect("object");
    object.remove("request_id");
    body
}

#[test]
fn an_owner_signs_in_and_sees_their_role_and_permissions() {
    let tenant = Tenant::spawn();
    assert_eq!(
        create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status,
        201
    );
    let reply = login(&tenant, "  Olive@ACME-heating.example ", OWNER_PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let cookie = reply.header("set-cookie").expect("a session cookie");
    for part in ["fw_session=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    // Plain http on 127.0.0.1 is the only place the cookie may lack Secure.
    assert!(!cookie.contains("Secure"), "{cookie}");
    // Neither the password nor its hash comes back (`password_change_required` does).
    for secret in [OWNER_PASSWORD, "pbkdf2", "password_hash"] {
        assert!(!reply.body.contains(secret), "{}", reply.body);
    }
    assert_eq!(reply.json()["password_change_required"], false);

    let (cookie, _) = session_of(&reply);
    let me = tenant
        .request("GET", "/api/v1/me")
        .header("Cookie", &cookie)
        .send();
    assert_eq!(me.status, 200, "{}", me.body);
    let me = me.json();
    assert_eq!(me["user"]["email"], OWNER_EMAIL);
    assert_eq!(me["role"], "owner");
    assert_eq!(me["authenticated_by"], "session");
    let permissions: Vec<&str> = me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(permissions.contains(&"manage_users"), "{permissions:?}");

    let audit = tenant
        .request("GET", "/api/v1/audit?action=auth.login")
        .header("Cookie", &cookie)
        .send();
    assert_eq!(audit.status, 200, "{}", audit.body);
    let event = &audit.json()["events"][0];
    assert_eq!(event["after"]["email"], OWNER_EMAIL);
    assert_eq!(event["actor_kind"], "user");
    assert_eq!(event["actor_id"], me["user"]["id"]);
}

#[test]
fn a_wrong_password_and_an_unknown_address_look_the_same() {
    let tenant = Tenant::spawn();
    assert_eq!(
        create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status,
        201
    );
    let wrong = login(&tenant, OWNER_EMAIL, "not-the-right-password");
    let unknown = login(
        &tenant,
        "nobody@acme-heating.example",
        "not-the-right-password",
    );
    wrong.problem(401);
    unknown.problem(401);
    assert_eq!(comparable(&wrong), comparable(&unknown));
    assert_eq!(
        wrong.header("www-authenticate"),
        unknown.header("www-authenticate")
    );
    assert!(wrong.header("set-cookie").is_none());
    // No session without a password: /me refuses an anonymous caller.
    tenant.get("/api/v1/me").problem(401);
}

#[test]
fn bad_sign_in_requests_are_refused_with_problems() {
    let tenant = Tenant::spawn();
    let call = || tenant.request("POST", "/api/v1/auth/login");
    call()
        .json(&json!({ "email": "a@b.c" }))
        .send()
        .problem(400);
    call()
        .header("Content-Type", "text/plain")
        .body(b"email=a".to_vec())
        .send()
        .problem(415);
    call()
        .header("Content-Type", "application/json")
        .body(b"{\"email\":".to_vec())
        .send()
        .problem(400);
}

#[test]
fn repeated_failures_lock_an_address_until_an_owner_unlocks_it() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let tech_id = tech.user["id"].as_str().unwrap().to_owned();

    for _ in 0..4 {
        login(&tenant, "theo@acme-heating.example", "wrong-password-000").problem(401);
    }
    let locked = login(&tenant, "theo@acme-heating.example", "wrong-password-000");
    locked.problem(429);
    let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    // Locked means locked: the right password does not get in either.
    login(&tenant, "theo@acme-heating.example", "wrench-and-solder-77").problem(429);

    // An unknown address behaves the same way: no way to tell which addresses exist.
    for _ in 0..4 {
        login(&tenant, "ghost@acme-heating.example", "wrong-password-000").problem(401);
    }
    login(&tenant, "ghost@acme-heating.example", "wrong-password-000").problem(429);

    let users = owner.get("/api/v1/users").json();
    let theo = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == tech_id.as_str())
        .unwrap()
        .clone();
    assert!(theo["locked_until"].is_string(), "{theo}");

    let unlock = owner.post(&format!("/api/v1/users/{tech_id}/unlock"), &json!({}));
    assert_eq!(unlock.status, 204, "{}", unlock.body);
    assert_eq!(
        login(&tenant, "theo@acme-heating.example", "wrench-and-solder-77").status,
        200
    );

    let audit = owner.get("/api/v1/audit?limit=100").json();
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["auth.login_failed", "auth.locked", "user.unlocked"] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

#[test]
fn a_lock_ends_by_itself_and_the_next_one_lasts_longer() {
    let tenant = Tenant::spawn();
    assert_eq!(
        create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status,
        201
    );
    for _ in 0..5 {
        login(&tenant, OWNER_EMAIL, "wrong-password-000");
    }
    let first: u64 = login(&tenant, OWNER_EMAIL, OWNER_PASSWORD)
        .header("retry-after")
        .unwrap()
        .parse()
        .unwrap();
    advance_clock(&tenant, 6 * MINUTE);
    assert_eq!(login(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status, 200);
    for _ in 0..5 {
        login(&tenant, OWNER_EMAIL, "wrong-password-000");
    }
    let second: u64 = login(&tenant, OWNER_EMAIL, OWNER_PASSWORD)
        .header("retry-after")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        second > first,
        "second lock {second}s should outlast the first {first}s"
    );
}

#[test]
fn sessions_end_when_idle_and_at_their_absolute_limit() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    advance_clock(&tenant, 29 * MINUTE);
    assert_eq!(owner.get("/api/v1/me").status, 200);
    advance_clock(&tenant, 31 * MINUTE);
    owner.get("/api/v1/me").problem(401);

    // Used every 20 minutes, a session still ends 12 hours after sign-in.
    let busy = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    for _ in 0..35 {
        advance_clock(&tenant, 20 * MINUTE);
        assert_eq!(busy.get("/api/v1/me").status, 200);
    }
    advance_clock(&tenant, 20 * MINUTE);
    busy.get("/api/v1/me").problem(401);
}

#[test]
fn logging_out_revokes_the_session() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let other_device = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let out = owner.post("/api/v1/auth/logout", &json!({}));
    assert_eq!(out.status, 204, "{}", out.body);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    owner.get("/api/v1/me").problem(401);
    // Only that session: the other device stays signed in.
    assert_eq!(other_device.get("/api/v1/me").status, 200);
}

#[test]
fn cookie_requests_that_change_state_need_our_origin_and_the_csrf_token() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let body = json!({ "email": "x@acme-heating.example", "role": "viewer" });
    let path = "/api/v1/users/invites";
    let bare = |origin: Option<&str>, csrf: Option<&str>| {
        let mut call = tenant.request("POST", path).header("Cookie", &owner.cookie);
        if let Some(origin) = origin {
            call = call.header("Origin", origin);
        }
        if let Some(csrf) = csrf {
            call = call.header("X-CSRF-Token", csrf);
        }
        call.json(&body).send()
    };
    bare(None, Some(&owner.csrf)).problem(403);
    bare(Some("https://evil.example"), Some(&owner.csrf)).problem(403);
    bare(Some(&tenant.base), None).problem(403);
    bare(Some(&tenant.base), Some("wrong-token")).problem(403);
    assert_eq!(bare(Some(&tenant.base), Some(&owner.csrf)).status, 201);
    // Reads need neither.
    let read = tenant
        .request("GET", "/api/v1/me")
        .header("Cookie", &owner.cookie)
        .send();
    assert_eq!(read.status, 200);
}

#[test]
fn deactivating_a_user_cuts_off_their_open_session_at_once() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let dispatcher = member(
        &owner,
        "dee@acme-heating.example",
        "dispatcher",
        "schedule-the-boilers-9",
    );
    assert_eq!(dispatcher.get("/api/v1/me").status, 200);
    let id = dispatcher.user["id"].as_str().unwrap();
    let version = dispatcher.user["version"].as_i64().unwrap();
    let off = owner
        .request("PATCH", &format!("/api/v1/users/{id}"))
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({ "active": false }))
        .send();
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.json()["active"], false);
    dispatcher.get("/api/v1/me").problem(401);
    login(
        &tenant,
        "dee@acme-heating.example",
        "schedule-the-boilers-9",
    )
    .problem(401);
}

#[test]
fn changing_the_password_ends_every_other_session() {
    let tenant = Tenant::spawn();
    let mut owner = owner(&tenant);
    let laptop = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let weak = owner.post(
        "/api/v1/me/password",
        &json!({ "current_password": OWNER_PASSWORD, "new_password": "short" }),
    );
    weak.problem(422);
    let wrong = owner.post(
        "/api/v1/me/password",
        &json!({ "current_password": "not-my-password", "new_password": "thermostat-on-the-wall-3" }),
    );
    assert_eq!(wrong.problem(422)["errors"][0]["field"], "current_password");
    let changed = owner.post(
        "/api/v1/me/password",
        &json!({ "current_password": OWNER_PASSWORD, "new_password": "thermostat-on-the-wall-3" }),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    laptop.get("/api/v1/me").problem(401);
    owner.adopt(&changed);
    assert_eq!(owner.get("/api/v1/me").status, 200);
    login(&tenant, OWNER_EMAIL, OWNER_PASSWORD).problem(401);
    assert_eq!(
        login(&tenant, OWNER_EMAIL, "thermostat-on-the-wall-3").status,
        200
    );
}

#[test]
fn new_passwords_follow_the_rules() {
    let tenant = Tenant::spawn();
    for (password, why) in [
        ("short-pass", "too short"),
        ("passwordpassword", "too common"),
        ("111111111111", "repetitive"),
        ("olive-the-owner-password", "contains the address"),
    ] {
        let reply = create_owner(&tenant, "olive@acme-heating.example", password);
        assert_eq!(reply.status, 422, "{why}: {}", reply.body);
    }
    assert_eq!(
        create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status,
        201
    );
    assert_eq!(
        create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status,
        409
    );
}

#[test]
fn concurrent_failures_all_count_so_parallel_guessing_still_locks() {
    let tenant = Tenant::spawn();
    assert_eq!(
        create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status,
        201
    );
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let guesses: Vec<_> = (0..8)
            .map(|i| {
                let tenant = &tenant;
                scope.spawn(move || {
                    login(tenant, OWNER_EMAIL, &format!("parallel-guess-{i:04}")).status
                })
            })
            .collect();
        guesses.into_iter().map(|g| g.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429)),
        "{statuses:?}"
    );
    // Eight guesses against a limit of five: the address is locked now, whatever the timing.
    login(&tenant, OWNER_EMAIL, OWNER_PASSWORD).problem(429);
}

#[test]
fn many_failures_from_one_ip_throttle_it_for_every_address() {
    let tenant = Tenant::spawn();
    assert_eq!(
        create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status,
        201
    );
    // Locally every request comes from 127.0.0.1; 30 failures over many addresses (each
    // below its own limit) throttle the IP.
    for i in 0..30 {
        let reply = login(
            &tenant,
            &format!("guess{}@acme-heating.example", i % 10),
            "wrong-password-000",
        );
        assert!(matches!(reply.status, 401 | 429), "{}", reply.body);
    }
    login(&tenant, OWNER_EMAIL, OWNER_PASSWORD).problem(429);
}

#[test]
fn an_operator_unlocks_the_only_owner_with_scripts_admin() {
    let tenant = Tenant::spawn();
    let _owner = owner(&tenant);
    for _ in 0..5 {
        login(&tenant, OWNER_EMAIL, "wrong-password-000");
    }
    login(&tenant, OWNER_EMAIL, OWNER_PASSWORD).problem(429);

    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let admin = |email: &str| {
        std::process::Command::new("bash")
            .arg(root.join("scripts/admin"))
            .args(["unlock", "--email", email, "--url", &tenant.base])
            .env("OPS_TOKEN", crate::spawn::OPS_TOKEN)
            .output()
            .expect("bash runs scripts/admin")
    };
    let unlocked = admin(OWNER_EMAIL);
    let said = String::from_utf8_lossy(&unlocked.stdout).into_owned()
        + &String::from_utf8_lossy(&unlocked.stderr);
    assert!(unlocked.status.success(), "{said}");
    assert!(said.contains("unlocked"), "{said}");
    assert_eq!(login(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status, 200);
    // An address without an account is said so (exit 3), and nothing is written.
    assert_eq!(admin("nobody@acme-heating.example").status.code(), Some(3));
    // Audited as the system, naming the operator.
    let audited = tenant.d1_execute(
        "SELECT actor_kind, json_extract(after, '$.by') AS by FROM audit_log \
         WHERE action = 'user.unlocked'",
    );
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["actor_kind"], "system");
    assert_eq!(audited[0]["by"], "operator");
    // The operator route itself refuses anyone without the operator token.
    tenant
        .request("POST", "/ops/unlock")
        .json(&json!({ "email": OWNER_EMAIL }))
        .send()
        .problem(401);
}

/// The `fw_device=…` cookie a sign-in's answer sets, if any.
pub(crate) fn device_cookie(reply: &crate::spawn::Reply) -> Option<String> {
    reply
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .find_map(|(_, value)| value.strip_prefix("fw_device="))
        .map(|rest| format!("fw_device={}", rest.split(';').next().unwrap_or_default()))
}

pub(crate) fn login_from(
    tenant: &Tenant,
    cookie: &str,
    email: &str,
    password: &str,
) -> crate::spawn::Reply {
    tenant
        .request("POST", "/api/v1/auth/login")
        .header("Cookie", cookie)
        .json(&json!({ "email": email, "password": password }))
        .send()
}

#[test]
fn strangers_lock_an_account_out_but_its_own_browsers_still_sign_in_and_are_told() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech_email = "theo@acme-heating.example";
    let tech_password = "wrench-and-solder-77";
    member(&owner, tech_email, "technician", tech_password);
    // Theo signs in from his phone once: it is trusted for his account from now on.
    let first = login(&tenant, tech_email, tech_password);
    assert_eq!(first.status, 200, "{}", first.body);
    let phone = device_cookie(&first).expect("a sign-in sets the device cookie");
    let set = first
        .headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("fw_device="))
        .unwrap()
        .1
        .clone();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );

    // A burst of 40 wrong passwords from strangers: five evaluated, none a 5xx, account locked.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let guesses: Vec<_> = (0..40)
            .map(|i| {
                let tenant = &tenant;
                scope
                    .spawn(move || login(tenant, tech_email, &format!("burst-guess-{i:04}")).status)
            })
            .collect();
        guesses.into_iter().map(|g| g.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429)),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 401).count() <= 5,
        "{statuses:?}"
    );
    login(&tenant, tech_email, tech_password).problem(429);

    // Theo is told by email (Cloudflare Email Service's local binding), once.
    tenant.log_line_with(&["\"msg\":\"outbox\"", "\"sent\":1"]);
    let message_id = tenant.log_records("outbox")[0]["message_ids"][0]
        .as_str()
        .expect("a message id")
        .to_owned();
    let parts = crate::spawn::local_email(&message_id, &["email-text", "email-html"]);
    let part = |name: &str| {
        parts
            .iter()
            .find(|(p, _)| p.contains(name))
            .map(|(_, text)| text.clone())
            .unwrap_or_else(|| panic!("no {name} part in {parts:?}"))
    };
    let text = part("text");
    assert!(
        text.contains("Someone entered a wrong password for your account 5 times"),
        "{text}"
    );
    assert!(part("html").contains("Your account was locked after failed sign-ins"));
    let mail_line = tenant.log_line_with(&["send_email binding called"]);
    assert!(!mail_line.is_empty());
    assert!(tenant.logs().contains(tech_email), "sent to Theo");

    // His phone still gets in, with the right password only.
    let from_phone = login_from(&tenant, &phone, tech_email, tech_password);
    assert_eq!(from_phone.status, 200, "{}", from_phone.body);
    let theo = Browser::from_reply(&tenant, &from_phone);

    // A device cookie proves nothing for another account: the owner, locked by strangers too,
    // stays locked for Theo's phone.
    for i in 0..5 {
        login(&tenant, OWNER_EMAIL, &format!("owner-guess-{i:04}"));
    }
    login_from(&tenant, &phone, OWNER_EMAIL, OWNER_PASSWORD).problem(429);
    // A forged cookie is ignored.
    login_from(
        &tenant,
        "fw_device=abcdefghijklmnopqrstuv.0123456789abcdef0123456789abcdef",
        tech_email,
        tech_password,
    )
    .problem(429);

    // Theo is told, once per lock, in the app: the bell counts it and the page shows it.
    let notices = theo.get("/api/v1/me/notifications");
    assert_eq!(notices.status, 200, "{}", notices.body);
    let notices = notices.json();
    assert_eq!(notices["unread"], 1, "{notices}");
    let notice = &notices["notifications"][0];
    assert_eq!(notice["kind"], "account_locked", "{notice}");
    assert!(notice["data"]["until"].is_string(), "{notice}");
    let page = theo.get("/schedule");
    assert!(
        page.body.contains("Notices: 1 unread"),
        "the bell shows the count"
    );
    let listing = theo.get("/notifications");
    assert_eq!(listing.status, 200);
    assert!(listing
        .body
        .contains("Your account was locked after failed sign-ins"));
    let read = theo.post("/api/v1/me/notifications/read", &json!({}));
    assert_eq!(read.status, 204, "{}", read.body);
    assert_eq!(theo.get("/api/v1/me/notifications").json()["unread"], 0);

    // The phone has a cap of its own: five wrong passwords lock the phone out as well.
    for i in 0..5 {
        let reply = login_from(&tenant, &phone, tech_email, &format!("typo-{i:04}"));
        assert!(matches!(reply.status, 401 | 429), "{}", reply.body);
    }
    login_from(&tenant, &phone, tech_email, tech_password).problem(429);
}
