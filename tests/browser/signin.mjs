// Signing in, in a real browser: the way back to the page asked for, a refused password,
// the company requiring two-factor sign-in and the forced enrolment (QR code, recovery codes
// shown once), signing out, signing in with a TOTP code and with a recovery code, a session
// that times out and returns to where it was, a `next` that points off-site, and the
// notice of two-factor no longer being required, on the bell and its page.
//
// node tests/browser/signin.mjs BASE OPS_TOKEN EMAIL PASSWORD
import { Clock, DESKTOP, at, context, expect, run, shootBoth } from "./lib.mjs";

const [base, opsToken, email, password] = process.argv.slice(2);

await run(async ({ browser, watch, state }) => {
  const clock = new Clock(base, opsToken);
  const { page } = await context(browser, watch, DESKTOP, "owner");
  state.page = page;

  async function password_step(pass = password) {
    await page.fill('#signin input[name="email"]', email);
    await page.fill('#signin input[name="password"]', pass);
    await page.click('#signin button[type="submit"]');
  }

  // A page asked for while signed out leads to sign-in and back.
  await page.goto(`${base}/jobs?status=requested`);
  await at(page, base, `/login?next=${encodeURIComponent("/jobs?status=requested").replace(/%2F/g, "/")}`);
  await shootBoth(page, "login");

  // A wrong password is refused on the page, and what was typed stays.
  await password_step("not-the-password-at-all");
  await page.waitForSelector("#signin .form-error:not([hidden])");
  const refusal = await page.textContent("#signin .form-error");
  expect(/not right/.test(refusal), `refusal says why: ${refusal}`);
  expect((await page.inputValue('#signin input[name="email"]')) === email, "the email stays");

  await password_step();
  await at(page, base, "/jobs?status=requested");

  // The owner requires two-factor sign-in for everyone, themself included.
  await page.goto(`${base}/settings`);
  await page.check('#company input[name="mfa_required"]');
  await page.click('#company button[type="submit"]');
  // The page reloads, and now sends them to enrol first; so does any other page.
  await at(page, base, "/mfa?next=/settings");
  await page.goto(`${base}/customers`);
  await at(page, base, "/mfa?next=/customers");
  expect(await page.isVisible(".qr svg"), "a QR code is shown");
  expect(/requires two-factor/.test(await page.textContent("main")), "the page says why");
  await shootBoth(page, "mfa-enrol");
  const secret = await page.getAttribute("[data-secret]", "data-secret");
  // A reload shows the same key (a code already scanned stays valid).
  await page.reload();
  expect((await page.getAttribute("[data-secret]", "data-secret")) === secret, "same key");

  // A wrong code is refused beside the field.
  await page.fill('#mfa-confirm input[name="code"]', "000000");
  await page.click('#mfa-confirm button[type="submit"]');
  await page.waitForSelector('#mfa-confirm [data-field="code"] .field-error');

  await page.fill('#mfa-confirm input[name="code"]', await clock.freshCode(secret));
  await page.click('#mfa-confirm button[type="submit"]');
  await page.waitForSelector("#recovery:not([hidden])");
  const codes = await page.$$eval("#recovery ol.codes li", (items) => items.map((i) => i.textContent));
  expect(codes.length === 10, `ten recovery codes, got ${codes.length}`);
  await shootBoth(page, "mfa-recovery-codes");
  await page.click("#recovery [data-continue]");
  await at(page, base, "/customers");

  // Shown once: the enrolment page now says two-factor is on, with no codes.
  await page.goto(`${base}/mfa`);
  expect(/10 recovery codes left/.test(await page.textContent("main")), "codes counted");

  // Signing out ends the session.
  await page.click("[data-signout]");
  await at(page, base, "/login");
  await page.goto(`${base}/schedule`);
  await at(page, base, "/login?next=/schedule");

  // Password, then the code.
  await password_step();
  await page.waitForSelector("#signin-mfa:not([hidden])");
  await page.fill('#signin-mfa input[name="code"]', await clock.freshCode(secret));
  await page.click('#signin-mfa button[type="submit"]');
  await at(page, base, "/schedule");

  // 31 minutes idle: the session is over; the next page asks to sign in and comes back.
  await clock.advance(31 * 60_000);
  await page.goto(`${base}/customers?q=ada`);
  await at(page, base, `/login?next=/customers%3Fq%3Dada`);
  await password_step();
  await page.waitForSelector("#signin-mfa:not([hidden])");
  // With a recovery code this time.
  await page.click("[data-use-recovery]");
  await page.fill('#signin-mfa input[name="recovery_code"]', codes[0]);
  await page.click('#signin-mfa button[type="submit"]');
  await at(page, base, "/customers?q=ada");

  // A used recovery code does not work twice.
  await page.click("[data-signout]");
  await at(page, base, "/login");
  await password_step();
  await page.waitForSelector("#signin-mfa:not([hidden])");
  await page.click("[data-use-recovery]");
  await page.fill('#signin-mfa input[name="recovery_code"]', codes[0]);
  await page.click('#signin-mfa button[type="submit"]');
  await page.waitForSelector("#signin-mfa .form-error:not([hidden])");
  await page.fill('#signin-mfa input[name="recovery_code"]', codes[1]);
  await page.click('#signin-mfa button[type="submit"]');
  await at(page, base, "/schedule");

  // `next` pointing elsewhere is ignored: signed in, /login?next=//evil goes home.
  await page.goto(`${base}/login?next=//evil.example/steal`);
  await at(page, base, "/schedule");
  expect(new URL(page.url()).host === new URL(base).host, "stayed on this site");

  // The owner no longer requires two-factor sign-in: every owner is told, and the bell
  // counts it until it is read.
  await page.goto(`${base}/settings`);
  await page.uncheck('#company input[name="mfa_required"]');
  await page.click('#company button[type="submit"]');
  await page.waitForSelector('a.bell .count');
  expect((await page.textContent("a.bell .count")).trim() === "1", "one unread notice");
  await page.click("a.bell");
  await at(page, base, "/notifications");
  expect(/no longer required/.test(await page.textContent("main")), "the notice says what happened");
  await shootBoth(page, "notices");
  await page.click('form.read-all button[type="submit"]');
  await page.waitForSelector("a.bell:not(:has(.count))");
  expect(!(await page.isVisible("form.read-all")), "nothing left to mark read");

  return { recovery_codes: codes.length };
});
