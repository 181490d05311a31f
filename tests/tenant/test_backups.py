"""scripts/tenant backup, restore and their retention, driven as an operator would: wrangler and
scripts/admin are stand-ins (fake_wrangler.py, fake_admin.py), the backup bucket is moto's S3
server (a local stand-in for R2's S3 API, from .venv) on a free port, and encryption is the real
age with a key made for the test. Run: python3 -m unittest discover -s tests/tenant."""

import datetime
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import time
import unittest
import urllib.request

from test_tenant import ROOT, Operator

VENV = ROOT / ".venv/bin"
TOOLS = [shutil.which("age"), shutil.which("age-keygen"), shutil.which("rclone")]
READY = all(TOOLS) and (VENV / "moto_server").exists()
WHY_NOT = "age, rclone (Debian) and moto_server (.venv) are needed: scripts/setup installs them"
# What the stand-in's export holds: strings that must never reach the bucket in the clear.
SECRET_SQL = """PRAGMA defer_foreign_keys=TRUE;
CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT);
INSERT INTO "customers" ("id","name") VALUES('c1','Zebulon Quartermaine-Ostrowski');
INSERT INTO "customers" ("id","name") VALUES('c2','Perpetua Fairweather-Lindqvist');
"""


def load_script():
    """scripts/tenant as a module (its pure functions: the retention rule)."""
    loader = importlib.machinery.SourceFileLoader("tenant_script", str(ROOT / "scripts/tenant"))
    spec = importlib.util.spec_from_loader("tenant_script", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Retention(unittest.TestCase):
    def test_the_rule_keeps_35_days_12_months_and_the_newest(self):
        script = load_script()
        now = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc)
        names = [
            # Two today: the newer is the day's (December's oldest is the 3rd's).
            "20261203T000000Z",
            "20261206T010000Z",
            "20261206T020000Z",
            # 34 days back (the 35th day counting today): kept; 35 back: a daily no more.
            "20261102T030000Z",
            "20261101T030000Z",
            # The oldest of an older month is its monthly; a later one of that month is not.
            "20260915T000000Z",
            "20260920T000000Z",
            # Twelve months counting this one reach back to January 2026, not December 2025.
            "20260110T000000Z",
            "20251210T000000Z",
        ]
        kept = script.retained(names, now)
        self.assertEqual(
            sorted(kept),
            [
                "20260110T000000Z",
                "20260915T000000Z",
                "20261101T030000Z",
                "20261102T030000Z",
                "20261203T000000Z",
                "20261206T020000Z",
            ],
        )
        # Whatever its age, the newest backup stays.
        self.assertEqual(script.retained(["20200101T000000Z"], now), {"20200101T000000Z"})
        self.assertEqual(script.retained([], now), set())


class BackupFixture(Operator):
    """A tenant `acme` with its keys' files, a bucket in moto, an age key pair."""

    @classmethod
    def setUpClass(cls):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            cls.port = s.getsockname()[1]
        cls.moto = subprocess.Popen(
            [str(VENV / "moto_server"), "-H", "127.0.0.1", "-p", str(cls.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{cls.port}/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        cls.moto.terminate()
        cls.moto.wait(timeout=10)

    def setUp(self):
        super().setUp()
        import boto3

        self.bucket = f"backups-{self.id().rsplit('.', 1)[-1][:40].replace('_', '-').lower()}"
        self.s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.port}",
            aws_access_key_id="test-key-id",
            aws_secret_access_key="test-secret-access-key",
            region_name="us-east-1",
        )
        self.s3.create_bucket(Bucket=self.bucket)
        self.write_registry(["acme", "other"], 17)
        for slug in ("acme", "other"):
            folder = self.tenants / slug
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "ops-token").write_text(f"ops-token-of-{slug}")
            (folder / "pii-keys").write_text("k2026b:" + "B" * 43 + " k2026a:" + "A" * 43)
            (folder / "audit-key").write_text("a" * 64)
        identity = self.work / "operator.key"
        subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
        public = subprocess.run(
            ["age-keygen", "-y", str(identity)], check=True, capture_output=True, text=True
        ).stdout
        (self.tenants / "backup-recipients").write_text(public)
        export = self.work / "export.sql"
        export.write_text(SECRET_SQL)
        self.env.update(
            FIELDWORKER_BACKUP_BUCKET=self.bucket,
            FIELDWORKER_BACKUP_ENDPOINT=f"http://127.0.0.1:{self.port}",
            FIELDWORKER_BACKUP_ACCESS_KEY_ID="test-key-id",
            FIELDWORKER_BACKUP_SECRET_ACCESS_KEY="test-secret-access-key",
            FIELDWORKER_BACKUP_PROVIDER="Other",
            FIELDWORKER_BACKUP_REGION="us-east-1",
            FIELDWORKER_BACKUP_IDENTITY=str(identity),
            FIELDWORKER_MAINTENANCE_WAIT="0",
            FAKE_WRANGLER_EXPORT=str(export),
        )
        self.identity = identity

    def objects(self):
        listed = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return sorted(o["Key"] for o in listed)

    def get(self, key):
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def put_backup(self, slug, stamp, keys=("k2026a",)):
        """A backup as `backup` leaves it, put straight into the bucket."""
        meta = {"slug": slug, "name": stamp, "created_at": stamp, "size": 3,
                "tenant_key_ids": list(keys)}
        self.s3.put_object(Bucket=self.bucket, Key=f"{slug}/{stamp}.sql.age", Body=b"age")
        self.s3.put_object(
            Bucket=self.bucket, Key=f"{slug}/{stamp}.json", Body=json.dumps(meta).encode() + b"\n"
        )

    def plaintext_left(self):
        return [p for p in self.tenants.rglob("*.sql") if "_destroyed" not in p.parts]



@unittest.skipUnless(READY, WHY_NOT)
class Backups(BackupFixture):
    # -- backup ---------------------------------------------------------------------------

    def test_a_backup_holds_no_plaintext_and_decrypts_with_the_operators_key(self):
        result = self.tenant("backup", "acme")
        self.assertIn("backed up", result.stdout)
        [data_key, meta_key] = sorted(self.objects(), key=lambda k: k.endswith(".json"))
        self.assertRegex(data_key, r"^acme/\d{8}T\d{6}Z\.sql\.age$")
        self.assertEqual(meta_key, data_key.replace(".sql.age", ".json"))
        sealed = self.get(data_key)
        for text in ("Zebulon", "Quartermaine", "Perpetua", "INSERT INTO", "customers"):
            self.assertNotIn(text.encode(), sealed, "the bucket never holds plaintext")
        opened = subprocess.run(
            ["age", "--decrypt", "-i", str(self.identity)],
            input=sealed,
            capture_output=True,
            check=True,
        ).stdout
        self.assertEqual(opened.decode(), SECRET_SQL)
        meta = json.loads(self.get(meta_key))
        self.assertEqual(meta["tenant_key_ids"], ["k2026b", "k2026a"], "the ring of its day")
        self.assertEqual(meta["size"], len(sealed))
        self.assertNotIn(b"Zebulon", self.get(meta_key))
        # Nothing of it is left on the operator's disk, and the registry says when it was made.
        self.assertEqual(self.plaintext_left(), [])
        record = {r["slug"]: r for r in self.registry()}["acme"]
        self.assertEqual(record["last_backup"], meta["name"])
        # The secret key reached rclone in its environment only, never an argument.
        log = (self.tenants / "acme/wrangler.log").read_text()
        self.assertIn("rclone copyto", log)
        self.assertNotIn("test-secret-access-key", log)

    def test_a_backup_dry_run_prints_the_commands_and_writes_nothing(self):
        before = self.registry()
        result = self.tenant("backup", "--all", "--dry-run", **{"WRANGLER": "", "ADMIN": ""})
        self.assertEqual(self.objects(), [])
        self.assertEqual(self.calls(), [])
        self.assertEqual(self.registry(), before)
        lines = result.stdout.splitlines()
        for slug in ("acme", "other"):
            self.assertTrue(
                any(l.startswith(f"wrangler d1 export fieldworker-{slug} --remote") for l in lines)
            )
        self.assertTrue(any(l.startswith("age --encrypt -R ") for l in lines), result.stdout)
        self.assertTrue(
            any(l.startswith("rclone copyto ") and f"fwbackup:{self.bucket}/acme/" in l for l in lines)
        )
        self.assertNotIn("test-secret-access-key", result.stdout + result.stderr)

    def test_a_backup_without_the_store_configured_is_refused(self):
        env = {"FIELDWORKER_BACKUP_SECRET_ACCESS_KEY": ""}
        result = self.tenant("backup", "acme", expect=2, **env)
        self.assertIn("FIELDWORKER_BACKUP_SECRET_ACCESS_KEY", result.stderr)
        (self.tenants / "backup-recipients").unlink()
        result = self.tenant("backup", "acme", expect=2)
        self.assertIn("no age recipients file", result.stderr)
        self.assertEqual(self.objects(), [])

    # -- list and prune -------------------------------------------------------------------

    def test_the_listing_shows_each_backups_tenant_keys_and_prune_removes_only_the_rest(self):
        today = datetime.datetime.now(datetime.timezone.utc)

        def stamp(days, hour=1):
            when = (today - datetime.timedelta(days=days)).replace(hour=hour, minute=0, second=0)
            return when.strftime("%Y%m%dT%H%M%SZ")

        fresh = [stamp(0, 1), stamp(0, 2), stamp(1), stamp(34)]
        old = [stamp(40), stamp(41), stamp(400)]
        for name in fresh + old:
            self.put_backup("acme", name, keys=("k-old",) if name == stamp(400) else ("k2026a",))
        self.put_backup("other", stamp(90))
        expected_kept = retained_by_rule(fresh + old, today)
        self.assertNotIn(stamp(400), expected_kept)

        listing = self.tenant("backup", "list", "--all")
        rows = [line.split() for line in listing.stdout.splitlines()[1:]]
        self.assertEqual(len(rows), 8)
        by_name = {row[1]: row for row in rows}
        for name in fresh + old:
            self.assertEqual(by_name[name][4], "kept" if name in expected_kept else "to")
        self.assertEqual(by_name[stamp(400)][-1], "k-old")
        self.assertIn("tenant keys the kept ones need (never remove them from PII_KEYS): k2026a", listing.stderr)

        before = self.objects()
        dry = self.tenant("backup", "prune", "acme", "--dry-run")
        self.assertEqual(self.objects(), before, "a dry run deletes nothing")
        doomed = sorted(set(fresh + old) - expected_kept)
        self.assertEqual(
            sorted(l.split("/")[-1] for l in dry.stdout.splitlines() if "deletefile" in l),
            sorted(f"{n}{s}" for n in doomed for s in (".sql.age", ".json")),
        )
        self.tenant("backup", "prune", "acme")
        self.assertEqual(
            self.objects(),
            sorted(
                [f"acme/{n}{s}" for n in expected_kept for s in (".sql.age", ".json")]
                + [f"other/{stamp(90)}{s}" for s in (".sql.age", ".json")]
            ),
            "only acme's backups outside the rule are gone; other's are untouched",
        )
        self.tenant("backup", "prune", "acme")
        self.assertEqual(len(self.objects()), 2 * len(expected_kept) + 2, "a prune again: the same")

    # -- restore --from -------------------------------------------------------------------

    def test_a_restore_from_a_backup_goes_to_a_new_database_and_keeps_the_old(self):
        self.tenant("backup", "acme")
        [meta_key] = [k for k in self.objects() if k.endswith(".json")]
        name = meta_key.split("/")[1].removesuffix(".json")
        self.calls()
        before = self.registry()
        self.tenant("restore", "acme", "--from", "latest", "--dry-run")
        self.assertEqual(self.calls(), [], "a dry run calls nothing")
        self.assertEqual(self.registry(), before)
        self.assertEqual(self.admin_calls(), [])

        result = self.tenant("restore", "acme", "--from", "latest", "--yes")
        new = f"fieldworker-acme-{name.lower()}"
        calls = [c["args"] for c in self.calls()]
        self.assertIn(["d1", "create", new], [c[:3] for c in calls])
        self.assertIn(["d1", "execute", new, "--remote", "--file"], [c[:5] for c in calls])
        self.assertEqual(self.cloudflare()["imported"][new], SECRET_SQL, "the backup, decrypted")
        self.assertEqual(calls[-2][:1], ["deploy"], calls)
        record = {r["slug"]: r for r in self.registry()}["acme"]
        self.assertEqual(record["d1_name"], new)
        self.assertEqual(record["d1_id"], self.cloudflare()["d1"][new])
        self.assertEqual(
            [(o["name"], o["by_backup"]) for o in record["old_databases"]],
            [("fieldworker-acme", name)],
            "the old database is kept and recorded",
        )
        self.assertNotIn("restore", record, "finished")
        self.assertEqual(record["restores"][-1]["target"], {"kind": "backup", "backup": "latest"})
        config = (self.tenants / "acme/wrangler.toml").read_text()
        self.assertIn(f'database_name = "{new}"', config)
        admin = [c["args"][:2] for c in self.admin_calls()]
        self.assertEqual(
            admin,
            [["maintenance", "on"], ["restored", "--seq"], ["replay-erasures", "--url"],
             ["maintenance", "off"]],
        )
        restored = self.admin_calls()[1]["args"]
        self.assertEqual(restored[restored.index("--backup") + 1], name)
        self.assertEqual(restored[restored.index("--seq") + 1], "42")
        self.assertEqual(self.admin_calls()[0]["env"]["OPS_TOKEN"], "ops-token-of-acme")
        self.assertEqual(self.plaintext_left(), [], "no plaintext left behind")
        self.assertIn("restored", result.stderr)

    # -- restore --at / --bookmark (Time Travel) ------------------------------------------

    def test_a_point_in_time_restore_records_the_bookmark_to_undo_it_and_replays(self):
        at = "2026-12-01T10:00:00Z"
        refused = self.tenant("restore", "acme", "--at", at, stdin="nope\n", expect=1)
        self.assertIn("every change made to its database after 2026-12-01T10:00:00Z", refused.stderr)
        self.assertIn("scripts/tenant restore acme --bookmark 00000085-0000024c-current", refused.stderr)
        self.assertEqual(self.admin_calls(), [], "not confirmed: nothing done")
        self.assertNotIn("time_travelled", self.cloudflare())

        self.tenant("restore", "acme", "--at", at, stdin="acme\n")
        # The stand-in's bookmark for that time (as `time-travel info --timestamp` answers).
        target = "00000080-" + hashlib.md5(at.encode()).hexdigest()[:8] + "-0000"
        self.assertEqual(self.cloudflare()["time_travelled"], [["fieldworker-acme", target]])
        record = {r["slug"]: r for r in self.registry()}["acme"]
        steps = record["restores"][-1]["steps"]
        self.assertEqual(steps["bookmark-before"], "00000085-0000024c-current", "recorded first")
        self.assertEqual(steps["bookmark"], target)
        self.assertEqual(steps["seq"], 42)
        admin = [c["args"] for c in self.admin_calls()]
        self.assertEqual([a[0] for a in admin], ["maintenance", "restored", "replay-erasures", "maintenance"])
        self.assertEqual(admin[1][:7], ["restored", "--seq", "42", "--at", at, "--bookmark", target])

    def test_a_point_in_time_is_read_as_utc_and_refused_when_unclear(self):
        self.tenant("restore", "acme", "--at", "1764583200", "--dry-run")
        for bad in ("yesterday", "2026-12-01T10:00:00", "2999-01-01T00:00:00Z"):
            result = self.tenant("restore", "acme", "--at", bad, "--dry-run", expect=2)
            self.assertIn("--at", result.stderr)
        unix = self.tenant("restore", "acme", "--at", "1764583200", "--dry-run", WRANGLER="")
        self.assertIn("--timestamp 2025-12-01T10:00:00Z", unix.stdout)

    def test_a_restore_cut_short_goes_on_from_where_it_stopped_and_only_there(self):
        fail = "d1 time-travel restore@fieldworker-acme"
        self.tenant("restore", "acme", "--bookmark", "b-1", "--yes", fail=fail, expect=1)
        record = {r["slug"]: r for r in self.registry()}["acme"]
        self.assertIn("maintenance-on", record["restore"]["steps"])
        self.assertNotIn("restore", record["restore"]["steps"])
        other = self.tenant("restore", "acme", "--bookmark", "b-2", "--yes", expect=2)
        self.assertIn("is under way", other.stderr)
        self.tenant("restore", "acme", "--bookmark", "b-1", "--yes")
        admin = [c["args"][:2] for c in self.admin_calls()]
        self.assertEqual(admin.count(["maintenance", "on"]), 1, "maintenance is put on once")
        self.assertEqual(admin[-1], ["maintenance", "off"])
        self.assertEqual(self.cloudflare()["time_travelled"], [["fieldworker-acme", "b-1"]])

    def test_a_restore_dry_run_prints_every_step_and_changes_nothing(self):
        before = self.registry()
        result = self.tenant(
            "restore", "acme", "--at", "2026-12-01T10:00:00Z", "--dry-run", WRANGLER="", ADMIN=""
        )
        self.assertEqual(self.registry(), before)
        self.assertEqual(self.admin_calls(), [])
        out = result.stdout
        for expected in (
            "wrangler d1 time-travel info fieldworker-acme --json",
            "wrangler d1 time-travel info fieldworker-acme --timestamp 2026-12-01T10:00:00Z --json",
            "scripts/admin maintenance on",
            "wrangler d1 time-travel restore fieldworker-acme --bookmark",
            "scripts/admin restored --seq",
            "scripts/admin replay-erasures",
            "scripts/admin maintenance off",
        ):
            self.assertIn(expected, out)
        self.assertNotIn("ops-token-of-acme", out, "the token by its file only")


@unittest.skipUnless(READY and (ROOT / "build/index.js").exists(), WHY_NOT + "; and scripts/build")
class Drill(BackupFixture):
    """A real local tenant (scripts/admin starts it and creates its owner, an audited write),
    its database exported with wrangler, backed up, then drilled: restored into a scratch local
    database and verified on the local runtime under the tenant's audit key."""

    def local_tenant_export(self):
        name = f"drill-{os.getpid()}"
        state = ROOT / ".state" / name
        self.addCleanup(shutil.rmtree, state, ignore_errors=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("WRANGLER", "ADMIN")}
        subprocess.run(
            [str(ROOT / "scripts/admin"), "create-owner", "--tenant", name, "--email",
             "olive@drill.example", "--name", "Olive Drill"],
            env=dict(env, OWNER_PASSWORD="radiator-bleed-valve-42", PORT=str(port)),
            check=True, capture_output=True, cwd=ROOT,
        )
        # `d1 export --local` reads .wrangler/state beside its config: a config beside a link.
        beside = self.work / "export-config"
        (beside / ".wrangler").mkdir(parents=True)
        shutil.copy(ROOT / "wrangler.toml", beside / "wrangler.toml")
        (beside / ".wrangler/state").symlink_to(state)
        export = self.work / "local-export.sql"
        subprocess.run(
            [str(ROOT / "node_modules/.bin/wrangler"), "d1", "export", "DB", "--local",
             "--config", str(beside / "wrangler.toml"), "--output", str(export)],
            env=dict(env, PATH=f"{ROOT / 'node_modules/.bin'}:{env.get('PATH', '')}"),
            check=True, capture_output=True, cwd=ROOT,
        )
        for key in ("audit-key", "pii-keys", "pii-index-key"):
            shutil.copy(state / key, self.tenants / "acme" / key)
        return export

    def test_a_drill_restores_the_newest_backup_and_verifies_it_and_finds_a_tampered_one(self):
        export = self.local_tenant_export()
        text = export.read_text()
        self.assertIn("user.created", text, "the owner's creation is in the trail")
        self.env["FAKE_WRANGLER_EXPORT"] = str(export)
        self.tenant("backup", "acme")
        result = self.tenant("drill", "acme")
        report = json.loads(result.stdout.splitlines()[-1])
        self.assertEqual(report["verify"]["ok"], True, result.stdout + result.stderr)
        self.assertGreater(report["verify"]["rows_checked"], 0)
        self.assertGreater(report["rows"], 0)
        self.assertIn("all restored", result.stderr)
        self.assertEqual(list((self.tenants / "acme").glob(".drill-*")), [], "scratch removed")

        # A backup whose trail lost a row is found out (here the first: the one left is
        # renumbered, so a row is missing before it).
        time.sleep(1)  # a newer backup name
        tampered = self.work / "tampered.sql"
        lines = text.splitlines(keepends=True)
        [at] = [i for i, line in enumerate(lines) if line.startswith('INSERT INTO "audit_log"')]
        self.assertIn("VALUES(1,0,", lines[at])
        lines[at] = lines[at].replace("VALUES(1,0,", "VALUES(2,1,", 1)
        tampered.write_text("".join(lines))
        self.env["FAKE_WRANGLER_EXPORT"] = str(tampered)
        self.tenant("backup", "acme")
        failed = self.tenant("drill", "acme", expect=1)
        self.assertIn("DOES NOT verify", failed.stderr)


def retained_by_rule(names, now):
    return load_script().retained(names, now)


if __name__ == "__main__":
    unittest.main()
