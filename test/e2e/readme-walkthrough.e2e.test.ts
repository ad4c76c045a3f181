import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../support/ports";
import { QUABLE_EXAMPLE_TEXT, QUILTT_EXAMPLE_TEXT, useServer } from "./support";

const REPO_ROOT = resolve(import.meta.dirname, "../..");
const README = readFileSync(resolve(REPO_ROOT, "README.md"), "utf8");
/** The walk-through takes a few seconds; a stuck one is stopped well before the test's own timeout. */
const WALK_THROUGH_TIMEOUT_MS = 90_000;

/** One of the README's walk-throughs: its shell blocks marked `sh <tag>`, in order. */
function walkThroughBlocks(markdown: string, tag: "walk-through" | "quiltt-walk-through"): string[] {
  return [...markdown.matchAll(new RegExp(`^\`\`\`sh ${tag}\n([\\s\\S]*?)^\`\`\`$`, "gm"))].map(([, block]) => block ?? "");
}

/** The walk-through's blocks as one script, against this server and a free port for its receiver. */
async function walkThroughScript(tag: Parameters<typeof walkThroughBlocks>[1], doorbellUrl: string): Promise<string> {
  const blocks = walkThroughBlocks(README, tag);
  expect(blocks.length, `${tag} blocks in README.md`).toBeGreaterThanOrEqual(4);
  let script = blocks.join("\n");
  expect(script).toContain("node examples/receiver.mjs");
  script = assign(script, "DOORBELL", doorbellUrl);
  return assign(script, "RECEIVER_PORT", String(await freePort()));
}

/** Sets a variable the README assigns on a line of its own (`NAME=value   # ...`), failing if that line is gone. */
function assign(script: string, name: string, value: string): string {
  const line = new RegExp(`^${name}=\\S+`, "m");
  expect(script, `the walk-through no longer assigns ${name} on a line of its own`).toMatch(line);
  return script.replace(line, `${name}=${value}`);
}

interface Run {
  readonly code: number | null;
  readonly output: string;
}

/** Runs the script with bash in its own process group; the group (the background receiver too) is killed at the end. */
async function runBash(script: string): Promise<Run> {
  const child = spawn("bash", ["-c", `set -euo pipefail\n${script}`], { cwd: REPO_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString("utf8"); });
  child.stderr.on("data", (chunk: Buffer) => { output += chunk.toString("utf8"); });
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), WALK_THROUGH_TIMEOUT_MS);
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  clearTimeout(timer);
  try {
    process.kill(-child.pid!, "SIGKILL"); // a receiver left running when the script stopped early
  } catch {
    // the group is gone already
  }
  return { code, output };
}

describe("the README walk-through", () => {
  const running = useServer();

  it("runs as written, top to bottom, against wrangler dev, with a receiver that verifies the signature", async () => {
    const script = await walkThroughScript("walk-through", running.server.url);
    expect(script).toContain("-d @examples/quable-document-update.json");

    const { code, output } = await runBash(script);
    expect(code, output).toBe(0);

    const uuid = (JSON.parse(QUABLE_EXAMPLE_TEXT) as { uuid: string }).uuid;
    expect(output).toContain(`{"accepted":["${uuid}"],"duplicates":[]}`);
    // The receiver checked the signature with the secret the walk-through captured, and saw it once.
    expect(output.split(`${uuid} document.update: signature verified`)).toHaveLength(2);
    expect(output).not.toContain("rejected");
    expect(output).toMatch(new RegExp(`"deliveries":\\[\\{"subscriptionId":"wh_\\w+","status":"delivered","attempts":1,"nextAttemptAt":null,"deliveryId":"${uuid}",`));
    expect(output).toMatch(new RegExp(`"attempts":\\[\\{"eventId":"${uuid}","eventCode":"document.update","attempt":1,[^}]*"outcome":"success","status":204,[^}]*"eventIds":\\["${uuid}"\\],"deliveryId":"${uuid}"`));
    expect(output).toMatch(/"disabled":true,"disabledReason":"manual"/);
    expect(output).toContain('{"queued":0}');
    expect(output).toMatch(/^204$/m);
    // npm start's settings keep wrangler quiet offline, and nothing Doorbell caught is reported as uncaught.
    expect(running.server.output()).not.toMatch(/ENOTFOUND|Request\.cf|Uncaught/);
  });
});

describe("the README's Quiltt walk-through", () => {
  const running = useServer();

  it("runs as written against wrangler dev: both examples in one WebhookPayload, verified, reported through its batch", async () => {
    const script = await walkThroughScript("quiltt-walk-through", running.server.url);
    expect(script).toContain('"payloadFormat":"quiltt"');
    expect(script).toContain("cat examples/quiltt-profile-created.json");

    const { code, output } = await runBash(script);
    expect(code, output).toBe(0);

    const quiltt = (JSON.parse(QUILTT_EXAMPLE_TEXT) as { id: string }).id;
    const quable = (JSON.parse(QUABLE_EXAMPLE_TEXT) as { uuid: string }).uuid;
    expect(output).toContain(`{"accepted":["${quiltt}","${quable}"],"duplicates":[]}`);
    // One POST carried both, and the receiver verified its signature.
    const verified = [...output.matchAll(/^(msg_[\w-]+) WebhookPayload of (.*): signature verified$/gm)];
    expect(verified.map(([, , events]) => events), output).toEqual([`2 events (${quiltt} profile.created, ${quable} document.update)`]);
    const batchId = verified[0]![1]!;
    expect(output).not.toContain("rejected");
    expect(output).toContain(`"status":"delivered","attempts":1,"nextAttemptAt":null,"deliveryId":"${batchId}",`);
    expect(output).toMatch(new RegExp(`"attempts":\\[\\{"eventId":"${quiltt}",[^}]*"outcome":"success","status":204,[^}]*"eventIds":\\["${quiltt}","${quable}"\\],"deliveryId":"${batchId}"`));
    expect(output).toMatch(/^204$/m);
    expect(running.server.output()).not.toMatch(/ENOTFOUND|Request\.cf|Uncaught/);
  });
});
