// fieldworker's dashboard script. Pages are rendered on the server and work for reading
// without it; this submits their forms to the REST API with fetch (JSON, the session's
// X-CSRF-Token, If-Match from the form's data-version), shows problem+json field errors beside
// their fields, shows a version conflict with the record as it is now, and never clears what
// was typed. Nothing here builds HTML from strings: text goes in through textContent.
"use strict";

(() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
  const zone = () => meta("fw-zone") || "UTC";

  function setCsrf(token) {
    const tag = document.querySelector('meta[name="csrf-token"]');
    if (tag) tag.content = token;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- where to go after signing in: a path on this site only (as the server decides) ----

  function safeNext(next) {
    const ok =
      typeof next === "string" &&
      next.startsWith("/") &&
      !next.startsWith("//") &&
      !next.includes("\\") &&
      next.length <= 2000 &&
      !/[\u0000-\u001f\u007f]/.test(next) &&
      !next.startsWith("/login") &&
      !next.startsWith("/api/") &&
      !next.startsWith("/assets/");
    return ok ? next : "/";
  }

  function here() {
    return location.pathname + location.search;
  }

  // ---- the company's time zone: typed and shown times are its wall-clock times ----

  function offsetMinutes(timeZone, epochMs) {
    try {
      const parts = {};
      for (const p of new Intl.DateTimeFormat("en-US", {
        timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      }).formatToParts(new Date(epochMs))) parts[p.type] = p.value;
      const wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
      return Math.round((wall - Math.floor(epochMs / 1000) * 1000) / 60000);
    } catch {
      return 0;
    }
  }

  // The instant of a wall-clock time in the zone (as the server's wall_to_instant_ms).
  function wallToInstant(wallMs, timeZone) {
    const first = wallMs - offsetMinutes(timeZone, wallMs) * 60000;
    const offset = offsetMinutes(timeZone, first);
    const instant = wallMs - offset * 60000;
    return offsetMinutes(timeZone, instant) === offset ? instant : first;
  }

  // "2026-11-24T09:00" typed in the company's zone → RFC 3339 UTC.
  function localToIso(value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
    if (!m) return value;
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    return new Date(wallToInstant(wall, zone())).toISOString();
  }

  function showInstant(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return new Intl.DateTimeFormat("en-GB", {
      timeZone: zone(), day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).format(date);
  }

  // ---- talking to the API ----

  async function api(method, url, body, version) {
    const headers = { Accept: "application/json" };
    const token = meta("csrf-token");
    if (token) headers["X-CSRF-Token"] = token;
    if (version) headers["If-Match"] = `"${version}"`;
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    // A rotated session (after enrolment or a password change) comes with its own token.
    if (data && typeof data.csrf_token === "string") setCsrf(data.csrf_token);
    return { status: response.status, ok: response.ok, data };
  }

  // ---- amounts typed as decimals, sent as integers (as the server's parse_decimal) ----

  // "12.5" with 2 places → 1250; null when it is not such a number or has too many decimals.
  function scaled(text, places) {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
    if (!m || (m[3] ?? "").length > places) return null;
    const value = Number(m[2] + (m[3] ?? "").padEnd(places, "0"));
    if (!Number.isSafeInteger(value)) return null;
    return m[1] ? -value : value;
  }

  // "USD 1,234.56", as Currency::format on the server.
  function formatMoney(minor, code, places) {
    const sign = minor < 0 ? "-" : "";
    const digits = String(Math.abs(minor)).padStart(places + 1, "0");
    const whole = digits.slice(0, digits.length - places).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return `${code} ${sign}${whole}${places ? `.${digits.slice(-places)}` : ""}`;
  }

  const exponentOf = (form) => Number(form.dataset.exponent ?? "2");

  // "10%" → {percent_ppm}, "5.00" → {amount}, "" → null; undefined when it is neither.
  function share(text, places) {
    const t = text.trim();
    if (t === "") return null;
    if (t.endsWith("%")) {
      const ppm = scaled(t.slice(0, -1), 4);
      return ppm === null ? undefined : { percent_ppm: ppm };
    }
    const amount = scaled(t, places);
    return amount === null ? undefined : { amount };
  }

  const MONEY = "An amount like 12.34, without thousands separators.";

  // A document editor's lines, read from its rows. Problems go in `problems` under the field
  // the server would name (lines[2].unit_price), so they show in the row.
  function collectLines(form, problems) {
    const places = exponentOf(form);
    const lines = [];
    form.querySelectorAll("[data-lines] [data-line]").forEach((row, i) => {
      const get = (name) => row.querySelector(`[data-l="${name}"]`);
      const at = (name, message) => problems.push({ field: `lines[${i}].${name}`, message });
      const line = { description: get("description").value };
      const quantity = scaled(get("quantity").value, 3);
      if (quantity === null) at("quantity_milli", "A quantity like 1 or 1.5 (up to 3 decimals).");
      line.quantity_milli = quantity;
      const price = scaled(get("unit_price").value, places);
      if (price === null) at("unit_price", MONEY);
      line.unit_price = price;
      const tax = scaled(get("tax").value || "0", 4);
      if (tax === null) at("tax_rate_ppm", "A tax rate like 13 or 9.975 (percent).");
      line.tax_rate_ppm = tax;
      const discount = share(get("discount").value, places);
      if (discount === undefined) at("discount", "A discount like 10% or 5.00.");
      line.discount = discount ?? null;
      const option = get("option");
      if (option) line.option = option.value.trim() || null;
      const optional = get("optional");
      if (optional) line.optional = optional.checked;
      lines.push(line);
    });
    return lines;
  }

  // The values of a form as the API wants them (see views/pages/forms.rs). Values that cannot
  // be sent as typed are named in `problems` (when given) instead.
  function collect(form, problems = []) {
    const patch = form.dataset.method === "PATCH";
    const body = {};
    if (form.querySelector("[data-lines]")) body.lines = collectLines(form, problems);
    for (const input of form.elements) {
      if (!input.name || input.disabled || "skip" in input.dataset) continue;
      if (input.type === "submit" || input.type === "button") continue;
      const type = input.dataset.type;
      const value = input.value;
      if (type === "set" || type === "set-int") {
        body[input.name] ??= [];
        if (input.checked) body[input.name].push(type === "set" ? value : Number(value));
      } else if (type === "money") {
        const amount = scaled(value || "0", exponentOf(form));
        if (amount === null) problems.push({ field: input.name, message: MONEY });
        body[input.name] = amount;
      } else if (type === "percent") {
        const ppm = scaled(value, 4);
        if (ppm === null) problems.push({ field: input.name, message: "A percentage like 13 or 9.975." });
        body[input.name] = ppm;
      } else if (type === "deposit") {
        const deposit = share(value, exponentOf(form));
        if (deposit === undefined) problems.push({ field: input.name, message: "A deposit like 25% or 100.00, or nothing." });
        body[input.name] = deposit ?? null;
      } else if (type === "bool") {
        body[input.name] = input.type === "checkbox" ? input.checked : value === "true";
      } else if (type === "list") {
        body[input.name] = value.split(/[,;\n]/).map((s) => s.trim()).filter(Boolean);
      } else if (type === "int-list") {
        body[input.name] = value.split(/[,;\s]+/).filter(Boolean).map(Number);
      } else if (value.trim() === "" && "optional" in input.dataset) {
        if (patch) body[input.name] = null;
      } else if (type === "int") {
        body[input.name] = Number(value);
      } else if (type === "mib") {
        body[input.name] = Math.round(Number(value) * 1048576);
      } else if (type === "instant") {
        body[input.name] = value ? localToIso(value) : "";
      } else {
        body[input.name] = value;
      }
    }
    return body;
  }

  // ---- showing what went wrong, beside what caused it ----

  function summary(form) {
    return form.querySelector(".form-error");
  }

  // `keepNotice`: leave a notice that is not about the values (what was typed came back after a
  // sign-in) for the live totals' checks; a submit clears everything.
  function clearErrors(form, keepNotice = false) {
    form.querySelectorAll(".field-error, .conflict").forEach((node) => node.remove());
    form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
    const box = summary(form);
    if (box && !(keepNotice && "notice" in box.dataset)) {
      box.hidden = true;
      box.textContent = "";
      delete box.dataset.notice;
    }
  }

  function say(form, message) {
    const box = summary(form);
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    delete box.dataset.notice;
  }

  // `focus`: move to the first bad field (not while the user is typing elsewhere).
  function fieldErrors(form, problem, focus = true) {
    const unplaced = [];
    let first = null;
    for (const { field, message } of problem.errors ?? []) {
      // A row's problem (lines[2].unit_price) goes in its row; others by their field's name.
      const row = /^(\w+\[\d+\])/.exec(String(field))?.[1];
      const name = String(field).split(/[.[]/)[0];
      const holder =
        form.querySelector(`.field[data-field="${CSS.escape(String(field))}"]`) ??
        (row && form.querySelector(`.field[data-field="${CSS.escape(row)}"]`)) ??
        form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
      if (!holder) {
        unplaced.push(message);
        continue;
      }
      let line = holder.querySelector(".field-error");
      if (!line) {
        line = el("p", "field-error");
        line.id = `error-${Math.random().toString(36).slice(2)}`;
        holder.append(line);
      }
      line.textContent = line.textContent ? `${line.textContent} ${message}` : message;
      for (const control of holder.querySelectorAll("input, select, textarea")) {
        control.setAttribute("aria-invalid", "true");
        control.setAttribute("aria-describedby", line.id);
        first ??= control;
      }
    }
    const detail = problem.detail || problem.title || "That did not work.";
    say(form, [detail, ...unplaced].join(" "));
    if (focus) first?.focus();
  }

  const LABELS = {
    start: "Start", end: "End", technician_ids: "Who", title: "Title", description: "Description",
    priority: "Priority", status: "Status", name: "Name", version: "Version", emails: "Email",
    phones: "Phone", notes: "Notes", company: "Company", role: "Role", active: "Active",
    items: "Work and parts",
  };

  // A name for a person id, from the form's own choices (or the page's) when it has them.
  function personName(form, id) {
    const choice = `input[name="technician_ids"][value="${CSS.escape(id)}"]`;
    const box = form.querySelector(choice) ?? document.querySelector(choice);
    return box?.closest("label")?.textContent.trim() || id;
  }

  // A line item as people read it: "1.5 h Labour (work)".
  function itemText(item) {
    const unit = item.unit ? ` ${item.unit}` : "";
    return `${milliText(item.quantity_milli)}${unit} ${item.description} (${item.kind})`;
  }

  function shown(form, key, value) {
    if (value === null || value === undefined || value === "") return "—";
    if (key === "technician_ids" && Array.isArray(value)) {
      return value.length ? value.map((id) => personName(form, id)).join(", ") : "Nobody";
    }
    if (key === "items" && Array.isArray(value)) {
      return value.length ? value.map(itemText).join("; ") : "Nothing";
    }
    if (Array.isArray(value)) return value.join(", ");
    if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return showInstant(value);
    if (typeof value === "object") return JSON.stringify(value);
    const text = String(value).replace(/_/g, " ");
    const named = key === "status" || key === "priority" || key === "role";
    return named ? text.charAt(0).toUpperCase() + text.slice(1) : text;
  }

  // A panel goes above the form's buttons, where it is read before pressing one again.
  function place(form, panel) {
    const actions = form.querySelector(".actions");
    if (actions) actions.before(panel);
    else form.append(panel);
  }

  // Someone changed the record since this page was read: show it as it is now, offer to reload
  // (losing nothing typed: the form keeps its values) or to save over it.
  function conflict(form, problem) {
    const current = problem.current;
    const panel = el("div", "conflict");
    panel.setAttribute("role", "alert");
    panel.append(el("p", "strong", problem.detail || "This changed since you opened the page."));
    // The fields the form names (or its own, in its order), then the status.
    const names = form.dataset.shows
      ? form.dataset.shows.split(" ")
      : [...new Set([...form.elements].map((e) => e.name).filter(Boolean))];
    const facts = el("dl", "facts");
    for (const key of [...names.filter((n) => n !== "status"), "status"]) {
      if (!(key in current)) continue;
      facts.append(el("dt", null, LABELS[key] ?? key), el("dd", null, shown(form, key, current[key])));
    }
    if (facts.childElementCount) {
      panel.append(el("p", null, "It is now:"), facts);
    }
    const actions = el("div", "actions");
    const reload = el("button", "secondary", "Reload with the current data");
    reload.type = "button";
    reload.dataset.reload = "";
    reload.addEventListener("click", () => location.reload());
    actions.append(reload);
    // Deleting over someone else's change is not offered: look first, then decide.
    const deleting = form.dataset.method === "DELETE";
    if (Number.isInteger(current.version) && (form.dataset.shows || names.length > 1) && !deleting) {
      const keep = el("button", "secondary", "Keep my version");
      keep.type = "button";
      keep.dataset.keep = "";
      keep.addEventListener("click", () => {
        form.dataset.version = String(current.version);
        panel.remove();
        say(form, "Your version is kept: save again to replace theirs.");
      });
      actions.append(keep);
    }
    panel.append(actions);
    place(form, panel);
    reload.focus();
  }

  // A booking that would double-book: say with whom, and offer to book anyway.
  function clash(form, problem) {
    const panel = el("div", "conflict");
    panel.setAttribute("role", "alert");
    panel.append(el("p", "strong", "Already booked then:"));
    const list = el("ul");
    for (const c of problem.conflicts) {
      const who = (c.technician_ids ?? []).map((id) => personName(form, id)).join(", ");
      list.append(el("li", null, `${who}: ${showInstant(c.start)} – ${showInstant(c.end)}`));
    }
    panel.append(list);
    place(form, panel);
    const allow = form.querySelector(".allow-conflict");
    if (allow) allow.hidden = false;
    say(form, problem.detail || "A technician is already booked then.");
  }

  // ---- after a sign-out or time-out: keep what was typed, sign in, come back ----

  const STASH = "fw-unsaved";

  // A document editor's rows have no names: each is kept as its fields' values by data-l.
  function lineValues(form) {
    return [...form.querySelectorAll("[data-lines] [data-line]")].map((row) =>
      Object.fromEntries(
        [...row.querySelectorAll("[data-l]")].map((e) => [e.dataset.l, e.type === "checkbox" ? e.checked : e.value]),
      ),
    );
  }

  function restoreLines(form, lines) {
    const holder = form.querySelector("[data-lines]");
    const template = form.querySelector("template[data-line-template]");
    if (!holder || !template || !Array.isArray(lines)) return;
    holder.replaceChildren();
    for (const line of lines) {
      const row = template.content.firstElementChild.cloneNode(true);
      for (const input of row.querySelectorAll("[data-l]")) {
        const value = line[input.dataset.l];
        if (input.type === "checkbox") input.checked = value === true;
        else if (typeof value === "string") input.value = value;
      }
      holder.append(row);
    }
    renumberLines(form);
    schedulePreview(form);
  }

  function stash(form) {
    const values = [...form.elements]
      .filter((e) => e.name && e.type !== "password" && e.type !== "hidden")
      .map((e) => [e.name, e.value, e.checked]);
    const lines = form.querySelector("[data-lines]") ? lineValues(form) : undefined;
    sessionStorage.setItem(
      STASH,
      JSON.stringify({
        path: here(),
        method: form.dataset.method,
        action: form.dataset.action,
        kind: form.className,
        version: form.dataset.version,
        values,
        lines,
      }),
    );
  }

  function restore() {
    const raw = sessionStorage.getItem(STASH);
    if (!raw) return;
    let saved;
    try {
      saved = JSON.parse(raw);
    } catch {
      sessionStorage.removeItem(STASH);
      return;
    }
    if (saved.path !== here()) return;
    sessionStorage.removeItem(STASH);
    // The same form: its call and its kind (a record's PATCH and DELETE share a URL, and so do
    // a payment and a refund, or a job's edit and its work and parts).
    const form = [...document.querySelectorAll("form.api")].find(
      (f) =>
        f.dataset.action === saved.action &&
        f.dataset.method === saved.method &&
        f.className === saved.kind,
    );
    if (!form) return;
    const rows = saved.values.filter(([name]) => name === "description").length;
    if (form.querySelector("template#item-row")) {
      while (itemRows(form).length < rows) addItem(form);
      // Rows removed before the sign-out stay removed.
      itemRows(form).slice(rows).forEach((row) => row.remove());
      renumberItems(form);
    }
    // The values were typed over the version then read: saving them over a newer one is a
    // conflict to show, not to hide.
    if (saved.version) form.dataset.version = saved.version;
    const used = new Map();
    for (const [name, value, checked] of saved.values) {
      const matches = [...form.elements].filter((e) => e.name === name);
      const i = used.get(name) ?? 0;
      used.set(name, i + 1);
      const input = matches.find((e) => e.type === "checkbox" && e.value === value) ?? matches[i];
      if (!input) continue;
      if (input.type === "checkbox" || input.type === "radio") input.checked = checked;
      else input.value = value;
    }
    form.closest("details")?.setAttribute("open", "");
    say(form, "You were signed out before this was saved. What you typed is back: save again.");
    const box = summary(form);
    if (box) box.dataset.notice = "";
    if (saved.lines) restoreLines(form, saved.lines);
  }

  function signInAgain(form) {
    if (form) stash(form);
    location.assign(`/login?next=${encodeURIComponent(here())}`);
  }

  // ---- submitting ----

  function go(path) {
    location.assign(path);
  }

  function succeeded(form, data) {
    const then = form.dataset.then || "reload";
    if (then === "reload") {
      location.reload();
    } else if (then.startsWith("go:")) {
      // {id} or {invoice.id}: a member of the answer, by its path.
      const member = (path) => path.split(".").reduce((value, key) => value?.[key], data);
      go(then.slice(3).replace(/\{([\w.]+)\}/g, (_, path) => encodeURIComponent(member(path) ?? "")));
    } else if (then.startsWith("show:")) {
      const key = then.slice(5);
      const out = form.querySelector(`[data-output="${CSS.escape(key)}"]`);
      if (out) {
        const value = String(data?.[key] ?? "");
        // A path on this site (a share link's /s/…) is shown whole, ready to send.
        out.querySelector("code").textContent = value.startsWith("/") ? location.origin + value : value;
        out.hidden = false;
      }
    }
  }

  function failed(form, result) {
    const problem = result.data ?? {};
    if (result.status === 401) {
      signInAgain(form);
    } else if (result.status === 409 && problem.current && typeof problem.current === "object") {
      conflict(form, problem);
    } else if (result.status === 409 && Array.isArray(problem.conflicts)) {
      clash(form, problem);
    } else if (result.status === 403 && problem.password_change_required) {
      go(`/password?next=${encodeURIComponent(here())}`);
    } else if (result.status === 403 && problem.mfa_enrolment_required) {
      go(`/mfa?next=${encodeURIComponent(here())}`);
    } else {
      fieldErrors(form, problem);
    }
  }

  async function submit(form, send) {
    if (form.getAttribute("aria-busy") === "true") return;
    clearErrors(form);
    form.setAttribute("aria-busy", "true");
    const buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach((b) => (b.disabled = true));
    try {
      await send();
    } catch {
      say(form, "The server could not be reached; nothing was saved. Try again.");
    } finally {
      form.removeAttribute("aria-busy");
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  async function apiForm(form) {
    // A live-totals check still pending would clear what this save shows (e.g. a conflict).
    clearTimeout(pending.get(form));
    if (form.dataset.preview) form.dataset.previewTurn = String(Number(form.dataset.previewTurn ?? "0") + 1);
    const method = form.dataset.method;
    const problems = [];
    const body = method === "DELETE" ? undefined : collect(form, problems);
    if (problems.length) {
      return fieldErrors(form, { detail: "Some values could not be read: nothing was saved.", errors: problems });
    }
    const result = await api(method, form.dataset.action, body, form.dataset.version);
    if (result.ok) succeeded(form, result.data);
    else failed(form, result);
  }

  // ---- signing in: password, then a code when the account has two-factor sign-in ----

  let challenge = null;

  async function signIn(form) {
    const body = collect(form);
    const result = await api("POST", "/api/v1/auth/login", body);
    if (!result.ok) return fieldErrors(form, result.data ?? {});
    if (result.data?.mfa_required) {
      challenge = result.data.challenge;
      const second = document.getElementById("signin-mfa");
      form.hidden = true;
      second.hidden = false;
      second.querySelector('input[name="code"]').focus();
      return;
    }
    signedIn(result.data, form);
  }

  // A password generated for the user is changed before anything else.
  function signedIn(data, form) {
    const next = safeNext(form.dataset.next);
    if (data?.password_change_required) go(`/password?next=${encodeURIComponent(next)}`);
    else go(next);
  }

  async function signInCode(form) {
    const recovery = !form.querySelector('[data-field="recovery_code"]').hidden;
    const body = { challenge };
    if (recovery) body.recovery_code = form.elements.recovery_code.value;
    else body.code = form.elements.code.value;
    const result = await api("POST", "/api/v1/auth/login/mfa", body);
    if (result.ok) return signedIn(result.data, form);
    if (result.status === 401 && /start again/i.test(result.data?.detail ?? "")) {
      // The challenge expired: back to the password.
      form.hidden = true;
      const first = document.getElementById("signin");
      first.hidden = false;
      return say(first, result.data.detail);
    }
    fieldErrors(form, result.data ?? {});
  }

  function useRecovery(button) {
    const form = button.closest("form");
    form.querySelector('[data-field="code"]').hidden = true;
    const field = form.querySelector('[data-field="recovery_code"]');
    field.hidden = false;
    field.querySelector("input").focus();
    button.hidden = true;
  }

  // Enrolment: the answer holds the recovery codes, shown this once.
  async function confirmMfa(form) {
    const result = await api("POST", form.dataset.action, collect(form));
    if (!result.ok) return failed(form, result);
    document.getElementById("enrol").hidden = true;
    const panel = document.getElementById("recovery");
    const list = panel.querySelector("ol");
    for (const code of result.data.recovery_codes ?? []) list.append(el("li", null, code));
    const next = safeNext(form.dataset.next);
    panel.querySelector("[data-continue]").setAttribute("href", next);
    panel.hidden = false;
    panel.querySelector("h2").setAttribute("tabindex", "-1");
    panel.querySelector("h2").focus();
  }

  async function signOut() {
    try {
      await api("POST", "/api/v1/auth/logout");
    } finally {
      go("/login");
    }
  }

  async function verifyAudit(node) {
    const result = await api("GET", "/api/v1/audit/verify");
    if (result.status === 401) return signInAgain();
    const data = result.data ?? {};
    if (result.ok && data.ok) {
      node.textContent = `The audit chain is intact: ${data.rows_checked} events checked.`;
      node.classList.add("ok");
    } else if (result.ok) {
      node.textContent = `The audit chain is broken at event #${data.broken_at}: ${data.reason}. ${data.rows_checked} events checked.`;
      node.classList.add("warning");
    } else {
      node.textContent = `The chain could not be checked: ${data.detail ?? result.status}.`;
      node.classList.add("warning");
    }
  }

  // ---- a quote's or invoice's editor: rows, and totals priced by the server as typed ----

  // Rows are numbered as the server will number them, so a problem finds its row.
  function renumberLines(form) {
    form.querySelectorAll("[data-lines] [data-line]").forEach((row, i) => {
      row.dataset.field = `lines[${i}]`;
      row.querySelector("[data-remove-line]")?.setAttribute("aria-label", `Remove line ${i + 1}`);
    });
  }

  function addLine(button) {
    const form = button.closest("form");
    const template = form.querySelector("template[data-line-template]");
    const row = template.content.firstElementChild.cloneNode(true);
    form.querySelector("[data-lines]").append(row);
    renumberLines(form);
    row.querySelector('[data-l="description"]').focus();
    schedulePreview(form);
  }

  function removeLine(button) {
    const form = button.closest("form");
    const row = button.closest("[data-line]");
    const next = row.nextElementSibling ?? row.previousElementSibling;
    row.remove();
    renumberLines(form);
    (next?.querySelector('[data-l="description"]') ?? form.querySelector("[data-add-line]"))?.focus();
    schedulePreview(form);
  }

  // Redraws the totals panel in the shape views/pages/lines.rs renders it.
  function drawTotals(form, totals) {
    const panel = form.querySelector("[data-totals]");
    if (!panel) return;
    const code = form.dataset.currency;
    const places = exponentOf(form);
    const money = (minor) => formatMoney(minor ?? 0, code, places);
    const blocks = totals.map((t) => {
      const block = el("section", "total");
      block.append(el("h3", null, t.option ?? "Total"));
      const sums = el("dl", "sums");
      const add = (name, value, grand) => {
        sums.append(el("dt", grand ? "grand" : null, name), el("dd", grand ? "grand" : null, value));
      };
      add("Subtotal", money(t.subtotal));
      if (t.discount_total) add("Discounts", `\u2212${money(t.discount_total)}`);
      add("Tax", money(t.tax_total));
      add("Total", money(t.total), true);
      if (t.deposit > 0) add("Deposit", money(t.deposit));
      block.append(sums);
      return block;
    });
    panel.replaceChildren(...blocks);
  }

  function drawAmounts(form, amounts) {
    const code = form.dataset.currency;
    form.querySelectorAll("[data-lines] [data-line]").forEach((row, i) => {
      const out = row.querySelector("[data-l-amount]");
      if (out) out.textContent = amounts[i] ? formatMoney(amounts[i].net, code, exponentOf(form)) : "\u2014";
    });
  }

  const pending = new WeakMap();

  function schedulePreview(form) {
    if (!form.dataset.preview) return;
    clearTimeout(pending.get(form));
    pending.set(form, setTimeout(() => preview(form), 300));
  }

  // Asks the server to price the edit (nothing is saved) and shows the totals, or the problems
  // beside their rows. An older answer arriving after a newer one is dropped.
  async function preview(form) {
    const problems = [];
    const body = collect(form, problems);
    const turn = (Number(form.dataset.previewTurn ?? "0") + 1).toString();
    form.dataset.previewTurn = turn;
    clearErrors(form, true);
    if (problems.length) return fieldErrors(form, { detail: "Some values could not be read yet.", errors: problems }, false);
    let result;
    try {
      result = await api("POST", form.dataset.preview, body);
    } catch {
      return;
    }
    if (form.dataset.previewTurn !== turn) return;
    if (result.status === 401) return signInAgain(form);
    if (!result.ok) return fieldErrors(form, result.data ?? {}, false);
    const data = result.data;
    if (Array.isArray(data.totals)) {
      drawTotals(form, data.totals);
      drawAmounts(form, data.line_amounts ?? []);
    } else {
      const { lines, ...sums } = data.totals;
      const deposit = form.elements.deposit ? scaled(form.elements.deposit.value || "0", exponentOf(form)) : 0;
      drawTotals(form, [{ ...sums, option: null, deposit }]);
      drawAmounts(form, lines ?? []);
    }
  }

  // ---- a job's work and parts: rows added from a template, saved as one list ----

  // "1.5" (or "1,5") → 1500 thousandths, exactly; null when it is not such a number.
  function toMilli(text) {
    const m = /^\s*(\d{1,7})(?:[.,](\d{0,3}))?\s*$/.exec(text);
    if (!m) return null;
    return Number(m[1]) * 1000 + Number((m[2] ?? "").padEnd(3, "0"));
  }

  // 1500 → "1.5", as the server shows it.
  function milliText(milli) {
    if (!Number.isInteger(milli)) return String(milli);
    const sign = milli < 0 ? "-" : "";
    const whole = Math.floor(Math.abs(milli) / 1000);
    const part = String(Math.abs(milli) % 1000).padStart(3, "0").replace(/0+$/, "");
    return part ? `${sign}${whole}.${part}` : `${sign}${whole}`;
  }

  function itemRows(form) {
    return [...form.querySelectorAll("ol.items > li.item")];
  }

  // Each row's fields are named for its place, as the server names its errors (items[2].unit).
  function renumberItems(form) {
    itemRows(form).forEach((row, i) => {
      for (const f of row.querySelectorAll("[data-item-field]")) {
        f.dataset.field = `items[${i}].${f.dataset.itemField}`;
      }
    });
  }

  function addItem(form, kind) {
    const template = form.querySelector("template#item-row");
    const row = template.content.firstElementChild.cloneNode(true);
    if (kind) row.querySelector('select[name="kind"]').value = kind;
    form.querySelector("ol.items").append(row);
    renumberItems(form);
    return row;
  }

  function removeItem(button) {
    const form = button.closest("form");
    const row = button.closest("li.item");
    const next = row.nextElementSibling ?? row.previousElementSibling;
    row.remove();
    renumberItems(form);
    // Focus stays in the list, not lost with the row.
    (next?.querySelector("[data-remove-item]") ?? form.querySelector("[data-add-item]"))?.focus();
  }

  async function saveItems(form) {
    renumberItems(form);
    const items = [];
    const errors = [];
    itemRows(form).forEach((row, i) => {
      const value = (name) => row.querySelector(`[name="${name}"]`).value;
      const quantity = toMilli(value("quantity"));
      if (quantity === null) {
        errors.push({
          field: `items[${i}].quantity_milli`,
          message: "A number such as 2 or 1.5 (at most 3 decimals).",
        });
      }
      const unit = value("unit").trim();
      items.push({
        kind: value("kind"),
        description: value("description"),
        quantity_milli: quantity ?? 0,
        ...(unit ? { unit } : {}),
      });
    });
    if (errors.length) return fieldErrors(form, { detail: "Check the quantities.", errors });
    const result = await api("PATCH", form.dataset.action, { items }, form.dataset.version);
    if (result.ok) succeeded(form, result.data);
    else failed(form, result);
  }

  // ---- the schedule: drag a visit to another hour, day or (day board) person ----
  // A drop fills in the visit's own Move form and sends it, so a stale version, a double
  // booking or a signed-out session get exactly that form's answers, shown in the form. Pointer
  // events serve mouse, pen and touch alike; only the grip starts a drag (it has
  // touch-action: none), so the page still scrolls everywhere else.

  let drag = null;

  // An instant as the company's wall-clock "2026-11-24T09:00".
  function instantToLocal(ms) {
    return new Date(ms + offsetMinutes(zone(), ms) * 60000).toISOString().slice(0, 16);
  }

  function announce(text) {
    const live = document.getElementById("schedule-live");
    if (live) live.textContent = text;
  }

  // The slot under the pointer, if this visit may land there.
  function dropTarget(x, y) {
    const slot = document.elementFromPoint(x, y)?.closest(".slot[data-slot]");
    const column = slot?.closest(".column");
    if (!slot || slot.closest(".board") !== drag.board) return null;
    const person = column.dataset.person;
    if (column === drag.column || person === undefined) return { slot, column };
    // A waiting job may be booked without anyone (the unassigned column).
    if (!person && drag.form.classList.contains("book-job")) return { slot, column };
    // Another person: only for those who assign work, and only to someone who can be assigned.
    const choice = `input[name="technician_ids"][value="${CSS.escape(person)}"]`;
    if (!("reassign" in drag.board.dataset) || !person || !drag.form.querySelector(choice)) {
      return null;
    }
    return { slot, column };
  }

  function startDrag(event, grip) {
    const card = grip.closest("article.visit");
    // A visit on the board moves by its Move form; a waiting job is booked by its Book form.
    const form = card?.querySelector("form.move-visit, form.book-job");
    const board = card?.closest(".board") ?? document.querySelector(".board");
    if (drag || event.button !== 0 || !form || !board) return;
    event.preventDefault();
    const box = card.getBoundingClientRect();
    const ghost = el("div", "visit-ghost");
    ghost.setAttribute("aria-hidden", "true");
    ghost.append(
      el("p", "time", card.querySelector(".time")?.textContent.trim() ?? ""),
      el("p", null, card.querySelector(".what")?.textContent.trim() ?? ""),
    );
    ghost.style.width = `${Math.min(box.width, 260)}px`;
    document.body.append(ghost);
    drag = {
      card, form, ghost, over: null, board,
      column: card.closest(".column"),
      pointer: event.pointerId,
      x: event.clientX,
      y: event.clientY,
      moved: false,
      dx: event.clientX - box.left,
      dy: event.clientY - box.top,
    };
    grip.setPointerCapture?.(event.pointerId);
    card.classList.add("lifted");
    drag.board.classList.add("dragging");
    follow(event);
    announce(form.classList.contains("book-job")
      ? "Booking the job: drop it on an hour, or press Escape."
      : "Moving the visit: drop it on another hour, or press Escape.");
  }

  function follow(event) {
    // A press on the grip that barely moves is not a drag (it would snap to the hour).
    drag.moved ||= Math.hypot(event.clientX - drag.x, event.clientY - drag.y) > 6;
    drag.ghost.style.left = `${event.clientX - drag.dx}px`;
    drag.ghost.style.top = `${event.clientY - drag.dy}px`;
    // Near the top or bottom of the screen, scroll on (a phone shows a few hours at a time).
    if (event.clientY < 48) window.scrollBy(0, -16);
    else if (event.clientY > window.innerHeight - 48) window.scrollBy(0, 16);
    const slot = dropTarget(event.clientX, event.clientY)?.slot ?? null;
    if (slot !== drag.over) {
      drag.over?.classList.remove("over");
      slot?.classList.add("over");
      drag.over = slot;
    }
  }

  function endDrag() {
    const done = drag;
    drag = null;
    done.over?.classList.remove("over");
    done.ghost.remove();
    done.card.classList.remove("lifted");
    done.board.classList.remove("dragging");
    return done;
  }

  function dragMoved(event) {
    if (drag && event.pointerId === drag.pointer) follow(event);
  }

  function dragEnded(event) {
    if (!drag || event.pointerId !== drag.pointer) return;
    const dropped = event.type === "pointerup" && drag.moved;
    const target = dropped ? dropTarget(event.clientX, event.clientY) : null;
    const done = endDrag();
    if (target) drop(done, target);
    else announce(done.form.classList.contains("book-job") ? "The job was not booked." : "The visit was not moved.");
  }

  // A waiting job dropped on a slot: booked there for its usual length, for the person of the
  // column (day board) or its own technicians (week board), on the job's version.
  function book({ card, form }, { slot, column }) {
    const local = slot.dataset.slot.slice(0, 16);
    const start = Date.parse(localToIso(local));
    if (Number.isNaN(start)) return announce("The job was not booked.");
    form.elements.start.value = local;
    form.elements.end.value = instantToLocal(start + Number(card.dataset.lengthMs || 3600000));
    const person = column.dataset.person;
    if (person !== undefined) {
      form.querySelectorAll('input[name="technician_ids"]').forEach((b) => (b.checked = b.value === person));
    }
    const who = person ? ` for ${column.querySelector("h2")?.firstChild?.textContent ?? ""}` : "";
    announce(`Booking the job at ${showInstant(new Date(start).toISOString())}${who}…`);
    submit(form, async () => {
      const result = await api("POST", form.dataset.action, collect(form));
      if (result.ok) {
        announce("Booked.");
        return succeeded(form, result.data);
      }
      form.closest("details")?.setAttribute("open", "");
      announce("The job was not booked: see the message on it.");
      failed(form, result);
    });
  }

  // The new times keep the visit's length; on the day board, the person dropped on takes the
  // place of the person dragged from.
  function drop(done, target) {
    if (done.form.classList.contains("book-job")) return book(done, target);
    const { card, form, column: from } = done;
    const { slot, column } = target;
    const start = Number(card.dataset.startMs);
    const length = Number(card.dataset.endMs) - start;
    // Slots are hours: the visit keeps its minutes (09:30 dropped on 14:00 is 14:30); the Move
    // form sets any other time.
    const minutes = Number.isNaN(start) ? "00" : instantToLocal(start).slice(14, 16);
    const local = `${slot.dataset.slot.slice(0, 14)}${minutes}`;
    const newStart = Date.parse(localToIso(local));
    const reassigned = column !== from && column.dataset.person !== undefined;
    if (Number.isNaN(newStart) || (newStart === start && !reassigned)) {
      return announce("The visit was not moved.");
    }
    form.elements.start.value = local;
    form.elements.end.value = instantToLocal(newStart + length);
    if (reassigned) {
      const boxes = [...form.querySelectorAll('input[name="technician_ids"]')];
      const who = new Set(boxes.filter((b) => b.checked).map((b) => b.value));
      if (from.dataset.person) who.delete(from.dataset.person);
      who.add(column.dataset.person);
      boxes.forEach((b) => (b.checked = who.has(b.value)));
    }
    const to = showInstant(new Date(newStart).toISOString());
    const person = reassigned ? ` for ${column.querySelector("h2")?.firstChild?.textContent ?? ""}` : "";
    announce(`Moving the visit to ${to}${person}…`);
    submit(form, async () => {
      try {
        await sendMove(form);
      } catch (error) {
        form.closest("details")?.setAttribute("open", "");
        throw error;
      }
    });
  }

  async function sendMove(form) {
    const result = await api("PATCH", form.dataset.action, collect(form), form.dataset.version);
    if (result.ok) {
      announce("Moved.");
      return succeeded(form, result.data);
    }
    // Shown in the Move form: the same choices as a typed move (reload, keep mine, book anyway).
    form.closest("details")?.setAttribute("open", "");
    announce("The visit was not moved: see the message on it.");
    failed(form, result);
  }

  // ---- files: a record's list, uploads (picked, dropped or photographed), the signature pad,
  // the logo and the storage used. The server types a file by its bytes and scans it before
  // anyone can open it; the list comes from the API after the page has loaded. ----

  const WEB_IMAGE = /^image\/(jpeg|png|webp)$/;
  const POLL_MS = 4000;

  function sizeText(bytes) {
    if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
    return `${bytes ? Math.max(1, Math.round(bytes / 1024)) : 0} KB`;
  }

  function uploadStatus(card, text, bad = false) {
    const line = card.querySelector(".upload-status");
    if (!line) return;
    line.replaceChildren(bad ? el("span", "bad", text) : document.createTextNode(text));
  }

  // The file as the body, raw (the name in the query), with the upload's progress shown.
  function sendFile(method, url, blob, progress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Accept", "application/json");
      const token = meta("csrf-token");
      if (token) xhr.setRequestHeader("X-CSRF-Token", token);
      xhr.setRequestHeader("Content-Type", blob.type || "application/octet-stream");
      if (progress) {
        progress.value = 0;
        progress.hidden = false;
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
        };
      }
      xhr.onload = () => {
        let data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = null;
        }
        resolve({ status: xhr.status, ok: xhr.status >= 200 && xhr.status < 300, data });
      };
      xhr.onerror = () => reject(new Error("network"));
      xhr.onloadend = () => {
        if (progress) progress.hidden = true;
      };
      xhr.send(blob);
    });
  }

  // What an upload's answer means, in a sentence naming the file.
  function uploadResult(name, result) {
    const detail = result.data?.detail || result.data?.title;
    switch (result.status) {
      case 201:
        return { text: `${name} added.` };
      case 202:
        return { text: `${name} is waiting for the malware scan; it shows here once scanned.` };
      case 413:
        return { bad: true, text: `${name} is too large. ${detail ?? ""}`.trim() };
      case 415:
        return { bad: true, text: `${name} was refused. ${detail ?? "That type of file is not accepted."}` };
      case 422:
        return { bad: true, text: `${name} was refused: ${detail ?? "malware was found in it."}` };
      case 503:
        return { bad: true, text: `${name} was not uploaded: ${detail ?? "files cannot be scanned right now."}` };
      default:
        return { bad: true, text: `${name} was not uploaded: ${detail ?? `status ${result.status}`}.` };
    }
  }

  function mayDelete(card, file) {
    const mode = card.dataset.delete;
    if (file.purpose === "document" || file.purpose === "logo") return false;
    if (mode === "any") return true;
    return mode === "own" && file.purpose === "attachment" && file.uploaded_by?.id === card.dataset.me;
  }

  function fileRow(card, file) {
    const li = el("li", "file");
    li.dataset.file = file.id;
    const holder = file.url ? el("a", "file-link") : el("span", "file-link");
    if (file.url) holder.href = file.url;
    if (file.url && WEB_IMAGE.test(file.content_type)) {
      const img = el("img");
      img.src = file.url;
      img.alt = "";
      img.loading = "lazy";
      img.width = 56;
      img.height = 56;
      holder.append(img);
    } else {
      const kind = (file.content_type.split("/")[1] ?? "file").replace("application/", "").toUpperCase();
      const icon = el("span", "file-icon", kind.slice(0, 4));
      icon.setAttribute("aria-hidden", "true");
      holder.append(icon);
    }
    holder.append(el("span", null, file.name));
    li.append(holder);
    if (file.status === "pending") li.append(el("span", "badge pending", "Scanning…"));
    if (file.status === "rejected") {
      li.append(el("span", "badge rejected", `Rejected: ${file.scan?.detail ?? "malware found"}`));
    }
    if (mayDelete(card, file)) {
      const button = el("button", "secondary danger", "Delete");
      button.type = "button";
      button.setAttribute("aria-label", `Delete ${file.name}`);
      button.addEventListener("click", () => deleteFile(card, file, button));
      li.append(button);
    }
    const who = file.uploaded_by?.name ? ` · ${file.uploaded_by.name}` : "";
    li.append(el("span", "meta", `${sizeText(file.size)}${who} · ${showInstant(file.created_at)}`));
    return li;
  }

  async function deleteFile(card, file, button) {
    if (!window.confirm(`Delete ${file.name}? It is kept 30 days for the record, then purged.`)) return;
    button.disabled = true;
    const result = await api("DELETE", `/api/v1/files/${encodeURIComponent(file.id)}`, undefined, file.version);
    if (result.status === 401) return signInAgain();
    // As after an upload: the list first, then the outcome.
    await listFiles(card);
    if (result.ok) uploadStatus(card, `${file.name} deleted.`);
    else uploadStatus(card, result.data?.detail ?? "The file could not be deleted.", true);
    card.querySelector("[data-upload]")?.focus();
  }

  // The job's newest signature not rejected, shown with its signer and time.
  function showSignature(files) {
    const box = document.querySelector("#signature [data-signature-shown]");
    if (!box) return;
    const signed = files.find((f) => f.purpose === "signature" && f.status !== "rejected");
    const required = "required" in box.closest("#signature").dataset;
    if (!signed) {
      box.replaceChildren(
        el("p", "muted", required ? "Completing this job needs the customer's signature." : "Not signed yet."),
      );
      return;
    }
    const figure = el("figure");
    if (signed.url) {
      const img = el("img");
      img.src = signed.url;
      img.alt = `Signature of ${signed.signer_name ?? "the customer"}`;
      figure.append(img);
    }
    const scanning = signed.status === "pending" ? " (scanning…)" : "";
    figure.append(
      el("figcaption", null, `Signed by ${signed.signer_name ?? "the customer"} · ${showInstant(signed.created_at)}${scanning}`),
    );
    box.replaceChildren(figure);
  }

  const polls = new WeakMap();
  const waits = new WeakMap();

  async function listFiles(card) {
    clearTimeout(polls.get(card));
    const note = card.querySelector("[data-files-note]");
    let result;
    try {
      result = await api("GET", card.dataset.files);
    } catch {
      note.textContent = "The files could not be loaded.";
      return;
    }
    if (result.status === 401) return signInAgain();
    if (!result.ok) {
      note.textContent = result.data?.detail ?? "The files could not be loaded.";
      return;
    }
    const files = result.data.files ?? [];
    showSignature(files);
    const attached = files.filter((f) => f.purpose !== "signature");
    note.textContent = attached.length ? "" : "No files yet.";
    note.hidden = attached.length > 0;
    card.querySelector(".file-list").replaceChildren(...attached.map((f) => fileRow(card, f)));
    // A scan still to come: look again, less often the longer it takes (a scanner that is down
    // is retried by the server; the page need not ask every few seconds meanwhile).
    if (files.some((f) => f.status === "pending")) {
      const wait = Math.min((waits.get(card) ?? POLL_MS / 2) * 2, 60000);
      waits.set(card, wait);
      polls.set(card, setTimeout(() => listFiles(card), wait));
    } else {
      waits.delete(card);
    }
  }

  async function uploadFiles(card, files) {
    const progress = card.querySelector("progress");
    const messages = [];
    for (const file of files) {
      uploadStatus(card, `Uploading ${file.name}…`);
      let result;
      try {
        const url = `${card.dataset.files}?name=${encodeURIComponent(file.name)}`;
        result = await sendFile("POST", url, file, progress);
      } catch {
        messages.push({ bad: true, text: `${file.name} was not uploaded: the server could not be reached.` });
        continue;
      }
      if (result.status === 401) return signInAgain();
      messages.push(uploadResult(file.name, result));
    }
    waits.delete(card);
    // The list first, then the outcome: once the page says what happened its rows are final
    // (a click on a row being replaced would be lost).
    await listFiles(card);
    const line = card.querySelector(".upload-status");
    line.replaceChildren(...messages.flatMap((m, i) => [
      ...(i ? [document.createTextNode(" ")] : []),
      m.bad ? el("span", "bad", m.text) : document.createTextNode(m.text),
    ]));
  }

  function dropzone(card) {
    const zone = card.querySelector("[data-dropzone]");
    if (!zone) return;
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      const files = [...(event.dataTransfer?.files ?? [])];
      if (files.length) uploadFiles(card, files);
    });
  }

  // ---- the signature pad: pointer events serve finger, pen and mouse alike ----

  const pad = { canvas: null, ctx: null, drawing: null, drawn: false, opener: null };

  function clearPad() {
    const { canvas, ctx } = pad;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
    pad.drawn = false;
  }

  // The pad, built on first use: a canvas, the signer's name, save, clear and cancel.
  function padDialog(button) {
    let dialog = document.getElementById("signature-pad");
    if (dialog) return dialog;
    dialog = el("div", "pad");
    dialog.id = "signature-pad";
    dialog.hidden = true;
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-labelledby", "pad-title");
    const form = el("form", "sign");
    form.method = "post";
    form.noValidate = true;
    form.dataset.sign = button.dataset.openPad;
    const title = el("h2", null, "Sign here");
    title.id = "pad-title";
    const error = el("p", "form-error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    const canvas = el("canvas", "pad-canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "Signature pad: sign with a finger, pen or mouse");
    const field = el("div", "field");
    field.dataset.field = "signer_name";
    const name = el("input");
    Object.assign(name, { type: "text", name: "signer_name", required: true, autocomplete: "name", maxLength: 200 });
    const label = el("label");
    label.append(el("span", "label", "Signer's name"), name);
    field.append(label);
    const actions = el("div", "actions");
    const action = (text, className, data) => {
      const b = el("button", className, text);
      b.type = data ? "button" : "submit";
      if (data) b.dataset[data] = "";
      return b;
    };
    actions.append(
      action("Save signature"),
      action("Clear", "secondary", "clearPad"),
      action("Cancel", "secondary", "closePad"),
    );
    form.append(title, error, canvas, field, actions);
    dialog.append(form);
    button.after(dialog);
    return dialog;
  }

  function openPad(button) {
    const dialog = padDialog(button);
    pad.opener = button;
    dialog.hidden = false;
    button.setAttribute("aria-expanded", "true");
    pad.canvas = dialog.querySelector("canvas");
    pad.ctx = pad.canvas.getContext("2d");
    const box = pad.canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    pad.canvas.width = Math.round(box.width * ratio);
    pad.canvas.height = Math.round(box.height * ratio);
    clearPad();
    dialog.querySelector('input[name="signer_name"]').focus();
  }

  function closePad() {
    const dialog = document.getElementById("signature-pad");
    if (!dialog || dialog.hidden) return;
    dialog.hidden = true;
    pad.opener?.setAttribute("aria-expanded", "false");
    pad.opener?.focus();
  }

  function padPoint(event) {
    const box = pad.canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }

  function padDown(event) {
    if (event.target !== pad.canvas || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    pad.canvas.setPointerCapture?.(event.pointerId);
    const [x, y] = padPoint(event);
    pad.drawing = event.pointerId;
    pad.ctx.beginPath();
    pad.ctx.moveTo(x, y);
    pad.ctx.lineTo(x + 0.1, y + 0.1);
    pad.ctx.stroke();
    pad.drawn = true;
  }

  function padMove(event) {
    if (pad.drawing !== event.pointerId) return;
    event.preventDefault();
    for (const e of event.getCoalescedEvents?.() ?? [event]) {
      const [x, y] = padPoint(e);
      pad.ctx.lineTo(x, y);
    }
    pad.ctx.stroke();
  }

  function padUp(event) {
    if (pad.drawing === event.pointerId) pad.drawing = null;
  }

  async function saveSignature(form) {
    const name = form.elements.signer_name.value.trim();
    if (!pad.drawn) return say(form, "Ask the customer to sign in the box first.");
    if (!name) {
      return fieldErrors(form, {
        detail: "Who signed?",
        errors: [{ field: "signer_name", message: "The signer's name, as they would write it." }],
      });
    }
    const blob = await new Promise((resolve) => pad.canvas.toBlob(resolve, "image/png"));
    const url = `${form.dataset.sign}?signer_name=${encodeURIComponent(name)}`;
    const result = await sendFile("POST", url, blob);
    if (result.status === 401) return signInAgain();
    if (!result.ok) return fieldErrors(form, result.data ?? {});
    closePad();
    const card = document.querySelector("section.files[data-files]");
    uploadStatus(document.getElementById("signature"), "The signature is saved.");
    if (card) await listFiles(card);
  }

  // ---- settings: the logo (previewed as picked) and the storage used ----

  async function uploadLogo(input) {
    const box = input.closest("[data-logo-card]");
    const file = input.files?.[0];
    if (!file) return;
    const preview = box.querySelector("img.logo-preview");
    const local = URL.createObjectURL(file);
    preview.src = local;
    preview.hidden = false;
    uploadStatus(box, `Uploading ${file.name}…`);
    let result;
    try {
      result = await sendFile("PUT", `/api/v1/settings/logo?name=${encodeURIComponent(file.name)}`, file);
    } catch {
      return uploadStatus(box, "The server could not be reached; the logo was not changed.", true);
    }
    if (result.status === 401) return signInAgain();
    const said = uploadResult(file.name, result);
    uploadStatus(box, result.status === 201 ? `${file.name} is the logo now.` : said.text, said.bad);
    // The new file's own address: /logo may still be cached with the old one.
    if (result.status === 201 && result.data?.url) preview.src = result.data.url;
    URL.revokeObjectURL(local);
    input.value = "";
    storage();
  }

  async function storage() {
    const card = document.querySelector("[data-storage]");
    const facts = card?.querySelector("[data-storage-facts]");
    if (!facts) return;
    const result = await api("GET", card.dataset.storage);
    if (!result.ok) {
      facts.replaceChildren(el("dt", null, "Storage"), el("dd", null, result.data?.detail ?? "Not available."));
      return;
    }
    const s = result.data;
    const rows = [
      ["Files", String(s.files)],
      ["Used", sizeText(s.bytes)],
      ["Waiting for a scan", String(s.pending)],
      ["Rejected", String(s.rejected)],
      ["Deleted, purged after 30 days", String(s.deleted_awaiting_purge)],
    ];
    facts.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", null, k), el("dd", null, v)]));
  }

  // ---- wiring ----

  const special = {
    signin: signIn,
    "signin-mfa": signInCode,
    "mfa-confirm": confirmMfa,
  };

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.classList.contains("sign")) {
      event.preventDefault();
      return submit(form, () => saveSignature(form));
    }
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("api")) return;
    event.preventDefault();
    const handler = special[form.id] ?? (form.classList.contains("job-items") ? saveItems : apiForm);
    submit(form, () => handler(form));
  });

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (target?.closest("[data-signout]")) signOut();
    const recovery = target?.closest("[data-use-recovery]");
    if (recovery) useRecovery(recovery);
    const add = target?.closest("[data-add-line]");
    if (add) addLine(add);
    const remove = target?.closest("[data-remove-line]");
    if (remove) removeLine(remove);
    const addItemButton = target?.closest("[data-add-item]");
    if (addItemButton) addItem(addItemButton.closest("form"), addItemButton.dataset.addItem).querySelector('[name="description"]').focus();
    const removeItemButton = target?.closest("[data-remove-item]");
    if (removeItemButton) removeItem(removeItemButton);
    const open = target?.closest("[data-open-pad]");
    if (open) openPad(open);
    if (target?.closest("[data-clear-pad]")) clearPad();
    if (target?.closest("[data-close-pad]")) closePad();
  });

  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
    if ("logo" in input.dataset) return uploadLogo(input);
    const card = input.closest("section.files[data-files]");
    if (card && "upload" in input.dataset && input.files?.length) {
      const files = [...input.files];
      input.value = "";
      uploadFiles(card, files);
    }
  });

  document.addEventListener("input", (event) => {
    const form = event.target instanceof Element ? event.target.closest("form[data-preview]") : null;
    if (form) schedulePreview(form);
  });

  document.addEventListener("pointerdown", (event) => {
    const grip = event.target instanceof Element ? event.target.closest(".grip") : null;
    if (grip) startDrag(event, grip);
    if (pad.canvas) padDown(event);
  });
  document.addEventListener("pointermove", (event) => {
    dragMoved(event);
    if (pad.canvas) padMove(event);
  });
  for (const type of ["pointerup", "pointercancel"]) {
    document.addEventListener(type, (event) => {
      dragEnded(event);
      if (pad.canvas) padUp(event);
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && drag) {
      endDrag();
      announce("The visit was not moved.");
    }
    if (event.key === "Escape") closePad();
    // The open pad keeps the focus (it covers the page).
    const dialog = document.getElementById("signature-pad");
    if (event.key === "Tab" && dialog && !dialog.hidden) {
      const stops = [...dialog.querySelectorAll("input, button")];
      const at = stops.indexOf(document.activeElement);
      const next = event.shiftKey ? (at <= 0 ? stops.length - 1 : at - 1) : (at + 1) % stops.length;
      event.preventDefault();
      stops[next].focus();
    }
  });

  function start() {
    document.documentElement.classList.add("js");
    document.querySelectorAll("form[data-preview]").forEach(renumberLines);
    restore();
    const verify = document.querySelector("[data-verify-audit]");
    if (verify) verifyAudit(verify);
    document.querySelectorAll("section.files[data-files]").forEach((card) => {
      dropzone(card);
      listFiles(card);
    });
    storage();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
