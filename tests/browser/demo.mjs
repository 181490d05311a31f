// The seeded demo tenant as a new user first sees it: the owner signs in, today's schedule is
// full, the week has work on it, and the money page holds quotes and invoices in every state.
// Screenshots at 375 and 1280 px (target/screenshots/demo-*.png).
//
// node tests/browser/demo.mjs BASE OWNER_EMAIL OWNER_PASSWORD
import { DESKTOP, at, context, expect, run, shootBoth } from "./lib.mjs";

const [base, email, password] = process.argv.slice(2);

run(async ({ browser, watch, state }) => {
  const { page } = await context(browser, watch, DESKTOP, "owner");
  state.page = page;
  await page.goto(`${base}/login?next=/schedule`);
  await page.fill('#signin input[name="email"]', email);
  await page.fill('#signin input[name="password"]', password);
  await page.click('#signin button[type="submit"]');
  await at(page, base, "/schedule");
  const today = (await page.$$("article.visit")).length;
  expect(today >= 8, `today's schedule shows ${today} visits`);
  await shootBoth(page, "demo-schedule-day");

  await page.goto(`${base}/schedule?view=week`);
  const week = (await page.$$("article.visit")).length;
  expect(week >= today, `the week shows ${week} visits`);
  await shootBoth(page, "demo-schedule-week");

  await page.goto(`${base}/money`);
  const money = (await page.textContent("main")).toLowerCase();
  const missing = ["overdue", "partially paid", "paid", "issued", "draft", "accepted", "sent"].filter(
    (s) => !money.includes(s),
  );
  expect(missing.length === 0, `the money page lacks ${missing.join(", ")}`);
  await shootBoth(page, "demo-money");

  await page.goto(`${base}/jobs`);
  await shootBoth(page, "demo-jobs");
  await page.goto(`${base}/customers`);
  await shootBoth(page, "demo-customers");
  return { today, week };
});
