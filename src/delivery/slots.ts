/**
 * The connections one consumer invocation may keep open at once, shared by all its POSTs. A POST
 * starts (and its timeout's clock with it) only once it has a slot, so none waits for a connection
 * on its own clock, as it would behind the platform's per-invocation limit.
 */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(count: number) {
    this.free = count;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((granted) => this.waiting.push(granted));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}
