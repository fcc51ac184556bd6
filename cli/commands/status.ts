/** `rivulet status [--json]`: executors, jobs, backpressure's rate limits, and the jobs' recent batches with delays and locality. */
import { connect, println, type AddressFlags, type Io } from '../context.js';
import { formatStatus } from '../format.js';

export interface StatusFlags extends AddressFlags {
  json?: boolean;
  batches?: number;
}

export async function statusCommand(io: Io, flags: StatusFlags): Promise<void> {
  const { client } = connect(io, flags);
  try {
    const status = await client.status({ recentBatches: flags.batches ?? 10 });
    println(io.stdout, flags.json ? JSON.stringify(status) : formatStatus(status, { batches: flags.batches }));
  } finally {
    await client.close();
  }
}
