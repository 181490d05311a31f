//! Quotes, invoices and credit notes as PDF: a neutral [`Document`] (every text already
//! worded and every amount already formatted by the caller) laid out on A4 or Letter pages in
//! the standard Helvetica faces with WinAnsiEncoding, so no font is embedded and the Worker
//! stays small. Western European text renders; other scripts show `?` (README, "PDFs").
//! Long documents flow onto further pages, each repeating the table's header and numbered.

pub mod image;
pub mod lzw;
pub mod text;

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

pub use image::Logo;
use image::{Colors, Encoding};
use text::{encode, width, wrap, Face};

/// The page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    A4,
    Letter,
}

impl Paper {
    /// Letter where it is the norm (the United States and Canada, told by their currency),
    /// A4 everywhere else.
    pub fn for_currency(code: &str) -> Paper {
        match code {
            "USD" | "CAD" => Paper::Letter,
            _ => Paper::A4,
        }
    }

    /// Width and height in points.
    fn size(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        }
    }
}

/// Who the document is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub name: String,
    /// Address, phone, email: one line each.
    pub lines: Vec<String>,
    /// The brand colour, as red, green, blue.
    pub brand: [u8; 3],
}

/// One line of the table, every column worded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Wraps within its column.
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub amount: String,
}

/// One row under a table: subtotal, a tax, total, paid, balance due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Total {
    pub label: String,
    pub amount: String,
    /// Bold, with a rule above (the total, the balance due).
    pub strong: bool,
}

/// A table of lines with an optional heading ("Option: Best") and the rows under it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub heading: Option<String>,
    pub items: Vec<Item>,
    pub totals: Vec<Total>,
}

/// Everything a page shows, worded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// "Invoice", "Quote", "Credit note".
    pub title: String,
    /// "INV-0042", "Q-0007"; empty for a draft without one.
    pub number: String,
    /// A word across the head of the document, as "DRAFT" or "VOID".
    pub stamp: Option<String>,
    /// What it is about, under the title (a quote's title).
    pub subject: Option<String>,
    /// Label and value pairs under the title: dates, status, reference.
    pub facts: Vec<(String, String)>,
    pub company: Company,
    /// "Bill to", "Prepared for".
    pub customer_heading: String,
    pub customer: Vec<String>,
    pub sections: Vec<Section>,
    /// Heading and text: "Notes", "Terms", "How to pay".
    pub notes: Vec<(String, String)>,
    /// The small print at the bottom of every page.
    pub footer: String,
    pub paper: Paper,
}

const MARGIN: f32 = 48.0;
/// Space kept at the bottom of each page for its footer.
const FOOT: f32 = 36.0;
const BODY: f32 = 9.5;
const LEADING: f32 = 12.5;
const LOGO_BOX: (f32, f32) = (170.0, 64.0);
const INK: [f32; 3] = [0.114, 0.137, 0.188];
const MUTED: [f32; 3] = [0.357, 0.392, 0.459];
const RULE: [f32; 3] = [0.8, 0.82, 0.86];
const SHADE: [f32; 3] = [0.945, 0.953, 0.965];
const STAMP: [f32; 3] = [0.75, 0.12, 0.12];
/// The right edges of the quantity and unit price columns, from the right margin; the
/// amount is flush with the margin.
const QTY_FROM_RIGHT: f32 = 190.0;
const PRICE_FROM_RIGHT: f32 = 95.0;
const QTY_WIDTH: f32 = 50.0;

/// The document as a PDF file, with `logo` in its head if there is one.
pub fn render(doc: &Document, logo: Option<&Logo>) -> Vec<u8> {
    let mut layout = Layout::new(doc);
    layout.head(logo);
    for section in &doc.sections {
        layout.section(section);
    }
    for (heading, body) in &doc.notes {
        layout.note(heading, body);
    }
    layout.write(logo)
}

struct Layout<'a> {
    doc: &'a Document,
    pages: Vec<Content>,
    /// The page being drawn on.
    current: usize,
    /// The top of the space left on the current page.
    y: f32,
    width: f32,
    height: f32,
}

fn rgb(c: [u8; 3]) -> [f32; 3] {
    c.map(|v| f32::from(v) / 255.0)
}

impl<'a> Layout<'a> {
    fn new(doc: &'a Document) -> Self {
        let (width, height) = doc.paper.size();
        let mut layout = Layout {
            doc,
            pages: Vec::new(),
            current: 0,
            y: 0.0,
            width,
            height,
        };
        layout.new_page();
        layout
    }

    fn right(&self) -> f32 {
        self.width - MARGIN
    }

    fn page(&mut self) -> &mut Content {
        // `new` opens the first page, so there always is one.
        &mut self.pages[self.current]
    }

    fn text(&mut self, face: Face, size: f32, x: f32, y: f32, color: [f32; 3], s: &str) {
        let bytes = encode(s);
        let page = self.page();
        page.set_fill_rgb(color[0], color[1], color[2]);
        page.begin_text();
        page.set_font(Name(face.resource()), size);
        page.next_line(x, y);
        page.show(Str(&bytes));
        page.end_text();
    }

    fn text_right(&mut self, face: Face, size: f32, right: f32, y: f32, color: [f32; 3], s: &str) {
        let x = right - width(s, face, size);
        self.text(face, size, x, y, color, s);
    }

    fn fill(&mut self, color: [f32; 3], x: f32, y: f32, w: f32, h: f32) {
        let page = self.page();
        page.set_fill_rgb(color[0], color[1], color[2]);
        page.rect(x, y, w, h);
        page.fill_nonzero();
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.current = self.pages.len() - 1;
        let (width, height) = (self.width, self.height);
        let brand = rgb(self.doc.company.brand);
        // The brand's band across the top of every page, as on the share page.
        self.fill(brand, 0.0, height - 8.0, width, 8.0);
        self.y = height - MARGIN;
        if self.pages.len() > 1 {
            // A running head: what this is, continued.
            let doc = self.doc;
            let head = format!("{} {}", doc.title, doc.number);
            let y = self.y - BODY;
            self.text(Face::Bold, BODY, MARGIN, y, INK, head.trim());
            self.text_right(
                Face::Regular,
                BODY,
                self.right(),
                y,
                MUTED,
                &doc.company.name,
            );
            self.y -= 2.0 * LEADING;
        }
    }

    /// Room for `h` points more, on a new page if need be.
    fn room(&mut self, h: f32) -> bool {
        if self.y - h < MARGIN + FOOT {
            self.new_page();
            return true;
        }
        false
    }

    /// Logo and company on top, then the title, facts and customer.
    fn head(&mut self, logo: Option<&Logo>) {
        let doc = self.doc;
        let top = self.y;
        let right = self.right();
        // The company, right-aligned.
        let mut y = top - 13.0;
        self.text_right(Face::Bold, 13.0, right, y, INK, &doc.company.name);
        for line in &doc.company.lines {
            for part in wrap(line, Face::Regular, BODY, 240.0) {
                y -= LEADING;
                self.text_right(Face::Regular, BODY, right, y, MUTED, &part);
            }
        }
        let mut bottom = y - 6.0;
        if let Some(logo) = logo {
            let (w, h) = fit(logo.width, logo.height, LOGO_BOX);
            let page = self.page();
            page.save_state();
            page.transform([w, 0.0, 0.0, h, MARGIN, top - h]);
            page.x_object(Name(b"Im1"));
            page.restore_state();
            bottom = bottom.min(top - h);
        }
        self.y = bottom - 22.0;

        // Title and number, in the brand colour; the stamp beside them.
        let brand = rgb(doc.company.brand);
        let title = format!("{} {}", doc.title, doc.number);
        let title = title.trim();
        let y = self.y - 20.0;
        self.text(Face::Bold, 20.0, MARGIN, y, brand, title);
        if let Some(stamp) = &doc.stamp {
            let x = MARGIN + width(title, Face::Bold, 20.0) + 14.0;
            self.text(Face::Bold, 16.0, x, y, STAMP, stamp);
        }
        self.y = y - 16.0;
        if let Some(subject) = &doc.subject {
            for line in wrap(subject, Face::Bold, 11.0, right - MARGIN) {
                let y = self.y - 11.0;
                self.text(Face::Bold, 11.0, MARGIN, y, INK, &line);
                self.y -= 14.0;
            }
            self.y -= 6.0;
        }

        // Customer on the left, facts on the right, side by side.
        let start = self.y;
        let mut left = start;
        if !doc.customer.is_empty() {
            left -= 9.0;
            self.text(
                Face::Bold,
                8.0,
                MARGIN,
                left,
                MUTED,
                &doc.customer_heading.to_uppercase(),
            );
            for line in &doc.customer {
                for part in wrap(line, Face::Regular, BODY + 0.5, 250.0) {
                    left -= LEADING;
                    self.text(Face::Regular, BODY + 0.5, MARGIN, left, INK, &part);
                }
            }
        }
        let mut facts = start;
        let label_right = right - 110.0;
        for (label, value) in &doc.facts {
            facts -= LEADING;
            self.text_right(Face::Regular, BODY, label_right, facts, MUTED, label);
            self.text_right(Face::Bold, BODY, right, facts, INK, value);
        }
        self.y = left.min(facts) - 22.0;
    }

    fn table_header(&mut self) {
        let right = self.right();
        let y = self.y;
        self.fill(SHADE, MARGIN - 4.0, y - 16.0, right - MARGIN + 8.0, 16.0);
        let base = y - 11.5;
        self.text(Face::Bold, 8.5, MARGIN, base, INK, "Description");
        self.text_right(Face::Bold, 8.5, right - QTY_FROM_RIGHT, base, INK, "Qty");
        self.text_right(
            Face::Bold,
            8.5,
            right - PRICE_FROM_RIGHT,
            base,
            INK,
            "Unit price",
        );
        self.text_right(Face::Bold, 8.5, right, base, INK, "Amount");
        self.y = y - 16.0 - 4.0;
    }

    fn rule(&mut self, x1: f32, x2: f32, y: f32) {
        let page = self.page();
        page.set_stroke_rgb(RULE[0], RULE[1], RULE[2]);
        page.set_line_width(0.6);
        page.move_to(x1, y);
        page.line_to(x2, y);
        page.stroke();
    }

    fn section(&mut self, section: &Section) {
        let right = self.right();
        let description_width = right - QTY_FROM_RIGHT - QTY_WIDTH - MARGIN;
        // A heading stays with the table header and a first line.
        let heading = if section.heading.is_some() { 20.0 } else { 0.0 };
        self.room(heading + 20.0 + LEADING + 6.0);
        if let Some(heading) = &section.heading {
            let y = self.y - 11.0;
            self.text(Face::Bold, 11.0, MARGIN, y, INK, heading);
            self.y -= heading_gap();
        }
        self.table_header();
        for item in &section.items {
            let lines = wrap(&item.description, Face::Regular, BODY, description_width);
            for (i, line) in lines.iter().enumerate() {
                if self.room(LEADING) {
                    self.table_header();
                }
                self.y -= LEADING;
                let base = self.y + 3.0;
                self.text(Face::Regular, BODY, MARGIN, base, INK, line);
                if i == 0 {
                    self.text_right(
                        Face::Regular,
                        BODY,
                        right - QTY_FROM_RIGHT,
                        base,
                        INK,
                        &item.quantity,
                    );
                    self.text_right(
                        Face::Regular,
                        BODY,
                        right - PRICE_FROM_RIGHT,
                        base,
                        INK,
                        &item.unit_price,
                    );
                    self.text_right(Face::Regular, BODY, right, base, INK, &item.amount);
                }
            }
            self.y -= 4.0;
            let y = self.y;
            self.rule(MARGIN, right, y);
        }
        self.y -= 4.0;
        for total in &section.totals {
            let h = if total.strong { LEADING + 6.0 } else { LEADING };
            self.room(h);
            if total.strong {
                self.y -= 3.0;
                let y = self.y;
                self.rule(right - 230.0, right, y);
                self.y -= 3.0;
            }
            self.y -= LEADING;
            let base = self.y + 3.0;
            let face = if total.strong {
                Face::Bold
            } else {
                Face::Regular
            };
            let size = if total.strong { BODY + 1.0 } else { BODY };
            self.text_right(
                face,
                size,
                right - PRICE_FROM_RIGHT,
                base,
                INK,
                &total.label,
            );
            self.text_right(face, size, right, base, INK, &total.amount);
        }
        self.y -= 16.0;
    }

    fn note(&mut self, heading: &str, body: &str) {
        let full = self.right() - MARGIN;
        self.room(heading_gap() + LEADING);
        let y = self.y - 10.0;
        self.text(Face::Bold, 10.0, MARGIN, y, INK, heading);
        self.y -= heading_gap();
        for line in wrap(body, Face::Regular, BODY, full) {
            self.room(LEADING);
            self.y -= LEADING;
            let base = self.y + 3.0;
            self.text(Face::Regular, BODY, MARGIN, base, INK, &line);
        }
        self.y -= 12.0;
    }

    /// Footers (now that the pages are counted), then the file.
    fn write(mut self, logo: Option<&Logo>) -> Vec<u8> {
        let count = self.pages.len();
        let right = self.right();
        let footer = self.doc.footer.clone();
        for i in 0..count {
            self.current = i;
            let y = MARGIN - 14.0;
            let number = format!("Page {} of {count}", i + 1);
            let room = right - MARGIN - width(&number, Face::Regular, 8.0) - 20.0;
            let shown = wrap(&footer, Face::Regular, 8.0, room)
                .into_iter()
                .next()
                .unwrap_or_default();
            self.text(Face::Regular, 8.0, MARGIN, y, MUTED, &shown);
            self.text_right(Face::Regular, 8.0, right, y, MUTED, &number);
        }
        let contents = std::mem::take(&mut self.pages);

        let mut pdf = Pdf::new();
        let mut next = 1;
        let mut alloc = || {
            let id = Ref::new(next);
            next += 1;
            id
        };
        let (catalog, tree, info, regular, bold) = (alloc(), alloc(), alloc(), alloc(), alloc());
        let logo_ids = logo.map(|l| (alloc(), l.alpha.as_ref().map(|_| alloc())));
        let page_ids: Vec<(Ref, Ref)> = contents.iter().map(|_| (alloc(), alloc())).collect();

        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().map(|(page, _)| *page))
            .count(page_ids.len() as i32);
        let title = format!("{} {}", self.doc.title, self.doc.number);
        pdf.document_info(info)
            .title(TextStr(title.trim()))
            .author(TextStr(&self.doc.company.name))
            .producer(TextStr("fieldworker"));
        for (id, face) in [(regular, Face::Regular), (bold, Face::Bold)] {
            pdf.type1_font(id)
                .base_font(Name(face.base_font()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        if let (Some(logo), Some((image_id, alpha_id))) = (logo, logo_ids) {
            write_logo(&mut pdf, logo, image_id, alpha_id);
        }
        for ((page_id, content_id), content) in page_ids.iter().zip(contents) {
            let mut page = pdf.page(*page_id);
            page.parent(tree)
                .media_box(Rect::new(0.0, 0.0, self.width, self.height))
                .contents(*content_id);
            let mut resources = page.resources();
            resources
                .fonts()
                .pair(Name(Face::Regular.resource()), regular)
                .pair(Name(Face::Bold.resource()), bold);
            if let Some((image_id, _)) = logo_ids {
                resources.x_objects().pair(Name(b"Im1"), image_id);
            }
            resources.finish();
            page.finish();
            let compressed = lzw::compress(&content.finish().into_vec());
            pdf.stream(*content_id, &compressed)
                .filter(Filter::LzwDecode);
        }
        pdf.finish()
    }
}

fn heading_gap() -> f32 {
    18.0
}

/// The logo's size in points within `bounds`, keeping its proportions (never enlarged past
/// one point per pixel, so a tiny logo is not blown up into blur).
fn fit(width: u32, height: u32, bounds: (f32, f32)) -> (f32, f32) {
    let (w, h) = (width as f32, height as f32);
    let scale = (bounds.0 / w).min(bounds.1 / h).min(1.0);
    (w * scale, h * scale)
}

fn write_logo(pdf: &mut Pdf, logo: &Logo, image_id: Ref, alpha_id: Option<Ref>) {
    let mut image = pdf.image_xobject(image_id, &logo.data);
    image
        .width(logo.width as i32)
        .height(logo.height as i32)
        .bits_per_component(i32::from(logo.bits));
    match &logo.colors {
        Colors::Gray => {
            image.color_space().device_gray();
        }
        Colors::Rgb => {
            image.color_space().device_rgb();
        }
        Colors::Cmyk { inverted } => {
            image.color_space().device_cmyk();
            if *inverted {
                image.decode([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
            }
        }
        Colors::Indexed { palette } => {
            let hival = (palette.len() / 3) as i32 - 1;
            image
                .color_space()
                .indexed(Name(b"DeviceRGB"), hival, palette);
        }
    }
    match logo.encoding {
        Encoding::Dct => {
            image.filter(Filter::DctDecode);
        }
        Encoding::Lzw => {
            image.filter(Filter::LzwDecode);
        }
        Encoding::PngRows => {
            image.filter(Filter::FlateDecode);
            image
                .decode_parms()
                .predictor(pdf_writer::types::Predictor::PngOptimum)
                .colors(i32::from(logo.colors.components()))
                .bits_per_component(i32::from(logo.bits))
                .columns(logo.width as i32);
        }
    }
    if let Some(alpha_id) = alpha_id {
        image.s_mask(alpha_id);
    }
    image.finish();
    if let (Some(alpha_id), Some(alpha)) = (alpha_id, &logo.alpha) {
        let mut mask = pdf.image_xobject(alpha_id, alpha);
        mask.width(logo.width as i32)
            .height(logo.height as i32)
            .bits_per_component(8)
            .filter(Filter::LzwDecode);
        mask.color_space().device_gray();
        mask.finish();
    }
}

#[cfg(test)]
mod tests;
