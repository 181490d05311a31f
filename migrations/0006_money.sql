-- 0006: money. Quotes, invoices and credit notes, payments and refunds, the counters that
-- number them, share links for customers, and the company's billing defaults.
--
-- Amounts are integers in the document's minor unit; rates are parts per million. A
-- document's lines are one JSON array, replaced whole by a write (as job items are): the
-- domain prices the list as a whole, a quote's choice names lines by position, and a single
-- version-checked UPDATE changes a document atomically. Totals computed by the domain are
-- stored beside the lines, so lists show amounts without repricing.

ALTER TABLE company_settings ADD COLUMN default_tax_rate_ppm INTEGER NOT NULL DEFAULT 0
    CHECK (default_tax_rate_ppm BETWEEN 0 AND 1000000);
ALTER TABLE company_settings ADD COLUMN rounding TEXT NOT NULL DEFAULT 'per_line'
    CHECK (rounding IN ('per_line', 'per_document'));
ALTER TABLE company_settings ADD COLUMN invoice_prefix TEXT NOT NULL DEFAULT 'INV-'
    CHECK (length(invoice_prefix) <= 12 AND invoice_prefix NOT GLOB '*[^A-Za-z0-9_/.#-]*');
ALTER TABLE company_settings ADD COLUMN payment_terms_days INTEGER NOT NULL DEFAULT 30
    CHECK (payment_terms_days BETWEEN 0 AND 365);
ALTER TABLE company_settings ADD COLUMN brand_color TEXT NOT NULL DEFAULT '#1f6feb'
    CHECK (length(brand_color) = 7
           AND brand_color GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]');

-- Named counters for document numbers, bumped by one in the batch that uses the number:
-- batches are transactions, so two concurrent issues never share or skip a value. The
-- triggers make "up by exactly one, never removed" a property of the table.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL CHECK (value >= 0)
);
INSERT INTO counters (name, value) VALUES ('quote', 0), ('invoice', 0), ('credit_note', 0);

CREATE TRIGGER counters_count_up_by_one BEFORE UPDATE ON counters
WHEN NEW.value <> OLD.value + 1 OR NEW.name <> OLD.name
BEGIN
    SELECT RAISE(ABORT, 'counters only count up by one');
END;

CREATE TRIGGER counters_no_delete BEFORE DELETE ON counters
BEGIN
    SELECT RAISE(ABORT, 'counters are never removed');
END;

CREATE TABLE quotes (
    id               TEXT PRIMARY KEY,
    -- The short number people use ("quote 12"), from the 'quote' counter.
    number           INTEGER NOT NULL UNIQUE,
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    site_id          TEXT NOT NULL REFERENCES sites (id),
    -- The job the quote is for, or the one it became.
    job_id           TEXT REFERENCES jobs (id),
    title            TEXT NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 200),
    -- Stored: draft, sent, viewed, accepted, declined. 'expired' is also shown for a sent or
    -- viewed quote past valid_until, whether or not it is stored.
    status           TEXT NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'sent', 'viewed', 'accepted', 'declined',
                                       'expired')),
    -- Copied from the company settings at creation.
    currency         TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    rounding         TEXT NOT NULL CHECK (rounding IN ('per_line', 'per_document')),
    -- [{description, quantity_milli, unit_price, tax_rate_ppm, discount, optional, option}]
    lines            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(lines) AND json_type(lines) = 'array'),
    -- The domain's totals of each option without extras: [{option, subtotal, …, total}].
    totals           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(totals)),
    notes            TEXT CHECK (notes IS NULL OR length(notes) <= 10000),
    terms            TEXT CHECK (terms IS NULL OR length(terms) <= 10000),
    valid_until      TEXT NOT NULL,
    -- {"percent_ppm": n} or {"amount": n}, or NULL for none.
    deposit          TEXT CHECK (deposit IS NULL OR json_valid(deposit)),
    sent_at          TEXT,
    -- The acceptance: what was chosen, who signed, when, from where, and by whom it was
    -- recorded (a staff member taking it by phone; NULL when the customer used a share link).
    chosen_option    TEXT,
    chosen_extras    TEXT CHECK (chosen_extras IS NULL OR json_valid(chosen_extras)),
    signer_name      TEXT CHECK (signer_name IS NULL OR length(signer_name) <= 200),
    accepted_at      TEXT,
    accepted_ip      TEXT,
    accepted_by      TEXT REFERENCES users (id),
    accepted_total   INTEGER CHECK (accepted_total IS NULL OR accepted_total >= 0),
    accepted_deposit INTEGER CHECK (accepted_deposit IS NULL OR accepted_deposit >= 0),
    declined_at      TEXT,
    -- Set once, when the accepted quote becomes a draft invoice (and a job if it had none).
    invoice_id       TEXT,
    converted_at     TEXT,
    version          INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK ((status = 'accepted') = (accepted_at IS NOT NULL)),
    CHECK (accepted_at IS NULL OR (signer_name IS NOT NULL AND accepted_total IS NOT NULL
                                   AND accepted_deposit IS NOT NULL)),
    CHECK (invoice_id IS NULL OR status = 'accepted')
);
CREATE INDEX quotes_by_created ON quotes (created_at, id);
CREATE INDEX quotes_by_customer ON quotes (customer_id, created_at, id);

-- An accepted quote is a signed agreement: nothing about it changes any more except the
-- record of what it became.
CREATE TRIGGER quotes_accepted_final BEFORE UPDATE ON quotes
WHEN OLD.status = 'accepted' AND (
    NEW.status IS NOT OLD.status OR NEW.lines IS NOT OLD.lines
    OR NEW.chosen_option IS NOT OLD.chosen_option OR NEW.chosen_extras IS NOT OLD.chosen_extras
    OR NEW.signer_name IS NOT OLD.signer_name OR NEW.accepted_at IS NOT OLD.accepted_at
    OR NEW.accepted_total IS NOT OLD.accepted_total
    OR NEW.accepted_deposit IS NOT OLD.accepted_deposit OR NEW.deposit IS NOT OLD.deposit
    OR NEW.customer_id IS NOT OLD.customer_id OR NEW.currency IS NOT OLD.currency)
BEGIN
    SELECT RAISE(ABORT, 'an accepted quote is final');
END;

CREATE TRIGGER quotes_accepted_no_delete BEFORE DELETE ON quotes
WHEN OLD.status = 'accepted'
BEGIN
    SELECT RAISE(ABORT, 'an accepted quote is never deleted');
END;

-- Invoices and credit notes. A draft has no number; issuing takes the next value of the
-- kind's counter in the issuing batch. Issued documents are never deleted (the trigger) and
-- their lines, amounts and number never change: they are voided, or reversed by a credit
-- note (kind 'credit_note', credit_note_for naming the invoice, one at most per invoice).
CREATE TABLE invoices (
    id                 TEXT PRIMARY KEY,
    kind               TEXT NOT NULL DEFAULT 'invoice' CHECK (kind IN ('invoice', 'credit_note')),
    -- The counter's value and the printed number (prefix + value), both NULL while a draft.
    sequence           INTEGER CHECK (sequence IS NULL OR sequence >= 1),
    number             TEXT UNIQUE,
    customer_id        TEXT NOT NULL REFERENCES customers (id),
    site_id            TEXT REFERENCES sites (id),
    job_id             TEXT REFERENCES jobs (id),
    quote_id           TEXT REFERENCES quotes (id),
    credit_note_for    TEXT REFERENCES invoices (id),
    -- Stored: draft, issued, void. Partially paid, paid and overdue follow from the money and
    -- the clock and are derived when read (see db::invoices::DERIVED_STATUS).
    status             TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'issued', 'void')),
    currency           TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    rounding           TEXT NOT NULL CHECK (rounding IN ('per_line', 'per_document')),
    lines              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(lines) AND json_type(lines) = 'array'),
    -- The domain's Totals (line amounts, tax groups) and its sums, stored when written.
    totals             TEXT NOT NULL CHECK (json_valid(totals)),
    subtotal           INTEGER NOT NULL CHECK (subtotal >= 0),
    discount_total     INTEGER NOT NULL CHECK (discount_total BETWEEN 0 AND subtotal),
    tax_total          INTEGER NOT NULL CHECK (tax_total >= 0),
    total              INTEGER NOT NULL CHECK (total = subtotal - discount_total + tax_total),
    -- Asked for first; only the first invoice from an accepted quote carries one.
    deposit            INTEGER NOT NULL DEFAULT 0 CHECK (deposit BETWEEN 0 AND total),
    notes              TEXT CHECK (notes IS NULL OR length(notes) <= 10000),
    terms              TEXT CHECK (terms IS NULL OR length(terms) <= 10000),
    -- Days from issue to due date; copied from the company settings, editable on a draft.
    payment_terms_days INTEGER NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
    -- Sums of the invoice's payments and refunds, kept in the batch that records each one
    -- (guarded by the invoice's version), so money can never be taken twice past the total.
    paid               INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0),
    refunded           INTEGER NOT NULL DEFAULT 0 CHECK (refunded BETWEEN 0 AND paid),
    issued_at          TEXT,
    due_at             TEXT,
    voided_at          TEXT,
    version            INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK (paid - refunded <= total),
    CHECK ((status = 'draft') = (number IS NULL)),
    CHECK ((number IS NULL) = (sequence IS NULL)),
    CHECK ((number IS NULL) = (issued_at IS NULL)),
    CHECK ((status = 'void') = (voided_at IS NOT NULL)),
    CHECK ((kind = 'credit_note') = (credit_note_for IS NOT NULL)),
    CHECK (status <> 'draft' OR paid = 0)
);
CREATE UNIQUE INDEX invoices_sequence ON invoices (kind, sequence) WHERE sequence IS NOT NULL;
CREATE UNIQUE INDEX invoices_one_credit_note ON invoices (credit_note_for)
    WHERE credit_note_for IS NOT NULL;
CREATE INDEX invoices_by_created ON invoices (created_at, id);
CREATE INDEX invoices_by_customer ON invoices (customer_id, created_at, id);
CREATE INDEX invoices_by_quote ON invoices (quote_id) WHERE quote_id IS NOT NULL;

CREATE TRIGGER invoices_issued_no_delete BEFORE DELETE ON invoices
WHEN OLD.status <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'issued invoices are voided, never deleted');
END;

CREATE TRIGGER invoices_issued_final BEFORE UPDATE ON invoices
WHEN OLD.status <> 'draft' AND (
    NEW.kind IS NOT OLD.kind OR NEW.sequence IS NOT OLD.sequence
    OR NEW.number IS NOT OLD.number OR NEW.customer_id IS NOT OLD.customer_id
    OR NEW.currency IS NOT OLD.currency OR NEW.rounding IS NOT OLD.rounding
    OR NEW.lines IS NOT OLD.lines OR NEW.totals IS NOT OLD.totals
    OR NEW.total IS NOT OLD.total OR NEW.deposit IS NOT OLD.deposit
    OR NEW.issued_at IS NOT OLD.issued_at OR NEW.due_at IS NOT OLD.due_at
    OR NEW.credit_note_for IS NOT OLD.credit_note_for
    OR NEW.status = 'draft' OR OLD.status = 'void' AND NEW.status IS NOT OLD.status
    OR OLD.status = 'void' AND (NEW.paid IS NOT OLD.paid OR NEW.refunded IS NOT OLD.refunded))
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice is final');
END;

-- Money in and money back: an append-only ledger per invoice. Refunds are their own kind with
-- a positive amount. external_id is the payment processor's id (Stripe), unique so a
-- replayed webhook cannot record the same payment twice.
CREATE TABLE payments (
    id           TEXT PRIMARY KEY,
    invoice_id   TEXT NOT NULL REFERENCES invoices (id),
    kind         TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
    amount       INTEGER NOT NULL CHECK (amount > 0),
    method       TEXT NOT NULL CHECK (method IN ('card', 'cash', 'check', 'bank', 'other')),
    at           TEXT NOT NULL,
    reference    TEXT CHECK (reference IS NULL OR length(reference) <= 200),
    external_id  TEXT UNIQUE,
    -- The user who recorded it; NULL for a processor's webhook.
    recorded_by  TEXT REFERENCES users (id),
    created_at   TEXT NOT NULL
);
CREATE INDEX payments_by_invoice ON payments (invoice_id, at, id);

CREATE TRIGGER payments_no_update BEFORE UPDATE ON payments
BEGIN
    SELECT RAISE(ABORT, 'payments are append-only');
END;

CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN
    SELECT RAISE(ABORT, 'payments are append-only');
END;

-- Links that show one quote or invoice to a customer without signing in: a random token
-- (stored only as its SHA-256), scoped to one document, expiring, revocable.
CREATE TABLE share_links (
    id            TEXT PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    document_kind TEXT NOT NULL CHECK (document_kind IN ('quote', 'invoice')),
    document_id   TEXT NOT NULL,
    created_by    TEXT REFERENCES users (id),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT,
    last_used_at  TEXT,
    version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE INDEX share_links_by_document ON share_links (document_kind, document_id);

INSERT INTO schema_history (version, name) VALUES (6, 'money');
