import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { INGEST_TOKEN, makeStateDir, startDevServer, type DevServer } from "./dev-server";

const EXAMPLE = JSON.parse(readFileSync(new URL("../../examples/quiltt-profile-created.json", import.meta.url), "utf8")) as Record<string, unknown>;
const CODE = "acme.order.shipped";
const SCHEMA = { type: "object", required: ["record"] };

describe("the operator's event codes under wrangler dev", () => {
  const state = makeStateDir();
  let server: DevServer | undefined;

  afterAll(async () => {
    await server?.stop();
    state.remove();
  });

  it("survive a restart on the same state, schema and all; the Quiltt example event is accepted", async () => {
    server = await startDevServer({ stateDir: state.path });
    expect((await server.api(`/v1/event-types/${CODE}`, { method: "PUT", json: { description: "Shipped", schema: SCHEMA } })).status).toBe(201);
    const example = await server.api("/v1/events", { method: "POST", json: EXAMPLE, token: INGEST_TOKEN });
    expect(example.status).toBe(202);
    expect(await example.json()).toEqual({ accepted: [EXAMPLE.id], duplicates: [] });
    await server.stop();

    server = await startDevServer({ stateDir: state.path });
    const catalog = (await (await server.api("/v1/event-types")).json()) as { items: { code: string; schema: unknown; builtIn: boolean }[] };
    expect(catalog.items).toContainEqual({ code: CODE, description: "Shipped", schema: SCHEMA, builtIn: false });
    const refused = await server.api("/v1/events", { method: "POST", json: { id: "evt_1", type: CODE }, token: INGEST_TOKEN });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({ record: ["is required"] });
  });
});
