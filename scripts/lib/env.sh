# Shared by the scripts: paths, the tool overrides worker-build needs, progress lines.
# Source it; it changes nothing on disk.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
NODE_BIN="$ROOT/node_modules/.bin"
export PATH="$NODE_BIN:$CARGO_BIN:$PATH"

# worker-build downloads wasm-bindgen, wasm-opt and esbuild unless told where they are.
export WASM_BINDGEN_BIN="$CARGO_BIN/wasm-bindgen"
export WASM_OPT_BIN="$NODE_BIN/wasm-opt"
export ESBUILD_BIN="$NODE_BIN/esbuild"
# wrangler: no telemetry, no prompts.
export WRANGLER_SEND_METRICS=false
# Local runs keep no request traces: they hold whole URLs, and a search's query string may be
# someone's email address or phone number (personal data stays out of the state folder).
export X_LOCAL_OBSERVABILITY=false

step() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The version of a package as Cargo.lock pins it.
locked_version() {
  awk -v name="$1" '
    $0 == "name = \"" name "\"" { found = 1; next }
    found && /^version = / { gsub(/"/, "", $3); print $3; exit }
  ' "$ROOT/Cargo.lock"
}
