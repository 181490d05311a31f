//! Support access, promise by promise: the operator asks, an owner approves (or the company
//! pre-approves read-only requests), the emailed single-use link starts a session of its own
//! kind, whose refusals hold whatever its scope says, whose every action is in the audit
//! trail, which owners can end in one click and which ends by itself at its deadline. And the
//! operator's other way in, `/ops/owners`, makes the first owner only; a sole owner who lost
//! everything is recovered by a link to their own address.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{local_email, Call, Reply, Tenant, AFTER_RESPONSE_TIMEOUT};

const SUPPORT_EMAIL: &str = "sam@support.example";

fn ask(tenant: &Tenant, scope: &[&str], minutes: i64) -> Reply {
    tenant.ops_post(
        "/ops/support",
        &json!({
            "person_name": "Sam Support",
            "person_email": SUPPORT_EMAIL,
            "reason": "Invoice totals look wrong on the customer's page",
            "ticket": "T-4512",
            "scope": scope,
            "duration_minutes": minutes,
        }),
    )
}

/// The emailed message of `kind` to `recipient` (an address, or a user's id), once the outbox
/// sent it: its text part. A recipient stored sealed (DESIGN.md §9) cannot be compared in SQL:
/// a user's mail is found by the user's id, anyone else's as the newest sealed one of the kind.
fn sent_mail(tenant: &Tenant, kind: &str, recipient: &str) -> String {
    let started = Instant::now();
    loop {
        let rows = tenant.d1_execute(&format!(
            "SELECT status, provider_id FROM outbox WHERE kind = '{kind}' AND (recipient = \
             '{recipient}' OR (entity = 'user' AND entity_id = '{recipient}') \
             OR (recipient LIKE 'fwe1.%' AND '{recipient}' LIKE '%@%')) \
             ORDER BY created_at DESC LIMIT 1"
        ));
        if let Some(row) = rows.first().filter(|r| r["status"] == "sent") {
            let id = row["provider_id"]
                .as_str()
                .expect("a message id")
                .to_owned();
            let parts = local_email(&id, &["email-text"]);
            return parts
                .into_iter()
                .find(|(part, _)| part.contains("text"))
                .map(|(_, text)| text)
                .unwrap_or_else(|| panic!("no text part of {id}"));
        }
        assert!(
            started.elapsed() < AFTER_RESPONSE_TIMEOUT * 2,
            "no {kind} mail to {recipient} was sent: {rows:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The path (`/support/…`, `/recover/…`) of the link in a mail's text.
fn link_path(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

/// The support person's browser: the session cookie the link's form started, and the CSRF
/// token from the page it lands on.
struct Support<'a> {
    tenant: &'a Tenant,
    cookie: String,
    csrf: String,
}

impl<'a> Support<'a> {
    fn start(tenant: &'a Tenant, path: &str) -> Self {
        let page = tenant.get(path);
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("Start the support session"),
            "{}",
            page.body
        );
        let started = tenant
            .request("POST", path)
            .header("Origin", &tenant.base)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(Vec::new())
            .send();
        assert_eq!(started.status, 303, "{}", started.body);
        assert_eq!(started.header("location"), Some("/schedule"));
        let cookie = started
            .header("set-cookie")
            .expect("a session cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut support = Support {
            tenant,
            cookie,
            csrf: String::new(),
        };
        let schedule = support.get("/schedule");
        assert_eq!(schedule.status, 200, "{}", schedule.body);
        let marker = "name=\"csrf-token\" content=\"";
        let at = schedule.body.find(marker).expect("the page's CSRF token") + marker.len();
        support.csrf = schedule.body[at..].split('"').next().unwrap().to_owned();
        support
    }

    fn request(&self, method: &str, path: &str) -> Call<'a> {
        self.tenant
            .request(method, path)
            .header("Cookie", &self.cookie)
            .header("Origin", &self.tenant.base)
            .header("X-CSRF-Token", &self.csrf)
    }

    fn get(&self, path: &str) -> Reply {
        self.request("GET", path).send()
    }

    fn post(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path).json(body).send()
    }
}

/// The owner lets read-only sessions through without waiting for a decision.
fn preapprove_read_only(olive: &Browser<'_>) {
    let settings = olive.get("/api/v1/settings").json();
    let set = olive
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", &format!("\"{}\"", settings["version"]))
        .json(&json!({ "support_preapprove_read_only": true }))
        .send();
    assert_eq!(set.status, 200, "{}", set.body);
}

fn versioned(browser: &Browser<'_>, path: &str, version: i64) -> Reply {
    browser
        .request("POST", path)
        .header("If-Match", &format!("\"{version}\""))
        .send()
}

fn kinds(browser: &Browser<'_>) -> Vec<String> {
    browser.get("/api/v1/me/notifications").json()["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn support_is_asked_approved_restricted_recorded_and_ended_by_an_owner() {
    let tenant = Tenant::spawn();
    let olive = owner(&tenant);
    let dispatcher = member(
        &olive,
        "dee@acme-heating.example",
        "dispatcher",
        "dispatch-the-vans-7",
    );
    let customer = olive.post("/api/v1/customers", &json!({ "name": "Ann Lee" }));
    assert_eq!(customer.status, 201, "{}", customer.body);
    let customer_id = customer.json()["id"].as_str().unwrap().to_owned();
    let site = olive.post(
        &format!("/api/v1/customers/{customer_id}/sites"),
        &json!({ "line1": "1 Canal St" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);

    // Requests are checked: at most 4 hours, scopes that exist, the operator's token.
    assert_eq!(
        ask(&tenant, &[], 300).problem(422)["errors"][0]["field"],
        "duration_minutes"
    );
    assert_eq!(
        ask(&tenant, &["invoices"], 60).problem(422)["errors"][0]["field"],
        "scope"
    );
    let anonymous = tenant
        .request("POST", "/ops/support")
        .json(&json!({}))
        .send();
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);

    let asked = ask(&tenant, &["jobs"], 60);
    assert_eq!(asked.status, 201, "{}", asked.body);
    let session = asked.json();
    let id = session["id"].as_str().unwrap().to_owned();
    assert_eq!(session["status"], "requested");
    assert_eq!(session["scope"], json!(["jobs"]));

    // Owners are told in the dashboard and by email; dispatchers decide nothing.
    assert!(kinds(&olive).contains(&"support_requested".to_owned()));
    let told = sent_mail(&tenant, "notice", olive.user["id"].as_str().unwrap());
    assert!(told.contains("Sam Support"), "{told}");
    assert!(told.contains("T-4512"), "{told}");
    assert_eq!(dispatcher.get("/api/v1/support-sessions").status, 403);
    assert_eq!(
        versioned(
            &dispatcher,
            &format!("/api/v1/support-sessions/{id}/approve"),
            1
        )
        .status,
        403
    );
    let team = olive.get("/team");
    assert!(team.body.contains("Support access") && team.body.contains("Sam Support"));

    // The owner approves (once); the support person gets a single-use link by email.
    let approved = versioned(&olive, &format!("/api/v1/support-sessions/{id}/approve"), 1);
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.json()["status"], "approved");
    let again = versioned(&olive, &format!("/api/v1/support-sessions/{id}/approve"), 2);
    assert_eq!(again.status, 409, "{}", again.body);
    let mail = sent_mail(&tenant, "support_link", SUPPORT_EMAIL);
    assert!(mail.contains("T-4512"), "{mail}");
    let link = link_path(&mail, "/support/");
    // The same link with its MAC's last digit changed (to another digit whatever it was).
    let last = if link.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &link[..link.len() - 1]);
    assert_eq!(
        tenant.get(&forged).status,
        410,
        "a link nobody made opens nothing"
    );

    let sam = Support::start(&tenant, &link);
    let reused = tenant.request("POST", &link).body(Vec::new()).send();
    assert_eq!(reused.status, 410, "single use: {}", reused.body);
    assert!(kinds(&olive).contains(&"support_started".to_owned()));

    // Support is a principal of its own kind: no role, not on the team.
    let me = sam.get("/api/v1/me").json();
    assert_eq!(me["role"], "support");
    assert_eq!(me["support_session"]["id"], id.as_str());
    let users = olive.get("/api/v1/users").json();
    assert!(!users.to_string().contains(SUPPORT_EMAIL), "{users}");

    // Reads are open; the scope's record type may change; everything else is refused.
    assert_eq!(sam.get("/api/v1/customers").status, 200);
    assert_eq!(sam.get("/api/v1/invoices").status, 200);
    let job = sam.post(
        "/api/v1/jobs",
        &json!({ "customer_id": customer_id, "title": "Check the boiler pressure" }),
    );
    assert_eq!(job.status, 201, "the scope names jobs: {}", job.body);
    let job_id = job.json()["id"].as_str().unwrap().to_owned();
    for (method, path, body, why) in [
        (
            "POST",
            "/api/v1/customers".to_owned(),
            json!({ "name": "Bo" }),
            "out of scope",
        ),
        (
            "POST",
            "/api/v1/invoices".to_owned(),
            json!({ "customer_id": customer_id }),
            "money",
        ),
        (
            "POST",
            "/api/v1/tokens".to_owned(),
            json!({ "name": "x" }),
            "credentials",
        ),
        (
            "POST",
            "/api/v1/me/password".to_owned(),
            json!({ "current_password": "a", "new_password": "b" }),
            "credentials",
        ),
        ("POST", "/api/v1/me/mfa/enroll".to_owned(), json!({}), "MFA"),
        (
            "POST",
            "/api/v1/users/invites".to_owned(),
            json!({ "email": "x@y.example", "role": "owner" }),
            "the team",
        ),
        (
            "PATCH",
            "/api/v1/settings".to_owned(),
            json!({ "name": "Mine" }),
            "settings",
        ),
        (
            "DELETE",
            format!("/api/v1/customers/{customer_id}"),
            json!(null),
            "deletions",
        ),
        (
            "POST",
            format!("/api/v1/customers/{customer_id}/messages"),
            json!({ "body": "hi" }),
            "sending",
        ),
    ] {
        let mut call = sam.request(method, &path).header("If-Match", "\"1\"");
        if !body.is_null() {
            call = call.json(&body);
        }
        let refused = call.send();
        let problem = refused.problem(403);
        assert_eq!(problem["support_session"], id.as_str(), "{why}: {problem}");
    }
    assert_eq!(
        sam.get("/api/v1/tokens").status,
        403,
        "not even reading credentials"
    );

    // Every page carries the banner: the support person's own, and the company's.
    let page = sam.get(&format!("/jobs/{job_id}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Support session"), "{}", page.body);
    let owners_view = olive.get("/schedule");
    assert!(owners_view.body.contains("Support access is on"));
    assert!(owners_view
        .body
        .contains(&format!("/api/v1/support-sessions/{id}/end")));

    // The audit trail holds the session whole: who, start, every action (reads and refusals
    // too), and the changes it made as actor kind `support`.
    let trail = olive
        .get(&format!("/api/v1/audit?support_session={id}&limit=200"))
        .json()["events"]
        .as_array()
        .unwrap()
        .clone();
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for wanted in [
        "support.requested",
        "support.approved",
        "support.started",
        "job.created",
    ] {
        assert!(actions.contains(&wanted), "{wanted} in {actions:?}");
    }
    let reads = trail
        .iter()
        .filter(|e| e["action"] == "support.action" && e["after"]["method"] == "GET")
        .count();
    assert!(reads >= 4, "reads are recorded too: {trail:#?}");
    let refusals = trail
        .iter()
        .filter(|e| e["action"] == "support.action" && e["after"]["refused"].is_string())
        .count();
    assert!(refusals >= 10, "{trail:#?}");
    let created = trail.iter().find(|e| e["action"] == "job.created").unwrap();
    assert_eq!(created["actor_kind"], "support");
    assert_eq!(created["actor_id"], id.as_str());
    let started = trail
        .iter()
        .find(|e| e["action"] == "support.started")
        .unwrap();
    assert_eq!(started["after"]["person_email"], SUPPORT_EMAIL);
    let audit_page = olive.get(&format!("/audit?support={id}"));
    assert!(audit_page.body.contains("One support session"));

    // One click ends it: the very next request is refused, and the owners are told.
    let current = olive.get("/api/v1/support-sessions").json()["support_sessions"][0].clone();
    assert_eq!(current["status"], "active");
    let ended = versioned(
        &olive,
        &format!("/api/v1/support-sessions/{id}/end"),
        current["version"].as_i64().unwrap(),
    );
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert_eq!(ended.json()["status"], "ended");
    assert_eq!(sam.get("/api/v1/jobs").status, 401);
    assert!(kinds(&olive).contains(&"support_ended".to_owned()));
    let verify = olive.get("/api/v1/audit/verify");
    assert_eq!(verify.status, 200, "{}", verify.body);
}

#[test]
fn a_pre_approved_read_only_session_ends_by_itself_at_its_deadline() {
    let tenant = Tenant::spawn();
    let olive = owner(&tenant);
    let customer = olive.post("/api/v1/customers", &json!({ "name": "Ann Lee" }));
    let customer_id = customer.json()["id"].as_str().unwrap().to_owned();
    preapprove_read_only(&olive);

    // A request that asks to change records still waits for an owner...
    let writer = ask(&tenant, &["customers"], 30);
    assert_eq!(writer.json()["status"], "requested", "{}", writer.body);
    let writer_id = writer.json()["id"].as_str().unwrap().to_owned();
    let refused = versioned(
        &olive,
        &format!("/api/v1/support-sessions/{writer_id}/refuse"),
        1,
    );
    assert_eq!(refused.json()["status"], "refused", "{}", refused.body);

    // ... a read-only one goes through at once, and the owners are told all the same.
    let asked = ask(&tenant, &[], 5);
    assert_eq!(asked.status, 201, "{}", asked.body);
    assert_eq!(asked.json()["status"], "approved");
    assert_eq!(asked.json()["decided_by"], "preapproved");
    let id = asked.json()["id"].as_str().unwrap().to_owned();
    let mail = sent_mail(&tenant, "support_link", SUPPORT_EMAIL);
    let sam = Support::start(&tenant, &link_path(&mail, "/support/"));
    assert_eq!(
        sam.get(&format!("/api/v1/customers/{customer_id}")).status,
        200
    );
    let change = sam
        .request("PATCH", &format!("/api/v1/customers/{customer_id}"))
        .header("If-Match", "\"1\"")
        .json(&json!({ "name": "Ann Leigh" }))
        .send();
    assert_eq!(
        change.problem(403)["detail"],
        "This support session is read-only."
    );

    // Five minutes on, the session is over whatever the row said a moment before.
    advance_clock(&tenant, 5 * MINUTE + 1_000);
    assert_eq!(sam.get("/api/v1/customers").status, 401);
    let listed = olive.get("/api/v1/support-sessions").json();
    let row = listed["support_sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["status"], "ended", "{row}");
    assert_eq!(row["ended_by"], "deadline");
    let page = olive.get("/schedule");
    assert!(!page.body.contains("Support access is on"));
    let trail = olive
        .get(&format!("/api/v1/audit?support_session={id}"))
        .json();
    assert!(
        trail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "support.ended" && e["after"]["by"] == "deadline"),
        "{trail}"
    );
    assert_eq!(customer_name(&olive, &customer_id), "Ann Lee");
}

#[test]
fn a_session_no_request_finds_is_ended_by_the_cron_which_emails_the_owners_in_the_same_run() {
    let tenant = Tenant::spawn();
    let olive = owner(&tenant);
    preapprove_read_only(&olive);
    let asked = ask(&tenant, &[], 5);
    assert_eq!(asked.json()["status"], "approved", "{}", asked.body);
    let mail = sent_mail(&tenant, "support_link", SUPPORT_EMAIL);
    Support::start(&tenant, &link_path(&mail, "/support/"));

    // Past its deadline, and nobody asks anything of the tenant: only the cron finds it.
    advance_clock(&tenant, 5 * MINUTE + 1_000);
    assert_eq!(tenant.cron().status, 200);
    let told = tenant.d1_execute(
        "SELECT o.status FROM outbox o JOIN notifications n ON o.occasion = 'notice:' || n.id \
         WHERE n.kind = 'support_ended'",
    );
    assert!(!told.is_empty(), "no owner was told");
    assert!(
        told.iter().all(|row| row["status"] == "sent"),
        "sent by the time the cron returns: {told:?}"
    );
    // What the cron recorded was sealed before it returned too.
    assert_eq!(tenant.unsealed_audit_rows(), 0);
}

fn customer_name(browser: &Browser<'_>, id: &str) -> String {
    browser.get(&format!("/api/v1/customers/{id}")).json()["name"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_operator_makes_one_owner_and_recovers_a_sole_owner_by_a_link_to_their_address() {
    let tenant = Tenant::spawn();
    let olive = owner(&tenant);
    let second = create_owner(
        &tenant,
        "mallory@acme-heating.example",
        "copper-pipes-valves-and-taps-9",
    );
    assert_eq!(second.problem(409)["owner_exists"], true);

    // Olive lost password and authenticator: the operator sends her (and only her) a link.
    let recovered = tenant.ops_post("/ops/owners/recover", &json!({ "email": OWNER_EMAIL }));
    assert_eq!(recovered.status, 202, "{}", recovered.body);
    assert!(kinds(&olive).contains(&"owner_recovery".to_owned()));
    let unknown = tenant.ops_post(
        "/ops/owners/recover",
        &json!({ "email": "nobody@x.example" }),
    );
    assert_eq!(unknown.status, 404);
    let mail = sent_mail(
        &tenant,
        "owner_recovery",
        olive.user["id"].as_str().unwrap(),
    );
    let link = link_path(&mail, "/recover/");
    assert_eq!(tenant.get(&link).status, 200);
    let weak = tenant
        .request("POST", &link)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(b"password=password".to_vec())
        .send();
    assert_eq!(weak.status, 422, "{}", weak.body);
    let set = tenant
        .request("POST", &link)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(b"password=a-brand-new-boiler-valve-77".to_vec())
        .send();
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        olive.get("/api/v1/me").status,
        401,
        "her old sessions ended"
    );
    assert_eq!(login(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status, 401);
    let signed_in = login(&tenant, OWNER_EMAIL, "a-brand-new-boiler-valve-77");
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(
        tenant.get(&link).status,
        410,
        "the link died with the change"
    );

    // With another owner to help, no link goes out.
    let olive = sign_in(&tenant, OWNER_EMAIL, "a-brand-new-boiler-valve-77");
    let invite = olive.post(
        "/api/v1/users/invites",
        &json!({ "email": "otto@acme-heating.example", "role": "owner" }),
    );
    let token = invite.json()["token"].as_str().unwrap().to_owned();
    let accepted = tenant
        .request("POST", "/api/v1/auth/invites/accept")
        .json(&json!({ "token": token, "name": "Otto", "password": "second-owner-radiator-5" }))
        .send();
    assert_eq!(accepted.status, 201, "{}", accepted.body);
    let refused = tenant.ops_post("/ops/owners/recover", &json!({ "email": OWNER_EMAIL }));
    assert_eq!(refused.status, 409, "{}", refused.body);
    let trail = olive
        .get("/api/v1/audit?action=user.recovery_requested")
        .json();
    assert_eq!(trail["events"].as_array().unwrap().len(), 1, "{trail}");
}
