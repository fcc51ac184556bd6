/**
 * Work run one piece after another per key, keys independent of each other: a
 * job's batches reach its foreachBatch functions and its sinks in batch order,
 * while other jobs' go on. A piece that fails does not stop the next one (its
 * caller has its failure); a key with nothing pending is forgotten.
 */
export class SerialPerKey {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Run `fn` once every earlier piece of `key` has settled; resolves or rejects as `fn` does. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
