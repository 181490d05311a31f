#!/usr/bin/env python3
"""A stand-in for scripts/admin in scripts/tenant's tests: records its arguments and the
secrets it was given in its environment (OPS_TOKEN, OWNER_PASSWORD) in $FAKE_ADMIN_LOG, and
exits with $FAKE_ADMIN_EXIT (0: created, 3: the owner already exists)."""

import json
import os
import sys

with open(os.environ["FAKE_ADMIN_LOG"], "a", encoding="utf-8") as log:
    log.write(
        json.dumps(
            {
                "args": sys.argv[1:],
                "env": {name: os.environ.get(name) for name in ("OPS_TOKEN", "OWNER_PASSWORD")},
            }
        )
        + "\n"
    )
sys.exit(int(os.environ.get("FAKE_ADMIN_EXIT", "0")))
