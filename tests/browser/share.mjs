// The customer's quote page in a real browser: open the share link on a phone, choose an
// option, type a name and accept; a second tab that still shows the form is refused. A
// customer name holding <script> must render as text and run nothing.
//
//   node tests/browser/share.mjs BASE_URL TOKEN
import { context, launch, shootBoth, Watch } from "./lib.mjs";

const [base, token] = process.argv.slice(2);
const watch = new Watch(base);
const browser = await launch();
const dialogs = [];
try {
  const first = await context(browser, watch, { width: 375, height: 740 }, "phone");
  const second = await context(browser, watch, { width: 1280, height: 860 }, "second tab");
  for (const { page } of [first, second]) {
    page.on("dialog", async (dialog) => {
      dialogs.push(dialog.message());
      await dialog.dismiss();
    });
    await page.goto(`${base}/s/${token}`);
  }
  const phone = first.page;
  await phone.getByText("Prepared for").waitFor();
  const shownName = await phone.locator("strong").first().textContent();
  await shootBoth(phone, "share-quote");

  await phone.getByLabel(/^Best/).check();
  await phone.getByLabel("Your full name, as your signature").fill("Ada Lee");
  await Promise.all([
    phone.waitForURL(/accepted=1/),
    phone.getByRole("button", { name: "Accept quote" }).click(),
  ]);
  await phone.getByText("Accepted by").waitFor();
  await shootBoth(phone, "share-quote-accepted");

  // The other tab still shows the form; its accept must be refused (a 409 page, which the
  // browser notes in the console: expected once).
  watch.allowOnce(`/s/${token}/accept`, 409);
  const tab = second.page;
  await tab.getByLabel(/^Good/).check();
  await tab.getByLabel("Your full name, as your signature").fill("Ada Lee");
  const [refused] = await Promise.all([
    tab.waitForResponse((r) => r.url().endsWith("/accept")),
    tab.getByRole("button", { name: "Accept quote" }).click(),
  ]);
  await tab.getByText("already answered").waitFor();

  if (dialogs.length) throw new Error(`a script ran: ${dialogs.join(", ")}`);
  watch.check();
  console.log(JSON.stringify({ ok: true, shown_name: shownName, second_status: refused.status() }));
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
