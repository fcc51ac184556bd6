/** `rivulet up --jetstream-sources`: the streams jobs may read and the producer user's subjects. */
import { describe, expect, it } from 'vitest';
import { parseJetStreamSources } from '../../cli/commands/up.js';
import { natsPermissions } from '../../lib/security/nats-permissions.js';
import { formatJetStreamSources } from '../../cli/format.js';

describe('rivulet up --jetstream-sources', () => {
  it('grants executors read of each stream and the producer its subjects', () => {
    const access = parseJetStreamSources('LINES=lines.>, EVENTS=ev.*')!;
    expect(access.sourceStreams).toEqual(['LINES', 'EVENTS']);
    expect(access.users![0]!.name).toBe('producer');
    expect(access.users![0]!.permissions.publish.allow).toEqual(expect.arrayContaining(['lines.>', 'ev.*', '$JS.API.*.*.LINES']));
    const perms = natsPermissions({ jobsBucket: 'j', outputsStream: 'o', checkpointBucket: 'c', lineageBucket: 'l', walBucket: 'w', tokenBucket: 't', sourceStreams: access.sourceStreams! });
    expect(perms.executor.publish.allow).toEqual(expect.arrayContaining(['$JS.API.CONSUMER.CREATE.LINES', '$JS.API.CONSUMER.MSG.NEXT.EVENTS.>']));
    // Read only: no publish to the stream's subjects, no stream management.
    expect(perms.executor.publish.allow).not.toContain('lines.>');
    expect(perms.executor.publish.allow.filter((s) => s.includes('LINES') && /DELETE\.LINES$|UPDATE|PURGE|STREAM\.CREATE/.test(s))).toEqual([]);
    expect(perms.scheduler.publish.allow).toContain('$JS.API.STREAM.INFO.LINES');
    expect(perms.receiver.publish.allow.some((s) => s.includes('LINES'))).toBe(false);
    expect(perms.lineage.publish.allow.some((s) => s.includes('LINES'))).toBe(false);
    expect(parseJetStreamSources(undefined)).toBeUndefined();
  });

  it('refuses what is not STREAM=subjects, naming the flag', () => {
    for (const bad of ['LINES', 'a.b=x', '=x', 'S=', ',']) expect(() => parseJetStreamSources(bad), bad).toThrow(/--jetstream-sources/);
  });
});

describe('rivulet status: JetStream sources', () => {
  it('lists each source filter with its sequences and lag, and nothing when no job reads one', () => {
    const job = (sources: object[]) => ({ jobId: 'j1', jetStreamSources: sources }) as never;
    expect(formatJetStreamSources({ jobs: [job([])] })).toEqual([]);
    const lines = formatJetStreamSources({
      jobs: [job([{ source: 'lines', stream: 'LINES', filterSubject: '', lastSequence: 900, committedSequence: 600, decidedSequence: 800, lag: 300 }])],
    });
    expect(lines[0]).toMatch(/^JETSTREAM SOURCES \(lag: messages behind/);
    expect(lines[1]).toMatch(/JOB\s+SOURCE\s+STREAM\s+SUBJECTS\s+LAST SEQ\s+COMMITTED\s+DECIDED\s+LAG/);
    expect(lines[2]!.trim().split(/\s+/)).toEqual(['j1', 'lines', 'LINES', '(all)', '900', '600', '800', '300']);
  });
});
