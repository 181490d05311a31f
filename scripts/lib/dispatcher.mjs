// The local dispatcher: one port in front of several local tenants, routing by Host the way
// subdomains do in production. `http://SLUG.localhost:PORT/` reaches tenant SLUG; plain
// `127.0.0.1`, `localhost` and `[::1]` reach the default tenant. Everything else about the
// request and the response passes through unchanged (method, path and query, headers with
// cookies and Host itself, body, status, Set-Cookie, streaming); only hop-by-hop headers,
// which describe one connection and not the message, are not forwarded. An unknown slug gets a
// short 404 page listing the local tenants.
//
//   node scripts/lib/dispatcher.mjs --port 8787 --default demo demo=41001 acme=41002
//
// --port 0 takes any free port. Once listening it prints `listening on http://127.0.0.1:PORT`
// on stdout (scripts and tests wait for that line).
import http from "node:http";
import { pathToFileURL } from "node:url";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function parseArgs(argv) {
  const options = { port: 8787, host: "127.0.0.1", fallback: null, tenants: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--port") options.port = Number(argv[++i]);
    else if (arg === "--host") options.host = argv[++i];
    else if (arg === "--default") options.fallback = argv[++i];
    else if (/^[^=]+=\d+$/.test(arg)) {
      const [slug, port] = arg.split("=");
      if (!SLUG.test(slug)) throw new Error(`not a tenant slug: ${slug}`);
      options.tenants.set(slug, Number(port));
    } else throw new Error(`unknown argument: ${arg}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0) throw new Error("--port needs a number");
  if (options.tenants.size === 0) throw new Error("name at least one tenant as SLUG=PORT");
  options.fallback ??= options.tenants.keys().next().value;
  if (!options.tenants.has(options.fallback)) {
    throw new Error(`the default tenant ${options.fallback} is not among the tenants`);
  }
  return options;
}

// The tenant a Host header names: `acme.localhost[:port]` is acme, a loopback address is the
// default tenant, anything else is no tenant (null) and gets the 404 page.
export function tenantOf(hostHeader, fallback) {
  const host = String(hostHeader ?? "")
    .trim()
    .toLowerCase()
    .replace(/:\d+$/, "");
  if (host === "" || LOOPBACK.has(host)) return fallback;
  const match = /^([a-z0-9-]+)\.localhost\.?$/.exec(host);
  return match ? match[1] : null;
}

// rawHeaders ([name, value, name, value, …]) without the hop-by-hop ones, and without those the
// Connection header names, order and repeats (Set-Cookie, Cookie) kept.
function endToEnd(rawHeaders) {
  const named = new Set();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === "connection") {
      for (const token of rawHeaders[i + 1].split(",")) named.add(token.trim().toLowerCase());
    }
  }
  const kept = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (!HOP_BY_HOP.has(name) && !named.has(name)) kept.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return kept;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function notFound(res, slug, options, port) {
  const items = [...options.tenants.keys()]
    .map((t) => {
      const url = `http://${t}.localhost:${port}/`;
      return `<li><a href="${url}">${escapeHtml(url)}</a>${t === options.fallback ? " (default)" : ""}</li>`;
    })
    .join("\n");
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>No such local tenant</title></head>
<body>
<h1>No local tenant called ${escapeHtml(slug ?? "(none)")}</h1>
<p>The local dispatcher routes <code>SLUG.localhost:${port}</code> to tenant SLUG. Running here:</p>
<ul>
${items}
</ul>
<p>Start others with <code>scripts/dev ${[...options.tenants.keys()].map(escapeHtml).join(" ")} SLUG</code>.</p>
</body></html>
`;
  res.writeHead(404, {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    "X-Fieldworker-Dispatcher": "no-such-tenant",
  });
  res.end(body);
}

function badGateway(res, slug, error) {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = `The local tenant ${slug} did not answer (${error.code ?? error.message}). Is it still running?\n`;
  res.writeHead(502, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

export function createDispatcher(options) {
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const slug = tenantOf(req.headers.host, options.fallback);
    const port = slug === null ? undefined : options.tenants.get(slug);
    if (port === undefined) {
      req.resume();
      notFound(res, slug, options, server.address().port);
      return;
    }
    const headers = endToEnd(req.rawHeaders);
    // A chunked request body is re-chunked on the way out (Node frames it, whatever the method).
    if (req.headers["transfer-encoding"]) headers.push("Transfer-Encoding", "chunked");
    const upstream = http.request({
      host: "127.0.0.1",
      port,
      method: req.method,
      path: req.url,
      headers,
      agent,
      // Whatever the client sent as Host (the tenant's own name) is what the Worker sees.
      setHost: false,
    });
    upstream.on("response", (answer) => {
      res.writeHead(answer.statusCode, answer.statusMessage, endToEnd(answer.rawHeaders));
      answer.pipe(res);
      answer.on("error", (error) => res.destroy(error));
    });
    upstream.on("error", (error) => badGateway(res, slug, error));
    // A client that goes away stops the upstream request too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  return server;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`dispatcher: ${error.message}`);
    process.exit(2);
  }
  const server = createDispatcher(options);
  server.on("error", (error) => {
    console.error(`dispatcher: cannot listen on ${options.host}:${options.port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(options.port, options.host, () => {
    const { port } = server.address();
    // Browsers may resolve *.localhost to ::1 first; answer there too when the machine has IPv6.
    if (options.host === "127.0.0.1") {
      const v6 = createDispatcher(options);
      v6.on("error", () => {});
      v6.listen(port, "::1");
    }
    console.log(`listening on http://${options.host}:${port}`);
  });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
}
