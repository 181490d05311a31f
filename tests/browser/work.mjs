// The day's work, in a real browser: the owner sets the company's time zone, creates a customer
// (a bad field is refused beside it, nothing typed is lost), a site, two jobs and their visits
// (a double-booking is refused, then made on purpose by a reschedule), edits a job that a
// second tab changed meanwhile (the conflict shows the current data), moves it through its
// statuses, invites a viewer who joins through the link; the technician's phone shows only
// their work and no manager's controls; the audit trail verifies its chain; a session that
// times out while a note is being typed keeps the note. Screenshots of the main pages at
// 375 and 1280 px.
//
// node tests/browser/work.mjs BASE OPS_TOKEN OWNER_EMAIL OWNER_PASSWORD TECH_EMAIL TECH_PASSWORD
import { Clock, DESKTOP, PHONE, at, context, expect, run, shoot, shootBoth } from "./lib.mjs";

const [base, opsToken, ownerEmail, ownerPassword, techEmail, techPassword] = process.argv.slice(2);
const DAY = "2030-06-11";

/// Submits a form whose success reloads or leaves the page, and waits for the new page.
async function submitAndLoad(page, selector) {
  await Promise.all([page.waitForEvent("load"), page.click(selector)]);
}

async function signIn(page, email, password, landing = "/schedule") {
  await page.goto(`${base}/login`);
  await page.fill('#signin input[name="email"]', email);
  await page.fill('#signin input[name="password"]', password);
  await page.click('#signin button[type="submit"]');
  await at(page, base, landing);
}

function idFrom(url, kind) {
  return new URL(url).pathname.split(`/${kind}/`)[1];
}

await run(async ({ browser, watch, state }) => {
  const clock = new Clock(base, opsToken);
  const owner = (await context(browser, watch, DESKTOP, "owner")).page;
  state.page = owner;
  await signIn(owner, ownerEmail, ownerPassword);

  // The company works in Toronto: times are typed and shown there.
  await owner.goto(`${base}/settings`);
  await owner.fill('form.company input[name="name"]', "Acme Heating & Cooling");
  await owner.fill('form.company input[name="time_zone"]', "America/Toronto");
  await submitAndLoad(owner, 'form.company button[type="submit"]');
  expect((await owner.textContent(".brand")) === "Acme Heating & Cooling", "escaped name shown");

  // A customer: a bad address is refused beside its field, and what was typed stays.
  await owner.goto(`${base}/customers`);
  await owner.click("text=New customer");
  await at(owner, base, "/customers/new");
  await owner.fill('form.new-customer input[name="name"]', "Ada <Lovelace>");
  await owner.fill('form.new-customer input[name="emails"]', "not-an-email");
  await owner.click('form.new-customer button[type="submit"]');
  await owner.waitForSelector('.field[data-field="emails"] .field-error');
  expect(
    (await owner.getAttribute('form.new-customer input[name="emails"]', "aria-invalid")) === "true",
    "the field is marked",
  );
  expect(
    (await owner.inputValue('form.new-customer input[name="name"]')) === "Ada <Lovelace>",
    "the name typed stays",
  );
  await shootBoth(owner, "customer-new-error");
  await owner.fill('form.new-customer input[name="emails"]', "ada@example.com");
  await owner.fill('form.new-customer input[name="phones"]', "+1 416 555 0100");
  await owner.click('form.new-customer button[type="submit"]');
  await owner.waitForURL(/\/customers\/[0-9a-f-]{36}$/);
  const customerId = idFrom(owner.url(), "customers");
  expect((await owner.textContent("h1")).includes("Ada <Lovelace>"), "the name, escaped");

  // Its site, then a job there for the technician.
  await owner.fill('form.add-site input[name="line1"]', "12 Queen St W");
  await owner.fill('form.add-site input[name="city"]', "Toronto");
  await submitAndLoad(owner, 'form.add-site button[type="submit"]');
  await owner.click("text=New job");
  await at(owner, base, `/jobs/new?customer=${customerId}`);
  await shootBoth(owner, "job-new");

  async function newJob(title) {
    await owner.goto(`${base}/jobs/new?customer=${customerId}`);
    await owner.fill('form.new-job input[name="title"]', title);
    await owner.check('form.new-job label.check:has-text("technician person") input');
    await owner.click('form.new-job button[type="submit"]');
    await owner.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    return idFrom(owner.url(), "jobs");
  }

  async function book(start, end) {
    await owner.fill('form.book-visit input[name="start"]', `${DAY}T${start}`);
    await owner.fill('form.book-visit input[name="end"]', `${DAY}T${end}`);
    await owner.click('form.book-visit button[type="submit"]');
  }

  const boiler = await newJob("Boiler service");
  await Promise.all([owner.waitForEvent("load"), book("09:00", "11:00")]);
  expect(
    (await owner.textContent("#visits")).includes("11 Jun 2030 09:00–11:00"),
    "the visit, in Toronto time",
  );
  const stored = await owner.evaluate(async () => {
    const r = await fetch("/api/v1/visits?from=2030-06-11T00:00:00Z&to=2030-06-12T12:00:00Z");
    return (await r.json()).visits.map((v) => v.start);
  });
  expect(stored[0] === "2030-06-11T13:00:00.000Z", `stored in UTC: ${stored}`);

  // A second job for the same technician: the overlapping booking is refused, says with whom,
  // and keeps the times typed; a free slot books.
  const radiator = await newJob("Radiator leak");
  await book("10:00", "12:00");
  await owner.waitForSelector("form.book-visit .conflict");
  expect(
    (await owner.textContent("form.book-visit .conflict")).includes("technician person"),
    "the clash names who",
  );
  expect(await owner.isVisible("form.book-visit .allow-conflict"), "book anyway is offered");
  expect(
    (await owner.inputValue('form.book-visit input[name="start"]')) === `${DAY}T10:00`,
    "the time typed stays",
  );
  await shootBoth(owner, "visit-clash");
  await Promise.all([owner.waitForEvent("load"), book("13:00", "14:00")]);

  // Rescheduling onto the first visit clashes too, until the dispatcher insists.
  await owner.goto(`${base}/schedule?date=${DAY}`);
  const card = 'article.visit:has-text("Radiator leak")';
  await owner.click(`${card} summary`);
  await owner.fill(`${card} input[name="start"]`, `${DAY}T10:30`);
  await owner.fill(`${card} input[name="end"]`, `${DAY}T11:30`);
  await owner.click(`${card} button[type="submit"]`);
  await owner.waitForSelector(`${card} .conflict`);
  await owner.check(`${card} input[name="allow_conflict"]`);
  await submitAndLoad(owner, `${card} button[type="submit"]`);
  expect((await owner.$$("article.visit.clash")).length === 2, "both visits are flagged");
  expect(
    (await owner.textContent(`${card} .flag`)).includes("09:00–11:00"),
    "the flag says with what",
  );
  await shootBoth(owner, "schedule-day");
  await owner.goto(`${base}/schedule?date=${DAY}&view=week`);
  expect((await owner.$$(".board.week .column")).length === 7, "a week of days");
  await shootBoth(owner, "schedule-week");

  // A stale edit from a second tab: the conflict shows the job as it is now; nothing typed is
  // lost; keeping my version saves it over theirs.
  const second = (await context(browser, watch, DESKTOP, "second tab")).page;
  await signIn(second, ownerEmail, ownerPassword);
  await second.goto(`${base}/jobs/${boiler}`);
  await owner.goto(`${base}/jobs/${boiler}`);
  await second.fill('form.edit-job input[name="title"]', "Boiler service – urgent");
  await submitAndLoad(second, 'form.edit-job button[type="submit"]');
  await owner.fill('form.edit-job input[name="title"]', "Boiler service (annual)");
  await owner.click('form.edit-job button[type="submit"]');
  await owner.waitForSelector("form.edit-job .conflict");
  const shownNow = await owner.textContent("form.edit-job .conflict");
  expect(shownNow.includes("Boiler service – urgent"), `the current data: ${shownNow}`);
  expect(
    (await owner.inputValue('form.edit-job input[name="title"]')) === "Boiler service (annual)",
    "what I typed stays",
  );
  await shootBoth(owner, "job-conflict");
  await owner.click("form.edit-job [data-keep]");
  await submitAndLoad(owner, 'form.edit-job button[type="submit"]');
  expect((await owner.textContent("h1")).includes("Boiler service (annual)"), "mine won");

  // A stale reschedule: the second tab moved the visit first. The first sees where it is now,
  // keeps what it typed, and reloads with the current times.
  await second.goto(`${base}/schedule?date=${DAY}`);
  await owner.goto(`${base}/schedule?date=${DAY}`);
  const boilerCard = 'article.visit:has-text("Boiler service")';
  await second.click(`${boilerCard} summary`);
  await second.fill(`${boilerCard} input[name="start"]`, `${DAY}T08:00`);
  await second.fill(`${boilerCard} input[name="end"]`, `${DAY}T09:30`);
  await submitAndLoad(second, `${boilerCard} button[type="submit"]`);
  await owner.click(`${boilerCard} summary`);
  await owner.fill(`${boilerCard} input[name="start"]`, `${DAY}T07:00`);
  await owner.fill(`${boilerCard} input[name="end"]`, `${DAY}T08:00`);
  await owner.click(`${boilerCard} button[type="submit"]`);
  await owner.waitForSelector(`${boilerCard} .conflict`);
  const visitNow = await owner.textContent(`${boilerCard} .conflict`);
  expect(visitNow.includes("08:00") && visitNow.includes("09:30"), `as it is now: ${visitNow}`);
  expect(
    (await owner.inputValue(`${boilerCard} input[name="start"]`)) === `${DAY}T07:00`,
    "what I typed stays",
  );
  await shootBoth(owner, "visit-stale");
  await submitAndLoad(owner, `${boilerCard} [data-reload]`);
  expect(
    (await owner.inputValue(`${boilerCard} input[name="start"]`)) === `${DAY}T08:00`,
    "reloaded with the current time",
  );
  await owner.goto(`${base}/jobs/${boiler}`);

  // Booking its visit scheduled the job. Status moves are the machine's, shown as buttons;
  // the timeline records them.
  expect((await owner.textContent("h1 .badge")) === "Scheduled", "booked, so scheduled");
  const buttons = await owner.$$eval("[data-status]", (b) => b.map((x) => x.dataset.status));
  expect(buttons.join() === "in_progress,on_hold,cancelled,requested", `from scheduled: ${buttons}`);
  await submitAndLoad(owner, '[data-status="on_hold"]');
  expect((await owner.textContent("h1 .badge")) === "On hold", "now on hold");
  const timeline = await owner.textContent("#timeline");
  expect(timeline.includes("Requested → Scheduled"), `timeline: ${timeline}`);
  expect(timeline.includes("Scheduled → On hold"), `timeline: ${timeline}`);
  await owner.fill('form.add-note textarea[name="text"]', "Bring the 22mm fittings.");
  await submitAndLoad(owner, 'form.add-note button[type="submit"]');
  expect((await owner.textContent("#notes")).includes("Bring the 22mm fittings."), "note");
  await shootBoth(owner, "job");

  // Lists, search and filters.
  await owner.goto(`${base}/jobs?q=radiator`);
  expect((await owner.$$("ul.jobs > li")).length === 1, "search by title");
  await owner.goto(`${base}/jobs?q=lovelace`);
  expect((await owner.$$("ul.jobs > li")).length === 2, "search by customer");
  await owner.goto(`${base}/jobs?status=scheduled`);
  expect((await owner.$$("ul.jobs > li")).length === 1, "filter by status");
  await owner.goto(`${base}/jobs`);
  await shootBoth(owner, "jobs");
  await owner.goto(`${base}/customers`);
  await shootBoth(owner, "customers");
  await owner.goto(`${base}/customers/${customerId}`);
  await shootBoth(owner, "customer");
  // Personal access tokens and chat link codes are shown once; a token can be revoked.
  await owner.goto(`${base}/settings`);
  await owner.fill('form.new-token input[name="name"]', "Laptop MCP");
  await owner.click('form.new-token button[type="submit"]');
  await owner.waitForSelector('[data-output="token"]:not([hidden])');
  const token = await owner.textContent('[data-output="token"] code');
  expect(token.startsWith("fwp_"), `a token: ${token}`);
  await owner.click('form.link-code button[type="submit"]');
  await owner.waitForSelector('[data-output="code"]:not([hidden])');
  const code = await owner.textContent('[data-output="code"] code');
  expect(/^[A-Z2-9]{10}$/.test(code), `a link code: ${code}`);
  await owner.reload();
  expect(!(await owner.textContent("#tokens")).includes(token), "never shown again");
  await submitAndLoad(owner, '#tokens form.inline button[type="submit"]');
  expect((await owner.textContent("#tokens")).includes("Revoked"), "revoked");
  // Automatic messages to customers: quiet hours changed, the follow-up switched off and
  // reworded, its preview filled in with an example.
  await owner.fill('form.message-timing input[name="quiet_start"]', "21:00");
  await submitAndLoad(owner, 'form.message-timing button[type="submit"]');
  expect((await owner.inputValue('form.message-timing input[name="quiet_start"]')) === "21:00", "quiet hours kept");
  await owner.click("#template-quote_follow_up summary");
  await owner.uncheck('#template-quote_follow_up input[name="enabled"]');
  await owner.fill('#template-quote_follow_up textarea[name="body"]', "Hi {customer}, quote {number} is waiting: {link}");
  await submitAndLoad(owner, '#template-quote_follow_up button[type="submit"]');
  await owner.click("#template-quote_follow_up summary");
  const followUp = await owner.textContent("#template-quote_follow_up");
  expect(followUp.includes("Off") && followUp.includes("Hi Ann Lee, quote Q-0007 is waiting"), `saved: ${followUp}`);
  await owner.click("#template-reminder summary");
  await owner.fill('#template-reminder textarea[name="body"]', "See you {when}");
  await owner.click('#template-reminder button[type="submit"]');
  await owner.locator("#template-reminder .form-error:not([hidden]), #template-reminder .field-error").first().waitFor();
  await shootBoth(owner, "settings");

  // The audit trail: the chain verifies, filters narrow it.
  await owner.goto(`${base}/audit`);
  await owner.waitForSelector("[data-verify-audit].ok");
  expect(/intact/.test(await owner.textContent("[data-verify-audit]")), "chain intact");
  await shootBoth(owner, "audit");
  await owner.goto(`${base}/audit?action=job.created`);
  const actions = await owner.$$eval("ol.audit > li .title code", (c) => c.map((x) => x.textContent));
  expect(actions.length === 2 && actions.every((a) => a === "job.created"), `filtered: ${actions}`);

  // Inviting a viewer, who joins through the link and can only look.
  await owner.goto(`${base}/team`);
  await owner.fill('form.invite input[name="email"]', "vic@acme-heating.example");
  await owner.selectOption('form.invite select[name="role"]', "viewer");
  await owner.click('form.invite button[type="submit"]');
  await owner.waitForSelector('[data-output="invite_url"]:not([hidden])');
  const link = await owner.textContent('[data-output="invite_url"] code');
  expect(link.startsWith(`${base}/invite/`), `an invite link: ${link}`);
  await shootBoth(owner, "team");
  const viewer = (await context(browser, watch, PHONE, "viewer")).page;
  state.page = viewer;
  await viewer.goto(link);
  await viewer.fill('#accept-invite input[name="name"]', "Vic Viewer");
  await viewer.fill('#accept-invite input[name="password"]', "short");
  await viewer.click('#accept-invite button[type="submit"]');
  await viewer.waitForSelector('#accept-invite [data-field="password"] .field-error');
  await viewer.fill('#accept-invite input[name="password"]', "looking-not-touching-5");
  await viewer.click('#accept-invite button[type="submit"]');
  await at(viewer, base, "/schedule");
  await viewer.goto(`${base}/jobs/${boiler}`);
  expect((await viewer.$$("form.api")).length === 0, "a viewer gets no forms on a job");
  await viewer.goto(`${base}/jobs`);
  expect((await viewer.$$('a[href="/jobs/new"]')).length === 0, "no new job for a viewer");

  // The team: someone locked out by failed sign-ins is unlocked; roles change; people leave.
  for (let i = 0; i < 5; i++) {
    await fetch(`${base}/api/v1/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: techEmail, password: "wrong-password-guess" }),
    });
  }
  state.page = owner;
  await owner.goto(`${base}/team`);
  const techRow = `li[data-user="${techEmail}"]`;
  expect((await owner.textContent(techRow)).includes("Locked until"), "locked out");
  await submitAndLoad(owner, `${techRow} form[data-action$="/unlock"] button`);
  expect(!(await owner.textContent(techRow)).includes("Locked until"), "unlocked");
  const vicRow = 'li[data-user="vic@acme-heating.example"]';
  await owner.selectOption(`${vicRow} select[name="role"]`, "dispatcher");
  await submitAndLoad(owner, `${vicRow} form.role button`);
  expect((await owner.textContent(`${vicRow} .title`)).includes("dispatcher"), "role changed");
  await submitAndLoad(owner, `${vicRow} button.danger`);
  expect((await owner.textContent(`${vicRow} .title`)).includes("Deactivated"), "deactivated");
  // Their session ended with it.
  await viewer.goto(`${base}/schedule`);
  await at(viewer, base, "/login?next=/schedule");

  // The technician, on a phone: only their work, no manager's controls, refused if they try.
  const tech = (await context(browser, watch, PHONE, "technician")).page;
  state.page = tech;
  await signIn(tech, techEmail, techPassword);
  const nav = await tech.$$eval("nav.main a", (a) => a.map((x) => x.textContent));
  expect(!nav.includes("Team") && !nav.includes("Audit"), `technician's menu: ${nav}`);
  await tech.goto(`${base}/schedule?date=${DAY}`);
  expect((await tech.$$("article.visit")).length === 2, "their two visits");
  await shoot(tech, "technician-schedule");
  await tech.goto(`${base}/jobs`);
  expect((await tech.$$('a[href="/jobs/new"]')).length === 0, "no new job");
  await tech.goto(`${base}/jobs/${radiator}`);
  expect((await tech.$$("form.edit-job, form.book-visit")).length === 0, "no managing");
  expect((await tech.$$("[data-status]")).length > 0, "but status buttons");
  expect((await tech.$$("form.add-note")).length === 1, "and notes");
  await shoot(tech, "technician-job");
  // Their own visit they may move.
  await tech.click("#visits summary");
  await tech.fill('#visits input[name="start"]', `${DAY}T15:00`);
  await tech.fill('#visits input[name="end"]', `${DAY}T16:00`);
  await submitAndLoad(tech, '#visits button[type="submit"]');
  expect((await tech.textContent("#visits")).includes("15:00–16:00"), "moved");
  watch.allowOnce("/team", 403);
  const team = await tech.goto(`${base}/team`);
  expect(team.status() === 403, `team is refused: ${team.status()}`);
  expect((await tech.textContent("main")).includes("technician"), "the page says why");
  const refused = await tech.evaluate(async () => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const r = await fetch("/api/v1/customers", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify({ name: "Sneaky" }),
    });
    return r.status;
  });
  expect(refused === 403, `the API refuses the technician: ${refused}`);

  // A session that times out while a note is being typed: sign in again, the note is back.
  state.page = owner;
  await owner.goto(`${base}/jobs/${radiator}`);
  await owner.fill('form.add-note textarea[name="text"]', "Typed before the time-out.");
  await clock.advance(31 * 60_000);
  await owner.click('form.add-note button[type="submit"]');
  await owner.waitForURL(/\/login\?next=/);
  await owner.fill('#signin input[name="email"]', ownerEmail);
  await owner.fill('#signin input[name="password"]', ownerPassword);
  await owner.click('#signin button[type="submit"]');
  await at(owner, base, `/jobs/${radiator}`);
  expect(
    (await owner.inputValue('form.add-note textarea[name="text"]')) === "Typed before the time-out.",
    "the note typed is back",
  );
  await submitAndLoad(owner, 'form.add-note button[type="submit"]');
  expect((await owner.textContent("#notes")).includes("Typed before the time-out."), "saved");

  return { customer: customerId, jobs: [boiler, radiator] };
});
