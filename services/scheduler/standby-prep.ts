/**
 * A hot standby's idle work (issue 15): while another scheduler leads, build
 * the job graph of every running job in the journal it follows — fetch the
 * bundle, evaluate it in the sandbox (lib/dstream/sandbox.ts) — so that a
 * takeover resumes jobs without that cost (hundreds of ms per job on a busy
 * host, most of a takeover). A job's graph is a pure function of its bundle,
 * so one built ahead is the one a restart would build. Each prepared graph
 * is handed over once (take): the term that uses it owns it.
 */
import type { DescribedJob, SandboxLimits } from '../../lib/dstream/sandbox.js';
import { buildInSandbox } from '../../lib/dstream/sandbox.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { BlobStore } from '../../lib/nats/blob-store.js';

/** What preparing a job needs of its journal record (job-journal.ts JobRecord). */
export interface JobToPrepare {
  id: string;
  bundleHash: string;
  source: string;
}

export interface PreparedJob {
  bundle: string;
  loaded: DescribedJob;
}

export class PreparedJobs {
  private readonly ready = new Map<string, PreparedJob>();
  private readonly building = new Set<string>();
  private stopped = false;

  constructor(
    private readonly bundles: () => Promise<BlobStore>,
    private readonly limits: SandboxLimits,
    private readonly log: Logger,
  ) {}

  /** Prepare every job of `running` not prepared yet; forget bundles no running job uses. */
  prepare(running: readonly JobToPrepare[]): void {
    if (this.stopped) return;
    const wanted = new Set(running.map((j) => j.bundleHash));
    for (const hash of this.ready.keys()) if (!wanted.has(hash)) this.ready.delete(hash);
    for (const job of running) {
      if (this.ready.has(job.bundleHash) || this.building.has(job.bundleHash)) continue;
      this.building.add(job.bundleHash);
      void this.build(job).finally(() => this.building.delete(job.bundleHash));
    }
  }

  /** The prepared bundle and graph of `bundleHash`, once (undefined when not ready). */
  take(bundleHash: string): PreparedJob | undefined {
    const p = this.ready.get(bundleHash);
    this.ready.delete(bundleHash);
    return p;
  }

  /** Prepared and not taken yet (status, tests). */
  get size(): number {
    return this.ready.size;
  }

  stop(): void {
    this.stopped = true;
    this.ready.clear();
  }

  private async build(job: JobToPrepare): Promise<void> {
    try {
      const code = await (await this.bundles()).get(job.bundleHash);
      if (!code || this.stopped) return;
      const bundle = new TextDecoder().decode(code);
      const loaded = await buildInSandbox(bundle, job.source || 'job.js', this.limits);
      if (!this.stopped) this.ready.set(job.bundleHash, { bundle, loaded });
    } catch (err) {
      // A takeover builds it then, and reports what fails.
      this.log.debug({ jobId: job.id, err: errorMessage(err) }, 'could not prepare a job graph ahead of a takeover');
    }
  }
}
