//! Files on the real runtime with a real clamd: typed by their bytes, scanned before anyone
//! can open them, served only to those who may see their parent, and the signature a job
//! may need before it completes.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::people::*;
use crate::spawn::{Clamd, Options, Reply, Scanner, Tenant};

/// The EICAR test file: every scanner reports it, and it harms nothing (built from two halves,
/// so no source file holds it whole).
pub fn eicar() -> Vec<u8> {
    fieldworker::domain::clamd::eicar()
}

pub fn jpeg() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/boiler.jpg"
    ))
    .unwrap()
}

pub fn png() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mark.png"
    ))
    .unwrap()
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A customer with a site and a job assigned to `technicians`; answers the job's id.
pub fn job_for(owner: &Browser<'_>, technicians: &[&Value]) -> String {
    let customer = owner.post("/api/v1/customers", &json!({ "name": "Ann Lee" }));
    assert_eq!(customer.status, 201, "{}", customer.body);
    let id = customer.json()["id"].as_str().unwrap().to_owned();
    let site = owner.post(
        &format!("/api/v1/customers/{id}/sites"),
        &json!({ "line1": "1 Canal St" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    let job = owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": id, "title": "Boiler", "technician_ids": technicians }),
    );
    assert_eq!(job.status, 201, "{}", job.body);
    job.json()["id"].as_str().unwrap().to_owned()
}

/// Uploads `bytes` to `path` named `name`, declaring `declared` as its type (which the
/// server ignores: the bytes decide).
pub fn upload(
    browser: &Browser<'_>,
    path: &str,
    name: &str,
    declared: &str,
    bytes: Vec<u8>,
) -> Reply {
    browser
        .request("POST", &format!("{path}?name={}", urlencode(name)))
        .header("Content-Type", declared)
        .body(bytes)
        .send()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn a_clean_jpeg_is_stored_scanned_and_served_with_its_type_to_those_who_may_see_it() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let tess = member(
        &owner,
        "tess@acme-heating.example",
        "technician",
        "flux-and-fittings-88",
    );
    let job = job_for(&owner, &[&theo.user["id"]]);
    let bytes = jpeg();

    // Theo, on his job, from his phone: the declared type is wrong and does not matter.
    let reply = upload(
        &theo,
        &format!("/api/v1/jobs/{job}/files"),
        "boiler.jpg",
        "text/plain",
        bytes.clone(),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let file = reply.json();
    assert_eq!(file["status"], "clean");
    assert_eq!(file["content_type"], "image/jpeg");
    assert_eq!(file["size"], bytes.len());
    assert_eq!(file["sha256"], hex_sha256(&bytes));
    assert_eq!(file["parent"], json!({ "kind": "job", "id": job }));
    assert_eq!(file["uploaded_by"]["id"], theo.user["id"]);
    assert_eq!(file["source"], "dashboard");
    let id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/files/{id}").as_str())
    );

    let served = theo.get(&format!("/api/v1/files/{id}/content"));
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(served.bytes, bytes);
    assert_eq!(served.header("content-type"), Some("image/jpeg"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    assert!(served
        .header("content-security-policy")
        .unwrap()
        .starts_with("sandbox"));
    assert!(served
        .header("content-disposition")
        .unwrap()
        .starts_with("inline; filename=\"boiler.jpg\""));
    // Asked again with its ETag: not sent twice.
    let etag = served.header("etag").unwrap().to_owned();
    let again = theo
        .request("GET", &format!("/api/v1/files/{id}/content"))
        .header("If-None-Match", &etag)
        .send();
    assert_eq!(again.status, 304);

    // The owner sees it in the job's files; Tess, not on the job, cannot even tell it exists.
    let listed = owner.get(&format!("/api/v1/jobs/{job}/files")).json();
    assert_eq!(listed["files"][0]["id"], id.as_str());
    assert_eq!(
        listed["files"][0]["url"],
        format!("/api/v1/files/{id}/content")
    );
    for path in [
        format!("/api/v1/files/{id}/content"),
        format!("/api/v1/files/{id}"),
        format!("/api/v1/jobs/{job}/files"),
    ] {
        let refused = tess.get(&path);
        assert_eq!(refused.status, 404, "{path}: {}", refused.body);
        assert!(refused.bytes != bytes);
    }
    let tess_upload = upload(
        &tess,
        &format!("/api/v1/jobs/{job}/files"),
        "x.jpg",
        "image/jpeg",
        jpeg(),
    );
    assert_eq!(tess_upload.status, 404, "{}", tess_upload.body);

    // The trail has the upload and the scanner's verdict.
    let audit = owner.get("/api/v1/audit?entity=file").json();
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entity_id"] == id.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"file.uploaded") && actions.contains(&"file.scanned"),
        "{actions:?}"
    );

    // Theo deletes his photo (naming the version he read): gone from the listing and served no more.
    let deleted = theo
        .request("DELETE", &format!("/api/v1/files/{id}"))
        .header("If-Match", "\"1\"")
        .send();
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(
        owner.get(&format!("/api/v1/files/{id}/content")).status,
        404
    );
    assert_eq!(
        owner.get(&format!("/api/v1/jobs/{job}/files")).json()["files"],
        json!([])
    );
    let storage = owner.get("/api/v1/settings/storage").json();
    assert_eq!(storage["files"], 1, "kept until purged: {storage}");
    assert_eq!(storage["deleted_awaiting_purge"], 1);
}

#[test]
fn malware_is_rejected_kept_in_quarantine_and_never_served() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let job = job_for(&owner, &[]);
    // As itself, and posing as a PDF: the scanner is asked before the type is.
    for name in ["eicar.com", "invoice.pdf"] {
        let reply = upload(
            &owner,
            &format!("/api/v1/jobs/{job}/files"),
            name,
            "application/pdf",
            eicar(),
        );
        let problem = reply.problem(422);
        assert!(
            problem["detail"].as_str().unwrap().contains("Eicar"),
            "{problem}"
        );
        let file = &problem["file"];
        assert_eq!(file["status"], "rejected");
        assert_eq!(file["url"], Value::Null);
        let id = file["id"].as_str().unwrap();
        let served = owner.get(&format!("/api/v1/files/{id}/content"));
        assert_eq!(served.status, 409, "{}", served.body);
        assert!(!served.body.contains("EICAR-STANDARD"));
        assert_eq!(
            owner.get(&format!("/api/v1/files/{id}")).json()["status"],
            "rejected"
        );
    }
    let audit = owner.get("/api/v1/audit?entity=file").json();
    let rejected = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "file.rejected")
        .count();
    assert_eq!(rejected, 2);
}

#[test]
fn types_come_from_the_bytes_and_sizes_from_the_company_s_limit() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let job = job_for(&owner, &[]);
    let path = format!("/api/v1/jobs/{job}/files");

    // A PNG named .pdf is a PNG, and downloads as one.
    let png = upload(&owner, &path, "quote.pdf", "application/pdf", png());
    assert_eq!(png.status, 201, "{}", png.body);
    assert_eq!(png.json()["content_type"], "image/png");
    let id = png.json()["id"].as_str().unwrap().to_owned();
    let served = owner.get(&format!("/api/v1/files/{id}/content"));
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert!(served
        .header("content-disposition")
        .unwrap()
        .contains("quote.pdf.png"));

    // SVG (scripts inside an image) and HTML are refused, whatever they are called.
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>"#;
    let refused = upload(&owner, &path, "logo.png", "image/png", svg.to_vec());
    assert!(refused.problem(415)["detail"]
        .as_str()
        .unwrap()
        .contains("SVG"));
    let html = upload(
        &owner,
        &path,
        "photo.jpg",
        "image/jpeg",
        b"<!doctype html><script>x</script>".to_vec(),
    );
    refused_with(&html, 415);
    refused_with(
        &upload(&owner, &path, "empty.jpg", "image/jpeg", Vec::new()),
        400,
    );

    // Over 25 MiB: 413 before the bytes are kept.
    let mut big = jpeg();
    big.resize(26 * 1024 * 1024, 0);
    refused_with(&upload(&owner, &path, "big.jpg", "image/jpeg", big), 413);

    // A company may set a lower limit (and no higher one).
    let settings = owner.get("/api/v1/settings");
    let version = settings.json()["version"].as_i64().unwrap();
    let too_high = owner
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({ "max_upload_bytes": 30 * 1024 * 1024 }))
        .send();
    refused_with(&too_high, 422);
    let lower = owner
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({ "max_upload_bytes": 1024 * 1024 }))
        .send();
    assert_eq!(lower.status, 200, "{}", lower.body);
    let mut two_mib = jpeg();
    two_mib.resize(2 * 1024 * 1024, 0);
    refused_with(
        &upload(&owner, &path, "two.jpg", "image/jpeg", two_mib),
        413,
    );
    // Nothing refused was kept.
    assert_eq!(owner.get("/api/v1/settings/storage").json()["files"], 1);
}

fn refused_with(reply: &Reply, status: u16) {
    reply.problem(status);
}

#[test]
fn a_job_that_needs_a_signature_completes_only_once_the_customer_signed() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let job = job_for(&owner, &[&theo.user["id"]]);
    let settings = owner.get("/api/v1/settings").json();
    let required = owner
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", &format!("\"{}\"", settings["version"]))
        .json(&json!({ "require_signature": true }))
        .send();
    assert_eq!(required.status, 200, "{}", required.body);
    assert_eq!(required.json()["require_signature"], true);

    let status = |browser: &Browser<'_>, to: &str| -> Reply {
        let version = browser.get(&format!("/api/v1/jobs/{job}")).json()["version"]
            .as_i64()
            .unwrap();
        browser
            .request("POST", &format!("/api/v1/jobs/{job}/status"))
            .header("If-Match", &format!("\"{version}\""))
            .json(&json!({ "status": to }))
            .send()
    };
    for to in ["scheduled", "in_progress"] {
        assert_eq!(status(&theo, to).status, 200);
    }
    let unsigned = status(&theo, "completed");
    assert!(
        unsigned.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{}",
        unsigned.body
    );

    // A signature is a PNG with the signer's name.
    let path = format!("/api/v1/jobs/{job}/signature");
    let nameless = theo
        .request("POST", &path)
        .header("Content-Type", "image/png")
        .body(png())
        .send();
    refused_with(&nameless, 422);
    let not_png = theo
        .request("POST", &format!("{path}?signer_name=Ann%20Lee"))
        .header("Content-Type", "image/png")
        .body(jpeg())
        .send();
    refused_with(&not_png, 415);
    let signed = theo
        .request("POST", &format!("{path}?signer_name=Ann%20Lee"))
        .header("Content-Type", "image/png")
        .body(png())
        .send();
    assert_eq!(signed.status, 201, "{}", signed.body);
    assert_eq!(signed.json()["purpose"], "signature");
    assert_eq!(signed.json()["signer_name"], "Ann Lee");

    let completed = status(&theo, "completed");
    assert_eq!(completed.status, 200, "{}", completed.body);
    let timeline = owner.get(&format!("/api/v1/jobs/{job}/timeline")).json();
    let signed_event = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "job.signed")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        signed_event["after"]["signer_name"], "Ann Lee",
        "{timeline}"
    );
    // The signer is a person: stored sealed, in the file's row and in the audit trail.
    let stored = owner.tenant.d1_execute(
        "SELECT f.signer_name, a.after FROM files f, audit_log a \
         WHERE f.purpose = 'signature' AND a.action = 'job.signed'",
    );
    let stored = serde_json::to_string(&stored).unwrap();
    assert!(
        !stored.contains("Ann Lee") && stored.contains("fwe1.f-"),
        "{stored}"
    );
}

#[test]
fn without_a_scanner_uploads_are_refused_not_stored_unscanned() {
    let tenant = Tenant::spawn_with(Options {
        scanner: Scanner::Unset,
        ..Options::default()
    });
    let owner = owner(&tenant);
    let job = job_for(&owner, &[]);
    let reply = upload(
        &owner,
        &format!("/api/v1/jobs/{job}/files"),
        "boiler.jpg",
        "image/jpeg",
        jpeg(),
    );
    assert!(reply.problem(503)["detail"]
        .as_str()
        .unwrap()
        .contains("scanner"));
    assert_eq!(owner.get("/api/v1/settings/storage").json()["files"], 0);
}

#[test]
fn with_the_scanner_down_an_upload_waits_and_is_served_only_after_the_sweep_scans_it() {
    let mut clamd = Clamd::start();
    let tenant = Tenant::spawn_with(Options {
        scanner: Scanner::Port(clamd.port()),
        ..Options::default()
    });
    let owner = owner(&tenant);
    let job = job_for(&owner, &[]);
    clamd.stop();

    let bytes = jpeg();
    let reply = upload(
        &owner,
        &format!("/api/v1/jobs/{job}/files"),
        "boiler.jpg",
        "image/jpeg",
        bytes.clone(),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let file = reply.json();
    assert_eq!(file["status"], "pending");
    assert_eq!(file["url"], Value::Null);
    assert!(
        file["scan"]["detail"]
            .as_str()
            .unwrap()
            .contains("not reached"),
        "{file}"
    );
    let id = file["id"].as_str().unwrap().to_owned();
    let content = format!("/api/v1/files/{id}/content");
    let waiting = owner.get(&content);
    assert_eq!(waiting.problem(409)["status"], 409);
    assert!(waiting.bytes != bytes);

    // A logo sent meanwhile waits too: no logo is shown until it is scanned.
    let logo = owner
        .request("PUT", "/api/v1/settings/logo?name=logo.png")
        .header("Content-Type", "image/png")
        .body(png())
        .send();
    assert_eq!(logo.status, 202, "{}", logo.body);
    assert_eq!(tenant.get("/logo").status, 404);
    assert_eq!(
        owner.get("/api/v1/settings").json()["logo_file_id"],
        Value::Null
    );

    // Not due yet: a sweep now leaves it waiting, and it still is not served.
    tenant.cron();
    assert_eq!(
        owner.get(&format!("/api/v1/files/{id}")).json()["status"],
        "pending"
    );

    // The scanner is back; once the retry is due the sweep scans it and it is served.
    clamd.start_again();
    advance_clock(&tenant, 2 * MINUTE);
    tenant.cron();
    let scanned = owner.get(&format!("/api/v1/files/{id}")).json();
    assert_eq!(scanned["status"], "clean", "{scanned}\n{}", tenant.logs());
    assert_eq!(scanned["scan"]["attempts"], 2);
    let served = owner.get(&content);
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(served.bytes, bytes);
    assert_eq!(tenant.get("/logo").bytes, png(), "the logo, once clean");

    // The same for malware found late: rejected, never served, its uploader told.
    clamd.stop();
    let late = upload(
        &owner,
        &format!("/api/v1/jobs/{job}/files"),
        "scan.pdf",
        "application/pdf",
        [b"%PDF-1.4\n".to_vec(), eicar()].concat(),
    );
    assert_eq!(late.status, 202, "{}", late.body);
    let late_id = late.json()["id"].as_str().unwrap().to_owned();
    clamd.start_again();
    advance_clock(&tenant, 2 * MINUTE);
    tenant.cron();
    let rejected = owner.get(&format!("/api/v1/files/{late_id}")).json();
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert_eq!(
        owner
            .get(&format!("/api/v1/files/{late_id}/content"))
            .status,
        409
    );
    let bell = owner.get("/api/v1/me/notifications").json();
    assert!(
        bell["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "file_rejected"),
        "{bell}"
    );
}

#[test]
fn bursts_of_uploads_and_deletes_lose_nothing_and_one_delete_wins() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let job = job_for(&owner, &[]);
    let path = format!("/api/v1/jobs/{job}/files");

    // 40 different photos at once: each scanned and kept, none lost, no 5xx.
    let uploads = crate::load::burst(40, |i| {
        let mut bytes = jpeg();
        bytes.extend_from_slice(format!("photo {i}").as_bytes());
        upload(
            &owner,
            &path,
            &format!("photo-{i}.jpg"),
            "image/jpeg",
            bytes,
        )
    });
    let statuses: Vec<u16> = uploads.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let listed = owner.get(&path).json();
    assert_eq!(listed["files"].as_array().unwrap().len(), 40);
    let mut hashes: Vec<String> = uploads
        .iter()
        .map(|r| r.json()["sha256"].as_str().unwrap().to_owned())
        .collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), 40);

    // 20 deletes of one file naming the same version: one wins, the rest are 409, one audit row.
    let id = uploads[0].json()["id"].as_str().unwrap().to_owned();
    let deletes = crate::load::burst(20, |_| {
        owner
            .request("DELETE", &format!("/api/v1/files/{id}"))
            .header("If-Match", "\"1\"")
            .send()
    });
    let mut statuses: Vec<u16> = deletes.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [204, 404, 409].contains(s)),
        "{statuses:?}"
    );
    let audit = owner
        .get(&format!("/api/v1/audit?entity_id={id}&action=file.deleted"))
        .json();
    assert_eq!(audit["events"].as_array().unwrap().len(), 1, "{audit}");
}
