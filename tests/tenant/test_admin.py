"""scripts/admin against a deployed tenant (--url), here a local stand-in that records what it
is sent, with curl wrapped to record its arguments: the operator token and the owner's
password reach the tenant, and never a process's arguments (which `ps` shows to every user).
Run: python3 -m unittest discover -s tests/tenant (scripts/test does)."""

import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ROOT / "scripts/admin"
TOKEN = "ops-token-0123456789abcdef0123456789abcdef"
PASSWORD = "Xq3-generated-7bP9kLm2"


class StandIn(http.server.BaseHTTPRequestHandler):
    """Answers as the operator routes do (201 for an owner or a support request, 202 for a
    recovery) and keeps each request's authorization and body."""

    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        StandIn.received.append(
            {
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "body": json.loads(body),
            }
        )
        answers = {
            "/ops/support": (201, {"id": "s-1", "status": "requested"}),
            "/ops/owners/recover": (202, {"user_id": "u-1"}),
        }
        status, answer = answers.get(self.path, (201, {}))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(answer).encode())

    def log_message(self, *args):
        pass


class Admin(unittest.TestCase):
    def setUp(self):
        StandIn.received = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.shutdown)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        work = Path(tempfile.mkdtemp(prefix="fieldworker-admin-test-"))
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        # curl, wrapped: each call's arguments are written down, then the real curl runs.
        self.curl_log = work / "curl-calls.jsonl"
        (work / "bin").mkdir()
        wrapper = work / "bin/curl"
        wrapper.write_text(
            "#!/usr/bin/env python3\n"
            "import json, os, sys\n"
            f"open({str(self.curl_log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
            f"os.execv({shutil.which('curl')!r}, ['curl', *sys.argv[1:]])\n"
        )
        wrapper.chmod(0o755)
        self.env = dict(os.environ, PATH=f"{work / 'bin'}:{os.environ['PATH']}")
        self.env.pop("OPS_TOKEN", None)
        self.env.pop("OWNER_PASSWORD", None)

    def admin(self, *args, **env):
        return subprocess.run(
            [str(ADMIN), *args],
            cwd=ROOT,
            env=dict(self.env, **env),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    def curl_arguments(self):
        return [json.loads(line) for line in self.curl_log.read_text().splitlines()]

    def test_a_generated_password_and_the_token_travel_in_the_environment_and_pipes_only(self):
        result = self.admin(
            "create-owner",
            "--url",
            self.url,
            "--email",
            "olive@acme.example",
            "--must-change-password",
            OPS_TOKEN=TOKEN,
            OWNER_PASSWORD=PASSWORD,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("must change the password at the first sign-in", result.stdout)
        [request] = StandIn.received
        self.assertEqual(request["path"], "/ops/owners")
        self.assertEqual(request["authorization"], f"Bearer {TOKEN}")
        self.assertEqual(
            request["body"],
            {
                "email": "olive@acme.example",
                "password": PASSWORD,
                "password_change_required": True,
            },
        )
        calls = self.curl_arguments()
        self.assertTrue(calls)
        for args in calls:
            for secret in (TOKEN, PASSWORD):
                self.assertFalse(any(secret in arg for arg in args), args)

    def test_a_password_the_operator_chose_is_not_marked_for_a_change(self):
        result = self.admin(
            "create-owner",
            "--url",
            self.url,
            "--email",
            "olive@acme.example",
            OPS_TOKEN=TOKEN,
            OWNER_PASSWORD=PASSWORD,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        [request] = StandIn.received
        self.assertNotIn("password_change_required", request["body"])

    def test_secrets_given_as_arguments_still_work_with_a_warning(self):
        result = self.admin(
            "create-owner",
            "--url",
            self.url,
            "--email",
            "olive@acme.example",
            "--token",
            TOKEN,
            "--password",
            PASSWORD,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("--token in the arguments shows in `ps`", result.stderr)
        self.assertIn("--password in the arguments shows in `ps`", result.stderr)
        [request] = StandIn.received
        self.assertEqual(request["authorization"], f"Bearer {TOKEN}")

    def test_a_support_request_names_who_why_what_and_how_long(self):
        result = self.admin(
            "support-request",
            "--url",
            self.url,
            "--name",
            "Sam Support",
            "--email",
            "sam@support.example",
            "--reason",
            "Totals look wrong",
            "--ticket",
            "T-1",
            "--scope",
            "jobs, visits",
            "--minutes",
            "90",
            OPS_TOKEN=TOKEN,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("support request s-1: requested (waiting for an owner)", result.stdout)
        [request] = StandIn.received
        self.assertEqual(request["path"], "/ops/support")
        self.assertEqual(request["authorization"], f"Bearer {TOKEN}")
        self.assertEqual(
            request["body"],
            {
                "person_name": "Sam Support",
                "person_email": "sam@support.example",
                "reason": "Totals look wrong",
                "ticket": "T-1",
                "scope": ["jobs", "visits"],
                "duration_minutes": 90,
            },
        )
        for args in self.curl_arguments():
            self.assertFalse(any(TOKEN in arg for arg in args), args)
        missing = self.admin("support-request", "--url", self.url, "--email", "x@y.example",
                             OPS_TOKEN=TOKEN)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("needs --name, --email, --reason and --ticket", missing.stderr)

    def test_an_owner_is_recovered_by_their_address_only(self):
        result = self.admin(
            "recover-owner", "--url", self.url, "--email", "olive@acme.example", OPS_TOKEN=TOKEN
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("a recovery link is on its way to olive@acme.example", result.stdout)
        [request] = StandIn.received
        self.assertEqual(request["path"], "/ops/owners/recover")
        self.assertEqual(request["body"], {"email": "olive@acme.example"})


if __name__ == "__main__":
    unittest.main()
