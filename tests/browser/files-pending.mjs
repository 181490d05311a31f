// Files the scanner has not seen yet, in a real browser: the job's two uploads (sent while the
// scanner was down) show as "Scanning…", without a link or a thumbnail; once the scanner's
// sweep has run, the open page — not reloaded — shows the photo's thumbnail and the other file
// rejected with the signature the scanner found.
//
// node tests/browser/files-pending.mjs BASE OPS_TOKEN OWNER_EMAIL OWNER_PASSWORD JOB
//   JOB holds boiler.jpg (clean once scanned) and scan.pdf (the EICAR test file), both pending.
import { Clock, PHONE, at, context, expect, run } from "./lib.mjs";

const [base, opsToken, ownerEmail, ownerPassword, job] = process.argv.slice(2);

await run(async ({ browser, watch, state }) => {
  const { page } = await context(browser, watch, PHONE, "owner");
  state.page = page;
  await page.goto(`${base}/login`);
  await page.fill('#signin input[name="email"]', ownerEmail);
  await page.fill('#signin input[name="password"]', ownerPassword);
  await page.click('#signin button[type="submit"]');
  await at(page, base, "/schedule");

  await page.goto(`${base}/jobs/${job}`);
  const rows = page.locator("section.files li.file");
  await rows.nth(1).waitFor();
  const scanning = await page.locator("section.files .badge.pending").count();
  expect(scanning === 2, `both files are scanning (${scanning})`);
  expect((await page.locator("section.files li.file a, section.files li.file img").count()) === 0,
    "nothing unscanned can be opened");

  // The scanner's retry comes due and the sweep runs; the page looks again by itself.
  await new Clock(base, opsToken).advance(2 * 60_000);
  const sweep = await fetch(`${base}/__scheduled?cron=*%2F5+*+*+*+*`);
  expect(sweep.ok, `the sweep ran: ${sweep.status}`);
  const photo = rows.filter({ hasText: "boiler.jpg" });
  await photo.locator("img").waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector("section.files li.file img")?.naturalWidth > 0);
  const rejected = rows.filter({ hasText: "scan.pdf" }).locator(".badge.rejected");
  await rejected.waitFor();
  const reason = (await rejected.textContent()).trim();
  expect(/^Rejected: \S/.test(reason), `the signature found is shown: ${reason}`);
  expect((await page.locator("section.files .badge.pending").count()) === 0, "nothing is scanning now");
  const reloads = await page.evaluate(() => performance.getEntriesByType("navigation").length);
  return { rejected: reason, navigations: reloads };
});
