// Quotes and invoices in a real browser: the owner sets the billing defaults, starts a quote,
// types its lines (good/better options, an extra, a discount, a fractional quantity) and
// watches the totals priced live by the server; a value that cannot be read is shown beside
// its row and nothing is saved; a stale save from a second tab shows the conflict; the quote
// is sent and shared, the customer accepts it through the link, it becomes a job and an
// invoice, which is issued with the company's numbering, paid in two parts and partly
// refunded. A session that times out while lines are typed keeps them across the sign-in. A
// viewer sees it all and can change none of it. Screenshots at 375 and 1280 px.
//
// node tests/browser/money.mjs BASE OPS_TOKEN OWNER_EMAIL OWNER_PASSWORD VIEWER_EMAIL VIEWER_PASSWORD
import { Clock, DESKTOP, PHONE, at, context, expect, run, shootBoth } from "./lib.mjs";

const [base, opsToken, ownerEmail, ownerPassword, viewerEmail, viewerPassword] = process.argv.slice(2);

async function submitAndLoad(page, selector) {
  await Promise.all([page.waitForEvent("load"), page.click(selector)]);
}

async function signIn(page, email, password) {
  await page.goto(`${base}/login?next=/money`);
  await page.fill('#signin input[name="email"]', email);
  await page.fill('#signin input[name="password"]', password);
  await page.click('#signin button[type="submit"]');
  await at(page, base, "/money");
}

// The API's own view, read with the page's session.
async function read(page, path) {
  return page.evaluate(async (url) => (await fetch(url, { headers: { Accept: "application/json" } })).json(), path);
}

// Fills the last line row of the editor.
async function fillLine(page, { description, option, extra, quantity, price, discount }) {
  await page.click("form.quote-editor [data-add-line], form.invoice-editor [data-add-line]");
  const row = page.locator("[data-lines] [data-line]").last();
  await row.locator('[data-l="description"]').fill(description);
  if (option !== undefined) await row.locator('[data-l="option"]').fill(option);
  if (extra) await row.locator('[data-l="optional"]').check();
  if (quantity !== undefined) await row.locator('[data-l="quantity"]').fill(quantity);
  await row.locator('[data-l="unit_price"]').fill(price);
  if (discount !== undefined) await row.locator('[data-l="discount"]').fill(discount);
}

// The totals panel as text, block by block: [["Good", "USD 2,521.60"], …].
async function shownTotals(page) {
  return page.$$eval("[data-totals] section.total", (blocks) =>
    blocks.map((b) => [b.querySelector("h3").textContent, b.querySelector("dd.grand").textContent]),
  );
}

async function waitForTotals(page, expected) {
  await page.waitForFunction(
    (want) =>
      JSON.stringify(
        [...document.querySelectorAll("[data-totals] section.total")].map((b) => [
          b.querySelector("h3").textContent,
          b.querySelector("dd.grand").textContent,
        ]),
      ) === JSON.stringify(want),
    expected,
  );
}

await run(async ({ browser, watch, state }) => {
  const owner = (await context(browser, watch, DESKTOP, "owner")).page;
  state.page = owner;
  await signIn(owner, ownerEmail, ownerPassword);

  // Billing defaults: 13% tax on new lines, the company's own invoice numbering.
  await owner.goto(`${base}/settings`);
  await owner.fill('form.billing input[name="default_tax_rate_ppm"]', "13");
  await owner.fill('form.billing input[name="invoice_prefix"]', "ACME-");
  await owner.fill('form.billing input[name="payment_terms_days"]', "14");
  await submitAndLoad(owner, 'form.billing button[type="submit"]');
  expect((await owner.inputValue('form.billing input[name="default_tax_rate_ppm"]')) === "13", "tax kept");
  expect((await owner.inputValue('form.billing input[name="invoice_prefix"]')) === "ACME-", "prefix kept");

  // A quote for Ada, started from the money page.
  await owner.goto(`${base}/money`);
  await owner.click("text=New quote");
  await owner.selectOption('form.new-quote select[name="customer_id"]', { label: "Ada <Lovelace>" });
  await owner.fill('form.new-quote input[name="title"]', "Furnace replacement");
  await Promise.all([owner.waitForURL(/\/quotes\/[^/]+$/), owner.click('form.new-quote button[type="submit"]')]);
  const quoteId = new URL(owner.url()).pathname.split("/quotes/")[1];
  expect((await owner.textContent("h1")).includes("Q-0001 Furnace replacement"), "numbered and titled");

  // Lines, priced live as they are typed.
  await fillLine(owner, { description: "Service call", price: "89.00" });
  await waitForTotals(owner, [["Total", "USD 100.57"]]);
  await fillLine(owner, { description: "Standard furnace", option: "Good", price: "2000.00" });
  await fillLine(owner, { description: "High-efficiency furnace", option: "Best", price: "3500.00", discount: "10%" });
  await fillLine(owner, { description: "Smart thermostat", extra: true, price: "249.00" });
  await fillLine(owner, { description: "Labour (hours)", quantity: "1.5", price: "95.00" });
  await owner.fill('form.quote-editor input[name="deposit"]', "25%");
  // Good: 89 + 2000 + 142.50 = 2231.50, tax 13% per line (11.57 + 260 + 18.53) → 2521.60.
  // Best: 89 + 3500 − 350 + 142.50 = 3381.50, tax 11.57 + 409.50 + 18.53 → 3821.10.
  await waitForTotals(owner, [
    ["Good", "USD 2,521.60"],
    ["Best", "USD 3,821.10"],
  ]);
  const deposits = await owner.$$eval("[data-totals] dl.sums dd:last-of-type", (d) => d.map((x) => x.textContent));
  expect(JSON.stringify(deposits) === JSON.stringify(["USD 630.40", "USD 955.28"]), `deposits ${deposits}`);
  const labourAmount = await owner.textContent("[data-lines] [data-line]:last-child [data-l-amount]");
  expect(labourAmount === "USD 142.50", `1.5 h at 95.00 is ${labourAmount}`);
  await shootBoth(owner, "quote-editor");

  // A price with too many decimals is named in its row, and nothing is saved.
  const thermostat = owner.locator("[data-lines] [data-line]").nth(3);
  await thermostat.locator('[data-l="unit_price"]').fill("249.999");
  await owner.click('form.quote-editor button[type="submit"]');
  await thermostat.locator(".field-error").waitFor();
  expect((await read(owner, `/api/v1/quotes/${quoteId}`)).lines.length === 0, "nothing saved yet");
  await thermostat.locator('[data-l="unit_price"]').fill("249.00");
  await owner.fill('form.quote-editor textarea[name="notes"]', "Old unit removed & recycled.");
  await submitAndLoad(owner, 'form.quote-editor button[type="submit"]');
  const saved = await read(owner, `/api/v1/quotes/${quoteId}`);
  expect(saved.lines.length === 5, "five lines saved");
  expect(saved.totals.map((t) => t.total).join() === "252160,382110", `server totals ${saved.totals.map((t) => t.total)}`);
  expect(saved.lines[4].quantity_milli === 1500 && saved.lines[2].discount.percent_ppm === 100000, "typed as sent");
  expect(JSON.stringify(await shownTotals(owner)) === JSON.stringify([["Good", "USD 2,521.60"], ["Best", "USD 3,821.10"]]), "reloaded totals");

  // A second tab changes the title; this tab's save is refused with the current data shown.
  const tab = (await context(browser, watch, DESKTOP, "second tab")).page;
  await signIn(tab, ownerEmail, ownerPassword);
  await tab.goto(`${base}/quotes/${quoteId}`);
  await tab.fill('form.quote-editor input[name="title"]', "Furnace and thermostat");
  await submitAndLoad(tab, 'form.quote-editor button[type="submit"]');
  await owner.fill('form.quote-editor input[name="title"]', "Furnace (revised)");
  await owner.click('form.quote-editor button[type="submit"]');
  await owner.locator("form.quote-editor .conflict").waitFor();
  expect((await owner.textContent("form.quote-editor .conflict")).includes("Furnace and thermostat"), "their title shown");
  await submitAndLoad(owner, "form.quote-editor [data-reload]");

  // The session times out while a line is being typed: the live totals' call is refused, the
  // owner signs in again and comes back to the quote with every line as typed.
  await new Clock(base, opsToken).advance(31 * 60_000);
  await Promise.all([
    owner.waitForURL(/\/login\?next=/),
    fillLine(owner, { description: "Disposal of the old unit", price: "45.00" }),
  ]);
  await owner.fill('#signin input[name="email"]', ownerEmail);
  await owner.fill('#signin input[name="password"]', ownerPassword);
  await owner.click('#signin button[type="submit"]');
  await at(owner, base, `/quotes/${quoteId}`);
  await owner.locator("form.quote-editor .form-error:not([hidden])").waitFor();
  const kept = await owner.$$eval('[data-lines] [data-line] [data-l="description"]', (d) => d.map((x) => x.value));
  expect(kept.length === 6 && kept[5] === "Disposal of the old unit", `lines kept: ${kept}`);
  await submitAndLoad(owner, 'form.quote-editor button[type="submit"]');
  expect((await read(owner, `/api/v1/quotes/${quoteId}`)).lines.length === 6, "six lines saved");
  // On second thoughts the disposal is free: the line goes again.
  await owner.click("[data-lines] [data-line]:last-child [data-remove-line]");
  await waitForTotals(owner, [
    ["Good", "USD 2,521.60"],
    ["Best", "USD 3,821.10"],
  ]);
  await submitAndLoad(owner, 'form.quote-editor button[type="submit"]');
  expect((await read(owner, `/api/v1/quotes/${quoteId}`)).lines.length === 5, "five lines again");

  // Send it, and make a link for the customer.
  await submitAndLoad(owner, 'form.send-quote button[type="submit"]');
  expect((await owner.textContent("h1 .badge")).trim() === "Sent", "sent");
  expect((await owner.locator("form.quote-editor").count()) === 0, "a sent quote is not edited");
  await owner.click('form.share-quote button[type="submit"]');
  await owner.locator('form.share-quote [data-output="url"]').waitFor();
  const link = (await owner.locator('form.share-quote [data-output="url"] code').textContent()).trim();
  expect(link.startsWith(`${base}/s/`), `a whole link: ${link}`);
  // And email it to her: the delivery is listed, and goes out after the answer.
  await owner.selectOption('form.deliver-quote select[name="via"]', "email");
  await submitAndLoad(owner, 'form.deliver-quote button[type="submit"]');
  expect((await owner.textContent("#deliveries")).includes("Email to ada@lovelace.example"), "listed");
  for (let i = 0; !(await owner.textContent("#deliveries")).includes("Sent") && i < 50; i++) {
    await owner.waitForTimeout(200);
    await owner.reload();
  }
  expect((await owner.textContent("#deliveries")).includes("Sent"), "sent by email");
  await shootBoth(owner, "quote-sent");

  // The customer accepts on their phone: Best, with the thermostat.
  const customer = (await context(browser, watch, PHONE, "customer")).page;
  await customer.goto(link);
  await customer.getByLabel(/^Best/).check();
  await customer.getByLabel(/Smart thermostat/).check();
  await customer.getByLabel("Your full name, as your signature").fill("Ada Lovelace");
  await Promise.all([customer.waitForURL(/accepted=1/), customer.getByRole("button", { name: "Accept quote" }).click()]);

  // Accepted: Best + thermostat (249.00 + 32.37 tax) = 4102.47; converted to a draft invoice.
  await owner.reload();
  expect((await owner.textContent("h1 .badge")).trim() === "Accepted", "accepted");
  const accepted = await owner.textContent("dd.accepted");
  expect(accepted.includes("Ada Lovelace chose Best") && accepted.includes("USD 4,102.47"), accepted);
  expect((await owner.textContent("#timeline")).includes("Opened by the customer"), "the view is on the timeline");
  await Promise.all([owner.waitForURL(/\/invoices\/[^/]+$/), owner.click('form.convert-quote button[type="submit"]')]);
  const invoiceId = new URL(owner.url()).pathname.split("/invoices/")[1];
  expect((await owner.textContent("h1")).includes("Draft invoice"), "a draft");
  expect(JSON.stringify(await shownTotals(owner)) === JSON.stringify([["Total", "USD 4,102.47"]]), "the accepted total");
  expect((await owner.locator("[data-lines] [data-line]").count()) === 4, "the chosen lines only");

  // Issue it: the company's numbering; then the deposit (what is due now) and the rest.
  await submitAndLoad(owner, 'form.issue-invoice button[type="submit"]');
  expect((await owner.textContent("h1")).includes("ACME-0001"), "numbered with the prefix");
  expect((await owner.textContent("dd.due-now")) === "USD 1,025.62", "the 25% deposit is due now");
  expect((await owner.inputValue('form.record-payment input[name="amount"]')) === "1025.62", "suggested amount");
  await submitAndLoad(owner, 'form.record-payment button[type="submit"]');
  expect((await owner.textContent("h1 .badge")).trim() === "Partially paid", "partially paid");
  expect((await owner.textContent("dd.balance")) === "USD 3,076.85", "balance");
  await owner.fill('form.record-payment input[name="amount"]', "3076.85");
  await owner.selectOption('form.record-payment select[name="method"]', "bank");
  await owner.fill('form.record-payment input[name="reference"]', "TRF-2291");
  await submitAndLoad(owner, 'form.record-payment button[type="submit"]');
  expect((await owner.textContent("h1 .badge")).trim() === "Paid", "paid");
  // A refund larger than what was paid is refused beside the amount; a small one is recorded.
  await owner.click("text=Record a refund");
  await owner.fill('form.record-refund input[name="amount"]', "5000.00");
  await owner.click('form.record-refund button[type="submit"]');
  await owner.locator('form.record-refund .field[data-field="amount"] .field-error').waitFor();
  await owner.fill('form.record-refund input[name="amount"]', "100.00");
  await submitAndLoad(owner, 'form.record-refund button[type="submit"]');
  const invoice = await read(owner, `/api/v1/invoices/${invoiceId}`);
  expect(invoice.number === "ACME-0001" && invoice.paid === 410247 && invoice.refunded === 10000, JSON.stringify(invoice));
  expect(invoice.payments.map((p) => `${p.kind}:${p.method}`).join() === "payment:card,payment:bank,refund:card", "payments");
  const payments = await owner.$$eval("#payments li .title", (l) => l.map((x) => x.textContent.trim()));
  expect(payments.length === 3 && payments[2] === "Refund USD 100.00", `payments ${payments}`);
  expect((await owner.textContent("#timeline")).includes("Payment recorded"), "timeline");
  await shootBoth(owner, "invoice");

  // The job the quote became lists both documents, and starts the next invoice (progress
  // billing) for itself.
  await Promise.all([owner.waitForEvent("load"), owner.click("dd a[href^='/jobs/']")]);
  const documents = await owner.textContent("#documents");
  expect(documents.includes("Q-0001") && documents.includes("ACME-0001"), documents);
  await Promise.all([owner.waitForURL(/\/invoices\/[^/]+$/), owner.click('form.new-job-invoice button[type="submit"]')]);
  expect(new URL(owner.url()).pathname !== `/invoices/${invoiceId}`, "a new invoice");
  expect((await owner.textContent("h1")).includes("Draft invoice"), "a draft for the job");
  expect((await owner.textContent("dl.facts")).includes("Furnace"), "for the job");
  // The customer's page lists what was made for them.
  await Promise.all([owner.waitForEvent("load"), owner.click("dd a[href^='/customers/']")]);
  const theirs = await owner.textContent("#documents");
  expect(theirs.includes("Q-0001") && theirs.includes("ACME-0001"), theirs);
  await owner.goto(`${base}/money`);
  await shootBoth(owner, "money");

  // A viewer reads both documents and is offered nothing to change.
  const viewer = (await context(browser, watch, PHONE, "viewer")).page;
  state.page = viewer;
  await signIn(viewer, viewerEmail, viewerPassword);
  for (const path of [`/quotes/${quoteId}`, `/invoices/${invoiceId}`]) {
    await viewer.goto(`${base}${path}`);
    expect((await viewer.locator("form.api").count()) === 0, `${path}: no forms for a viewer`);
    expect((await viewer.locator("#actions").count()) === 0, `${path}: no actions`);
  }
  expect((await viewer.locator("table.lines-table tbody tr").count()) === 4, "the lines are shown");

  return { quote: quoteId, invoice: invoiceId, total: invoice.totals.total };
});
