// A generated password, in a real browser: signing in leads to the change before anything
// else (any other page sends the user back to it), the current password again is refused as
// the new one, and the change leads on to the page first asked for.
//
// node tests/browser/password.mjs BASE EMAIL GENERATED_PASSWORD NEW_PASSWORD
import { DESKTOP, at, context, expect, run, shootBoth } from "./lib.mjs";

const [base, email, generated, chosen] = process.argv.slice(2);

await run(async ({ browser, watch, state }) => {
  const { page } = await context(browser, watch, DESKTOP, "owner");
  state.page = page;

  await page.goto(`${base}/jobs?status=requested`);
  await at(page, base, `/login?next=${encodeURIComponent("/jobs?status=requested").replace(/%2F/g, "/")}`);
  await page.fill('#signin input[name="email"]', email);
  await page.fill('#signin input[name="password"]', generated);
  await page.click('#signin button[type="submit"]');
  await at(page, base, `/password?next=${encodeURIComponent("/jobs?status=requested")}`);
  expect(/generated for you/.test(await page.textContent("main")), "the page says why");
  await shootBoth(page, "password-change");

  // Every other page sends the user back here first.
  await page.goto(`${base}/customers`);
  await at(page, base, "/password?next=/customers");

  // The same password again is no change.
  await page.fill('form.password input[name="current_password"]', generated);
  await page.fill('form.password input[name="new_password"]', generated);
  await page.click('form.password button[type="submit"]');
  await page.waitForSelector('form.password [data-field="new_password"] .field-error');

  await page.fill('form.password input[name="new_password"]', chosen);
  await page.click('form.password button[type="submit"]');
  await at(page, base, "/customers");
  expect(/Customers/.test(await page.textContent("h1")), "the page first asked for");
  return { changed: true };
});
