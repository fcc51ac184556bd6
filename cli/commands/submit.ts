/** `rivulet submit <job.ts>`: bundle and submit; the job id on stdout, details on stderr. */
import { connect, println, type AddressFlags, type Io } from '../context.js';

export interface SubmitFlags extends AddressFlags {
  name?: string;
}

export async function submitCommand(io: Io, jobFile: string, flags: SubmitFlags): Promise<void> {
  const { client } = connect(io, flags);
  try {
    const job = await client.submitJob(jobFile, { name: flags.name });
    println(io.stdout, job.jobId);
    println(
      io.stderr,
      `submitted ${jobFile} as ${job.jobId}: streams ${job.streams.join(', ') || '-'}; outputs ${job.outputs.join(', ') || '-'}; ` +
        `first batch ${Number.isFinite(job.firstBatchTimeMs) && job.firstBatchTimeMs > 0 ? new Date(job.firstBatchTimeMs).toISOString() : '-'}`,
    );
  } finally {
    await client.close();
  }
}
