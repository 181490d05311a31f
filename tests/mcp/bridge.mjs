// Drives fieldworker's /mcp with the official MCP TypeScript SDK client (Streamable HTTP
// transport, bearer header), one operation per line, so the Rust end-to-end tests can hold a
// real client session and check every answer.
//
//   node tests/mcp/bridge.mjs URL [TOKEN]
// Prints {"connected":…} once, then reads JSON lines from stdin:
//   {"op":"list"} | {"op":"ping"} | {"op":"call","name":…,"arguments":{…}}
// and prints one JSON line per operation: {"ok":true,"result":…} or {"ok":false,"error":…}.
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token] = process.argv.slice(2);
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
const client = new Client({ name: "fieldworker-e2e", version: "1.0.0" });
const out = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const failure = (error) => ({
  ok: false,
  error: String(error?.message ?? error),
  code: error?.code ?? null,
});

try {
  await client.connect(transport);
  out({
    connected: true,
    server: client.getServerVersion(),
    protocol: transport.protocolVersion ?? null,
    instructions: client.getInstructions() ?? null,
  });
} catch (error) {
  out({ connected: false, ...failure(error) });
  process.exit(0);
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  try {
    if (request.op === "list") out({ ok: true, result: await client.listTools() });
    else if (request.op === "ping") out({ ok: true, result: await client.ping() });
    else if (request.op === "call") {
      const result = await client.callTool({ name: request.name, arguments: request.arguments });
      out({ ok: true, result });
    } else out({ ok: false, error: `unknown op ${request.op}` });
  } catch (error) {
    out(failure(error));
  }
}
await client.close();
