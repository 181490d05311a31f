// The Worker's JavaScript entry: runs the Rust Worker built into ../build, and turns anything
// that escapes it (a panic aborts the Wasm instance and rejects the promise) into the same
// problem+json 500 and log line the Rust side writes for its own errors. The runtime shim then
// re-creates the Wasm instance, so the next request is served normally.
import RustWorker from "../build/index.js";

// Same rule as `RequestId::from_incoming` in src/domain/ids.rs.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// A Wasm trap (what a panic becomes) surfaces as a global error event, not as a rejection of
// the request's promise, and it ends the instance every in-flight request runs on. Each request
// registers a way to fail it; a trap fails them all.
const inFlight = new Set();
addEventListener("error", (event) => {
  if (event.error instanceof WebAssembly.RuntimeError) {
    for (const fail of inFlight) fail(event.error);
  }
});

export default {
  async fetch(request, env, ctx) {
    const started = Date.now();
    let fail;
    const trapped = new Promise((_, reject) => {
      fail = reject;
    });
    inFlight.add(fail);
    try {
      return await Promise.race([new RustWorker(ctx, env).fetch(request), trapped]);
    } catch (error) {
      return uncaught(request, error, started);
    } finally {
      inFlight.delete(fail);
    }
  },
};

function uncaught(request, error, started) {
  const incoming = request.headers.get("X-Request-Id");
  const requestId =
    incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  const path = new URL(request.url).pathname;
  console.error(
    JSON.stringify({
      level: "error",
      msg: "request",
      request_id: requestId,
      method: request.method,
      path,
      status: 500,
      duration_ms: Date.now() - started,
      error: `uncaught: ${error && error.message ? error.message : String(error)}`,
    }),
  );
  const body = JSON.stringify({
    type: "urn:fieldworker:problem:internal",
    title: "Internal error",
    status: 500,
    detail: "Something went wrong on our side. Quote the request id if you report it.",
    instance: path,
    request_id: requestId,
  });
  return new Response(body, {
    status: 500,
    headers: {
      "Content-Type": "application/problem+json",
      "X-Request-Id": requestId,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    },
  });
}
