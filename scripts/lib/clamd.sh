# The local virus scanner: Debian's clamd (scripts/setup installs clamav-daemon) on a TCP port of
# its own, with the repository's test database (scripts/clamav/), run as the current user from a
# state folder. Debian's own clamav-daemon service plays no part: its config, socket and
# databases are never read. Used by scripts/dev, and by the end-to-end tests for the config
# (tests/e2e/spawn.rs). Source it; it needs nothing else.

CLAMD_DATABASES="$(cd "$(dirname "${BASH_SOURCE[0]}")/../clamav" && pwd)"
# Debian installs clamd in /usr/sbin, which is not on every user's PATH.
CLAMD_BIN="$(command -v clamd || echo /usr/sbin/clamd)"

# clamd_config STATE_DIR PORT: writes STATE_DIR/clamd.conf for a clamd listening on
# 127.0.0.1:PORT, and prints its path.
clamd_config() {
  local state="$1" port="$2"
  mkdir -p "$state"
  # StreamMaxLength: above the 25 MiB upload limit, since clamd's default (25M) answers a file
  # of exactly that size with "INSTREAM size limit exceeded. ERROR". The scan limits are at
  # least as large, so a file the stream accepts is scanned whole. No User directive: clamd
  # runs as whoever starts it. No LocalSocket: TCP only.
  cat >"$state/clamd.conf.tmp" <<CONF
# Written by scripts/lib/clamd.sh; rewritten on every start.
Foreground yes
TCPSocket $port
TCPAddr 127.0.0.1
DatabaseDirectory $CLAMD_DATABASES
PidFile $state/clamd.pid
LogFile $state/clamd.log
LogTime yes
StreamMaxLength 30M
MaxFileSize 30M
MaxScanSize 30M
CONF
  mv -f "$state/clamd.conf.tmp" "$state/clamd.conf"
  printf '%s\n' "$state/clamd.conf"
}

# clamd_pong PORT: whether a clamd on 127.0.0.1:PORT answers zPING with PONG.
clamd_pong() {
  local reply=""
  {
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'zPING\0' >&3
    IFS= read -r -d '' -t 2 reply <&3 || true
    exec 3>&-
  } 2>/dev/null
  [ "$reply" = PONG ]
}

# clamd_start STATE_DIR PORT: starts clamd in the background (its output in STATE_DIR/clamd.out)
# and waits until it answers PING. Sets CLAMD_PORT and CLAMD_PID. Started under `set -m` by the
# caller, it leads a process group of its own.
clamd_start() {
  local state="$1" port="$2" config deadline
  [ -x "$CLAMD_BIN" ] || fail "clamd is missing: run scripts/setup (Debian's clamav-daemon)"
  config="$(clamd_config "$state" "$port")"
  "$CLAMD_BIN" --config-file="$config" >"$state/clamd.out" 2>&1 &
  CLAMD_PID=$!
  CLAMD_PORT="$port"
  deadline=$((SECONDS + 30))
  until clamd_pong "$port"; do
    if ! kill -0 "$CLAMD_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      cat "$state/clamd.out" >&2
      fail "clamd did not answer PING on 127.0.0.1:$port (log: $state/clamd.log)"
    fi
    sleep 0.05
  done
  export CLAMD_PORT
}
