// The Worker's JavaScript entry: runs the Rust Worker built into ../build, and turns anything
// that escapes it (a panic aborts the Wasm instance and rejects the promise) into the same
// problem+json 500 and log line the Rust side writes for its own errors. The runtime shim then
// re-creates the Wasm instance, so the next request is served normally.
import RustWorker from "../build/index.js";
import { withPersonalData } from "./personal.mjs";

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
    // The D1 round trips each request takes are counted for the operators' figures (METRICS)
    // and, outside production, said in the answer for scripts/bench and the tests that hold
    // handlers to their budget.
    const production = env.ENVIRONMENT === "production";
    const trips = production && !env.METRICS ? null : { count: 0 };
    let response;
    try {
      // Personal data is sealed and opened between the Worker and D1 (src/personal.mjs), which
      // counts every call reaching the database, its own reads of data keys included.
      const worker = new RustWorker(ctx, withPersonalData(env, trips));
      response = await Promise.race([worker.fetch(request), trapped]);
      if (trips && !production) response = withHeader(response, "X-D1-Round-Trips", String(trips.count));
    } catch (error) {
      response = uncaught(request, error, started);
    } finally {
      inFlight.delete(fail);
    }
    recordRequest(env, request, response.status, Date.now() - started, trips);
    return response;
  },

  // The cron trigger: the sweep of messages whose handling was cut off (src/http/sweep.rs).
  // A failure is logged; the next run tries again.
  async scheduled(controller, env, ctx) {
    try {
      await new RustWorker(ctx, withPersonalData(env)).scheduled(controller);
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", msg: "scheduled", cron: controller.cron, error: String(error?.stack ?? error) }),
      );
    }
  },
};

// `response` with the header set: in place, as the Worker's own responses allow; a response
// whose headers are immutable (one passed through from a fetch) is copied first.
function withHeader(response, name, value) {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}

// One Workers Analytics Engine data point per request (no D1 write): the tenant as index1;
// blobs "request", the method, the route (ids and tokens replaced, so paths group), the status
// class; doubles the status, the duration in ms and the D1 round trips. `scripts/tenant
// status` reads them through Cloudflare's SQL API. Locally wrangler drops the writes.
function recordRequest(env, request, status, durationMs, trips) {
  if (!env.METRICS) return;
  try {
    const url = new URL(request.url);
    env.METRICS.writeDataPoint({
      indexes: [env.TENANT || url.hostname],
      blobs: ["request", request.method, routeOf(url.pathname), `${Math.floor(status / 100)}xx`],
      doubles: [status, durationMs, trips ? trips.count : -1],
    });
  } catch (error) {
    console.warn(JSON.stringify({ level: "warn", msg: "metrics", error: String(error) }));
  }
}

// A path as its route: share and invitation tokens, ids and numbers replaced.
function routeOf(path) {
  return loggablePath(path)
    .replace(/\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=\/|$)/gi, "/{id}")
    .replace(/\/(unsubscribe)\/[^/]+/, "/$1/{token}")
    .replace(/\/\d+(?=\/|$)/g, "/{n}")
    .slice(0, 120);
}

// The path as it may be logged: the credential of a share link (/s/{token}…) or an invitation
// (/invite/{token}) replaced, as src/views/request_log.rs does for the Worker's own lines.
function loggablePath(path) {
  return path.replace(/^\/(s|invite)\/[^/]*/, "/$1/{token}");
}

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
      path: loggablePath(path),
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
