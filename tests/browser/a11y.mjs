// The accessibility audit: axe-core's WCAG 2.1 A and AA rules on every page of the dashboard,
// at phone and desktop width, with its folded sections opened, after a refused form (so error
// messages are audited too) and with a job's files listed and its signature pad open, for the
// owner, a technician, a signed-out visitor and a customer on a share link. Any violation fails
// the run, and each is listed with its rule and the elements it names.
//
// node tests/browser/a11y.mjs BASE OWNER_EMAIL OWNER_PASSWORD TECH_EMAIL TECH_PASSWORD PATHS
//   PATHS: JSON {"owner": [...], "technician": [...], "public": [...]}
import { DESKTOP, PHONE, at, audit, context, run } from "./lib.mjs";

const [base, ownerEmail, ownerPassword, techEmail, techPassword, pathsJson] = process.argv.slice(2);
const paths = JSON.parse(pathsJson);

async function signIn(page, email, password) {
  await page.goto(`${base}/login`);
  await page.fill('#signin input[name="email"]', email);
  await page.fill('#signin input[name="password"]', password);
  await page.click('#signin button[type="submit"]');
  await at(page, base, "/schedule");
}

await run(async ({ browser, watch, state }) => {
  const found = [];
  let audited = 0;

  async function check(page, who, path, prepare) {
    for (const viewport of [PHONE, DESKTOP]) {
      await page.setViewportSize(viewport);
      await page.goto(`${base}${path}`);
      // Folded forms are part of the page: audit them open.
      await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = true)));
      if (prepare) await prepare(page);
      audited += 1;
      for (const v of await audit(page)) found.push({ who, path, width: viewport.width, ...v });
    }
  }

  const anonymous = (await context(browser, watch, DESKTOP, "visitor")).page;
  state.page = anonymous;
  for (const path of ["/login", ...paths.public]) await check(anonymous, "visitor", path);
  // The sign-in form after a refusal: the message and the marked fields.
  await check(anonymous, "visitor", "/login", async (page) => {
    await page.fill('#signin input[name="email"]', "nobody@example.com");
    await page.fill('#signin input[name="password"]', "not-the-password");
    await page.click('#signin button[type="submit"]');
    await page.locator("#signin .form-error:not([hidden])").waitFor();
  });

  const owner = (await context(browser, watch, DESKTOP, "owner")).page;
  state.page = owner;
  await signIn(owner, ownerEmail, ownerPassword);
  for (const path of paths.owner) await check(owner, "owner", path);
  // A refused create: errors beside the fields.
  await check(owner, "owner", "/customers/new", async (page) => {
    await page.fill('form.new-customer input[name="emails"]', "not-an-email");
    await page.click('form.new-customer button[type="submit"]');
    await page.locator('.field[data-field="emails"] .field-error').waitFor();
  });

  // A job's files listed (after the page loads) and its signature pad open.
  const job = paths.owner.find((p) => /^\/jobs\/(?!new)[^?]+$/.test(p));
  if (job) {
    await check(owner, "owner", job, async (page) => {
      await page.waitForFunction(() => {
        const note = document.querySelector("section.files [data-files-note]");
        return note && !note.textContent.includes("JavaScript");
      });
      await page.click("#signature [data-open-pad]");
      await page.locator("#signature-pad canvas").waitFor();
    });
  }

  const tech = (await context(browser, watch, PHONE, "technician")).page;
  state.page = tech;
  await signIn(tech, techEmail, techPassword);
  for (const path of paths.technician) await check(tech, "technician", path);

  if (found.length) {
    const lines = found.map(
      (v) => `${v.who} ${v.path} @${v.width}: ${v.rule} (${v.impact}) ${v.help} — ${v.nodes.join(" | ")}`,
    );
    throw new Error(`${found.length} accessibility violations:\n${lines.join("\n")}`);
  }
  return { pages_audited: audited };
});
