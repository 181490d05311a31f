// The official MCP TypeScript SDK client, given only the URL of /mcp, through the whole OAuth
// flow: the 401's resource metadata, the authorization server's metadata, dynamic
// registration, PKCE, the consent in headless Chromium (reached from another site, as a
// desktop client's browser tab would, with the user already signed in to the dashboard),
// the code's exchange, tool calls, an access token expired and refreshed by the SDK, then the
// old refresh token used again, which revokes the grant.
//
//   node tests/mcp/oauth.mjs BASE OPS_TOKEN EMAIL PASSWORD
// Prints one JSON line: {"ok":true, …what happened…} or {"ok":false,"error":…}.
import { createServer } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { audit, launch } from "../browser/lib.mjs";

const [base, opsToken, email, password] = process.argv.slice(2);
const out = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const expect = (condition, message) => {
  if (!condition) throw new Error(message);
};

/// The client's side: where the browser comes back with the code. On `localhost`, another
/// site than the tenant's `127.0.0.1`, so the trip to /oauth/authorize is cross-site.
function callbackServer() {
  let resolveCode;
  const code = new Promise((resolve) => (resolveCode = resolve));
  let authorizeUrl = null;
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    if (url.pathname === "/start") {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end(`<!doctype html><title>client</title><a id="go" href="${authorizeUrl}">Connect fieldworker</a>`);
    } else if (url.pathname === "/callback") {
      resolveCode(Object.fromEntries(url.searchParams));
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<!doctype html><title>done</title><p>Connected. You can close this tab.</p>");
    } else {
      res.writeHead(204); // the browser's favicon request
      res.end();
    }
  });
  return new Promise((resolve) =>
    server.listen(0, () =>
      resolve({
        server,
        port: server.address().port,
        code,
        setAuthorizeUrl: (u) => (authorizeUrl = u),
      }),
    ),
  );
}

/// An in-memory OAuthClientProvider, as a desktop client keeps one on disk.
class Provider {
  constructor(redirectUrl) {
    this._redirectUrl = redirectUrl;
    this.saved = [];
    this.authorizationUrl = null;
  }
  get redirectUrl() {
    return this._redirectUrl;
  }
  get clientMetadata() {
    return {
      client_name: "Fieldworker E2E Client",
      redirect_uris: [this._redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() {
    return "state-e2e-42";
  }
  clientInformation() {
    return this._client;
  }
  saveClientInformation(info) {
    this._client = info;
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
    this.saved.push(tokens);
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier) {
    this._verifier = verifier;
  }
  codeVerifier() {
    return this._verifier;
  }
}

async function connect(provider) {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider });
  const client = new Client({ name: "fieldworker-oauth-e2e", version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
}

async function main() {
  const callback = await callbackServer();
  // Loopback on a port of the client's choosing, as a desktop client registers it.
  const provider = new Provider(`http://localhost:${callback.port}/callback`);
  const browser = await launch();
  const result = {};
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15_000);
    const consoleErrors = [];
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(`${m.text()} (${m.location()?.url})`));

    // The user is signed in to the dashboard already.
    await page.goto(`${base}/login`);
    await page.fill('#signin input[name="email"]', email);
    await page.fill('#signin input[name="password"]', password);
    await page.click('#signin button[type="submit"]');
    await page.waitForURL((u) => !u.pathname.startsWith("/login"));

    // Given only the URL: the SDK meets the 401, discovers, registers, and asks for the
    // browser.
    let refused = null;
    try {
      await connect(provider);
    } catch (error) {
      refused = error;
    }
    expect(refused instanceof UnauthorizedError, `connect without tokens: ${refused}`);
    expect(provider._client?.client_id, "the SDK registered itself");
    const authorizationUrl = new URL(provider.authorizationUrl);
    result.authorize = {
      path: authorizationUrl.pathname,
      method: authorizationUrl.searchParams.get("code_challenge_method"),
      resource: authorizationUrl.searchParams.get("resource"),
      scope: authorizationUrl.searchParams.get("scope"),
    };

    // The user follows the link from the client's page (another site).
    callback.setAuthorizeUrl(authorizationUrl.href);
    await page.goto(`http://localhost:${callback.port}/start`);
    await page.click("#go");
    await page.waitForURL((u) => u.pathname === "/oauth/consent");
    result.consent_text = (await page.textContent("main")).replace(/\s+/g, " ").trim();
    result.consent_violations = await audit(page);
    await page.screenshot({ path: "target/screenshots/oauth-consent-1280.png", fullPage: true });
    await page.click('button[value="allow"]');
    const back = await callback.code;
    result.callback = { state: back.state, iss: back.iss, has_code: Boolean(back.code) };
    await page.waitForURL((u) => u.pathname === "/callback");

    // The code for tokens, then a session with tools.
    await (async () => {
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider });
      await transport.finishAuth(back.code);
    })();
    const first = provider.tokens();
    result.first_tokens = {
      token_type: first.token_type,
      expires_in: first.expires_in,
      scope: first.scope,
      access_prefix: first.access_token.slice(0, 4),
      refresh_prefix: first.refresh_token.slice(0, 4),
    };
    // The dashboard lists the app among the user's connected apps.
    await page.goto(`${base}/settings`);
    result.connected_apps = (await page.textContent("#apps")).replace(/\s+/g, " ").trim();
    const { client } = await connect(provider);
    const tools = await client.listTools();
    result.tools = tools.tools.map((t) => t.name);
    const whoami = await client.callTool({ name: "whoami", arguments: {} });
    result.whoami = whoami.structuredContent ?? JSON.parse(whoami.content[0].text);
    await client.close();

    // An hour later the access token has expired: the SDK refreshes and carries on.
    const clock = await fetch(`${base}/ops/clock`, {
      method: "POST",
      headers: { Authorization: `Bearer ${opsToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ advance_ms: 61 * 60 * 1000 }),
    });
    expect(clock.ok, `ops/clock ${clock.status}`);
    const stale = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${first.access_token}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    result.expired = { status: stale.status, challenge: stale.headers.get("www-authenticate") };
    const again = await connect(provider);
    const listed = await again.client.callTool({ name: "list_jobs", arguments: {} });
    result.after_refresh = { is_error: listed.isError ?? false };
    await again.client.close();
    const second = provider.tokens();
    result.rotated = second.refresh_token !== first.refresh_token && second.access_token !== first.access_token;

    // The first refresh token, used a second time: refused, and the grant revoked with it.
    const reuse = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: first.refresh_token,
        client_id: provider._client.client_id,
      }),
    });
    result.reuse = { status: reuse.status, body: await reuse.json() };
    const afterReuse = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${second.access_token}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    result.current_token_after_reuse = afterReuse.status;
    const newest = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: second.refresh_token,
        client_id: provider._client.client_id,
      }),
    });
    result.newest_refresh_after_reuse = { status: newest.status, body: await newest.json() };
    result.console_errors = consoleErrors;
    out({ ok: true, ...result });
  } finally {
    await browser.close();
    callback.server.close();
  }
}

main().catch((error) => {
  out({ ok: false, error: String(error?.stack ?? error) });
  process.exit(1);
});
