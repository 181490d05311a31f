#!/usr/bin/env python3
"""A stand-in for wrangler 4 in scripts/tenant's tests. It records every call (arguments,
stdin, account) in $FAKE_WRANGLER_LOG, keeps what it "creates" in $FAKE_WRANGLER_STATE, answers
in wrangler's own output formats, and fails a call when a rule in $FAKE_WRANGLER_FAIL matches:
rules are `<leading words>@<substring of an argument>`, separated by `;`, for example
`d1 migrations apply@tenants/t0000/` (the canary's migration) or `deploy@/t2/`."""

import fcntl
import hashlib
import json
import os
import sys
import tomllib
import uuid

args = sys.argv[1:]
stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
with open(os.environ["FAKE_WRANGLER_LOG"], "a", encoding="utf-8") as log:
    log.write(
        json.dumps(
            {"args": args, "stdin": stdin, "account": os.environ.get("CLOUDFLARE_ACCOUNT_ID")}
        )
        + "\n"
    )

for rule in filter(None, os.environ.get("FAKE_WRANGLER_FAIL", "").split(";")):
    words, _, needle = rule.partition("@")
    if args[: len(words.split())] == words.split() and any(needle in a for a in args):
        print("✘ [ERROR] A request to the Cloudflare API failed (simulated).", file=sys.stderr)
        sys.exit(1)

state_path = os.environ["FAKE_WRANGLER_STATE"]
# Tenants are rolled out several at a time: one call at a time reads and writes the state.
lock = open(state_path + ".lock", "w")
fcntl.flock(lock, fcntl.LOCK_EX)
try:
    with open(state_path, encoding="utf-8") as file:
        state = json.load(file)
except FileNotFoundError:
    state = {"d1": {}, "kv": {}, "r2": [], "workers": [], "secrets": {}, "migrated": []}


def save():
    with open(state_path, "w", encoding="utf-8") as file:
        json.dump(state, file)


def fail(message):
    print(f"✘ [ERROR] {message}", file=sys.stderr)
    sys.exit(1)


def option(name):
    return args[args.index(name) + 1] if name in args else None


def config():
    path = option("--config")
    if not path or not os.path.exists(path):
        fail(f"config {path} not found")
    with open(path, "rb") as file:
        return tomllib.load(file)


match args:
    case ["d1", "info", name, "--json"]:
        if name not in state["d1"]:
            fail(f"Couldn't find a D1 DB with name or binding '{name}' in your config or the API.")
        print(json.dumps({"uuid": state["d1"][name], "name": name, "num_tables": 3}, indent=2))
    case ["d1", "create", name, *_]:
        if name in state["d1"]:
            fail("A database with that name already exists [code: 7502]")
        state["d1"][name] = str(uuid.uuid5(uuid.NAMESPACE_DNS, name))
        save()
        print(
            f"✅ Successfully created DB '{name}' in region WEUR\nCreated your new D1 database.\n"
        )
        print(
            "To access your new D1 Database in your Worker, add the following snippet to your configuration file:"
        )
        print(
            f'[[d1_databases]]\nbinding = "{name.replace("-", "_")}"\ndatabase_name = "{name}"\ndatabase_id = "{state["d1"][name]}"'
        )
    case ["kv", "namespace", "list"]:
        print(
            json.dumps(
                [
                    {"id": i, "title": t, "supports_url_encoding": True}
                    for t, i in state["kv"].items()
                ],
                indent="  ",
            )
        )
    case ["kv", "namespace", "create", title, *_]:
        if title in state["kv"]:
            fail(f'A KV namespace with the title "{title}" already exists.')
        state["kv"][title] = hashlib.md5(title.encode()).hexdigest()
        save()
        print(f'🌀 Creating namespace with title "{title}"\n✨ Success!')
        print(
            "To access your new KV Namespace in your Worker, add the following snippet to your configuration file:"
        )
        print(
            f'[[kv_namespaces]]\nbinding = "{title.replace("-", "_")}"\nid = "{state["kv"][title]}"'
        )
    case ["r2", "bucket", "info", name, "--json", *_]:
        if name not in state["r2"]:
            fail("The specified bucket does not exist. [code: 10006]")
        print(json.dumps({"name": name, "location": "WEUR"}))
    case ["r2", "bucket", "create", name, *_]:
        if name in state["r2"]:
            fail("The bucket you tried to create already exists, and you own it. [code: 10004]")
        state["r2"].append(name)
        save()
        print(
            f"Creating bucket '{name}'...\n✅ Created bucket '{name}' with default storage class of Standard."
        )
    case ["d1", "migrations", "apply", "DB", "--remote", "--config", _]:
        database = config()["d1_databases"][0]
        if database["database_id"] not in state["d1"].values():
            fail(f"Couldn't find DB {database['database_id']}")
        state["migrated"].append(database["database_name"])
        save()
        print("🌀 Executing on remote database DB:\n✅ 0001_company_settings.sql\n✅ 0004_jobs.sql")
    case ["deploy", "--config", _, *_]:
        worker = config()["name"]
        if worker not in state["workers"]:
            state["workers"].append(worker)
        save()
        print(f"Uploaded {worker} (1.23 sec)\nDeployed {worker} triggers (0.5 sec)")
    case ["secret", "put", key, "--config", _]:
        state["secrets"][f"{config()['name']}:{key}"] = stdin.strip()
        save()
        print(f"✨ Success! Uploaded secret {key}")
    case ["delete", "--name", worker, "--force"]:
        if worker not in state["workers"]:
            fail("This Worker does not exist on your account. [code: 10007]")
        state["workers"].remove(worker)
        save()
        print(f"Successfully deleted {worker}")
    case ["d1", "export", name, "--remote", "--output", path, *_]:
        # $FAKE_WRANGLER_EXPORT names a file whose SQL stands for the database's.
        source = os.environ.get("FAKE_WRANGLER_EXPORT")
        with open(path, "w", encoding="utf-8") as file:
            file.write(open(source).read() if source else f"-- export of {name}\n")
        print(f"🌀 Downloading SQL to {path}\n🎉 Database exported to {path}")
    case ["d1", "time-travel", "info", name, *rest]:
        # Real wrangler 4 with --json prints the API's result: {"bookmark": …}.
        if name not in state["d1"]:
            fail(f"Couldn't find DB with name '{name}'")
        timestamp = option("--timestamp")
        if timestamp:
            bookmark = "00000080-" + hashlib.md5(timestamp.encode()).hexdigest()[:8] + "-0000"
        else:
            bookmark = state.setdefault("bookmarks", {}).get(name, "00000085-0000024c-current")
        print(json.dumps({"bookmark": bookmark}, indent=2))
    case ["d1", "time-travel", "restore", name, "--bookmark", bookmark, "--json"]:
        if name not in state["d1"]:
            fail(f"Couldn't find DB with name '{name}'")
        bookmarks = state.setdefault("bookmarks", {})
        previous = bookmarks.get(name, "00000085-0000024c-current")
        bookmarks[name] = "00000086-" + hashlib.md5(bookmark.encode()).hexdigest()[:8] + "-after"
        state.setdefault("time_travelled", []).append([name, bookmark])
        save()
        print(
            json.dumps(
                {
                    "bookmark": bookmark,
                    "previous_bookmark": previous,
                    "message": "Database restored successfully",
                },
                indent=2,
            )
        )
    case ["d1", "execute", name, "--remote", "--json", "--command", query]:
        # The restored trail's last seq ($FAKE_AUDIT_SEQ).
        if name not in state["d1"]:
            fail(f"Couldn't find DB with name '{name}'")
        seq = int(os.environ.get("FAKE_AUDIT_SEQ", "42"))
        print(json.dumps([{"results": [{"seq": seq}], "success": True, "meta": {}}], indent=2))
    case ["d1", "execute", name, "--remote", "--file", path, "--yes"]:
        if name not in state["d1"]:
            fail(f"Couldn't find DB with name '{name}'")
        with open(path, encoding="utf-8") as file:
            state.setdefault("imported", {})[name] = file.read()
        save()
        print("🌀 Executing on remote database\n🚣 Executed 12 queries")
    case ["d1", "delete", name, *_]:
        state["d1"].pop(name)
        save()
    case ["kv", "namespace", "delete", "--namespace-id", namespace, *_]:
        state["kv"] = {t: i for t, i in state["kv"].items() if i != namespace}
        save()
    case ["r2", "bucket", "delete", name, *_]:
        state["r2"].remove(name)
        save()
    case _:
        print("ok")
