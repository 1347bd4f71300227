// Tests wait on conditions, never on guessed durations: `waitUntil` polls a condition until it
// holds (returning what it returned) or the generous upper bound passes (failing with `what`).

export interface WaitOptions {
  /** What is awaited, for the failure message ("vm1 to answer ssh"). */
  what: string;
  /** Upper bound in ms; generous, since several suites share two cores. Default 30 s. */
  timeout?: number;
  /** Pause between polls in ms. Default 100. */
  interval?: number;
}

type Falsy = false | undefined | null | 0 | "";

/** Polls `condition` until it returns a truthy value; returns that value. */
export async function waitUntil<T>(
  condition: () => T | Falsy | Promise<T | Falsy>,
  { what, timeout = 30_000, interval = 100 }: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    // A condition that throws (a failed expectation) ends the wait at once: errors are not retried.
    const value = await condition();
    if (value) return value as T;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
