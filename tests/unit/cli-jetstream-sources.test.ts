/** `rivulet up --jetstream-sources`: the streams jobs may read and the producer user's subjects. */
import { describe, expect, it } from 'vitest';
import { parseJetStreamSources } from '../../cli/commands/up.js';
import { natsPermissions } from '../../lib/security/nats-permissions.js';

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
