# Local tenants: each has a state folder (D1, KV and R2 on disk) under .state/<name>/.
# Source after env.sh.

# migrate_local STATE_DIR: applies every pending migration to the tenant in STATE_DIR.
migrate_local() {
  wrangler d1 migrations apply DB --local --persist-to "$1" >"$1/migrate.log" 2>&1 || {
    cat "$1/migrate.log" >&2
    fail "migrations failed for $1"
  }
}

# seed_local STATE_DIR SQL_FILE: runs an idempotent seed file against the tenant's D1.
seed_local() {
  wrangler d1 execute DB --local --persist-to "$1" --file "$2" >"$1/seed.log" 2>&1 || {
    cat "$1/seed.log" >&2
    fail "seeding failed for $1"
  }
}

# ops_token STATE_DIR: the tenant's operator token, made once and kept in its state folder.
ops_token() {
  local file="$1/ops-token"
  if [ ! -s "$file" ]; then
    (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$file")
  fi
  cat "$file"
}

# audit_key STATE_DIR: the key the tenant's audit trail is sealed under (AUDIT_KEY), made once
# and kept in its state folder: a new key would leave everything sealed so far unverifiable.
audit_key() {
  local file="$1/audit-key"
  if [ ! -s "$file" ]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$file")
  fi
  cat "$file"
}

# personal_keys STATE_DIR: the tenant's keys for personal data, made once and kept in its state
# folder: the key ring PII_KEYS (`id:base64` of 32 bytes, the first current; see
# src/personal.mjs) and the blind-index key PII_INDEX_KEY. Prints two NAME=VALUE lines.
personal_keys() {
  local ring="$1/pii-keys" index="$1/pii-index-key"
  if [ ! -s "$ring" ]; then
    (umask 077 && python3 -c 'import base64, os, time
print("k%s:%s" % (time.strftime("%Y%m%d"), base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")))' >"$ring")
  fi
  if [ ! -s "$index" ]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$index")
  fi
  printf 'PII_KEYS=%s\nPII_INDEX_KEY=%s\n' "$(cat "$ring")" "$(cat "$index")"
}

# dev_vars STATE_DIR PUBLIC_URL [NAME=VALUE…]: the tenant's secrets (OPS_TOKEN, AUDIT_KEY, the
# personal-data keys) as a dotenv file for `wrangler dev --env-file`, mode 0600, so they never appear in a process's
# arguments; the address its links in messages point at; and any further variables given (e.g.
# CLAMD_HOST and CLAMD_PORT).
dev_vars() {
  local file="$1/dev.vars" token key pair
  token="$(ops_token "$1")"
  key="$(audit_key "$1")"
  (
    umask 077
    printf 'OPS_TOKEN="%s"\nAUDIT_KEY="%s"\nPUBLIC_URL="%s"\n' "$token" "$key" "$2" >"$file.tmp"
    personal_keys "$1" | sed 's/^\([A-Z_]*\)=\(.*\)$/\1="\2"/' >>"$file.tmp"
    for pair in "${@:3}"; do
      printf '%s="%s"\n' "${pair%%=*}" "${pair#*=}" >>"$file.tmp"
    done
  )
  mv -f "$file.tmp" "$file"  # a new file, so an older one's mode does not carry over
  printf '%s\n' "$file"
}

# ops_header STATE_DIR: the operator token as a curl header file (`curl -H @FILE`), mode 0600:
# what the printed examples use, so the token is in no command line.
ops_header() {
  local file="$1/ops-header" token
  token="$(ops_token "$1")"
  (umask 077 && printf 'Authorization: Bearer %s\n' "$token" >"$file.tmp")
  mv -f "$file.tmp" "$file"
  printf '%s\n' "$file"
}

# wait_healthy URL SECONDS PID: waits until URL answers, or the process PID dies.
wait_healthy() {
  local url="$1" deadline=$((SECONDS + $2)) pid="$3"
  until curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.3
  done
}
