import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../support/ports";

/** The development tokens `npm start` passes (see package.json). */
export const API_TOKEN = "dev-api-token-for-local-use-only";
export const INGEST_TOKEN = "dev-ingest-token-for-local-use-only";

/**
 * The checkout `wrangler dev` serves: this one, or DOORBELL_DEV_REPO (another checkout with its own
 * node_modules), so that a black-box suite can be run against another version of Doorbell.
 */
const REPO_ROOT = resolve(process.env.DOORBELL_DEV_REPO ?? resolve(import.meta.dirname, "../.."));
const WRANGLER = join(REPO_ROOT, "node_modules/.bin/wrangler");
const STARTUP_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const API_TIMEOUT_MS = 60_000;
/** Output kept for the error message when the server does not come up (DOORBELL_E2E_VERBOSE=1 echoes all of it). */
const OUTPUT_TAIL_CHARS = 4_000;

export interface DevServerOptions {
  /** State directory (`--persist-to`); reuse one across restarts to keep Durable Object storage. */
  readonly stateDir: string;
  /** Extra `--var`s on top of what `npm start` sets. */
  readonly vars?: Readonly<Record<string, string>>;
}

export interface DevServer {
  readonly url: string;
  /** Calls the API with the admin token (or `token`), sending `json` as the body when given. */
  api(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  /** SIGTERM to the whole process group, then SIGKILL if it lingers. */
  stop(): Promise<void>;
  /** SIGKILL to the whole process group at once: a crash, nothing flushed. */
  crash(): Promise<void>;
  /** The last few thousand characters wrangler printed. */
  output(): string;
}

/**
 * The environment `npm start` gives wrangler: the assignments before `wrangler` in package.json's start
 * script (what keeps it quiet offline). Inherited values of the same settings are dropped, so that the
 * script alone decides them, and so is vitest's NODE_ENV=test (under which wrangler skips its `Request.cf`
 * lookup, hiding what a user would see).
 */
function startScriptEnv(): NodeJS.ProcessEnv {
  const { scripts } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: { start: string } };
  const assignments = /^((?:\w+=\S*\s+)*)wrangler /.exec(scripts.start)?.[1] ?? "";
  const { WRANGLER_SEND_METRICS: _metrics, CLOUDFLARE_CF_FETCH_ENABLED: _cf, NODE_ENV: _test, ...inherited } = process.env;
  return { ...inherited, ...Object.fromEntries([...assignments.matchAll(/(\w+)=(\S*)/g)].map(([, name, value]) => [name, value])) };
}

/** A fresh state directory for `--persist-to`; removed again by the returned function. */
export function makeStateDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), "doorbell-e2e-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Process groups still running; killed when this test process exits, so a failed run leaks no servers. */
const runningGroups = new Set<number>();
process.once("exit", () => {
  for (const group of runningGroups) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** Starts `wrangler dev` the way `npm start` does, on free ports, and waits until /health answers. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const vars = {
    API_TOKEN, INGEST_TOKEN, ALLOW_HTTP_TARGETS: "true", ALLOW_PRIVATE_TARGETS: "true",
    // Retries a second apart, not the production five minutes.
    RETRY_DELAY_SECONDS: "1",
    ...options.vars,
  };
  const args = [
    "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
    "--persist-to", options.stateDir, "--show-interactive-dev-session=false", "--log-level", "warn",
    ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
  const child = spawn(WRANGLER, args, {
    cwd: REPO_ROOT,
    // Its own process group, so that workerd and esbuild die with it.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...startScriptEnv(),
      // Wrangler skips its inspector proxy in a VS Code debug terminal; no debugger is wanted here.
      VSCODE_INSPECTOR_OPTIONS: "{}",
      FORCE_COLOR: "0",
    },
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
    if (process.env.DOORBELL_E2E_VERBOSE) process.stderr.write(chunk);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.once("error", (error) => { output += `\n${String(error)}`; }); // e.g. wrangler not installed
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const group = child.pid;
  if (group !== undefined) {
    runningGroups.add(group);
    void exited.then(() => runningGroups.delete(group));
  }

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, child);
  } catch (error) {
    await signalGroup(child, "SIGKILL", exited);
    throw new Error(`wrangler dev did not start: ${String(error)}\n--- output ---\n${output}`);
  }

  return {
    url,
    api(path, init = {}) {
      const { token = API_TOKEN, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set("authorization", `Bearer ${token}`);
      if (json !== undefined) headers.set("content-type", "application/json");
      // An API call left unanswered fails its test with this error rather than hanging it.
      const signal = rest.signal ?? AbortSignal.timeout(API_TIMEOUT_MS);
      return fetch(`${url}${path}`, { ...rest, headers, signal, body: json === undefined ? rest.body : JSON.stringify(json) });
    },
    async stop() {
      if (await signalGroup(child, "SIGTERM", exited, STOP_GRACE_MS)) return;
      await signalGroup(child, "SIGKILL", exited);
    },
    async crash() {
      await signalGroup(child, "SIGKILL", exited);
    },
    output: () => output,
  };
}

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited early (${child.exitCode ?? child.signalCode})`);
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wait) => setTimeout(wait, 200));
  }
  throw new Error(`no answer from ${url}/health within ${STARTUP_TIMEOUT_MS} ms`);
}

/**
 * Signals every process in the child's group and waits until none of them runs any more (or
 * `withinMs` passes). Returns whether the whole group is gone.
 */
async function signalGroup(child: ChildProcess, signal: NodeJS.Signals, exited: Promise<void>, withinMs = 15_000): Promise<boolean> {
  const group = child.pid;
  if (group === undefined || !groupRunning(group)) return true;
  try {
    process.kill(-group, signal);
  } catch {
    return true; // the group emptied in between
  }
  const deadline = Date.now() + withinMs;
  await Promise.race([exited, new Promise((wait) => setTimeout(wait, withinMs))]);
  while (groupRunning(group)) {
    if (Date.now() > deadline) return false;
    await new Promise((wait) => setTimeout(wait, 50));
  }
  return true;
}

/** Whether any process of the group is still running; on Linux, zombies (dead, not yet reaped) do not count. */
function groupRunning(group: number): boolean {
  if (!existsSync("/proc")) {
    try {
      process.kill(-group, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces, so split after its closing parenthesis.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === group && state !== "Z") return true;
  }
  return false;
}
