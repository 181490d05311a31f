// Files on a phone (375 px), in a real browser: the owner attaches a photo to a job through the
// file input and sees its thumbnail load; an SVG is refused with the server's reason shown; a
// PDF dropped on the drop zone is listed by name and type; the customer signs on the pad
// (pointer moves) with their name, and the signature is shown; the settings show the storage used, lower the upload limit, require a signature and take a logo;
// a file over the new limit is refused with the reason; the photo is deleted; a job without a
// signature is not completed, and says why. The technician on the job adds a photo and may
// delete theirs, not the owner's. Nothing overflows the phone's width on the way.
// Screenshots at 375 and 1280 px.
//
// node tests/browser/files.mjs BASE OWNER_EMAIL OWNER_PASSWORD TECH_EMAIL TECH_PASSWORD JOB UNSIGNED
//   JOB: the technician's job, to attach to and sign; UNSIGNED: a job in progress, never signed.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PHONE, at, context, expect, run, shootBoth } from "./lib.mjs";

const [base, ownerEmail, ownerPassword, techEmail, techPassword, job, unsigned] = process.argv.slice(2);
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const PICK = 'section.files input[data-upload]:not([capture])';

async function signIn(page, email, password) {
  await page.goto(`${base}/login`);
  await page.fill('#signin input[name="email"]', email);
  await page.fill('#signin input[name="password"]', password);
  await page.click('#signin button[type="submit"]');
  await at(page, base, "/schedule");
}

/// The page fits the phone: nothing wider than the viewport.
async function fits(page, where) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width <= PHONE.width, `${where}: the page is ${width} px wide on a ${PHONE.width} px phone`);
}

async function statusSays(page, scope, text) {
  await page.locator(`${scope} .upload-status`).filter({ hasText: text }).waitFor();
}

await run(async ({ browser, watch, state }) => {
  const { page } = await context(browser, watch, PHONE, "owner");
  state.page = page;
  await signIn(page, ownerEmail, ownerPassword);

  // A photo through the plain file input: added, listed, its thumbnail loaded.
  await page.goto(`${base}/jobs/${job}`);
  await page.locator("section.files [data-files-note]").filter({ hasText: "No files yet." }).waitFor();
  await fits(page, "the job");
  await page.setInputFiles(PICK, join(FIXTURES, "boiler.jpg"));
  await statusSays(page, "section.files", "boiler.jpg added.");
  const thumb = page.locator("section.files li.file img");
  await thumb.waitFor();
  await page.waitForFunction(() => document.querySelector("section.files li.file img")?.naturalWidth > 0);
  const thumbnailWidth = await thumb.evaluate((img) => img.naturalWidth);
  const meta = await page.locator("section.files li.file .meta").textContent();
  expect(/KB · /.test(meta), `the photo's size and uploader: ${meta}`);

  // An SVG is refused by its bytes, whatever it is called; the reason is shown.
  watch.allowOnce(`/api/v1/jobs/${job}/files?name=drawing.svg`, 415);
  await page.setInputFiles(PICK, {
    name: "drawing.svg",
    mimeType: "image/svg+xml",
    buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
  });
  await statusSays(page, "section.files", "drawing.svg was refused.");
  const refusal = await page.locator("section.files .upload-status").textContent();
  expect(await page.locator("section.files li.file").count() === 1, "the SVG is not listed");
  await fits(page, "the job with its files");

  // A PDF dropped on the drop zone: listed by name with its type, no thumbnail.
  const dropped = await page.evaluateHandle(() => {
    const data = new DataTransfer();
    data.items.add(new File(["%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"], "invoice scan.pdf", { type: "application/pdf" }));
    return data;
  });
  await page.dispatchEvent("section.files [data-dropzone]", "dragover", { dataTransfer: dropped });
  await page.dispatchEvent("section.files [data-dropzone]", "drop", { dataTransfer: dropped });
  await statusSays(page, "section.files", "invoice scan.pdf added.");
  const pdf = page.locator("section.files li.file").filter({ hasText: "invoice scan.pdf" });
  await pdf.waitFor();
  expect((await pdf.locator(".file-icon").textContent()) === "PDF", "the PDF shows its type");
  expect((await pdf.locator("img").count()) === 0, "no thumbnail for a PDF");

  // The customer signs on the phone: pointer moves on the pad, a name, saved, shown.
  const open = page.locator("#signature [data-open-pad]");
  await open.click();
  const canvas = page.locator("#signature-pad canvas");
  await canvas.waitFor();
  expect(await page.evaluate(() => document.activeElement?.name === "signer_name"), "the name has the focus");
  await fits(page, "the signature pad");
  const box = await canvas.boundingBox();
  expect(box && box.width > 300, `the pad is full width: ${JSON.stringify(box)}`);
  // Saving before anyone signed says so, and sends nothing.
  await page.click('#signature-pad button[type="submit"]');
  await page.locator("#signature-pad .form-error").filter({ hasText: "sign in the box" }).waitFor();
  await page.mouse.move(box.x + 20, box.y + box.height * 0.6);
  await page.mouse.down();
  for (let i = 1; i <= 24; i += 1) {
    const x = box.x + 20 + (i * (box.width - 40)) / 24;
    const y = box.y + box.height * (0.6 - 0.3 * Math.sin(i / 3));
    await page.mouse.move(x, y, { steps: 2 });
  }
  await page.mouse.up();
  const inked = await canvas.evaluate((c) => {
    const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let dark = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] < 128) dark += 1;
    return dark;
  });
  expect(inked > 100, `the pad shows the stroke (${inked} dark pixels)`);
  await page.fill('#signature-pad input[name="signer_name"]', "Ann Lee");
  await page.click('#signature-pad button[type="submit"]');
  await page.locator("#signature-pad").waitFor({ state: "hidden" });
  const caption = page.locator("#signature figcaption");
  await caption.filter({ hasText: "Signed by Ann Lee" }).waitFor();
  await page.waitForFunction(() => document.querySelector("#signature figure img")?.naturalWidth > 0);
  const signatureWidth = await page.locator("#signature figure img").evaluate((img) => img.naturalWidth);
  expect(await page.evaluate(() => document.activeElement?.hasAttribute("data-open-pad")), "the focus is back");
  await fits(page, "the signed job");
  await shootBoth(page, "files-job");

  // Settings: the storage used, a lower limit and the signature rule, a logo.
  await page.goto(`${base}/settings`);
  const storage = page.locator("[data-storage-facts]");
  await storage.filter({ hasText: "Waiting for a scan" }).waitFor();
  const facts = await storage.evaluate((dl) =>
    Object.fromEntries([...dl.querySelectorAll("dt")].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
  );
  expect(facts.Files === "3", `three files kept (photo, PDF, signature): ${JSON.stringify(facts)}`);
  await fits(page, "the settings");
  const limit = page.locator('form.file-settings input[name="max_upload_bytes"]');
  expect((await limit.inputValue()) === "25", `the limit starts at 25 MB: ${await limit.inputValue()}`);
  await limit.fill("1");
  await page.check('form.file-settings input[name="require_signature"]');
  await Promise.all([page.waitForEvent("load"), page.click('form.file-settings button[type="submit"]')]);
  expect((await limit.inputValue()) === "1", "the new limit is kept");
  expect(await page.isChecked('form.file-settings input[name="require_signature"]'), "a signature is required");
  await page.setInputFiles("[data-logo-card] input[data-logo]", join(FIXTURES, "mark.png"));
  await statusSays(page, "[data-logo-card]", "mark.png is the logo now.");
  await page.waitForFunction(() => {
    const img = document.querySelector("[data-logo-card] img.logo-preview");
    return img && !img.hidden && img.src.includes("/api/v1/files/") && img.complete && img.naturalWidth > 0;
  });
  await shootBoth(page, "files-settings");

  // Over the new limit: refused, with the reason.
  await page.goto(`${base}/jobs/${job}`);
  await page.locator("section.files li.file").first().waitFor();
  watch.allowOnce(`/api/v1/jobs/${job}/files?name=big.jpg`, 413);
  const big = Buffer.concat([readFileSync(join(FIXTURES, "boiler.jpg")), Buffer.alloc(1_200_000)]);
  await page.setInputFiles(PICK, { name: "big.jpg", mimeType: "image/jpeg", buffer: big });
  await statusSays(page, "section.files", "big.jpg is too large.");

  // The photo deleted, after confirming.
  page.once("dialog", (dialog) => dialog.accept());
  await page.click('section.files li.file button[aria-label="Delete boiler.jpg"]');
  await statusSays(page, "section.files", "boiler.jpg deleted.");
  await page.locator("section.files li.file").filter({ hasText: "boiler.jpg" }).waitFor({ state: "detached" });
  expect((await page.locator("section.files li.file").count()) === 1, "the PDF stays");

  // A job never signed cannot be completed: the page says so before and after trying.
  await page.goto(`${base}/jobs/${unsigned}`);
  await page.locator("#signature").filter({ hasText: "needs the customer's signature" }).waitFor();
  await page.click('button[data-status="completed"]');
  const why = page.locator(".status-actions .form-error:not([hidden])");
  await why.waitFor();
  const whyText = await why.textContent();
  expect(/signature/i.test(whyText), `the refusal says why: ${whyText}`);
  await fits(page, "the unsigned job");

  // The technician on the job: adds a photo; may delete it, not the owner's PDF.
  const tech = (await context(browser, watch, PHONE, "technician")).page;
  state.page = tech;
  await signIn(tech, techEmail, techPassword);
  await tech.goto(`${base}/jobs/${job}`);
  await tech.locator("section.files li.file").first().waitFor();
  await tech.setInputFiles(PICK, join(FIXTURES, "boiler.jpg"));
  await statusSays(tech, "section.files", "boiler.jpg added.");
  const mine = tech.locator("section.files li.file").filter({ hasText: "boiler.jpg" });
  await mine.locator("img").waitFor();
  expect((await mine.locator("button", { hasText: "Delete" }).count()) === 1, "the technician may delete their photo");
  const theirs = tech.locator("section.files li.file").filter({ hasText: "invoice scan.pdf" });
  expect((await theirs.locator("button").count()) === 0, "but not the owner's PDF");
  await fits(tech, "the technician's job");

  return {
    thumbnail_width: thumbnailWidth,
    signature_width: signatureWidth,
    refused_svg: refusal.trim(),
    completion_refused: whyText.trim(),
    storage: facts,
  };
});
