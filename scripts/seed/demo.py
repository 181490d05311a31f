#!/usr/bin/env python3
"""Seeds a running local tenant with a realistic working week of a plumbing & heating business,
through the API only, so every record has its real audit trail.

    scripts/seed/demo.py --url http://127.0.0.1:8787 --state .state/demo \\
        --email dana@demo-plumbing.example --password copper-pipes-and-valves

The operator token is read from STATE/ops-token. The program sets the tenant's clock (development
only: POST /ops/clock {at_ms}) back three weeks, replays the business event by event (the team
invited, customers and sites, jobs, visits booked, notes, status moves, quotes sent, accepted,
declined and left to expire, invoices issued, payments recorded, some left overdue) and returns
the clock to now, with today's and this week's schedule full. Deterministic: a fixed random seed
and dates relative to today.

Idempotent: a tenant that already has customers is left alone (exit 0, "already seeded").
--empty seeds nothing. A summary (the team's sign-ins, a quote's share link) is written to
STATE/demo-seed.txt, which scripts/dev prints. Python 3 standard library only.
"""

import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from datetime import datetime, timedelta, timezone

try:
    from zoneinfo import ZoneInfo

    ZONE = ZoneInfo("America/New_York")
except Exception:  # no zone database: New York in winter
    ZONE = timezone(timedelta(hours=-5))

SEED = 24
DAYS_BACK = 21
PASSWORD = "copper-pipes-and-valves"

TEAM = [
    # email, role, name
    ("priya@demo-plumbing.example", "dispatcher", "Priya Shah"),
    ("marco@demo-plumbing.example", "technician", "Marco Ruiz"),
    ("jake@demo-plumbing.example", "technician", "Jake Okafor"),
    ("lena@demo-plumbing.example", "viewer", "Lena Novak"),
]

FIRST = ["Alice", "Ben", "Carla", "David", "Elena", "Frank", "Grace", "Hector", "Irene", "James",
         "Kim", "Luis", "Maria", "Nate", "Olga", "Paul", "Rosa", "Sam", "Tara", "Victor",
         "Wendy", "Yusuf", "Zoe", "Omar", "Ruth", "Hannah", "Ian", "Nadia", "Derek", "Beth"]
LAST = ["Alvarez", "Brennan", "Cohen", "Doyle", "Esposito", "Fischer", "Greene", "Hoffman",
        "Ibrahim", "Jensen", "Kowalski", "Lombardi", "Murphy", "Nguyen", "O'Connor", "Patel",
        "Quinn", "Rossi", "Schwartz", "Thompson", "Usman", "Vargas", "Walsh", "Xu", "Young",
        "Zimmerman", "Castillo", "Bianchi", "Moreau", "Lindqvist"]
COMPANIES = ["Bleecker Street Bakery", "Hudson Yards Dental", "Riverside Property Management",
             "Canal Street Laundromat", "Park Slope Montessori", "Astoria Coffee Roasters"]
STREETS = ["Bleecker Street", "Hudson Street", "West 4th Street", "Court Street",
           "Atlantic Avenue", "Bedford Avenue", "Steinway Street", "Ditmars Boulevard",
           "7th Avenue", "Smith Street", "Greenwich Avenue", "Amsterdam Avenue",
           "Columbus Avenue", "Lorimer Street", "Vernon Boulevard", "Prospect Park West"]
PLACES = [("New York", "10014"), ("New York", "10011"), ("Brooklyn", "11201"),
          ("Brooklyn", "11215"), ("Brooklyn", "11211"), ("Astoria", "11103"),
          ("Long Island City", "11101"), ("New York", "10024")]
ACCESS = [None, None, "Key in lockbox, code 4471", "Ring the super, apt 1B",
          "Side gate, dog is friendly", "Alarm code 2580, panel by the back door",
          "Park in the alley behind the building", None]

JOBS = [
    # title, description, lines (description, quantity_milli, unit_price in cents)
    ("Boiler annual service", "Combi boiler service, check pressure and flue.",
     [("Boiler service", 1000, 18_500), ("Pressure relief valve", 1000, 4_200)]),
    ("Leaking kitchen tap", "Mixer tap dripping, replace cartridge.",
     [("Call-out and labour (1 h)", 1000, 12_000), ("Ceramic cartridge", 1000, 2_800)]),
    ("No hot water", "Water heater not firing since this morning.",
     [("Diagnosis and repair", 1000, 16_500), ("Thermocouple", 1000, 3_400)]),
    ("Radiator not heating", "Bedroom radiator cold at the top; bleed and balance.",
     [("Bleed and balance system", 1000, 14_000)]),
    ("Blocked shower drain", "Slow drain in the main bathroom.",
     [("Drain clearing", 1000, 15_000)]),
    ("Replace water heater", "50-gallon gas water heater, end of life.",
     [("50 gal gas water heater", 1000, 129_000), ("Installation (6 h)", 6000, 11_000)]),
    ("Toilet running constantly", "Fill valve and flapper.",
     [("Fill valve kit", 1000, 3_900), ("Labour (1 h)", 1000, 12_000)]),
    ("Burst pipe under sink", "Emergency call, water shut off at the stop valve.",
     [("Emergency call-out", 1000, 22_000), ("Copper fittings", 4000, 1_250)]),
    ("Install new radiator", "Add a radiator in the home office.",
     [("Double panel radiator", 1000, 38_000), ("Installation (4 h)", 4000, 11_000)]),
    ("Gas leak check", "Smell of gas near the stove; test the line.",
     [("Gas line pressure test", 1000, 19_500)]),
    ("Sump pump replacement", "Basement sump pump seized.",
     [("1/2 HP sump pump", 1000, 34_000), ("Installation (3 h)", 3000, 11_000)]),
    ("Furnace tune-up", "Seasonal furnace service before the cold snap.",
     [("Furnace service", 1000, 16_000), ("Air filter", 2000, 2_400)]),
    ("Low water pressure", "Whole-house pressure low; check the regulator.",
     [("Pressure regulator", 1000, 21_000), ("Labour (2 h)", 2000, 12_000)]),
    ("Dishwasher hook-up", "New dishwasher, connect supply and drain.",
     [("Dishwasher connection", 1000, 17_500)]),
    ("Thermostat upgrade", "Replace old thermostat with a smart one.",
     [("Smart thermostat", 1000, 24_900), ("Installation (1 h)", 1000, 12_000)]),
    ("Bathroom remodel rough-in", "Move the vanity and shower valve.",
     [("Rough-in plumbing (12 h)", 12000, 11_000), ("PEX and fittings", 1000, 46_000)]),
]

SCHEDULE_SLOTS = [(7, 30, 9, 0), (9, 30, 11, 30), (12, 0, 13, 30), (14, 0, 15, 30),
                  (16, 0, 17, 30)]

# The job status machine (src/domain/jobs.rs): the moves allowed from each status.
MOVES = {
    "requested": ["scheduled", "on_hold", "cancelled"],
    "scheduled": ["in_progress", "on_hold", "cancelled", "requested"],
    "in_progress": ["completed", "on_hold", "cancelled"],
    "on_hold": ["requested", "scheduled", "in_progress", "cancelled"],
    "completed": [],
    "cancelled": ["requested"],
}

NOTES = ["Customer asked us to call 30 minutes before arriving.",
         "Parts ordered from Ferguson, pick up at the counter.",
         "Shut-off valve is seized; quote a replacement.",
         "Photos of the old unit taken for the record.",
         "Customer prefers mornings.",
         "Checked for leaks after the repair: dry.",
         "Access through the basement door."]


class ApiError(Exception):
    def __init__(self, status, body, method, path):
        super().__init__(f"{method} {path}: {status} {body[:500]}")
        self.status = status
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return {}


class Api:
    """A signed-in browser-like client (cookie, Origin, CSRF token) and the operator token."""

    def __init__(self, base, ops_token, email, password):
        self.base = base.rstrip("/")
        self.ops_token = ops_token
        self.email = email
        self.password = password
        self.cookie = None
        self.device = None
        self.csrf = None
        self.calls = 0

    def raw(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        self.calls += 1
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, reply.headers, reply.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode()

    def ops(self, path, body):
        status, _, text = self.raw("POST", path, body,
                                   {"Authorization": f"Bearer {self.ops_token}"})
        if status >= 300:
            raise ApiError(status, text, "POST", path)
        return json.loads(text) if text else {}

    def sign_in(self):
        # The browser's device cookie rides along, as a browser's would: signing in again
        # (the clock moved past the session) is then a known browser, not a new-device notice.
        device = {"Cookie": self.device} if self.device else {}
        status, headers, text = self.raw("POST", "/api/v1/auth/login",
                                         {"email": self.email, "password": self.password}, device)
        if status != 200:
            raise ApiError(status, text, "POST", "/api/v1/auth/login")
        self.adopt(headers, text)

    def adopt(self, headers, text):
        for cookie in headers.get_all("Set-Cookie") or []:
            pair = cookie.split(";")[0]
            if pair.startswith("fw_session="):
                self.cookie = pair
            elif pair.startswith("fw_device="):
                self.device = pair
        self.csrf = json.loads(text)["csrf_token"]

    def call(self, method, path, body=None, version=None, ok=(200, 201, 204)):
        for attempt in range(2):
            headers = {"Cookie": self.cookie, "Origin": self.base, "X-CSRF-Token": self.csrf}
            if version is not None:
                headers["If-Match"] = f'"{version}"'
            status, reply_headers, text = self.raw(method, path, body, headers)
            if status == 401 and attempt == 0:
                self.sign_in()  # the session ended while the clock moved: sign in again
                continue
            if status not in ok:
                raise ApiError(status, text, method, path)
            return json.loads(text) if text else {}

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body=None):
        return self.call("POST", path, {} if body is None else body)

    def versioned(self, method, path, record, body=None, attempts=4):
        """A write naming the version just read from `record`; a 409 for a stale version
        is read again and retried."""
        for attempt in range(attempts):
            current = self.get(record)
            try:
                return self.call(method, path, body, version=current["version"])
            except ApiError as err:
                problem = err.json()
                if err.status == 409 and "current" in problem and attempt + 1 < attempts:
                    continue
                raise
        raise RuntimeError("unreachable")

    def clock_to(self, when):
        self.ops("/ops/clock", {"at_ms": int(when.timestamp() * 1000)})

    def all(self, path, key):
        items, cursor = [], None
        while True:
            sep = "&" if "?" in path else "?"
            page = self.get(path + (f"{sep}cursor={cursor}" if cursor else ""))
            items += page[key]
            cursor = page.get("next_cursor")
            if not cursor:
                return items


def path_to(start, goal):
    """The shortest sequence of moves from `start` to `goal` in the status machine."""
    seen, queue = {start: []}, deque([start])
    while queue:
        status = queue.popleft()
        if status == goal:
            return seen[status]
        for nxt in MOVES.get(status, []):
            if nxt not in seen:
                seen[nxt] = seen[status] + [nxt]
                queue.append(nxt)
    return None


def move_job(api, job_id, goal):
    """Moves a job to `goal` from wherever it is now (booking or starting a visit may have
    moved it already), one allowed move at a time, reading its status before each. A refused
    move (409) names the moves the API allows from there: they replace what is known."""
    for _ in range(8):
        job = api.get(f"/api/v1/jobs/{job_id}")
        job = job.get("job", job)
        if job["status"] == goal:
            return
        steps = path_to(job["status"], goal)
        if not steps:
            raise RuntimeError(f"job {job_id}: no way from {job['status']} to {goal}")
        try:
            api.call("POST", f"/api/v1/jobs/{job_id}/status", {"status": steps[0]},
                     version=job["version"])
        except ApiError as err:
            if err.status != 409:
                raise
            allowed = err.json().get("allowed")
            if isinstance(allowed, list):
                MOVES[job["status"]] = allowed
    raise RuntimeError(f"job {job_id} did not reach {goal}")


WORK = ("service", "labour", "installation", "call-out", "diagnosis", "clearing", "test",
        "connection", "bleed", "rough-in", "tune-up", "repair")


def is_work(description):
    return any(word in description.lower() for word in WORK)


def rfc3339(when):
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(day, hour, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


class Demo:
    def __init__(self, api, today):
        self.api = api
        self.rng = random.Random(SEED)
        self.today = today  # a local date
        self.events = []  # (instant, order, fn)
        self.customers = []  # {id, site_ids, name}
        self.techs = []  # user ids
        self.booked = {}  # (tech, date) -> used slot indexes
        self.share_url = None
        self.public_url = api.base
        self.counts = {}

    def day(self, offset):
        return self.today + timedelta(days=offset)

    def at(self, when, fn):
        self.events.append((when, len(self.events), fn))

    # --- the plan -------------------------------------------------------------------------
    def plan(self):
        rng = self.rng
        start = self.day(-DAYS_BACK)
        self.at(local(start, 7, 30), self.invite_team)
        # Customers: most known from before, a few new each week.
        names = [f"{f} {l}" for f, l in zip(FIRST, LAST)]
        for i, name in enumerate(names):
            when_day = -DAYS_BACK if i < 18 else -DAYS_BACK + (i - 17) * 1 + rng.randint(0, 1)
            self.at(local(self.day(when_day), 8, i % 50), lambda i=i, name=name: self.customer(i, name))

        # 40 jobs: (final status, created day, visit day or None)
        plan = (["completed"] * 14 + ["in_progress"] * 3 + ["scheduled"] * 11 +
                ["requested"] * 6 + ["on_hold"] * 3 + ["cancelled"] * 3)
        working = [d for d in range(-DAYS_BACK + 2, 0) if self.day(d).weekday() < 6]
        future = [d for d in range(0, 6) if self.day(d).weekday() < 6][:5]
        jobs = []
        for n, status in enumerate(plan):
            template = JOBS[n % len(JOBS)]
            customer = n % 30 if n < 30 else rng.randrange(30)
            if status == "completed":
                visit = working[(n * 3) % len(working)]
                created = visit - rng.randint(1, 3)
            elif status == "in_progress":
                visit, created = 0, -rng.randint(1, 4)
            elif status == "scheduled":
                # today's schedule first, then the rest of the week
                visit = 0 if n % 2 == 0 else future[n % len(future)]
                created = -rng.randint(1, 6)
            elif status == "on_hold":
                visit, created = working[-(n % 5) - 1], -rng.randint(8, 14)
            else:
                visit, created = None, -rng.randint(0, 5) if status == "requested" else -rng.randint(5, 12)
            created = max(created, -DAYS_BACK + 1)
            jobs.append(dict(n=n, status=status, template=template, customer=customer,
                             created=created, visit=visit, tech=n % 2))
        # What happens to each completed job's invoice, by age: the oldest unpaid ones are
        # overdue by now, the newest still issued or drafts.
        kinds = ["overdue", "paid", "paid", "overdue", "paid", "partially_paid", "paid", "paid",
                 "partially_paid", "paid", "issued", "issued", "draft", "draft"]
        done = sorted((j for j in jobs if j["status"] == "completed"), key=lambda j: (j["visit"], j["n"]))
        for job, kind in zip(done, kinds):
            job["invoice"] = kind
        for job in jobs:
            self.plan_job(job)
        self.plan_quotes()

    def plan_job(self, job):
        created_at = local(self.day(job["created"]), 9, 15 + job["n"] % 40)
        self.at(created_at, lambda: self.create_job(job))
        visit = job["visit"]
        if visit is not None:
            book_day = max(job["created"], min(visit, -1) - 1) if visit < 0 else max(job["created"], -2)
            self.at(local(self.day(book_day), 11, job["n"] % 50), lambda: self.book(job))
            if job["status"] in ("completed", "in_progress", "on_hold"):
                self.at(local(self.day(visit), 8, 5 + job["n"] % 30), lambda: self.start(job))
            if job["status"] == "completed":
                self.at(local(self.day(visit), 17, 40), lambda: self.complete(job))
            if job["status"] == "on_hold":
                self.at(local(self.day(visit), 15, 0), lambda: self.hold(job))
        if job["status"] in ("requested", "cancelled"):
            self.at(created_at + timedelta(hours=3), lambda: self.settle(job))
        if job["n"] % 3 == 0:
            self.at(created_at + timedelta(hours=2),
                    lambda: self.note(job, NOTES[job["n"] % len(NOTES)]))

    def plan_quotes(self):
        # final state, sent day, customer index, template index
        quotes = [("draft", -1), ("draft", 0), ("sent", -3), ("sent", -2), ("viewed", -4),
                  ("accepted", -16), ("accepted", -9), ("accepted", -5), ("declined", -12),
                  ("declined", -6), ("expired", -20), ("expired", -19)]
        for i, (state, sent) in enumerate(quotes):
            q = dict(i=i, state=state, sent=sent, customer=(i * 7) % 18, template=JOBS[(i * 5 + 5) % len(JOBS)])
            self.at(local(self.day(sent), 10, 0), lambda q=q: self.quote(q))
            if state in ("accepted", "declined"):
                self.at(local(self.day(sent + 2), 14, 30), lambda q=q: self.decide(q))

    # --- the actions ----------------------------------------------------------------------
    def invite_team(self):
        users = self.api.get("/api/v1/users")
        have = {u["email"]: u for u in users["users"]}
        for email, role, name in TEAM:
            if email not in have:
                invite = self.api.post("/api/v1/users/invites", {"email": email, "role": role})
                status, _, text = self.api.raw("POST", "/api/v1/auth/invites/accept",
                                               {"token": invite["token"], "name": name,
                                                "password": PASSWORD})
                if status != 201:
                    raise ApiError(status, text, "POST", "/api/v1/auth/invites/accept")
                have[email] = json.loads(text)["user"]
        self.techs = [have[email]["id"] for email, role, _ in TEAM if role == "technician"]

    def customer(self, i, name):
        rng = self.rng
        company = COMPANIES[i // 5] if i % 5 == 4 else None
        first = name.split()[0].lower()
        last = name.split()[-1].lower().replace("'", "")
        body = {"name": name, "emails": [f"{first}.{last}@example.com"],
                "phones": [f"+1212555{1000 + i * 37:04d}"],
                "preferred_contact": ["phone", "sms", "email"][i % 3]}
        if company:
            body["company"] = company
            body["tags"] = ["commercial"]
        made = self.api.post("/api/v1/customers", body)
        sites = []
        for s in range(2 if i % 7 == 3 else 1):
            city, postal = PLACES[(i + s) % len(PLACES)]
            site = {"line1": f"{rng.randint(10, 480)} {STREETS[(i * 3 + s) % len(STREETS)]}",
                    "city": city, "region": "NY", "postal_code": postal, "country": "US",
                    "label": ["Home", "Rental unit"][s] if not company else ["Shop", "Warehouse"][s]}
            if ACCESS[(i + s) % len(ACCESS)]:
                site["access_notes"] = ACCESS[(i + s) % len(ACCESS)]
            sites.append(self.api.post(f"/api/v1/customers/{made['id']}/sites", site)["id"])
        self.customers.append({"id": made["id"], "sites": sites, "name": name})

    def customer_for(self, index):
        return self.customers[min(index, len(self.customers) - 1)]

    def create_job(self, job):
        title, description, lines = job["template"]
        customer = self.customer_for(job["customer"])
        body = {"customer_id": customer["id"], "site_id": customer["sites"][-1 if job["n"] % 4 == 0 else 0],
                "title": title, "description": description,
                "priority": "urgent" if "Burst" in title or "Gas" in title else
                ["normal", "normal", "high", "low"][job["n"] % 4],
                "items": [{"kind": "work" if is_work(d) else "part", "description": d,
                           "quantity_milli": q, **({"unit": "h"} if "(" in d and is_work(d) else {})}
                          for d, q, _ in lines]}
        made = self.api.post("/api/v1/jobs", body)
        job["id"] = made["id"]
        job["customer_id"] = customer["id"]

    def book(self, job):
        day = self.day(job["visit"])
        tech_order = [self.techs[job["tech"]], self.techs[1 - job["tech"]]]
        for tech in tech_order:
            used = self.booked.setdefault((tech, day), set())
            for index, (h1, m1, h2, m2) in enumerate(SCHEDULE_SLOTS):
                if index in used:
                    continue
                # in-progress work starts in the morning
                if job["status"] == "in_progress" and index > 1:
                    continue
                body = {"start": rfc3339(local(day, h1, m1)), "end": rfc3339(local(day, h2, m2)),
                        "technician_ids": [tech]}
                try:
                    visit = self.api.post(f"/api/v1/jobs/{job['id']}/visits", body)
                except ApiError as err:
                    if err.status == 409:
                        used.add(index)
                        continue
                    raise
                used.add(index)
                job["visit_id"] = visit["visits"][0]["id"]
                job["start_hour"] = h1
                # Booking may already have scheduled the job; make sure it is.
                move_job(self.api, job["id"], "scheduled")
                return
        raise RuntimeError(f"no free slot for job {job['n']} on {day}")

    def start(self, job):
        move_job(self.api, job["id"], "in_progress")

    def complete(self, job):
        move_job(self.api, job["id"], "completed")
        self.note(job, "Work done and tested; customer signed off.")
        self.invoice(job)

    def hold(self, job):
        self.note(job, "Waiting on a part from the supplier; back on the schedule when it lands.")
        move_job(self.api, job["id"], "on_hold")

    def settle(self, job):
        if job["status"] == "cancelled":
            self.note(job, "Customer found another contractor; cancelled by phone.")
        move_job(self.api, job["id"], job["status"])

    def note(self, job, text):
        self.api.post(f"/api/v1/jobs/{job['id']}/notes", {"text": text})

    def lines(self, template):
        return [{"description": d, "quantity_milli": q, "unit_price": p} for d, q, p in template[2]]

    def invoice(self, job):
        """Completed jobs are invoiced the same evening; what happens next depends on the
        job: paid on the spot, paid later, part-paid, left unpaid (overdue once past due) or
        still a draft."""
        n = job["n"]
        kind = job.get("invoice", "paid")
        made = self.api.post("/api/v1/invoices", {
            "job_id": job["id"], "lines": self.lines(job["template"]),
            "payment_terms_days": {"overdue": 7, "paid": 14}.get(kind, 30),
            "notes": "Thank you for your business."})
        path = f"/api/v1/invoices/{made['id']}"
        if kind == "draft":
            return
        issued = self.api.versioned("POST", f"{path}/issue", path)
        issued = issued.get("invoice", issued)
        balance = issued["balance"]
        if kind == "paid":
            self.api.versioned("POST", f"{path}/payments", path,
                               {"kind": "payment", "amount": balance,
                                "method": ["card", "check", "bank"][n % 3]})
        elif kind == "partially_paid":
            self.api.versioned("POST", f"{path}/payments", path,
                               {"kind": "payment", "amount": balance // 2, "method": "check",
                                "reference": f"check {1040 + n}"})

    def quote(self, q):
        customer = self.customer_for(q["customer"])
        title, description, _ = q["template"]
        state = q["state"]
        valid = local(self.day(q["sent"] + (14 if state != "expired" else 10)), 23, 0)
        body = {"customer_id": customer["id"], "title": title, "notes": description,
                "lines": self.lines(q["template"]), "valid_until": rfc3339(valid),
                "terms": "Prices include parts and labour; valid for 14 days."}
        made = self.api.post("/api/v1/quotes", body)
        path = f"/api/v1/quotes/{made['id']}"
        if state == "draft":
            return
        self.api.versioned("POST", f"{path}/send", path)
        if state == "viewed" or (state == "sent" and self.share_url is None):
            share = self.api.post(f"{path}/share", {"expires_in_days": 60})
            url = share.get("url", "")
            if state == "viewed":
                # The customer opens the link: the quote shows as viewed.
                self.api.raw("GET", url if url.startswith("/") else "/s/" + share["token"])
            if self.share_url is None or state == "viewed":
                self.share_url = url if url.startswith("http") else self.public_url + url
        q["path"] = path

    def decide(self, q):
        path = q["path"]
        if q["state"] == "accepted":
            name = self.customer_for(q["customer"])["name"]
            self.api.versioned("POST", f"{path}/accept", path, {"signer_name": name})
        else:
            self.api.versioned("POST", f"{path}/decline", path, {})

    # --- the replay -----------------------------------------------------------------------
    def run(self, log):
        self.plan()
        now = datetime.now(ZONE)
        self.events.sort(key=lambda e: (e[0], e[1]))
        clock = None
        for when, _, fn in self.events:
            when = min(when, now)
            if clock is None or when > clock:
                self.api.clock_to(when)
                clock = when
            fn()
        log(f"replayed {len(self.events)} events in {self.api.calls} requests")


CHAT_ID = 424242


def telegram_update(update_id, text):
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": int(time.time()),
                        "from": {"id": CHAT_ID, "is_bot": False, "first_name": "Dana"},
                        "chat": {"id": CHAT_ID, "type": "private", "first_name": "Dana"},
                        "text": text}}


def link_chat(api, secret):
    """Links a Telegram chat to the owner as the bot would: a one-time code, then `/link CODE`
    delivered to the webhook with its secret (no bot needed to receive it locally)."""
    code = api.post("/api/v1/me/links", {})["code"]
    status, _, text = api.raw("POST", "/webhooks/telegram", telegram_update(1, f"/link {code}"),
                              {"X-Telegram-Bot-Api-Secret-Token": secret})
    if status != 200:
        raise ApiError(status, text, "POST", "/webhooks/telegram")
    links = api.get("/api/v1/me/links")
    if not links.get("links"):
        raise RuntimeError(f"the chat was not linked: {links}")


def summary(api, base, share_url, chat):
    lines = ["The demo team (password for each: %s):" % PASSWORD,
             f"  {'owner':<11} {api.email}"]
    lines += [f"  {role:<11} {email}" for email, role, _ in TEAM]
    if share_url:
        lines.append(f"A quote's share link (what the customer sees): {share_url}")
    if chat:
        lines.append(f"Dana's Telegram chat {CHAT_ID} is linked: the agent's commands go to "
                     "POST /webhooks/telegram (see the README's Telegram section)")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--state", required=True, help="the tenant's state folder (ops-token)")
    parser.add_argument("--email", required=True, help="the signed-in owner")
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--public-url", help="where people reach the tenant (share links)")
    parser.add_argument("--empty", action="store_true", help="seed nothing")
    parser.add_argument("--telegram-secret", help="a file holding the tenant's "
                        "TELEGRAM_WEBHOOK_SECRET: the owner's chat is linked through the webhook")
    args = parser.parse_args()
    log = lambda text: print(f"demo seed: {text}", file=sys.stderr)
    if args.empty:
        log("--empty: nothing seeded")
        return 0
    with open(f"{args.state}/ops-token") as f:
        token = f.read().strip()
    api = Api(args.url, token, args.email, args.password)
    api.sign_in()
    if api.get("/api/v1/customers?limit=1")["customers"]:
        log("the tenant already has customers: left alone (scripts/dev --reseed starts afresh)")
        return 0
    # The business's hours are in the company's time zone (New York in the demo's settings).
    global ZONE
    zone = api.get("/api/v1/settings").get("time_zone") or "UTC"
    try:
        ZONE = ZoneInfo(zone)
    except Exception:
        log(f"no zone data for {zone}: times are New York's")
    started = time.monotonic()
    demo = Demo(api, datetime.now(ZONE).date())
    demo.public_url = (args.public_url or args.url).rstrip("/")
    try:
        # Sign in again at the replay's first instant, so the session is not from the future.
        api.clock_to(local(demo.day(-DAYS_BACK), 7, 0))
        api.sign_in()
        demo.run(log)
    finally:
        api.ops("/ops/clock", {"at_ms": int(time.time() * 1000)})
    chat = False
    if args.telegram_secret:
        with open(args.telegram_secret) as f:
            link_chat(api, f.read().strip())
        chat = True
    with open(f"{args.state}/demo-seed.txt", "w") as f:
        f.write(summary(api, args.url, demo.share_url, chat))
    log(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
