/**
 * Waiting on a real condition in tests instead of sleeping a guessed time:
 * poll `condition` until it holds, or fail naming what never happened.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeoutMs ?? 30_000} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}
