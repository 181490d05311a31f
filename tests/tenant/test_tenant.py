"""scripts/tenant, driven as an operator would, with stand-ins for wrangler and scripts/admin
(tests/tenant/fake_wrangler.py and fake_admin.py) since Cloudflare's API is not reachable from
tests: dry runs of a thousand tenants, idempotent and resumable provisioning, migrations in
waves that stop at the first failure, destroying, and the generated config checked by the real
wrangler. Run: python3 -m unittest discover -s tests/tenant (scripts/test does)."""

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts/tenant"
HERE = Path(__file__).resolve().parent
ALL_STEPS = ["d1", "kv", "r2", "migrate", "deploy", "secrets", "audit-key", "owner"]
# The steps a tenant provisioned before AUDIT_KEY existed has recorded.
BEFORE_AUDIT_KEY = [step for step in ALL_STEPS if step != "audit-key"]
# Dry runs print commands as the operator would type them, with wrangler and scripts/admin.
AS_OPERATOR = {"WRANGLER": "", "ADMIN": ""}
LATEST = max(int(p.name[:4]) for p in (ROOT / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql"))


def report(line):
    """A measured figure, printed with the test results."""
    print(f"  {line}", file=sys.stderr)


def slugs(n):
    return [f"t{i:04d}" for i in range(n)]


class Operator(unittest.TestCase):
    """Each test gets an empty tenants folder and fresh stand-ins."""

    def setUp(self):
        self.work = Path(tempfile.mkdtemp(prefix="fieldworker-tenant-test-"))
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.tenants = self.work / "tenants"
        self.env = dict(
            os.environ,
            FIELDWORKER_TENANTS=str(self.tenants),
            WRANGLER=str(HERE / "fake_wrangler.py"),
            ADMIN=str(HERE / "fake_admin.py"),
            FAKE_WRANGLER_LOG=str(self.work / "wrangler-calls.jsonl"),
            FAKE_WRANGLER_STATE=str(self.work / "cloudflare.json"),
            FAKE_ADMIN_LOG=str(self.work / "admin-calls.jsonl"),
        )
        self.env.pop("OWNER_PASSWORD", None)
        self.env.pop("FAKE_WRANGLER_FAIL", None)

    def tenant(self, *args, stdin="", fail=None, expect=0, **env):
        environment = dict(self.env, **env)
        if fail:
            environment["FAKE_WRANGLER_FAIL"] = fail
        result = subprocess.run(
            [str(SCRIPT), *args],
            cwd=ROOT,
            env=environment,
            input=stdin,
            capture_output=True,
            text=True,
        )
        if expect is not None:
            self.assertEqual(
                result.returncode,
                expect,
                f"{args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}",
            )
        return result

    def calls(self):
        """The wrangler calls so far, each as its argument list (then forgotten)."""
        path = Path(self.env["FAKE_WRANGLER_LOG"])
        if not path.exists():
            return []
        calls = [json.loads(line) for line in path.read_text().splitlines()]
        path.unlink()
        return calls

    def registry(self):
        path = self.tenants / "registry.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def write_registry(self, names, schema_version, steps=ALL_STEPS):
        """A registry of fully created tenants (or, with STEPS, created up to those), as
        scripts/tenant keeps it."""
        self.tenants.mkdir(parents=True, exist_ok=True)
        cloudflare = {"d1": {}, "kv": {}, "r2": [], "workers": [], "secrets": {}, "migrated": []}
        with open(self.tenants / "registry.jsonl", "w") as file:
            for i, slug in enumerate(names):
                name = f"fieldworker-{slug}"
                cloudflare["d1"][name] = f"00000000-0000-4000-8000-{i:012d}"
                cloudflare["kv"][f"{name}-sessions"] = f"{i:032x}"
                cloudflare["r2"].append(name)
                cloudflare["workers"].append(name)
                record = {
                    "slug": slug,
                    "domain": "example.com",
                    "zone": "example.com",
                    "worker": name,
                    "d1_name": name,
                    "d1_id": f"00000000-0000-4000-8000-{i:012d}",
                    "kv_title": f"{name}-sessions",
                    "kv_id": f"{i:032x}",
                    "r2_bucket": name,
                    "steps": {step: "2026-01-01T00:00:00Z" for step in steps},
                    "schema_version": schema_version,
                    "vars": {},
                }
                file.write(json.dumps(record, sort_keys=True) + "\n")
        Path(self.env["FAKE_WRANGLER_STATE"]).write_text(json.dumps(cloudflare))

    def admin_calls(self):
        """The stand-in scripts/admin's calls: each its arguments and the secrets in its env."""
        path = Path(self.env["FAKE_ADMIN_LOG"])
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def cloudflare(self):
        """What the stand-in wrangler holds: resources, Workers and their secrets."""
        return json.loads(Path(self.env["FAKE_WRANGLER_STATE"]).read_text())

    def table(self, stdout):
        """The result table at the end of the output as {tenant: result} (cells are separated
        by two or more spaces)."""
        lines = stdout.splitlines()
        header = max(i for i, line in enumerate(lines) if line.startswith("tenant  "))
        return {
            cells[0]: cells[1]
            for cells in (re.split(r"\s{2,}", line) for line in lines[header + 1 :])
        }


class Slugs(Operator):
    def test_slugs_follow_the_dns_label_rules_and_reserved_names_are_refused(self):
        cases = [
            ("acme", True),
            ("a", True),
            ("acme-heating-2", True),
            ("0day", True),
            ("Acme", False),
            ("-acme", False),
            ("acme-", False),
            ("ac_me", False),
            ("ac.me", False),
            ("", False),
            ("xn--acme", False),
            ("ab--cd", False),
            ("a" * 51, True),
            ("a" * 52, False),
            ("www", False),
            ("api", False),
            ("admin", False),
            ("app", False),
            ("mail", False),
            ("static", False),
            ("assets", False),
            ("status", False),
            ("ops", False),
            ("dashboard", False),
            ("localhost", False),
        ]
        result = self.tenant("check-slug", "--", *(slug for slug, _ in cases), expect=1)
        verdicts = [
            line.rsplit(": ", 1)[-1] if ": " in line else "" for line in result.stdout.splitlines()
        ]
        self.assertEqual(len(verdicts), len(cases), result.stdout)
        for (slug, valid), verdict in zip(cases, verdicts):
            with self.subTest(slug=slug):
                self.assertEqual(verdict == "ok", valid, verdict)

    def test_create_refuses_bad_slugs_and_domains_before_touching_anything(self):
        result = self.tenant(
            "create",
            "good",
            "www",
            "Bad",
            "--domain",
            "example.com",
            "--owner-email",
            "o@x.example",
            expect=2,
        )
        self.assertIn("www: is reserved", result.stderr)
        self.assertIn("Bad: may hold only", result.stderr)
        self.tenant(
            "create", "good", "--domain", "Example..com", "--owner-email", "o@x.example", expect=2
        )
        self.tenant("create", "good", "--domain", "example.com", expect=2)  # no owner
        self.tenant(
            "create",
            "good",
            "--domain",
            "example.com",
            "--owner-email",
            "o@x.example",
            "--var",
            "ENVIRONMENT=development",
            expect=2,
        )
        for secret in ("OPS_TOKEN", "AUDIT_KEY", "PII_KEYS", "PII_INDEX_KEY"):
            result = self.tenant(
                "create",
                "good",
                "--domain",
                "example.com",
                "--owner-email",
                "o@x.example",
                "--var",
                f"{secret}=x",
                expect=2,
            )
            self.assertIn(f"--var {secret}:", result.stderr)
        self.assertEqual(self.calls(), [])
        self.assertEqual(self.registry(), [])


class DryRuns(Operator):
    def test_creating_a_thousand_tenants_dry_runs_in_seconds_printing_every_command(self):
        names = slugs(1000)
        started = time.monotonic()
        result = self.tenant(
            "create",
            *names,
            "--domain",
            "example.com",
            "--owner-email",
            "o@x.example",
            "--dry-run",
            **AS_OPERATOR,
        )
        elapsed = time.monotonic() - started
        report(f"create --dry-run of 1000 tenants: {elapsed:.2f} s")
        self.assertLess(elapsed, 10)
        lines = result.stdout.splitlines()
        for command in (
            "wrangler d1 create",
            "wrangler kv namespace create",
            "wrangler r2 bucket create",
            "wrangler d1 migrations apply DB --remote",
            "wrangler deploy --config",
            "wrangler secret put OPS_TOKEN",
            "wrangler secret put AUDIT_KEY",
            "wrangler secret put PII_KEYS",
            "wrangler secret put PII_INDEX_KEY",
        ):
            self.assertEqual(sum(line.startswith(command) for line in lines), 1000, command)
        self.assertEqual(sum("scripts/admin create-owner" in line for line in lines), 1000)
        tenants = (
            os.path.relpath(self.tenants, ROOT)
            if self.tenants.is_relative_to(ROOT)
            else str(self.tenants)
        )
        block = lines[
            lines.index(
                "# t0042: https://t0042.example.com  "
                "(to do: d1 kv r2 migrate deploy secrets audit-key owner)"
            ) :
        ][:18]
        config = f"{tenants}/t0042/wrangler.toml"
        self.assertEqual(
            block[1:4],
            [
                "wrangler d1 create fieldworker-t0042",
                "wrangler kv namespace create fieldworker-t0042-sessions",
                "wrangler r2 bucket create fieldworker-t0042",
            ],
        )
        self.assertIn(f"wrangler d1 migrations apply DB --remote --config {config}", block)
        self.assertTrue(
            any(line.startswith(f"wrangler deploy --config {config} --message") for line in block),
            block,
        )
        self.assertIn(
            f"wrangler secret put OPS_TOKEN --config {config} < {tenants}/t0042/ops-token", block
        )
        self.assertIn(
            f"wrangler secret put AUDIT_KEY --config {config} < {tenants}/t0042/audit-key", block
        )
        self.assertIn(
            f"# {tenants}/t0042/audit-key: a new random audit key "
            "(the audit trail is sealed under it; back it up)",
            block,
        )
        for name, file in (("PII_KEYS", "pii-keys"), ("PII_INDEX_KEY", "pii-index-key")):
            self.assertIn(
                f"wrangler secret put {name} --config {config} < {tenants}/t0042/{file}", block
            )
            self.assertIn(f"# {tenants}/t0042/{file}: {name}, a new random key; back it up", block)
        # The secrets are named by their files and handed over in the environment.
        self.assertIn(
            f'OPS_TOKEN="$(cat {tenants}/t0042/ops-token)" '
            f'OWNER_PASSWORD="$(cat {tenants}/t0042/owner-password)" '
            "scripts/admin create-owner --url https://t0042.example.com --email o@x.example "
            "--must-change-password",
            block,
        )
        # A dry run runs nothing and writes nothing.
        self.assertEqual(self.calls(), [])
        self.assertFalse(self.tenants.exists())

    def test_migrating_a_thousand_tenants_dry_runs_in_seconds_canary_first_then_waves(self):
        names = slugs(1000)
        self.write_registry(names, schema_version=LATEST - 1)
        before = (self.tenants / "registry.jsonl").read_bytes()
        started = time.monotonic()
        result = self.tenant("migrate", "--all", "--wave", "100", "--dry-run", **AS_OPERATOR)
        elapsed = time.monotonic() - started
        report(f"migrate --all --dry-run of 1000 tenants: {elapsed:.2f} s")
        self.assertLess(elapsed, 10)
        lines = result.stdout.splitlines()
        applies = [
            line
            for line in lines
            if line.startswith("wrangler d1 migrations apply DB --remote --config ")
        ]
        self.assertEqual(len(applies), 1000)
        self.assertTrue(applies[0].endswith("/t0000/wrangler.toml"))
        headers = [
            line for line in lines if line.startswith("# canary") or line.startswith("# wave")
        ]
        self.assertEqual(headers[0], "# canary: 1 tenant")
        self.assertEqual(headers[1], "# wave 1 of 10: 100 tenants")
        self.assertEqual(headers[-1], "# wave 10 of 10: 99 tenants")
        self.assertLess(lines.index(headers[0]), lines.index(applies[0]), "the canary comes first")
        self.assertEqual(set(self.table(result.stdout).values()), {"would migrate"})
        self.assertEqual(self.calls(), [])
        self.assertEqual((self.tenants / "registry.jsonl").read_bytes(), before)

    def test_a_thousand_tenants_migrate_for_real_in_one_pass_over_the_registry(self):
        # wrangler replaced by `true`: what is left is scripts/tenant's own cost per tenant
        # (config, call, one appended registry line), which must stay flat.
        self.write_registry(slugs(1000), schema_version=LATEST - 1)
        started = time.monotonic()
        self.tenant(
            "migrate", "--all", "--wave", "200", "--jobs", "8", WRANGLER=shutil.which("true")
        )
        elapsed = time.monotonic() - started
        report(f"migrate --all of 1000 tenants, wrangler stubbed: {elapsed:.2f} s")
        self.assertLess(elapsed, 60)
        records = self.registry()
        self.assertEqual(len(records), 1000, "compacted to one line per tenant")
        self.assertEqual([r["slug"] for r in records], slugs(1000))
        self.assertTrue(all(r["schema_version"] == LATEST for r in records))
        self.tenant("list")


class Provisioning(Operator):
    def test_create_provisions_each_resource_records_its_ids_and_writes_a_production_config(self):
        result = self.tenant(
            "create",
            "acme",
            "--domain",
            "example.com",
            "--owner-email",
            "olive@acme.example",
            "--owner-name",
            "Olive Owner",
            "--var",
            "ACCESS_AUD=abc123",
            "--no-build",
        )
        self.assertIn("acme", self.table(result.stdout))
        calls = [call["args"] for call in self.calls()]
        config = f"{self.tenants}/acme/wrangler.toml"
        shown = os.path.relpath(config, ROOT) if Path(config).is_relative_to(ROOT) else config
        self.assertEqual(
            [c[:3] for c in calls],
            [
                ["d1", "info", "fieldworker-acme"],  # looked up before it is created
                ["d1", "create", "fieldworker-acme"],
                ["kv", "namespace", "list"],
                ["kv", "namespace", "create"],
                ["r2", "bucket", "info"],
                ["r2", "bucket", "create"],
                ["d1", "migrations", "apply"],
                ["deploy", "--config", shown],
                ["secret", "put", "OPS_TOKEN"],
                ["secret", "put", "AUDIT_KEY"],
                ["secret", "put", "PII_KEYS"],
                ["secret", "put", "PII_INDEX_KEY"],
            ],
        )
        self.assertEqual(
            calls[6], ["d1", "migrations", "apply", "DB", "--remote", "--config", shown]
        )

        cloudflare = json.loads(Path(self.env["FAKE_WRANGLER_STATE"]).read_text())
        [record] = self.registry()
        self.assertEqual(record["d1_id"], cloudflare["d1"]["fieldworker-acme"])
        self.assertEqual(record["kv_id"], cloudflare["kv"]["fieldworker-acme-sessions"])
        self.assertEqual(record["schema_version"], LATEST)
        self.assertEqual(sorted(record["steps"]), sorted(ALL_STEPS))

        with open(config, "rb") as file:
            deployed = tomllib.load(file)
        self.assertEqual(deployed["name"], "fieldworker-acme")
        self.assertEqual(
            deployed["vars"],
            {
                "TENANT": "acme",
                "ENVIRONMENT": "production",
                "PUBLIC_URL": "https://acme.example.com",
                "ACCESS_AUD": "abc123",
            },
        )
        # The figures for operators: one dataset for every tenant, the tenant as index1.
        self.assertEqual(
            deployed["analytics_engine_datasets"], [{"binding": "METRICS", "dataset": "fieldworker"}]
        )
        self.assertEqual(
            deployed["routes"], [{"pattern": "acme.example.com/*", "zone_name": "example.com"}]
        )
        self.assertFalse(deployed["workers_dev"])
        self.assertEqual(
            deployed["observability"], {"enabled": True, "logs": {"invocation_logs": False}}
        )
        self.assertEqual(deployed["d1_databases"][0]["binding"], "DB")
        self.assertEqual(deployed["d1_databases"][0]["database_id"], record["d1_id"])
        self.assertEqual(
            deployed["kv_namespaces"], [{"binding": "SESSIONS", "id": record["kv_id"]}]
        )
        self.assertEqual(
            deployed["r2_buckets"], [{"binding": "FILES", "bucket_name": "fieldworker-acme"}]
        )
        # The dashboard's files come from this checkout's build (a path relative to the config).
        self.assertEqual(
            (Path(config).parent / deployed["assets"]["directory"]).resolve(),
            (ROOT / "build/public").resolve(),
        )
        self.assertEqual(deployed["assets"]["binding"], "ASSETS")
        self.assertEqual(deployed["assets"]["not_found_handling"], "none")
        self.assertEqual(
            deployed["compatibility_date"],
            tomllib.loads((ROOT / "wrangler.toml").read_text())["compatibility_date"],
        )

        token_file = self.tenants / "acme/ops-token"
        self.assertEqual(token_file.stat().st_mode & 0o777, 0o600)
        token = token_file.read_text()
        self.assertEqual(
            cloudflare["secrets"]["fieldworker-acme:OPS_TOKEN"], token, "the secret came on stdin"
        )
        key_file = self.tenants / "acme/audit-key"
        self.assertEqual(key_file.stat().st_mode & 0o777, 0o600)
        key = key_file.read_text()
        self.assertRegex(key, r"^[0-9a-f]{64}$", "32 random bytes, hex")
        self.assertEqual(calls[-3], ["secret", "put", "AUDIT_KEY", "--config", shown])
        self.assertEqual(
            cloudflare["secrets"]["fieldworker-acme:AUDIT_KEY"], key, "the key came on stdin"
        )
        for name, file in (("PII_KEYS", "pii-keys"), ("PII_INDEX_KEY", "pii-index-key")):
            self.assertIn(["secret", "put", name, "--config", shown], calls)
            value = (self.tenants / "acme" / file).read_text()
            self.assertEqual((self.tenants / "acme" / file).stat().st_mode & 0o777, 0o600)
            self.assertEqual(cloudflare["secrets"][f"fieldworker-acme:{name}"], value.strip())
            for kept in ("registry.jsonl", "acme/wrangler.toml", "acme/wrangler.log"):
                self.assertNotIn(value.strip(), (self.tenants / kept).read_text(), kept)
        for kept in ("registry.jsonl", "acme/wrangler.toml", "acme/wrangler.log"):
            self.assertNotIn(key, (self.tenants / kept).read_text(), f"the key is not in {kept}")
        [admin] = self.admin_calls()
        password = (self.tenants / "acme/owner-password").read_text()
        self.assertEqual(
            admin["args"],
            [
                "create-owner",
                "--url",
                "https://acme.example.com",
                "--email",
                "olive@acme.example",
                "--name",
                "Olive Owner",
                "--must-change-password",
            ],
            "the password was generated: the owner changes it at the first sign-in",
        )
        self.assertEqual(admin["env"], {"OPS_TOKEN": token, "OWNER_PASSWORD": password})

    def test_create_again_changes_nothing_and_finishes_what_a_failed_run_left_half_done(self):
        owner = ["--domain", "example.com", "--owner-email", "o@x.example", "--no-build"]
        result = self.tenant("create", "t1", "t2", "t3", *owner, fail="deploy@/t2/", expect=1)
        self.assertEqual(
            self.table(result.stdout), {"t1": "created", "t2": "failed", "t3": "not started"}
        )
        t2 = {r["slug"]: r for r in self.registry()}["t2"]
        self.assertEqual(sorted(t2["steps"]), ["d1", "kv", "migrate", "r2"])
        self.calls()

        result = self.tenant("create", "t1", "t2", "t3", *owner)
        self.assertEqual(
            self.table(result.stdout), {"t1": "complete", "t2": "created", "t3": "created"}
        )
        calls = [c["args"] for c in self.calls()]
        t2_calls = [c for c in calls if any("t2" in a for a in c)]
        self.assertEqual(
            [c[:3] for c in t2_calls],
            [
                ["deploy", "--config", t2_calls[0][2]],
                ["secret", "put", "OPS_TOKEN"],
                ["secret", "put", "AUDIT_KEY"],
                ["secret", "put", "PII_KEYS"],
                ["secret", "put", "PII_INDEX_KEY"],
            ],
            "t2 went on from its deploy",
        )
        self.assertFalse(any(c[:2] == ["d1", "create"] and c[2].endswith("t2") for c in calls))

        result = self.tenant("create", "t1", "t2", "t3", *owner)
        self.assertEqual(
            self.table(result.stdout), {"t1": "complete", "t2": "complete", "t3": "complete"}
        )
        self.assertEqual(self.calls(), [], "a finished create calls nothing")
        self.assertEqual(len(self.registry()), 3)
        dry = self.tenant("create", "t1", "t2", "t3", *owner, "--dry-run")
        self.assertEqual(dry.stdout.count("complete, nothing to do"), 3)

    def test_resources_left_by_a_run_that_died_before_recording_them_are_found_not_made_twice(self):
        # Cloudflare already has the D1 database and the KV namespace; the registry does not.
        Path(self.env["FAKE_WRANGLER_STATE"]).write_text(
            json.dumps(
                {
                    "d1": {"fieldworker-lost": "11111111-2222-4333-8444-555555555555"},
                    "kv": {"fieldworker-lost-sessions": "ab" * 16},
                    "r2": ["fieldworker-lost"],
                    "workers": [],
                    "secrets": {},
                    "migrated": [],
                }
            )
        )
        self.tenant(
            "create",
            "lost",
            "--domain",
            "example.com",
            "--owner-email",
            "o@x.example",
            "--no-build",
        )
        calls = [c["args"] for c in self.calls()]
        self.assertFalse(
            [c for c in calls if c[1:2] in (["create"], ["namespace"]) and "create" in c], calls
        )
        [record] = self.registry()
        self.assertEqual(record["d1_id"], "11111111-2222-4333-8444-555555555555")
        self.assertEqual(record["kv_id"], "ab" * 16)

    def test_a_tenant_may_live_in_its_own_cloudflare_account(self):
        self.tenant(
            "create",
            "big",
            "--domain",
            "example.com",
            "--owner-email",
            "o@x.example",
            "--account",
            "0123456789abcdef0123456789abcdef",
            "--no-build",
        )
        self.assertEqual({c["account"] for c in self.calls()}, {"0123456789abcdef0123456789abcdef"})
        with open(self.tenants / "big/wrangler.toml", "rb") as file:
            self.assertEqual(tomllib.load(file)["account_id"], "0123456789abcdef0123456789abcdef")
        dry = self.tenant("migrate", "big", "--force", "--dry-run", **AS_OPERATOR)
        self.assertIn(
            "CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef wrangler d1 migrations apply",
            dry.stdout,
        )


class AuditKey(Operator):
    """AUDIT_KEY, the key the Worker seals its audit trail under: made once per tenant, kept in
    tenants/<slug>/audit-key, put as a Worker secret, never replaced."""

    OWNER = ["--domain", "example.com", "--owner-email", "o@x.example", "--no-build"]

    def test_the_key_is_made_once_and_a_run_again_keeps_it_unchanged(self):
        self.tenant("create", "acme", *self.OWNER)
        key = (self.tenants / "acme/audit-key").read_text()
        self.calls()
        self.tenant("create", "acme", *self.OWNER)
        self.assertEqual(self.calls(), [], "a finished tenant's key is not put again")
        self.assertEqual((self.tenants / "acme/audit-key").read_text(), key)
        self.assertEqual(self.cloudflare()["secrets"]["fieldworker-acme:AUDIT_KEY"], key)

    def test_a_failed_put_is_retried_with_the_same_key_not_a_new_one(self):
        result = self.tenant(
            "create", "acme", *self.OWNER, fail="secret put AUDIT_KEY@/acme/", expect=1
        )
        self.assertEqual(self.table(result.stdout), {"acme": "failed"})
        [record] = self.registry()
        self.assertIn("secrets", record["steps"])
        self.assertNotIn("audit-key", record["steps"])
        self.assertNotIn("owner", record["steps"], "no owner (no audit row) before the key")
        self.assertFalse((self.tenants / "acme/pii-keys").exists(), "nothing after the failure")
        key = (self.tenants / "acme/audit-key").read_text()
        self.calls()

        result = self.tenant("create", "acme", *self.OWNER)
        self.assertEqual(self.table(result.stdout), {"acme": "created"})
        calls = self.calls()
        self.assertEqual(
            [c["args"][:3] for c in calls],
            [
                ["secret", "put", "AUDIT_KEY"],
                ["secret", "put", "PII_KEYS"],
                ["secret", "put", "PII_INDEX_KEY"],
            ],
            "only the keys",
        )
        self.assertEqual(calls[0]["stdin"], key)
        self.assertEqual(calls[1]["stdin"], (self.tenants / "acme/pii-keys").read_text())
        self.assertEqual(calls[2]["stdin"], (self.tenants / "acme/pii-index-key").read_text())
        self.assertEqual((self.tenants / "acme/audit-key").read_text(), key, "never regenerated")
        self.assertEqual(self.cloudflare()["secrets"]["fieldworker-acme:AUDIT_KEY"], key)

    def test_a_key_file_too_short_to_seal_with_is_refused_not_replaced(self):
        self.write_registry(["t0000"], schema_version=LATEST, steps=BEFORE_AUDIT_KEY)
        (self.tenants / "t0000").mkdir()
        (self.tenants / "t0000/audit-key").write_text("short")
        result = self.tenant("create", "t0000", *self.OWNER, expect=1)
        self.assertIn("holds no usable key", result.stdout)
        self.assertEqual(self.calls(), [])
        self.assertEqual((self.tenants / "t0000/audit-key").read_text(), "short")

    def test_tenants_provisioned_before_the_key_get_it_on_their_next_deploy(self):
        names = slugs(3)
        self.write_registry(names, schema_version=LATEST, steps=BEFORE_AUDIT_KEY)
        # One operator already made t0001's key by hand: it is used, not replaced.
        (self.tenants / "t0001").mkdir()
        (self.tenants / "t0001/audit-key").write_text("f" * 64)
        listed = self.tenant("list").stdout
        self.assertEqual(listed.count("incomplete: audit-key"), 3, listed)

        dry = self.tenant("deploy", "--all", "--no-build", "--no-check", "--dry-run", **AS_OPERATOR)
        tenants = (
            os.path.relpath(self.tenants, ROOT)
            if self.tenants.is_relative_to(ROOT)
            else str(self.tenants)
        )
        self.assertIn(
            f"wrangler secret put AUDIT_KEY --config {tenants}/t0000/wrangler.toml "
            f"< {tenants}/t0000/audit-key",
            dry.stdout,
        )
        self.assertIn(f"# {tenants}/t0001/audit-key: the tenant's audit key, as it is", dry.stdout)
        self.assertEqual(self.calls(), [])
        self.assertFalse((self.tenants / "t0000/audit-key").exists(), "a dry run writes nothing")
        self.assertIn(
            f"wrangler secret put PII_KEYS --config {tenants}/t0000/wrangler.toml "
            f"< {tenants}/t0000/pii-keys",
            dry.stdout,
        )
        self.assertFalse((self.tenants / "t0000/pii-keys").exists(), "a dry run writes nothing")

        result = self.tenant("deploy", "--all", "--no-build", "--no-check")
        self.assertEqual(set(self.table(result.stdout).values()), {"deployed"})
        self.assertIn("AUDIT_KEY put; back up", result.stdout)
        calls = self.calls()
        for slug in names:
            own = [c for c in calls if any(f"/{slug}/" in a for a in c["args"])]
            self.assertEqual(
                [c["args"][:3] for c in own],
                [
                    ["secret", "put", "AUDIT_KEY"],
                    ["secret", "put", "PII_KEYS"],
                    ["secret", "put", "PII_INDEX_KEY"],
                    ["deploy", "--config", own[3]["args"][2]],
                ],
                "the keys go in before the new build",
            )
            key = (self.tenants / slug / "audit-key").read_text()
            self.assertEqual(own[0]["stdin"], key)
            self.assertEqual(own[1]["stdin"], (self.tenants / slug / "pii-keys").read_text())
            self.assertEqual(own[2]["stdin"], (self.tenants / slug / "pii-index-key").read_text())
            self.assertEqual(self.cloudflare()["secrets"][f"fieldworker-{slug}:AUDIT_KEY"], key)
        self.assertEqual((self.tenants / "t0001/audit-key").read_text(), "f" * 64)
        self.assertTrue(all("audit-key" in r["steps"] for r in self.registry()))
        self.assertNotIn("incomplete", self.tenant("list").stdout)

        self.tenant("deploy", "--all", "--no-build", "--no-check")
        self.assertEqual([c["args"][0] for c in self.calls()], ["deploy"] * 3, "put once")

    def test_a_tenant_provisioned_before_the_key_gets_it_from_create_too(self):
        self.write_registry(["t0000"], schema_version=LATEST, steps=BEFORE_AUDIT_KEY)
        dry = self.tenant("create", "t0000", *self.OWNER, "--dry-run")
        self.assertIn("(to do: audit-key)", dry.stdout)
        result = self.tenant("create", "t0000", *self.OWNER)
        self.assertEqual(self.table(result.stdout), {"t0000": "created"})
        calls = self.calls()
        self.assertEqual(
            [c["args"][:3] for c in calls],
            [
                ["secret", "put", "AUDIT_KEY"],
                ["secret", "put", "PII_KEYS"],
                ["secret", "put", "PII_INDEX_KEY"],
            ],
        )
        self.assertEqual(calls[0]["stdin"], (self.tenants / "t0000/audit-key").read_text())
        self.assertEqual(calls[1]["stdin"], (self.tenants / "t0000/pii-keys").read_text())
        self.assertEqual(calls[2]["stdin"], (self.tenants / "t0000/pii-index-key").read_text())
        self.assertEqual(sorted(self.registry()[0]["steps"]), sorted(ALL_STEPS))


# A PII_KEYS ring entry as scripts/tenant makes it: `k<UTC time>:` and 32 bytes, base64url.
TENANT_KEY = r"k[0-9]{14}(-[0-9]+)?:[A-Za-z0-9_-]{43}"


class PersonalKeys(Operator):
    """PII_KEYS (the tenant key ring, first the current key) and PII_INDEX_KEY (the blind-index
    key): made once per tenant in tenants/<slug>/pii-keys and pii-index-key, put as Worker
    secrets from those files on stdin, never replaced; rotate-keys puts a new key first."""

    OWNER = ["--domain", "example.com", "--owner-email", "o@x.example", "--no-build"]
    PUTS = [["secret", "put", "PII_KEYS"], ["secret", "put", "PII_INDEX_KEY"]]

    def files(self, slug):
        return (
            (self.tenants / slug / "pii-keys").read_text(),
            (self.tenants / slug / "pii-index-key").read_text(),
        )

    def own(self, calls, slug):
        return [c for c in calls if any(f"/{slug}/" in a for a in c["args"])]

    def test_create_puts_both_keys_from_files_it_makes_once_and_never_changes_them(self):
        self.tenant("create", "acme", *self.OWNER)
        calls = self.calls()
        puts = [c for c in calls if c["args"][:3] in self.PUTS]
        self.assertEqual([c["args"][:3] for c in puts], self.PUTS)
        self.assertEqual(
            [c["args"][:3] for c in calls][-3:],
            [["secret", "put", "AUDIT_KEY"], *self.PUTS],
            "with the audit key",
        )
        ring, index = self.files("acme")
        self.assertRegex(ring, f"^{TENANT_KEY}$", "one tenant key, the current one")
        self.assertRegex(index, r"^[0-9a-f]{64}$", "32 random bytes, hex")
        for name in ("pii-keys", "pii-index-key"):
            self.assertEqual((self.tenants / "acme" / name).stat().st_mode & 0o777, 0o600)
        self.assertEqual([c["stdin"] for c in puts], [ring, index], "on stdin, from the files")
        for call in calls:
            self.assertFalse(any(ring.split(":")[1] in a or index in a for a in call["args"]))
        secrets = self.cloudflare()["secrets"]
        self.assertEqual(secrets["fieldworker-acme:PII_KEYS"], ring)
        self.assertEqual(secrets["fieldworker-acme:PII_INDEX_KEY"], index)
        self.assertTrue(self.registry()[0].get("pii_keys_put"), "the registry says they are put")

        self.tenant("create", "acme", *self.OWNER)
        self.assertEqual(self.calls(), [], "a finished tenant's keys are not put again")
        self.tenant("deploy", "acme", "--no-build", "--no-check")
        self.assertEqual([c["args"][0] for c in self.calls()], ["deploy"], "nor on deploy")
        self.assertEqual(self.files("acme"), (ring, index), "never replaced")
        secrets = self.cloudflare()["secrets"]
        self.assertEqual(secrets["fieldworker-acme:PII_KEYS"], ring)
        self.assertEqual(secrets["fieldworker-acme:PII_INDEX_KEY"], index)

    def test_tenants_provisioned_before_the_keys_get_them_on_their_next_deploy(self):
        names = slugs(2)
        self.write_registry(names, schema_version=LATEST)  # created fully, before PII_KEYS
        dry = self.tenant("deploy", "--all", "--no-build", "--no-check", "--dry-run", **AS_OPERATOR)
        tenants = (
            os.path.relpath(self.tenants, ROOT)
            if self.tenants.is_relative_to(ROOT)
            else str(self.tenants)
        )
        for name, file in (("PII_KEYS", "pii-keys"), ("PII_INDEX_KEY", "pii-index-key")):
            self.assertIn(
                f"wrangler secret put {name} --config {tenants}/t0000/wrangler.toml "
                f"< {tenants}/t0000/{file}",
                dry.stdout,
            )
        self.assertEqual(self.calls(), [])
        self.assertFalse((self.tenants / "t0000/pii-keys").exists(), "a dry run writes nothing")
        self.assertFalse((self.tenants / "t0000/pii-index-key").exists())

        result = self.tenant("deploy", "--all", "--no-build", "--no-check")
        self.assertEqual(set(self.table(result.stdout).values()), {"deployed"})
        self.assertIn("PII_KEYS put; back up", result.stdout)
        calls = self.calls()
        kept = {}
        for slug in names:
            own = self.own(calls, slug)
            self.assertEqual(
                [c["args"][:3] for c in own],
                [*self.PUTS, ["deploy", "--config", own[2]["args"][2]]],
                "the keys go in before the new build",
            )
            kept[slug] = self.files(slug)
            self.assertRegex(kept[slug][0], f"^{TENANT_KEY}$")
            self.assertEqual([c["stdin"] for c in own[:2]], list(kept[slug]))
            secrets = self.cloudflare()["secrets"]
            self.assertEqual(secrets[f"fieldworker-{slug}:PII_KEYS"], kept[slug][0])
            self.assertEqual(secrets[f"fieldworker-{slug}:PII_INDEX_KEY"], kept[slug][1])
            for name in ("pii-keys", "pii-index-key"):
                self.assertEqual((self.tenants / slug / name).stat().st_mode & 0o777, 0o600)
        self.assertNotEqual(kept["t0000"], kept["t0001"], "each tenant its own keys")

        self.tenant("deploy", "--all", "--no-build", "--no-check")
        self.assertEqual([c["args"][0] for c in self.calls()], ["deploy"] * 2, "put once")
        self.assertEqual({slug: self.files(slug) for slug in names}, kept)

    def test_a_failed_put_is_retried_with_the_same_keys_and_the_deploy_waits_for_it(self):
        self.write_registry(["t0000"], schema_version=LATEST)
        result = self.tenant(
            "deploy", "t0000", "--no-build", "--no-check",
            fail="secret put PII_INDEX_KEY@/t0000/", expect=1,
        )
        self.assertEqual(self.table(result.stdout), {"t0000": "failed"})
        self.assertNotIn("deploy", [c["args"][0] for c in self.calls()], "no build without keys")
        made = self.files("t0000")
        self.assertFalse(self.registry()[0].get("pii_keys_put"))

        # The files are there, but the secrets were not both put: the next deploy puts them.
        self.tenant("deploy", "t0000", "--no-build", "--no-check")
        calls = self.calls()
        self.assertEqual(
            [c["args"][:3] for c in calls],
            [*self.PUTS, ["deploy", "--config", calls[2]["args"][2]]],
        )
        self.assertEqual([c["stdin"] for c in calls[:2]], list(made), "the same keys")
        self.assertEqual(self.files("t0000"), made, "never regenerated")

    def test_a_put_that_fails_during_create_is_retried_with_the_same_keys(self):
        self.tenant(
            "create", "acme", *self.OWNER, fail="secret put PII_INDEX_KEY@/acme/", expect=1
        )
        [record] = self.registry()
        self.assertNotIn("audit-key", record["steps"], "the step is not done without the keys")
        self.assertNotIn("owner", record["steps"])
        made = self.files("acme")
        self.calls()
        self.tenant("create", "acme", *self.OWNER)
        calls = self.calls()
        self.assertEqual(
            [c["args"][:3] for c in calls], [["secret", "put", "AUDIT_KEY"], *self.PUTS]
        )
        self.assertEqual([c["stdin"] for c in calls[1:]], list(made), "the same keys")
        self.assertEqual(self.files("acme"), made)

    def test_a_key_file_that_is_unusable_or_lost_after_its_put_is_refused_not_replaced(self):
        self.write_registry(["t0000"], schema_version=LATEST)
        (self.tenants / "t0000").mkdir()
        (self.tenants / "t0000/pii-keys").write_text("k1:short")
        result = self.tenant("deploy", "t0000", "--no-build", "--no-check", expect=1)
        self.assertIn("holds no usable key", result.stdout)
        self.assertEqual(self.calls(), [])
        self.assertEqual((self.tenants / "t0000/pii-keys").read_text(), "k1:short")
        self.assertFalse((self.tenants / "t0000/pii-index-key").exists())

        self.tenant("create", "acme", *self.OWNER)
        self.calls()
        (self.tenants / "acme/pii-keys").unlink()
        result = self.tenant("rotate-keys", "acme", expect=2)
        self.assertIn("restore it from the backup", result.stderr)
        self.assertFalse((self.tenants / "acme/pii-keys").exists(), "no ring of a new key alone")
        self.assertEqual(self.calls(), [])

    def test_rotate_keys_puts_a_new_key_first_keeps_the_old_ones_and_rewraps_through_admin(self):
        self.tenant("create", "acme", *self.OWNER)
        self.calls()
        old, index = self.files("acme")
        token = (self.tenants / "acme/ops-token").read_text().strip()
        admins = len(self.admin_calls())

        self.tenant("rotate-keys", "acme")
        ring = (self.tenants / "acme/pii-keys").read_text()
        entries = ring.split()
        self.assertEqual(len(entries), 2)
        self.assertRegex(entries[0], f"^{TENANT_KEY}$")
        self.assertNotEqual(entries[0], old)
        self.assertEqual(entries[1:], old.split(), "the old key stays, after the new one")
        self.assertEqual((self.tenants / "acme/pii-keys").stat().st_mode & 0o777, 0o600)
        self.assertEqual(self.files("acme")[1], index, "the blind-index key is never replaced")
        calls = self.calls()
        self.assertEqual([c["args"][:3] for c in calls], self.PUTS)
        self.assertEqual(calls[0]["stdin"], ring, "the new ring, on stdin")
        self.assertEqual(self.cloudflare()["secrets"]["fieldworker-acme:PII_KEYS"], ring)
        [admin] = self.admin_calls()[admins:]
        self.assertEqual(admin["args"], ["rotate-keys", "--url", "https://acme.example.com"])
        self.assertEqual(admin["env"]["OPS_TOKEN"], token, "the token in its environment")
        self.assertFalse(any(token in a for a in admin["args"]))

        # Again at once: another new key, its id unlike every other one.
        self.tenant("rotate-keys", "acme")
        again = (self.tenants / "acme/pii-keys").read_text().split()
        self.assertEqual(again[1:], entries)
        ids = [entry.split(":")[0] for entry in again]
        self.assertEqual(len(set(ids)), 3, ids)
        self.calls()

        # --resume: no new key; the ring is put again as it is and the re-wrapping goes on.
        ring = (self.tenants / "acme/pii-keys").read_text()
        self.tenant("rotate-keys", "acme", "--resume")
        self.assertEqual((self.tenants / "acme/pii-keys").read_text(), ring)
        calls = self.calls()
        self.assertEqual([c["args"][:3] for c in calls], self.PUTS)
        self.assertEqual(calls[0]["stdin"], ring)
        self.assertEqual(len(self.admin_calls()), admins + 3)
        self.assertEqual(self.admin_calls()[-1]["args"][0], "rotate-keys")

        # --dry-run: the commands, nothing written, nothing run.
        before = (self.tenants / "registry.jsonl").read_bytes()
        dry = self.tenant("rotate-keys", "acme", "--dry-run", **AS_OPERATOR)
        tenants = (
            os.path.relpath(self.tenants, ROOT)
            if self.tenants.is_relative_to(ROOT)
            else str(self.tenants)
        )
        self.assertIn(
            f"wrangler secret put PII_KEYS --config {tenants}/acme/wrangler.toml "
            f"< {tenants}/acme/pii-keys",
            dry.stdout,
        )
        self.assertIn(
            f'OPS_TOKEN="$(cat {tenants}/acme/ops-token)" '
            "scripts/admin rotate-keys --url https://acme.example.com",
            dry.stdout,
        )
        self.assertNotIn(token, dry.stdout)
        self.assertEqual((self.tenants / "acme/pii-keys").read_text(), ring)
        self.assertEqual((self.tenants / "registry.jsonl").read_bytes(), before)
        self.assertEqual(self.calls(), [])
        self.assertEqual(len(self.admin_calls()), admins + 3)

    def test_a_rotation_cut_off_is_finished_by_resume_with_the_key_it_made(self):
        self.tenant("create", "acme", *self.OWNER)
        self.calls()
        old = self.files("acme")[0]
        admins = len(self.admin_calls())
        result = self.tenant("rotate-keys", "acme", fail="secret put PII_KEYS@/acme/", expect=1)
        self.assertIn("rotate-keys acme --resume", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertEqual(len(self.admin_calls()), admins, "nothing re-wrapped before the put")
        ring = self.files("acme")[0]
        self.assertEqual(ring.split()[1:], old.split())
        self.assertEqual(self.cloudflare()["secrets"]["fieldworker-acme:PII_KEYS"], old)
        self.calls()

        self.tenant("rotate-keys", "acme", "--resume")
        self.assertEqual(self.files("acme")[0], ring, "the key made before, not another")
        self.assertEqual(self.cloudflare()["secrets"]["fieldworker-acme:PII_KEYS"], ring)
        self.assertEqual(self.admin_calls()[-1]["args"][0], "rotate-keys")
        self.calls()

        # The re-wrapping fails: said so, and --resume goes on with no new key.
        result = self.tenant("rotate-keys", "acme", "--resume", FAKE_ADMIN_EXIT="1", expect=1)
        self.assertIn("--resume", result.stderr)
        self.assertEqual(self.files("acme")[0], ring)

    def test_rotate_keys_refuses_a_tenant_without_keys_yet(self):
        self.write_registry(["t0000"], schema_version=LATEST)
        result = self.tenant("rotate-keys", "t0000", expect=2)
        self.assertIn("scripts/tenant deploy t0000", result.stderr)
        self.assertFalse((self.tenants / "t0000/pii-keys").exists())
        self.assertEqual(self.calls(), [])
        self.assertEqual(self.admin_calls(), [])


class Secrets(Operator):
    """No secret in any process's arguments (which `ps` shows to every user), and every file
    under the tenants folder the operator's alone."""

    def create(self, *extra, **env):
        return self.tenant(
            "create",
            "acme",
            "--domain",
            "example.com",
            "--owner-email",
            "olive@acme.example",
            "--no-build",
            *extra,
            **env,
        )

    def assert_in_no_arguments(self, secrets):
        arguments = [c["args"] for c in self.calls()] + [c["args"] for c in self.admin_calls()]
        self.assertTrue(arguments)
        for args in arguments:
            for name, secret in secrets.items():
                self.assertFalse(
                    any(secret in arg for arg in args), f"the {name} is in the arguments {args}"
                )

    def test_the_token_the_key_and_a_generated_password_are_in_no_process_arguments(self):
        self.create()
        secrets = {
            name: (self.tenants / "acme" / name).read_text().strip()
            for name in ("ops-token", "audit-key", "pii-keys", "pii-index-key", "owner-password")
        }
        self.assert_in_no_arguments(secrets)
        [admin] = self.admin_calls()
        self.assertEqual(admin["env"]["OPS_TOKEN"], secrets["ops-token"])
        self.assertEqual(admin["env"]["OWNER_PASSWORD"], secrets["owner-password"])
        for kept in ("registry.jsonl", "acme/wrangler.log"):
            text = (self.tenants / kept).read_text()
            for name, secret in secrets.items():
                self.assertNotIn(secret, text, f"the {name} is in {kept}")

    def test_a_password_the_operator_chose_goes_in_the_environment_and_need_not_be_changed(self):
        self.create(OWNER_PASSWORD="copper-pipes-and-valves")
        self.assertFalse((self.tenants / "acme/owner-password").exists(), "nothing generated")
        [admin] = self.admin_calls()
        self.assertNotIn("--must-change-password", admin["args"])
        self.assertEqual(admin["env"]["OWNER_PASSWORD"], "copper-pipes-and-valves")
        token = (self.tenants / "acme/ops-token").read_text().strip()
        self.assert_in_no_arguments({"password": "copper-pipes-and-valves", "token": token})
        shown = self.tenant(
            "create", "beta", "--domain", "example.com", "--owner-email", "o@x.example",
            "--dry-run", OWNER_PASSWORD="copper-pipes-and-valves", **AS_OPERATOR,
        ).stdout
        self.assertNotIn("copper-pipes-and-valves", shown, "dry runs print no secret")

    def test_every_file_under_the_tenants_folder_is_the_operators_alone(self):
        # Whatever umask the operator's shell has.
        self.addCleanup(os.umask, os.umask(0o022))
        self.create()
        self.tenant("create", "gone", "--domain", "example.com", "--owner-email", "o@x.example",
                    "--no-build")
        self.tenant("destroy", "gone", stdin="gone\ndestroy gone\n")
        [kept] = (self.tenants / "_destroyed").iterdir()
        self.assertTrue(list(kept.glob("export-*.sql")), "the export was kept")
        self.assertEqual(self.tenants.stat().st_mode & 0o777, 0o700)
        for path in self.tenants.rglob("*"):
            mode = path.stat().st_mode & 0o777
            self.assertEqual(
                mode, 0o700 if path.is_dir() else 0o600, f"{path} has mode {oct(mode)}"
            )


class Rollouts(Operator):
    def test_a_failing_canary_migration_stops_the_rollout_before_any_other_tenant(self):
        self.write_registry(slugs(10), schema_version=LATEST - 1)
        result = self.tenant(
            "migrate", "--all", "--wave", "3", fail="d1 migrations apply@/t0000/", expect=1
        )
        applies = [
            c["args"] for c in self.calls() if c["args"][:3] == ["d1", "migrations", "apply"]
        ]
        self.assertEqual(len(applies), 1, "only the canary was tried")
        rows = self.table(result.stdout)
        self.assertEqual(rows["t0000"], "failed")
        self.assertEqual({rows[s] for s in slugs(10)[1:]}, {"skipped"})
        self.assertIn("simulated", result.stdout)
        self.assertTrue(all(r["schema_version"] == LATEST - 1 for r in self.registry()))

    def test_a_failure_in_a_wave_stops_the_waves_after_it_and_a_rerun_goes_on(self):
        self.write_registry(slugs(10), schema_version=LATEST - 1)
        result = self.tenant(
            "migrate",
            "--all",
            "--wave",
            "3",
            "--jobs",
            "1",
            fail="d1 migrations apply@/t0005/",
            expect=1,
        )
        rows = self.table(result.stdout)
        self.assertEqual(
            [rows[s] for s in slugs(10)], ["migrated"] * 5 + ["failed"] + ["skipped"] * 4
        )
        self.calls()
        result = self.tenant("migrate", "--all", "--wave", "3", "--canary", "t0005")
        rows = self.table(result.stdout)
        self.assertEqual([rows[s] for s in slugs(10)], ["up to date"] * 5 + ["migrated"] * 5)
        applied = [c["args"][-1].split("/")[-2] for c in self.calls()]
        self.assertEqual(applied[0], "t0005", "the named canary went first")
        self.assertEqual(sorted(applied), slugs(10)[5:])

    def test_parallel_waves_still_stop_at_the_first_failure(self):
        self.write_registry(slugs(40), schema_version=LATEST - 1)
        result = self.tenant(
            "migrate",
            "--all",
            "--wave",
            "10",
            "--jobs",
            "4",
            fail="d1 migrations apply@/t0003/",
            expect=1,
        )
        rows = self.table(result.stdout)
        self.assertEqual(rows["t0003"], "failed")
        self.assertTrue(
            all(rows[s] == "skipped" for s in slugs(40)[11:]), "later waves never started"
        )

    def test_deploy_waits_for_migrations_and_rolls_out_in_waves(self):
        self.write_registry(slugs(5), schema_version=LATEST - 1)
        result = self.tenant("deploy", "--all", "--no-build", "--no-check", expect=1)
        self.assertEqual(set(self.table(result.stdout).values()), {"not migrated"})
        self.assertEqual(self.calls(), [])
        self.tenant("migrate", "--all")
        self.calls()
        result = self.tenant("deploy", "--all", "--wave", "2", "--no-build", "--no-check")
        self.assertEqual(set(self.table(result.stdout).values()), {"deployed"})
        calls = self.calls()
        self.assertEqual([c["args"][0] for c in calls].count("deploy"), 5)
        # These tenants predate the personal-data keys: each gets them before its deploy.
        for slug in slugs(5):
            own = [c["args"][:3] for c in calls if any(f"/{slug}/" in a for a in c["args"])]
            self.assertEqual(
                own,
                [["secret", "put", "PII_KEYS"], ["secret", "put", "PII_INDEX_KEY"], own[2]],
            )
            self.assertEqual(own[2][0], "deploy")
        self.assertTrue(all(r.get("deployed_rev") for r in self.registry()))
        self.tenant("deploy", "--all", "--wave", "2", "--no-build", "--no-check")
        self.assertEqual([c["args"][0] for c in self.calls()], ["deploy"] * 5, "keys put once")

    def test_unknown_tenants_are_refused(self):
        self.write_registry(slugs(2), schema_version=LATEST)
        result = self.tenant("migrate", "t0000", "nope", expect=2)
        self.assertIn("no tenant nope", result.stderr)
        self.tenant("migrate", expect=2)  # neither names nor --all


class Destroying(Operator):
    def setUp(self):
        super().setUp()
        self.tenant(
            "create",
            "gone",
            "keep",
            "--domain",
            "example.com",
            "--owner-email",
            "o@x.example",
            "--no-build",
        )
        self.calls()

    def test_destroy_asks_twice_and_a_wrong_answer_changes_nothing(self):
        for answers in ("no\n", "gone\nyes\n", ""):
            self.tenant("destroy", "gone", stdin=answers, expect=1)
        self.assertEqual(self.calls(), [])
        self.assertEqual(len(self.registry()), 2)

    def test_destroy_keeps_the_audit_key_beside_the_export_and_says_so(self):
        key = (self.tenants / "gone/audit-key").read_text()
        ring = (self.tenants / "gone/pii-keys").read_text()
        index = (self.tenants / "gone/pii-index-key").read_text()
        result = self.tenant("destroy", "gone", stdin="gone\ndestroy gone\n")
        [kept] = (self.tenants / "_destroyed").iterdir()
        self.assertEqual(len(list(kept.glob("export-*.sql"))), 1)
        self.assertEqual((kept / "audit-key").read_text(), key, "the export's trail needs it")
        self.assertEqual((kept / "pii-keys").read_text(), ring, "its personal data needs them")
        self.assertEqual((kept / "pii-index-key").read_text(), index)
        self.assertEqual((kept / "audit-key").stat().st_mode & 0o777, 0o600)
        self.assertIn("audit key is kept beside the export", result.stderr)
        self.assertIn(f"{kept.name}/audit-key", result.stderr)
        self.assertTrue((self.tenants / "keep/audit-key").exists(), "other tenants keep theirs")
        for name in ("pii-keys", "pii-index-key"):
            self.assertEqual((kept / name).stat().st_mode & 0o777, 0o600)
        self.assertIn("personal-data keys are kept beside the export", result.stderr)

    def test_destroy_stops_the_worker_exports_the_data_then_deletes_everything(self):
        self.tenant("destroy", "gone", stdin="gone\ndestroy gone\n")
        calls = [c["args"] for c in self.calls()]
        self.assertEqual(
            [
                c[:3]
                for c in calls
                if c[:3] != ["d1", "info", "fieldworker-gone"] and c[:3] != ["r2", "bucket", "info"]
            ],
            [
                ["delete", "--name", "fieldworker-gone"],
                ["d1", "export", "fieldworker-gone"],
                ["d1", "delete", "fieldworker-gone"],
                ["kv", "namespace", "delete"],
                ["r2", "bucket", "lifecycle"],
                ["r2", "bucket", "delete"],
            ],
        )
        self.assertEqual([r["slug"] for r in self.registry()], ["keep"])
        [kept] = (self.tenants / "_destroyed").iterdir()
        self.assertTrue(kept.name.startswith("gone-"))
        [export] = kept.glob("export-*.sql")
        self.assertIn("fieldworker-gone", export.read_text())
        self.assertFalse((kept / "ops-token").exists(), "secrets do not outlive the tenant")
        self.assertFalse((kept / "owner-password").exists())
        cloudflare = json.loads(Path(self.env["FAKE_WRANGLER_STATE"]).read_text())
        self.assertEqual(list(cloudflare["d1"]), ["fieldworker-keep"])
        self.assertEqual(cloudflare["r2"], ["fieldworker-keep"])
        self.assertEqual(cloudflare["workers"], ["fieldworker-keep"])

    def test_a_destroy_cut_short_goes_on_from_where_it_stopped(self):
        self.tenant(
            "destroy",
            "gone",
            stdin="gone\ndestroy gone\n",
            fail="d1 delete@fieldworker-gone",
            expect=1,
        )
        self.assertEqual(self.tenant("list").stdout.count("destroying"), 1)
        self.calls()
        self.tenant("destroy", "gone", stdin="gone\ndestroy gone\n")
        calls = [c["args"][:2] for c in self.calls()]
        self.assertNotIn(["delete", "--name"], calls, "the Worker was already gone")
        self.assertNotIn(["d1", "export"], calls, "the export was already taken")
        self.assertIn(["d1", "delete"], calls)

    def test_destroy_dry_run_prints_the_commands_without_asking(self):
        result = self.tenant("destroy", "gone", "--dry-run", **AS_OPERATOR)
        self.assertIn("wrangler delete --name fieldworker-gone --force", result.stdout)
        self.assertIn("wrangler d1 export fieldworker-gone --remote --output", result.stdout)
        self.assertIn("wrangler r2 bucket delete fieldworker-gone", result.stdout)
        self.assertRegex(result.stdout, r"keep \S*/gone/audit-key beside the export")
        self.assertEqual(self.calls(), [])
        self.assertEqual(len(self.registry()), 2)


class Registry(Operator):
    def test_a_run_cut_off_mid_line_leaves_a_registry_that_still_reads(self):
        self.write_registry(slugs(3), schema_version=LATEST)
        with open(self.tenants / "registry.jsonl", "a") as file:
            file.write('{"slug": "t0001", "domain": "exa')  # the write that was cut off
        result = self.tenant("list")
        self.assertIn("partial last line", result.stderr)
        self.assertEqual(len(result.stdout.splitlines()), 4)

    def test_changes_are_appended_during_a_run_and_compacted_at_its_end(self):
        self.write_registry(slugs(3), schema_version=LATEST - 1)
        with open(self.tenants / "registry.jsonl", "a") as file:  # an older run's appended change
            file.write(
                json.dumps({"slug": "t0002", "domain": "example.com", "removed": True}) + "\n"
            )
        self.tenant("migrate", "--all")
        records = self.registry()
        self.assertEqual([r["slug"] for r in records], ["t0000", "t0001"])
        self.assertTrue(all(r["schema_version"] == LATEST for r in records))


@unittest.skipUnless(
    (ROOT / "node_modules/.bin/wrangler").exists() and (ROOT / "build/index.js").exists(),
    "needs the npm tooling and the built Worker (scripts/build)",
)
class RealWrangler(Operator):
    def test_the_generated_config_is_one_the_real_wrangler_deploys_and_migrates(self):
        # Inside the checkout, as by default, so the config's paths are relative.
        self.tenants = ROOT / "target" / f"tenant-test-{os.getpid()}"
        self.addCleanup(shutil.rmtree, self.tenants, ignore_errors=True)
        self.env["FIELDWORKER_TENANTS"] = str(self.tenants)
        self.tenant(
            "create",
            "acme",
            "--domain",
            "example.com",
            "--owner-email",
            "o@x.example",
            "--no-build",
        )
        config = str(self.tenants / "acme/wrangler.toml")
        wrangler = str(ROOT / "node_modules/.bin/wrangler")
        env = dict(
            os.environ,
            WRANGLER_SEND_METRICS="false",
            PATH=f"{ROOT / 'node_modules/.bin'}:{os.environ['PATH']}",
        )
        bundle = subprocess.run(
            [
                wrangler,
                "deploy",
                "--dry-run",
                "--config",
                config,
                "--outdir",
                str(self.work / "bundle"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        self.assertEqual(bundle.returncode, 0, bundle.stdout + bundle.stderr)
        for binding in (
            "env.DB (fieldworker-acme)",
            "env.SESSIONS",
            "env.FILES (fieldworker-acme)",
            "env.ASSETS",
            'env.ENVIRONMENT ("production")',
        ):
            self.assertIn(binding, bundle.stdout)
        pending = subprocess.run(
            [
                wrangler,
                "d1",
                "migrations",
                "list",
                "DB",
                "--local",
                "--config",
                config,
                "--persist-to",
                str(self.work / "state"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        self.assertEqual(pending.returncode, 0, pending.stdout + pending.stderr)
        self.assertIn(
            "0001_company_settings.sql", pending.stdout, "the config finds the migrations"
        )


if __name__ == "__main__":
    unittest.main()


class SqlApi(http.server.BaseHTTPRequestHandler):
    """Cloudflare's Analytics Engine SQL API, as `scripts/tenant status` calls it: POST
    /accounts/{id}/analytics_engine/sql with the query as the body and a bearer token; answers
    rows in the API's JSON format (64-bit counts quoted, as ClickHouse writes them)."""

    received = []
    rows = {}

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        SqlApi.received.append((self.path, self.headers.get("Authorization"), body))
        slug = re.search(r"index1 = '([^']*)'", body).group(1)
        data = SqlApi.rows.get(slug, [])
        answer = json.dumps({"meta": [], "data": data, "rows": len(data)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


class Status(Operator):
    """`scripts/tenant status`: each tenant's live /healthz and its figures from Workers
    Analytics Engine, read through the SQL API (a stand-in here)."""

    def setUp(self):
        super().setUp()
        SqlApi.received = []
        SqlApi.rows = {
            "acme": [
                {"kind": "request", "points": "1200", "errors": "3", "refused": "41",
                 "d1_trips": 1.25, "p95_ms": 38.4, "seal_lag_s": 12.0, "pending_scans": 1.0},
                {"kind": "health", "points": "12", "errors": "0", "refused": "0",
                 "d1_trips": 0, "p95_ms": 0, "seal_lag_s": 4.0, "pending_scans": 2.0},
            ],
        }
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SqlApi)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.env.update(
            CLOUDFLARE_API_BASE=f"http://127.0.0.1:{server.server_address[1]}/client/v4",
            CLOUDFLARE_API_TOKEN="token-for-metrics",
            CLOUDFLARE_ACCOUNT_ID="acct-1",
        )
        self.tenant(
            "create", "acme", "beta", "--domain", "example.com", "--owner-email",
            "o@x.example", "--no-build",
        )

    def test_status_shows_each_tenant_s_requests_errors_round_trips_seal_lag_and_scans(self):
        # The tenants' hosts do not resolve here: /healthz is unreachable (exit 1), and the
        # figures are shown all the same.
        result = self.tenant("status", "--all", "--hours", "6", expect=1)
        lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
        self.assertIn("last 6 h", result.stdout.splitlines()[0])
        self.assertIn(
            "1200 requests, 3 5xx, 41 4xx, 1.25 D1 trips/request, p95 38 ms; "
            "seal lag 4s, 2 pending scans",
            lines["acme"],
        )
        self.assertIn("0 requests", lines["beta"])
        self.assertIn("no health point yet", lines["beta"])
        self.assertEqual(len(SqlApi.received), 2)
        for path, auth, sql in SqlApi.received:
            self.assertEqual(path, "/client/v4/accounts/acct-1/analytics_engine/sql")
            self.assertEqual(auth, "Bearer token-for-metrics")
            self.assertIn("FROM fieldworker WHERE index1 = '", sql)
            self.assertIn("INTERVAL '6' HOUR", sql)
        self.assertEqual(
            sorted(re.search(r"index1 = '([^']*)'", sql).group(1) for _, _, sql in SqlApi.received),
            ["acme", "beta"],
        )

    def test_without_api_credentials_status_says_the_figures_are_not_available(self):
        result = self.tenant(
            "status", "acme", expect=1, CLOUDFLARE_API_TOKEN="", CLOUDFLARE_ACCOUNT_ID=""
        )
        self.assertIn("figures n/a (no CLOUDFLARE_API_TOKEN / CLOUDFLARE_ACCOUNT_ID)", result.stdout)
        self.assertEqual(SqlApi.received, [])

