// Heartbeats (txns that say `coalesce`) wait here before they are sent, so that etcd takes
// several in one raft batch (one WAL fsync): for up to the hold, or until another write is sent,
// which takes every held heartbeat along at once.
export class HeartbeatHold {
  readonly #ms: number;
  #timer: NodeJS.Timeout | undefined;
  #held: Array<() => void> = [];

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Resolves when the heartbeat may go: after the hold, or with the next other write. */
  wait(): Promise<void> {
    if (this.#ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#held.push(resolve);
      this.#timer ??= setTimeout(() => this.release(), this.#ms);
    });
  }

  /** Lets every held heartbeat go now. */
  release(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const held = this.#held;
    this.#held = [];
    for (const go of held) go();
  }
}
