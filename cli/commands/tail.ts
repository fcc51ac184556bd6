/**
 * `rivulet tail <job> --output <name>`: one line per committed batch, human or
 * `--json`; stops after `--batches N`, on Ctrl-C, or when the job ends. It
 * rides out a scheduler restart (reconnecting for up to a minute), printing
 * every batch once.
 */
import { CliError } from '../errors.js';
import { connect, println, type AddressFlags, type Io } from '../context.js';
import { formatTailHuman, formatTailJson } from '../format.js';

export interface TailFlags extends AddressFlags {
  output?: string;
  json?: boolean;
  batches?: number;
  fromBeginning?: boolean;
  maxRecords?: number;
  /** Skip (and do not count) batches without records. */
  nonEmpty?: boolean;
}

export async function tailCommand(io: Io, jobId: string, flags: TailFlags, signal?: AbortSignal): Promise<void> {
  const { client } = connect(io, flags);
  try {
    let output = flags.output;
    if (!output) {
      // Convenient for one-output jobs; ambiguous ones must name it.
      const status = await client.status({ recentBatches: 0 });
      const job = status.jobs.find((j) => j.jobId === jobId);
      if (!job) throw new CliError(`NOT_FOUND: no job with id ${jobId} (see rivulet status)`);
      if (job.outputs.length !== 1) {
        throw new CliError(`job ${jobId} has outputs ${job.outputs.join(', ') || '(none)'}: choose one with --output <name>`);
      }
      output = job.outputs[0]!;
    }
    let seen = 0;
    // A scheduler restart (it resumes the job) is ridden out: batches continue, each once.
    for await (const batch of client.watchOutput(jobId, output, { fromBeginning: flags.fromBeginning, signal, reconnect: true })) {
      if (flags.nonEmpty && batch.records.length === 0) continue;
      println(io.stdout, flags.json ? formatTailJson(batch) : formatTailHuman(batch, { maxRecords: flags.maxRecords }));
      if (flags.batches !== undefined && ++seen >= flags.batches) break;
    }
  } finally {
    await client.close();
  }
}
