/** Child processes of the benchmark: `wrangler dev` (and the workerd it starts) and the receiver. */
import { fork, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ
/** Each `wrangler dev` log of the latest bench (bench/results/ is not committed): the first place to look when a figure is off. */
export const LOG_DIR = join(ROOT, "bench", "results", "logs");

/**
 * Where `wrangler dev` keeps the Durable Objects' SQLite files: a tmpfs (/dev/shm) where there is one,
 * unless `onDisk`. workerd runs every object's SQLite on its one thread here, so each commit's fsync
 * to a disk stalls every object, the consumer and ingest alike; on Cloudflare each object commits on
 * its own. The ceiling Worker stores nothing, so the disk slowed only Doorbell's side of each ratio.
 */
export function stateRoot(onDisk) {
  return !onDisk && existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
}

export async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const WRANGLER_ENV = {
  ...process.env,
  VSCODE_INSPECTOR_OPTIONS: "{}",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_COLOR: "1",
  CI: "1",
};

/**
 * Bundles a Worker once (`wrangler deploy --dry-run`, as `npm run build` does) and returns the bundle's
 * path. The benchmark runs these snapshots with `--no-bundle`: `wrangler dev` would otherwise rebuild
 * and restart the Worker whenever a file under src/ changes mid-run, dropping its in-memory queue.
 */
export async function buildBundle(name, args) {
  const outDir = mkdtempSync(join(tmpdir(), `doorbell-bench-bundle-${name}-`));
  const child = spawn(WRANGLER, ["deploy", "--dry-run", "--outdir", outDir, ...args], { cwd: ROOT, env: WRANGLER_ENV, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (data) => (output += data));
  child.stderr.on("data", (data) => (output += data));
  const code = await new Promise((resolve) => child.on("exit", resolve));
  const bundle = readdirSync(outDir).find((file) => file.endsWith(".js"));
  if (code !== 0 || !bundle) throw new Error(`bundling ${name} failed (exit ${code}):\n${output.slice(-3000)}`);
  return { path: join(outDir, bundle), remove: () => rmSync(outDir, { recursive: true, force: true }) };
}

/**
 * Starts `wrangler dev` on loopback with fresh local state. VSCODE_INSPECTOR_OPTIONS makes wrangler
 * skip its inspector proxy, which otherwise relays every request through its own Node process.
 */
export async function startWrangler({ name, args, vars = {}, startTimeoutMs = 90_000, stateOnDisk = false }) {
  const port = await freePort();
  const stateDir = mkdtempSync(join(stateRoot(stateOnDisk), `doorbell-bench-${name}-`));
  mkdirSync(LOG_DIR, { recursive: true });
  const logPath = join(LOG_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.log`);
  const log = createWriteStream(logPath);
  const varArgs = Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
  const child = spawn(
    WRANGLER,
    [
      "dev", ...args,
      "--ip", "127.0.0.1", "--port", String(port),
      "--persist-to", join(stateDir, "state"),
      "--show-interactive-dev-session=false",
      "--log-level", process.env.BENCH_WRANGLER_LOG_LEVEL ?? "warn",
      ...varArgs,
    ],
    {
      cwd: ROOT,
      detached: true, // its own process group, so stopping it also stops the workerd it started
      stdio: ["ignore", "pipe", "pipe"],
      env: WRANGLER_ENV,
    },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on("exit", (code, signal) => { exited = { code, signal }; });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`wrangler dev (${name}) exited early (${JSON.stringify(exited)}); log:\n${tail(logPath)}`);
    if (Date.now() > deadline) {
      stopProcessGroup(child);
      throw new Error(`wrangler dev (${name}) did not answer within ${startTimeoutMs} ms; log:\n${tail(logPath)}`);
    }
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status < 500) break;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }

  return {
    url,
    logPath,
    wranglerPid: child.pid,
    /**
     * wrangler dev runs two workerd processes: the Worker's own runtime, and a small proxy Worker on the
     * public port that forwards each incoming request to it. Both are reported; the runtime is the one
     * that is not bound to the public port.
     */
    processes() {
      const workerds = descendants(child.pid).filter((pid) => commandName(pid) === "workerd");
      const front = workerds.filter((pid) => commandLine(pid).includes(`--socket-addr=entry=127.0.0.1:${port} `));
      return { wrangler: child.pid, runtime: workerds.filter((pid) => !front.includes(pid)), front };
    },
    async stop() {
      stopProcessGroup(child);
      await new Promise((resolve) => (exited ? resolve() : child.once("exit", resolve)));
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

function stopProcessGroup(child) {
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // already gone
  }
  setTimeout(() => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 5_000).unref();
}

function tail(path, lines = 40) {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

function commandName(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return null;
  }
}

function commandLine(pid) {
  try {
    return `${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")} `;
  } catch {
    return "";
  }
}

function descendants(rootPid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(Number(entry));
    if (parent === null) continue;
    const list = children.get(parent) ?? [];
    list.push(Number(entry));
    children.set(parent, list);
  }
  const found = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()) ?? []) {
      found.push(child);
      stack.push(child);
    }
  }
  return found;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND; // utime, stime
  } catch {
    return 0;
  }
}

/** Resident memory now (VmRSS) and at its peak (VmHWM), in MiB. */
export function memoryMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

/** Forks the receiver; `ask` sends it a request over IPC and resolves with its answer. */
export async function startReceiver() {
  const child = fork(fileURLToPath(new URL("./receiver.mjs", import.meta.url)), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const pending = new Map();
  let nextId = 1;
  const ready = new Promise((resolve, reject) => {
    child.once("error", reject);
    child.on("message", (message) => {
      if (message.type === "ready") return resolve(message.port);
      pending.get(message.id)?.(message);
      pending.delete(message.id);
    });
  });
  const port = await ready;
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    ask(request) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        child.send({ ...request, id });
      });
    },
    stop() {
      child.disconnect();
      child.kill();
    },
  };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
