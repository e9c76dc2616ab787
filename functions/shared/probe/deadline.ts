// Time bounds for the probe: every network call races a timer that is always cleared, and the
// losing promise gets a no-op rejection handler so a late failure never becomes an unhandled
// rejection after the probe has already answered.

/** A probe step did not answer within its budget. */
export class ProbeTimeoutError extends Error {
  override readonly name = 'ProbeTimeoutError';
}

export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ProbeTimeoutError(`${what} timed out after ${Math.round(ms)} ms`)),
      Math.max(0, ms),
    );
  });
  expiry.catch(() => undefined);
  return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
}

/** A fixed end time shared by every step of one probe. */
export class Deadline {
  constructor(
    private readonly endAt: number,
    private readonly clock: () => number,
  ) {}

  remaining(): number {
    return Math.max(0, this.endAt - this.clock());
  }

  /** The smaller of a step's own budget and what is left of the whole probe. */
  budget(stepMs: number): number {
    return Math.min(stepMs, this.remaining());
  }

  expired(): boolean {
    return this.remaining() <= 0;
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
