use super::image::tests::{jpeg_file, png_file};
use super::*;

fn document(items: usize) -> Document {
    Document {
        title: "Invoice".into(),
        number: "INV-0042".into(),
        stamp: None,
        subject: Some("Remplacement du thermostat".into()),
        facts: vec![
            ("Issued".into(), "2026-03-02".into()),
            ("Due".into(), "2026-03-16".into()),
        ],
        company: Company {
            name: "Chauffage Müller & Fils".into(),
            lines: vec![
                "12 rue de la Gare, 67000 Strasbourg".into(),
                "contact@muller.example".into(),
            ],
            brand: [0x1f, 0x5f, 0xbf],
        },
        customer_heading: "Bill to".into(),
        customer: vec!["Zoë Lefèvre".into()],
        sections: vec![Section {
            heading: None,
            items: (0..items)
                .map(|i| Item {
                    description: format!(
                        "Ligne {i}: remplacement du thermostat, pièces et main-d’œuvre"
                    ),
                    quantity: "1.5".into(),
                    unit_price: "EUR 1,234.50".into(),
                    amount: "EUR 1,851.75".into(),
                })
                .collect(),
            totals: vec![
                Total {
                    label: "Subtotal".into(),
                    amount: "EUR 1,851.75".into(),
                    strong: false,
                },
                Total {
                    label: "Tax 20%".into(),
                    amount: "EUR 370.35".into(),
                    strong: false,
                },
                Total {
                    label: "Total".into(),
                    amount: "EUR 2,222.10".into(),
                    strong: true,
                },
            ],
        }],
        notes: vec![("Notes".into(), "Merci de votre confiance.".into())],
        footer: "Invoice INV-0042 · Chauffage Müller & Fils".into(),
        paper: Paper::A4,
    }
}

/// Every LZW stream of `pdf` (page contents, a logo's split samples), decompressed.
fn contents(pdf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = pdf;
    while let Some(start) = find(rest, b"stream\n") {
        let body = &rest[start + 7..];
        let Some(end) = find(body, b"\nendstream") else {
            break;
        };
        let head = &rest[..start];
        let dict = &head[head.len().saturating_sub(200)..];
        if find(dict, b"/LZWDecode").is_some() && find(dict, b"/Subtype /Image").is_none() {
            out.push(lzw::tests::decompress(&body[..end]));
        }
        rest = &body[end + 10..];
    }
    out
}

/// `text` shown, as the content stream writes it (a literal or, past ASCII, a hex string).
fn tj(text: &str) -> Vec<u8> {
    let mut content = Content::new();
    content.show(Str(&encode(text)));
    let bytes = content.finish().into_vec();
    // Without the operator: `(text)` or `<hex>`.
    let end = bytes
        .iter()
        .rposition(|&b| b == b')' || b == b'>')
        .unwrap_or(0);
    bytes[..=end].to_vec()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[test]
fn a_short_invoice_is_one_page_with_its_words_in_winansi() {
    let pdf = render(&document(3), None);
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.ends_with(b"%%EOF\n") || pdf.ends_with(b"%%EOF"));
    assert_eq!(
        count(&pdf, b"/Type /Page\n") + count(&pdf, b"/Type /Page "),
        1,
        "one page"
    );
    assert!(find(&pdf, b"/BaseFont /Helvetica-Bold").is_some());
    assert!(find(&pdf, b"/Encoding /WinAnsiEncoding").is_some());
    assert!(find(&pdf, b"/FontFile").is_none(), "no font is embedded");
    let page = contents(&pdf).concat();
    assert!(find(&page, &tj("Zoë Lefèvre")).is_some());
    assert!(find(&page, &tj("Remplacement du thermostat")).is_some());
    assert!(tj("Zoë").starts_with(b"<5A6FEB>"), "{:?}", tj("Zoë"));
    assert!(find(&page, b"(EUR 2,222.10) Tj").is_some());
    assert!(find(&page, b"(Page 1 of 1) Tj").is_some());
}

#[test]
fn a_hundred_and_twenty_lines_flow_over_pages_each_with_the_table_header_and_a_number() {
    let pdf = render(&document(120), None);
    let pages = contents(&pdf);
    assert!(pages.len() >= 4, "{} pages", pages.len());
    let n = pages.len();
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(count(page, b"(Description) Tj"), 1, "page {}", i + 1);
        let number = format!("(Page {} of {n}) Tj", i + 1);
        assert!(find(page, number.as_bytes()).is_some(), "page {}", i + 1);
    }
    // Every line is there once, and the totals close the last page.
    let all = pages.concat();
    // 120 line amounts and the subtotal.
    assert_eq!(count(&all, &tj("EUR 1,851.75")), 121);
    assert_eq!(count(&all, &tj("1.5")), 120);
    assert!(find(&pages[n - 1], b"(EUR 2,222.10) Tj").is_some());
    assert!(find(&pdf, format!("/Count {n}").as_bytes()).is_some());
}

#[test]
fn letter_paper_for_dollars_a4_otherwise() {
    assert_eq!(Paper::for_currency("USD"), Paper::Letter);
    assert_eq!(Paper::for_currency("CAD"), Paper::Letter);
    assert_eq!(Paper::for_currency("EUR"), Paper::A4);
    let mut doc = document(1);
    doc.paper = Paper::Letter;
    assert!(find(&render(&doc, None), b"/MediaBox [0 0 612 792]").is_some());
}

#[test]
fn a_logo_is_placed_with_its_soft_mask() {
    let pixels: Vec<u8> = (0..40 * 20)
        .flat_map(|i| [200, 30, (i % 255) as u8, (i % 7 * 30) as u8])
        .collect();
    let logo = Logo::from_bytes(&png_file(40, 20, 6, &pixels)).unwrap();
    let pdf = render(&document(2), Some(&logo));
    assert!(find(&pdf, b"/SMask").is_some());
    assert!(find(&pdf, b"/Im1").is_some());
    let page = contents(&pdf).concat();
    assert!(find(&page, b"/Im1 Do").is_some());

    let jpeg = Logo::from_bytes(&jpeg_file(600, 200, 3)).unwrap();
    let pdf = render(&document(2), Some(&jpeg));
    assert!(find(&pdf, b"/DCTDecode").is_some());
    // Scaled into the 170 × 64 box: 600 × 200 becomes 170 × 56.67.
    assert_eq!(fit(600, 200, LOGO_BOX), (170.0, 170.0 / 3.0));
    assert_eq!(fit(20, 10, LOGO_BOX), (20.0, 10.0));
}

#[test]
fn text_outside_winansi_shows_question_marks_and_a_stamp_shows() {
    let mut doc = document(1);
    doc.customer = vec!["Δημήτρης".into()];
    doc.stamp = Some("DRAFT".into());
    doc.sections.push(Section {
        heading: Some("Option: Best".into()),
        items: vec![],
        totals: vec![],
    });
    let page = contents(&render(&doc, None)).concat();
    assert!(find(&page, b"(????????) Tj").is_some());
    assert!(find(&page, &tj("Δημήτρης")).is_some());
    assert!(find(&page, b"(DRAFT) Tj").is_some());
    assert!(find(&page, b"(Option: Best) Tj").is_some());
}

#[test]
fn parentheses_and_backslashes_in_text_are_escaped() {
    let mut doc = document(1);
    doc.customer = vec![r"Smith (Ltd \ Co".into()];
    let page = contents(&render(&doc, None)).concat();
    let shown = tj(r"Smith (Ltd \ Co");
    assert!(find(&page, &shown).is_some());
    // An unbalanced parenthesis would end the string early: it is escaped, as is `\`.
    assert!(shown.starts_with(br"(Smith \(Ltd \\ Co)"), "{shown:?}");
}
