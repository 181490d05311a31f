// The dispatcher's week, in a real browser: a night visit shows on both days it covers; a
// visit dragged to another day and hour is saved (its length kept, in the company's zone); a
// drag over someone else's change shows the conflict and reloads; a drag onto a booked hour
// offers "book anyway"; the job's work and parts are edited and saved with errors beside
// their rows; a visit is deleted after confirming; a customer is edited, a site edited, the
// customer archived. The technician, on a phone, drags only their own work. Screenshots at
// 375 and 1280 px.
//
// The tenant (Toronto time) holds job JOB with visits A (Tue 11 Jun 2030 09:00–11:00),
// NIGHT (Wed 22:00 – Thu 06:00) and C (Fri 10:00–12:00), all the technician's.
//
// node tests/browser/ops.mjs BASE OWNER_EMAIL OWNER_PASSWORD TECH_EMAIL TECH_PASSWORD
//   CUSTOMER SITE JOB A NIGHT C HALF
import { PHONE, at, context, expect, run, shoot, shootBoth } from "./lib.mjs";

const [base, ownerEmail, ownerPassword, techEmail, techPassword, customer, site, job, a, night, c, half] =
  process.argv.slice(2);
const WEEK = `${base}/schedule?date=2030-06-10&view=week`;
// Tall enough that a whole week's hours are on screen while dragging.
const TALL = { width: 1280, height: 1500 };

async function signIn(page, email, password) {
  await page.goto(`${base}/login`);
  await page.fill('#signin input[name="email"]', email);
  await page.fill('#signin input[name="password"]', password);
  await page.click('#signin button[type="submit"]');
  await at(page, base, "/schedule");
}

async function submitAndLoad(page, selector) {
  await Promise.all([page.waitForEvent("load"), page.click(selector)]);
}

/// Drags a visit by its grip onto the hour slot starting at `slot` (local "YYYY-MM-DDTHH:MM").
async function drag(page, visit, slot) {
  const grip = page.locator(`article.visit[data-visit="${visit}"]:not(.continued) .grip`).first();
  const from = await grip.boundingBox();
  const to = await page.locator(`li.slot[data-slot="${slot}"]`).first().boundingBox();
  expect(from && to, `grip and slot ${slot} on screen`);
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 12 });
  await page.mouse.up();
}

/// A visit as the API has it now.
async function stored(page, id) {
  return page.evaluate(async (id) => {
    const r = await fetch("/api/v1/visits?from=2030-06-09T00:00:00Z&to=2030-06-17T00:00:00Z");
    return (await r.json()).visits.find((v) => v.id === id) ?? null;
  }, id);
}

function columnOf(page, day) {
  return page.locator(`.board.week .column:has(li.slot[data-slot^="${day}T"])`);
}

await run(async ({ browser, watch, state }) => {
  const owner = (await context(browser, watch, TALL, "owner")).page;
  state.page = owner;
  await signIn(owner, ownerEmail, ownerPassword);

  // The night visit shows on Wednesday and, carried over, on Thursday.
  await owner.goto(WEEK);
  const wed = columnOf(owner, "2030-06-12");
  const thu = columnOf(owner, "2030-06-13");
  expect((await wed.locator(`article.visit[data-visit="${night}"]`).count()) === 1, "on Wednesday");
  expect((await thu.locator(`article.visit[data-visit="${night}"].continued`).count()) === 1, "and Thursday");
  expect(
    (await thu.locator(`article.visit[data-visit="${night}"]`).textContent()).includes("Continued from Wed 12 Jun"),
    "marked as carried over",
  );
  expect((await wed.textContent()).includes("Continues the next day"), "marked as going on");
  await shootBoth(owner, "schedule-week-drag");

  // Drag Tuesday 09:00–11:00 to Thursday 14:00: saved as 14:00–16:00 Toronto time.
  await Promise.all([owner.waitForEvent("load"), drag(owner, a, "2030-06-13T14:00")]);
  let now = await stored(owner, a);
  expect(
    now.start === "2030-06-13T18:00:00.000Z" && now.end === "2030-06-13T20:00:00.000Z",
    `moved, its length kept: ${JSON.stringify(now)}`,
  );
  expect(
    (await thu.locator(`article.visit[data-visit="${a}"] .time`).textContent()).includes("14:00–16:00"),
    "shown on Thursday after the reload",
  );

  // Slots are hours; a visit keeps its minutes: Monday 09:30 dropped on 15:00 is 15:30.
  await Promise.all([owner.waitForEvent("load"), drag(owner, half, "2030-06-10T15:00")]);
  const halfNow = await stored(owner, half);
  expect(halfNow.start === "2030-06-10T19:30:00.000Z", `minutes kept: ${JSON.stringify(halfNow)}`);

  // A second tab moves it first; the stale drag shows the visit as it is now, then reloads.
  const second = (await context(browser, watch, TALL, "second tab")).page;
  await signIn(second, ownerEmail, ownerPassword);
  const moved = await second.evaluate(async ({ id, version }) => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const r = await fetch(`/api/v1/visits/${id}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token, "If-Match": `"${version}"` },
      body: JSON.stringify({ start: "2030-06-13T20:00:00Z", end: "2030-06-13T22:00:00Z" }),
    });
    return r.status;
  }, { id: a, version: now.version });
  expect(moved === 200, `the second tab moved it: ${moved}`);
  await drag(owner, a, "2030-06-14T08:00");
  const card = `article.visit[data-visit="${a}"]`;
  await owner.waitForSelector(`${card} .conflict`);
  const conflict = await owner.textContent(`${card} .conflict`);
  expect(/13 Jun 2030,? 16:00/.test(conflict), `the visit as it is now: ${conflict}`);
  expect(await owner.isVisible(`${card} form.move-visit`), "shown in the opened Move form");
  expect((await owner.textContent("#schedule-live")).includes("not moved"), "announced");
  await shootBoth(owner, "schedule-drag-stale");
  await submitAndLoad(owner, `${card} [data-reload]`);
  expect(
    (await thu.locator(`${card} .time`).textContent()).includes("16:00–18:00"),
    "reloaded where the other tab put it",
  );

  // Onto Friday 10:00, where the technician is already booked: the clash, then book anyway.
  await drag(owner, a, "2030-06-14T10:00");
  await owner.waitForSelector(`${card} .conflict`);
  expect((await owner.textContent(`${card} .conflict`)).includes("Already booked"), "the clash");
  await owner.check(`${card} input[name="allow_conflict"]`);
  await submitAndLoad(owner, `${card} form.move-visit button[type="submit"]`);
  now = await stored(owner, a);
  expect(now.start === "2030-06-14T14:00:00.000Z", `booked anyway: ${JSON.stringify(now)}`);
  expect((await owner.$$(`${card}.clash`)).length === 1, "and flagged as double-booked");

  // The day board: the same hour slots, one column per person.
  await owner.goto(`${base}/schedule?date=2030-06-14`);
  expect((await owner.$$(`.board [data-person] li.slot[data-slot="2030-06-14T10:00"] ${card}`)).length === 1, "day slots");
  await shootBoth(owner, "schedule-day-slots");

  // Work and parts: a bad quantity and an empty description are refused beside their rows.
  await owner.goto(`${base}/jobs/${job}`);
  const items = "form.job-items";
  await owner.click(`${items} [data-add-item="work"]`);
  const row = (n) => `${items} ol.items > li.item:nth-child(${n})`;
  await owner.fill(`${row(1)} input[name="description"]`, "Labour");
  await owner.fill(`${row(1)} input[name="quantity"]`, "1,5");
  await owner.fill(`${row(1)} input[name="unit"]`, "h");
  await owner.click(`${items} [data-add-item="part"]`);
  await owner.fill(`${row(2)} input[name="quantity"]`, "two");
  await owner.click(`${items} [data-add-item="part"]`);
  await owner.fill(`${row(3)} input[name="description"]`, "Not needed");
  await owner.click(`${row(3)} [data-remove-item]`);
  await owner.click(`${items} button[type="submit"]`);
  await owner.waitForSelector(`${items} [data-field="items[1].quantity_milli"] .field-error`);
  await owner.fill(`${row(2)} input[name="quantity"]`, "2");
  await owner.click(`${items} button[type="submit"]`);
  await owner.waitForSelector(`${items} [data-field="items[1].description"] .field-error`);
  expect(
    (await owner.getAttribute(`${row(2)} input[name="description"]`, "aria-invalid")) === "true",
    "the row's field is marked",
  );
  expect((await owner.inputValue(`${row(1)} input[name="description"]`)) === "Labour", "typed stays");
  await shootBoth(owner, "job-items-error");
  await owner.fill(`${row(2)} input[name="description"]`, "Washer 15mm");
  await submitAndLoad(owner, `${items} button[type="submit"]`);
  const saved = await owner.evaluate(async (id) => (await (await fetch(`/api/v1/jobs/${id}`)).json()).items, job);
  const line = (i) => [i.kind, i.description, i.quantity_milli, i.unit ?? ""].join("|");
  expect(
    saved.map(line).join() === "work|Labour|1500|h,part|Washer 15mm|2000|",
    `saved as thousandths: ${JSON.stringify(saved)}`,
  );
  expect((await owner.inputValue(`${row(1)} input[name="quantity"]`)) === "1.5", "shown as a decimal");

  // Deleting a visit takes a second step.
  const visitRow = `#visits li[data-visit="${c}"]`;
  await owner.click(`${visitRow} details.delete summary`);
  expect((await owner.textContent(`${visitRow} form.delete-visit`)).includes("14 Jun 2030 10:00"), "says which");
  await shootBoth(owner, "job-ops");
  await submitAndLoad(owner, `${visitRow} form.delete-visit button[type="submit"]`);
  expect((await owner.$$(visitRow)).length === 0, "deleted");
  expect((await stored(owner, c)) === null, "gone from the API");

  // The customer: edited, a site edited, then archived (read-only after).
  await owner.goto(`${base}/customers/${customer}`);
  await owner.fill('form.edit-customer input[name="name"]', "Ada King");
  await submitAndLoad(owner, 'form.edit-customer button[type="submit"]');
  expect((await owner.textContent("h1")).includes("Ada King"), "renamed");
  const siteRow = `#sites li[data-site="${site}"]`;
  await owner.click(`${siteRow} summary`);
  await owner.fill(`${siteRow} input[name="city"]`, "Mississauga");
  await owner.fill(`${siteRow} input[name="access_notes"]`, "Side door <code 12>");
  await submitAndLoad(owner, `${siteRow} button[type="submit"]`);
  expect((await owner.textContent(siteRow)).includes("Mississauga"), "the site edited");
  expect((await owner.textContent(siteRow)).includes("Side door <code 12>"), "escaped notes");
  await owner.click("#archive summary");
  await shootBoth(owner, "customer-ops");
  await submitAndLoad(owner, 'form.archive-customer button[type="submit"]');
  expect((await owner.textContent("h1")).includes("Archived"), "archived");
  // An archived customer is changed no more; only erasing their personal data stays open.
  expect(
    (await owner.$$("form.api:not(.erase-customer)")).length === 0,
    "no more changes offered",
  );
  expect((await owner.$$("form.erase-customer")).length === 1, "erasure still offered");
  await shootBoth(owner, "customer-archived");

  // The technician's phone: their own visits drag; no deleting; their job's parts edit.
  const tech = (await context(browser, watch, PHONE, "technician")).page;
  state.page = tech;
  await signIn(tech, techEmail, techPassword);
  await tech.goto(WEEK);
  const grips = await tech.$$eval(".grip", (g) => g.map((x) => x.closest("article").dataset.visit));
  expect(grips.includes(a) && grips.includes(night), `their visits drag: ${grips}`);
  await shoot(tech, "technician-week");
  await tech.goto(`${base}/jobs/${job}`);
  expect((await tech.$$("form.delete-visit")).length === 0, "no deleting");
  expect((await tech.$$("form.job-items")).length === 1, "their job's work and parts");

  return { moved: a, deleted: c };
});
