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
    // Outside production each answer says how many D1 round trips it took, for scripts/bench
    // and the tests that hold handlers to their budget.
    const trips = env.ENVIRONMENT === "production" ? null : { count: 0 };
    try {
      const worker = new RustWorker(ctx, trips ? withCountedD1(env, trips) : env);
      const response = await Promise.race([worker.fetch(request), trapped]);
      if (!trips) return response;
      const counted = new Response(response.body, response);
      counted.headers.set("X-D1-Round-Trips", String(trips.count));
      return counted;
    } catch (error) {
      return uncaught(request, error, started);
    } finally {
      inFlight.delete(fail);
    }
  },

  // The cron trigger: the sweep of messages whose handling was cut off (src/http/sweep.rs).
  // A failure is logged; the next run tries again.
  async scheduled(controller, env, ctx) {
    try {
      await new RustWorker(ctx, env).scheduled(controller);
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", msg: "scheduled", cron: controller.cron, error: String(error?.stack ?? error) }),
      );
    }
  },
};

// The env with its D1 binding behind a proxy that counts calls reaching the database: each
// `first`/`all`/`run`/`raw` of a statement, each `batch` and `exec`. Everything else passes
// through untouched (the Rust side checks the binding's constructor name, so it must stay).
function withCountedD1(env, trips) {
  if (!env.DB) return env;
  const targets = new WeakMap();
  const statement = (target) => {
    const proxy = new Proxy(target, {
      get(t, prop) {
        const value = Reflect.get(t, prop, t);
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...args) => statement(value.apply(t, args));
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
          return (...args) => {
            trips.count += 1;
            return value.apply(t, args);
          };
        }
        return value;
      },
    });
    targets.set(proxy, target);
    return proxy;
  };
  const db = new Proxy(env.DB, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t);
      if (prop === "prepare") return (...args) => statement(value.apply(t, args));
      if (prop === "batch") {
        return (statements, ...rest) => {
          trips.count += 1;
          return value.call(t, statements.map((s) => targets.get(s) ?? s), ...rest);
        };
      }
      if (prop === "exec") {
        return (...args) => {
          trips.count += 1;
          return value.apply(t, args);
        };
      }
      return typeof value === "function" && prop !== "constructor" ? value.bind(t) : value;
    },
  });
  return new Proxy(env, {
    get(t, prop) {
      return prop === "DB" ? db : Reflect.get(t, prop, t);
    },
  });
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
