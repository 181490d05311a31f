// Dispatching in a real browser: the jobs waiting for a visit beside the schedule, filtered by
// priority; one dragged onto the technician's 09:00 slot at 1280 px and another onto their
// 07:00 slot at 375 px, each booked on the job's version (the job leaves the list, the visit
// shows in the technician's column); then the technician's day on a phone: where, whom to
// call, how to get in, and the buttons that move the visit along while the job follows.
//
// The tenant (UTC) holds two requested jobs: BOILER (high priority, Ada's, the technician's)
// and GUTTER (low priority, Ben's).
//
// node tests/browser/dispatch.mjs BASE OWNER_EMAIL OWNER_PASSWORD TECH_EMAIL TECH_PASSWORD
//   TECH_ID BOILER GUTTER
import { at, context, expect, run, shoot, shootBoth } from "./lib.mjs";

const [base, ownerEmail, ownerPassword, techEmail, techPassword, techId, boiler, gutter] =
  process.argv.slice(2);
const DAY = "2030-06-11";
const SCHEDULE = `${base}/schedule?date=${DAY}`;
// Tall enough that the waiting list and the board's first hours are on screen together.
const WIDE = { width: 1280, height: 1400 };
const NARROW = { width: 375, height: 1800 };

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

function slotOf(person, hour) {
  return `.board .column[data-person="${person}"] li.slot[data-slot="${DAY}T${hour}"]`;
}

/// Drags a waiting job by its grip onto a slot, and waits for the page the booking reloads.
async function dragJob(page, job, slot) {
  const grip = page.locator(`article.waiting-job[data-job="${job}"] .grip`);
  await grip.scrollIntoViewIfNeeded();
  const from = await grip.boundingBox();
  const to = await page.locator(slot).boundingBox();
  expect(from && to, `grip and ${slot} on screen`);
  expect(to.y + to.height < page.viewportSize().height, `${slot} is on screen`);
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  const loaded = page.waitForEvent("load");
  // Lifted, the card announces itself (a phone wraps the line): aim where the slot is now.
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2 + 10, { steps: 2 });
  const now = await page.locator(slot).boundingBox();
  await page.mouse.move(now.x + now.width / 2, now.y + now.height / 2, { steps: 12 });
  await page.mouse.up();
  await loaded;
}

async function job(page, id) {
  return page.evaluate(async (id) => (await fetch(`/api/v1/jobs/${id}`)).json(), id);
}

await run(async ({ browser, watch, state }) => {
  // The dispatcher at 1280 px: the list, a filter, a drag.
  const owner = (await context(browser, watch, WIDE, "owner")).page;
  state.page = owner;
  await signIn(owner, ownerEmail, ownerPassword);
  await owner.goto(SCHEDULE);
  const waiting = () => owner.$$eval("article.waiting-job", (a) => a.map((x) => x.dataset.job));
  const both = await waiting();
  expect(both.length === 2 && both[0] === boiler, `urgent first, both waiting: ${both}`);
  await owner.selectOption('#waiting select[name="priority"]', "low");
  await submitAndLoad(owner, '#waiting form.filters button[type="submit"]');
  expect((await waiting()).join() === gutter, "filtered by priority");
  await owner.selectOption('#waiting select[name="priority"]', "");
  const customers = await owner.$$eval('#waiting select[name="customer"] option', (o) =>
    o.map((x) => x.textContent),
  );
  expect(customers.join() === "Any,Ada,Ben", `customers to filter by: ${customers}`);
  await owner.selectOption('#waiting select[name="customer"]', { label: "Ada" });
  await submitAndLoad(owner, '#waiting form.filters button[type="submit"]');
  expect((await waiting()).join() === boiler, "filtered by customer");
  await shootBoth(owner, "schedule-waiting");

  await dragJob(owner, boiler, slotOf(techId, "09:00"));
  expect(!(await waiting()).includes(boiler), "booked: no longer waiting");
  const card = `.column[data-person="${techId}"] article.visit:has-text("Boiler service")`;
  expect((await owner.textContent(`${card} .time`)).includes("09:00–11:00"), "two hours from 09:00");
  const booked = await job(owner, boiler);
  expect(booked.status === "scheduled", `the job follows its booking: ${booked.status}`);
  expect(booked.next_visit?.start === `${DAY}T09:00:00.000Z`, JSON.stringify(booked.next_visit));

  // The same at 375 px: the other job onto the technician's first hour.
  const phone = (await context(browser, watch, NARROW, "owner on a phone")).page;
  state.page = phone;
  await signIn(phone, ownerEmail, ownerPassword);
  await phone.goto(SCHEDULE);
  expect(
    (await phone.$$eval("article.waiting-job", (a) => a.map((x) => x.dataset.job))).join() === gutter,
    "only the gutter waits",
  );
  await shoot(phone, "schedule-waiting-phone");
  await dragJob(phone, gutter, slotOf(techId, "07:00"));
  expect((await phone.$$("article.waiting-job")).length === 0, "nothing waits");
  const gutterNow = await job(phone, gutter);
  expect(gutterNow.status === "scheduled", `scheduled: ${gutterNow.status}`);
  expect(gutterNow.worker_ids.includes(techId), "the technician works it through its visit");

  // The technician's day on a phone.
  const tech = (await context(browser, watch, NARROW, "technician")).page;
  state.page = tech;
  await signIn(tech, techEmail, techPassword);
  await tech.goto(SCHEDULE);
  const day = "#my-day li[data-visit]";
  expect((await tech.$$(day)).length === 2, "their two visits");
  const first = `${day}:has-text("Boiler service")`;
  expect((await tech.getAttribute(`${first} .phone a`, "href")) === "tel:+14165550100", "tap to call");
  expect(
    (await tech.getAttribute(`${first} a.maps`, "href")).includes("12%20Queen%20St%20W%2C%20Toronto"),
    "a maps link",
  );
  expect((await tech.textContent(`${first} .access`)).includes("Gate code 4321"), "access notes");
  await shoot(tech, "technician-day");
  await submitAndLoad(tech, `${first} [data-visit-status="en_route"]`);
  expect((await tech.textContent(`${first} .badge`)) === "En route", "on the way");
  await submitAndLoad(tech, `${first} [data-visit-status="in_progress"]`);
  expect((await job(tech, boiler)).status === "in_progress", "arriving starts the job");
  await submitAndLoad(tech, `${first} [data-visit-status="completed"]`);
  expect((await tech.textContent(`${first} .badge`)) === "Completed", "done");
  // The company does not complete jobs by itself: the job page offers it.
  await tech.goto(`${base}/jobs/${boiler}`);
  await submitAndLoad(tech, '[data-status="completed"]');
  expect((await tech.textContent("h1 .badge")) === "Completed", "completed by hand");
  return { booked: [boiler, gutter] };
});
