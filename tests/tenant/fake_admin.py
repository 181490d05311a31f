#!/usr/bin/env python3
"""A stand-in for scripts/admin in scripts/tenant's tests: records its arguments in
$FAKE_ADMIN_LOG and exits with $FAKE_ADMIN_EXIT (0: created, 3: the owner already exists)."""

import json
import os
import sys

with open(os.environ["FAKE_ADMIN_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
sys.exit(int(os.environ.get("FAKE_ADMIN_EXIT", "0")))
