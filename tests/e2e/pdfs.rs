//! Quote and invoice PDFs, read back by a real parser (pypdf, from `.venv`): the totals,
//! balance, number and accented words come out exactly as the share page shows them, from
//! the API and from a share link.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::people::*;
use crate::quotes::{act, customer, etag};
use crate::spawn::{Reply, Tenant};

/// The text pypdf extracts from `reply`'s PDF, page after page, and the page count.
fn read_pdf(tenant: &Tenant, reply: &Reply, name: &str) -> (usize, String) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/pdf"));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("cache-control"), Some("private, no-store"));
    assert!(reply.bytes.starts_with(b"%PDF-"), "not a PDF");
    let file = tenant.state.join(name);
    std::fs::write(&file, &reply.bytes).unwrap();
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let out = Command::new(&python)
        .arg("-c")
        .arg(
            "import sys\nfrom pypdf import PdfReader\nr = PdfReader(sys.argv[1], strict=True)\n\
             print(len(r.pages))\nfor p in r.pages:\n    print(p.extract_text())",
        )
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup)", python.display()));
    assert!(
        out.status.success(),
        "pypdf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (pages, text) = text.split_once('\n').unwrap();
    (pages.trim().parse().unwrap(), text.to_owned())
}

fn assert_has(text: &str, words: &[&str]) {
    for word in words {
        assert!(text.contains(word), "{word:?} is not in:\n{text}");
    }
}

/// The company in euros at 20% tax, with an accented name.
fn french_company(owner: &Browser<'_>) {
    let version = etag(&owner.get("/api/v1/settings"));
    let set = act(
        owner,
        "PATCH",
        "/api/v1/settings",
        version,
        Some(
            json!({ "name": "Plomberie Müller & Fils", "currency": "EUR",
                     "default_tax_rate_ppm": 200_000 }),
        ),
    );
    assert_eq!(set.status, 200, "{}", set.body);
}

fn share(owner: &Browser<'_>, path: &str) -> String {
    let link = owner.request("POST", &format!("{path}/share")).send();
    assert_eq!(link.status, 201, "{}", link.body);
    link.json()["token"].as_str().unwrap().to_owned()
}

#[test]
fn an_issued_invoice_partly_paid_reads_back_with_its_totals_balance_and_accents() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    french_company(&owner);
    let (customer_id, _) = customer(&owner, "Zoë Lefèvre");
    let made = owner.post(
        "/api/v1/invoices",
        &json!({ "customer_id": customer_id, "lines": [
            { "description": "Remplacement du chauffe-eau électrique", "quantity_milli": 1000, "unit_price": 85_000 },
            { "description": "Main-d’œuvre – 3 h à 65 €", "quantity_milli": 3000, "unit_price": 6_500 },
        ], "notes": "Garantie pièces : 2 ans. Merci de votre confiance !" }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let path = format!("/api/v1/invoices/{}", made.json()["id"].as_str().unwrap());

    // A draft can be checked before it goes out: stamped, no number yet.
    let (_, draft) = read_pdf(&tenant, &owner.get(&format!("{path}/pdf")), "draft.pdf");
    assert_has(&draft, &["DRAFT", "Invoice", "EUR 1,254.00"]);

    let issued = act(&owner, "POST", &format!("{path}/issue"), 1, None);
    assert_eq!(issued.status, 200, "{}", issued.body);
    let number = issued.json()["number"].as_str().unwrap().to_owned();
    let paid = act(
        &owner,
        "POST",
        &format!("{path}/payments"),
        2,
        Some(json!({ "amount": 50_000, "method": "bank", "reference": "virement" })),
    );
    assert_eq!(paid.status, 201, "{}", paid.body);

    let reply = owner.get(&format!("{path}/pdf"));
    assert_eq!(
        reply.header("content-disposition"),
        Some(format!("attachment; filename=\"invoice-{number}.pdf\"").as_str())
    );
    let (pages, text) = read_pdf(&tenant, &reply, "invoice.pdf");
    assert_eq!(pages, 1);
    assert_has(
        &text,
        &[
            &number,
            "Plomberie Müller & Fils",
            "Zoë Lefèvre",
            "Remplacement du chauffe-eau électrique",
            "Main-d’œuvre – 3 h à 65 €",
            "Garantie pièces : 2 ans. Merci de votre confiance !",
            // 850.00 + 3 × 65.00 = 1,045.00; 20% tax 209.00; total 1,254.00; 500.00 paid.
            "EUR 1,045.00",
            "Tax 20%",
            "EUR 209.00",
            "EUR 1,254.00",
            "Paid",
            "EUR 500.00",
            "Balance due",
            "EUR 754.00",
        ],
    );
    assert!(!text.contains("DRAFT"), "{text}");

    // The customer's link gives the same document, behind the page's checks.
    let token = share(&owner, &path);
    let (_, shared) = read_pdf(
        &tenant,
        &tenant.get(&format!("/s/{token}/pdf")),
        "shared.pdf",
    );
    assert_has(
        &shared,
        &[
            &number,
            "Zoë Lefèvre",
            "EUR 754.00",
            "Main-d’œuvre – 3 h à 65 €",
        ],
    );
    let page = tenant.get(&format!("/s/{token}"));
    assert!(
        page.body.contains(&format!("href=\"/s/{token}/pdf\"")),
        "{}",
        page.body
    );
    let unknown = tenant.get("/s/AAAAAAAAAAAAAAAAAAAAAAAA/pdf");
    assert_eq!(unknown.status, 404);
    assert!(unknown
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/html"));

    // The dashboard's invoice page links to the download.
    let dashboard = owner.get(&path.replace("/api/v1", ""));
    assert!(
        dashboard.body.contains(&format!("href=\"{path}/pdf\"")),
        "{}",
        dashboard.body
    );
}

#[test]
fn a_quote_with_options_reads_back_per_option_and_a_draft_is_not_shared() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    french_company(&owner);
    let (customer_id, _) = customer(&owner, "Frédéric Œhlenschläger");
    let made = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer_id, "title": "Chaudière à condensation",
                 "lines": [
                     { "description": "Chaudière gaz standard", "quantity_milli": 1000, "unit_price": 240_000, "option": "Économique" },
                     { "description": "Chaudière à condensation", "quantity_milli": 1000, "unit_price": 320_000, "option": "Haut rendement" },
                     { "description": "Dépose de l’ancienne chaudière", "quantity_milli": 1000, "unit_price": 30_000 },
                     { "description": "Filtre magnétique", "quantity_milli": 1000, "unit_price": 15_000, "optional": true },
                 ] }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let path = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());
    let (_, draft) = read_pdf(
        &tenant,
        &owner.get(&format!("{path}/pdf")),
        "draft-quote.pdf",
    );
    assert_has(&draft, &["DRAFT"]);

    assert_eq!(
        act(&owner, "POST", &format!("{path}/send"), 1, None).status,
        200
    );
    let reply = owner.get(&format!("{path}/pdf"));
    let name = reply
        .header("content-disposition")
        .unwrap_or_default()
        .to_owned();
    assert!(
        name.starts_with("attachment; filename=\"quote-Q-"),
        "{name}"
    );
    let (_, text) = read_pdf(&tenant, &reply, "quote.pdf");
    assert_has(
        &text,
        &[
            "Frédéric Œhlenschläger",
            "Included in every option",
            "Dépose de l’ancienne chaudière",
            "Option: Économique",
            "Option: Haut rendement",
            "Optional extras",
            "Filtre magnétique",
            // Économique: 2,400 + 300 = 2,700 + 20% = 3,240; Haut rendement: 3,500 + 700 = 4,200.
            "EUR 3,240.00",
            "EUR 4,200.00",
        ],
    );
    assert!(!text.contains("DRAFT"), "{text}");

    let token = share(&owner, &path);
    let (_, shared) = read_pdf(
        &tenant,
        &tenant.get(&format!("/s/{token}/pdf")),
        "shared-quote.pdf",
    );
    assert_has(&shared, &["Option: Haut rendement", "EUR 4,200.00"]);
    // Taken back to draft, the link's PDF is refused as its page is.
    let version = etag(&owner.get(&path));
    assert_eq!(
        act(&owner, "POST", &format!("{path}/revise"), version, None).status,
        200
    );
    assert_eq!(tenant.get(&format!("/s/{token}/pdf")).status, 409);
}

#[test]
fn a_hundred_and_twenty_lines_make_numbered_pages_a_parser_reads() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ann Lee");
    let lines: Vec<_> = (1..=120)
        .map(|i| json!({ "description": format!("Part {i:03} — fitted and tested"), "quantity_milli": 1000, "unit_price": 1_000 }))
        .collect();
    let made = owner.post(
        "/api/v1/invoices",
        &json!({ "customer_id": customer_id, "lines": lines }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let path = format!("/api/v1/invoices/{}", made.json()["id"].as_str().unwrap());
    let (pages, text) = read_pdf(&tenant, &owner.get(&format!("{path}/pdf")), "long.pdf");
    assert!(pages >= 3, "{pages} pages");
    assert_has(
        &text,
        &[
            "Part 001 — fitted and tested",
            "Part 120 — fitted and tested",
        ],
    );
    assert_has(&text, &[&format!("Page {pages} of {pages}")]);
}

/// pypdf's word on `bytes`: the text of its first page and how many images that page has.
fn parse_pdf(tenant: &Tenant, bytes: &[u8], name: &str) -> (String, usize) {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let file = tenant.state.join(name);
    std::fs::write(&file, bytes).unwrap();
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let out = Command::new(&python)
        .arg("-c")
        .arg(
            "import sys\nfrom pypdf import PdfReader\np = PdfReader(sys.argv[1], strict=True).pages[0]\n\
             print(len(p.images))\nprint(p.extract_text())",
        )
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pypdf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (images, text) = text.split_once('\n').unwrap();
    (text.to_owned(), images.trim().parse().unwrap())
}

#[test]
fn an_issued_invoice_is_kept_as_sent_with_the_logo_and_mailed_with_it_attached() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let logo = owner
        .request("PUT", "/api/v1/settings/logo?name=logo.png")
        .header("Content-Type", "image/png")
        .body(crate::files::png())
        .send();
    assert_eq!(logo.status, 201, "{}", logo.body);
    assert_eq!(owner.get("/logo").bytes, crate::files::png());
    let made = owner.post(
        "/api/v1/customers",
        &json!({ "name": "Zoë Lefèvre", "emails": ["zoe@example.com"] }),
    );
    let customer_id = made.json()["id"].as_str().unwrap().to_owned();
    let invoice = owner.post(
        "/api/v1/invoices",
        &json!({ "customer_id": customer_id, "lines": [
            { "description": "Service du chauffe-eau", "quantity_milli": 1000, "unit_price": 12_000 }] }),
    );
    assert_eq!(invoice.status, 201, "{}", invoice.body);
    let path = format!(
        "/api/v1/invoices/{}",
        invoice.json()["id"].as_str().unwrap()
    );
    let issued = act(&owner, "POST", &format!("{path}/issue"), 1, None);
    assert_eq!(issued.status, 200, "{}", issued.body);
    let number = issued.json()["number"].as_str().unwrap().to_owned();

    // Made after the answer: one document among the invoice's files.
    let started = std::time::Instant::now();
    let document = loop {
        let files = owner.get(&format!("{path}/files")).json();
        if let Some(doc) = files["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["purpose"] == "document")
        {
            break doc.clone();
        }
        assert!(
            started.elapsed() < crate::spawn::AFTER_RESPONSE_TIMEOUT,
            "no document:\n{}",
            tenant.logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(document["status"], "clean");
    assert_eq!(document["source"], "system");
    assert_eq!(document["name"], format!("invoice-{number}.pdf"));
    let id = document["id"].as_str().unwrap().to_owned();
    let kept = owner.get(&format!("/api/v1/files/{id}/content"));
    assert_eq!(kept.header("content-type"), Some("application/pdf"));
    let (text, images) = parse_pdf(&tenant, &kept.bytes, "kept.pdf");
    assert_has(
        &text,
        &[
            &number,
            "Zoë Lefèvre",
            "Service du chauffe-eau",
            "USD 120.00",
        ],
    );
    assert!(images >= 1, "the logo is on it: {images} images");

    // A payment changes the statement, never what was sent; the document is not deletable.
    let paid = act(
        &owner,
        "POST",
        &format!("{path}/payments"),
        2,
        Some(json!({ "amount": 5_000, "method": "cash" })),
    );
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(
        owner.get(&format!("/api/v1/files/{id}/content")).bytes,
        kept.bytes
    );
    let (statement, _) = parse_pdf(&tenant, &owner.get(&format!("{path}/pdf")).bytes, "now.pdf");
    assert_has(&statement, &["Balance due", "USD 70.00"]);
    let delete = act(&owner, "DELETE", &format!("/api/v1/files/{id}"), 1, None);
    assert_eq!(delete.problem(403)["status"], 403);

    // Emailed to the customer: the kept document rides along.
    let sent = owner.post(&format!("{path}/deliveries"), &json!({ "via": "email" }));
    assert_eq!(sent.status, 202, "{}", sent.body);
    let email_id = crate::customer_messages::wait_email_ids(&tenant, 1)[0].clone();
    let files = crate::spawn::local_email_files(&email_id);
    let attached = files
        .iter()
        .find(|(_, bytes)| bytes.starts_with(b"%PDF-"))
        .unwrap_or_else(|| {
            panic!(
                "no PDF attached: {:?}",
                files.iter().map(|(p, b)| (p, b.len())).collect::<Vec<_>>()
            )
        });
    assert_eq!(attached.1, kept.bytes);
}
