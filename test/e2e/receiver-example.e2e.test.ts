import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually";
import { freePort } from "../support/ports";
import { QUABLE_EXAMPLE_TEXT } from "./support";

const RECEIVER = resolve(import.meta.dirname, "../../examples/receiver.mjs");
const SECRET = "whsec_ZG9vcmJlbGwtcmVjZWl2ZXItZXhhbXBsZS0zMmJ5dGVz";
const OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LW9mLXRoaXJ0eS10d28tYnl0ZXM=";

describe("examples/receiver.mjs", () => {
  let receiver: ChildProcess;
  let url: string;
  let output = "";
  beforeAll(async () => {
    const port = await freePort();
    receiver = spawn(process.execPath, [RECEIVER, String(port)], { env: { ...process.env, DOORBELL_SECRET: SECRET }, stdio: ["ignore", "pipe", "pipe"] });
    receiver.stdout?.on("data", (chunk: Buffer) => { output += chunk.toString("utf8"); });
    receiver.stderr?.on("data", (chunk: Buffer) => { output += chunk.toString("utf8"); });
    url = `http://127.0.0.1:${port}`;
    await eventually(() => expect(output).toContain(`receiver listening on ${url}`), 10_000, 50);
  });
  afterAll(() => {
    receiver?.kill();
  });

  const post = (id: string, signWith: string, body = QUABLE_EXAMPLE_TEXT) => {
    const at = new Date();
    const signature = new Webhook(signWith).sign(id, at, body);
    return fetch(`${url}/hooks`, {
      method: "POST",
      headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": signature },
      body,
    });
  };

  it("accepts a delivery signed with its secret once, and says so; a second one with the same id is a duplicate", async () => {
    expect((await post("ce6c64a3-0000-4000-8000-000000000001", SECRET)).status).toBe(204);
    expect((await post("ce6c64a3-0000-4000-8000-000000000001", SECRET)).status).toBe(204);
    await eventually(() => {
      expect(output).toContain("ce6c64a3-0000-4000-8000-000000000001 document.update: signature verified\n");
      expect(output).toContain("ce6c64a3-0000-4000-8000-000000000001 document.update: signature verified, a duplicate (already handled)\n");
    });
  });

  it("lists a Quiltt-format payload's events, each with its id and type", async () => {
    const payload = {
      environment: { id: "env_doorbell", name: "Doorbell", mode: "PRODUCTION", metadata: null },
      eventTypes: ["profile.created", "document.update"],
      events: [
        { id: "evt_1", type: "profile.created", record: {} },
        { id: "ce6c64a3-0000-4000-8000-000000000003", type: "document.update", record: JSON.parse(QUABLE_EXAMPLE_TEXT) },
      ],
    };
    expect((await post("msg_batch3", SECRET, JSON.stringify(payload))).status).toBe(204);
    await eventually(() =>
      expect(output).toContain("msg_batch3 WebhookPayload of 2 events (evt_1 profile.created, ce6c64a3-0000-4000-8000-000000000003 document.update): signature verified\n"),
    );
  });

  it("answers 401 to a signature made with another secret, or none", async () => {
    expect((await post("ce6c64a3-0000-4000-8000-000000000002", OTHER_SECRET)).status).toBe(401);
    expect((await fetch(`${url}/hooks`, { method: "POST", body: QUABLE_EXAMPLE_TEXT })).status).toBe(401);
    await eventually(() => expect(output).toContain("ce6c64a3-0000-4000-8000-000000000002 rejected: signature not verified"));
    expect(output).not.toContain("ce6c64a3-0000-4000-8000-000000000002 document.update");
  });

  it("will not start without DOORBELL_SECRET", () => {
    const { DOORBELL_SECRET: _unset, ...env } = process.env;
    const run = spawnSync(process.execPath, [RECEIVER, "0"], { env, encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("set DOORBELL_SECRET");
  });
});
