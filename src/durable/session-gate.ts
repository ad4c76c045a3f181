import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

const NOT_BEFORE_KEY = "notBefore";

/**
 * Ends dashboard sessions on the server. A session cookie is signed and carries its issue time, so it
 * cannot be forged; what a signature cannot do is expire early. Signing out moves a not-before time
 * here, and every cookie issued before it is refused from then on. One object: there is one operator
 * credential, so one sign-out ends every session (a stolen cookie's included).
 */
export class SessionGate extends DurableObject<Env> {
  private cached: number | null = null;

  /** Sessions issued before this time (ms since the epoch) are over. */
  async notBefore(): Promise<number> {
    this.cached ??= (await this.ctx.storage.get<number>(NOT_BEFORE_KEY)) ?? 0;
    return this.cached;
  }

  /** Ends every session issued before `time`; never moves the time back. */
  async endSessionsBefore(time: number): Promise<void> {
    const notBefore = Math.max(await this.notBefore(), time);
    await this.ctx.storage.put(NOT_BEFORE_KEY, notBefore);
    this.cached = notBefore;
  }
}
