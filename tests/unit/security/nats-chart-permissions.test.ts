/**
 * The chart's placeholder form of the NATS permissions (lib/security/nats-chart-permissions.ts)
 * expands to exactly natsUsers' for any names: what the chart's template does with it.
 */
import { describe, expect, it } from 'vitest';
import { chartNatsPermissions, expandChartSubjects } from '../../../lib/security/nats-chart-permissions.js';
import { DEFAULT_NATS_NAMES, natsUsers, type NatsResourceNames } from '../../../lib/security/nats-permissions.js';

describe('chartNatsPermissions', () => {
  const cases: Array<[string, Required<NatsResourceNames>]> = [
    ['defaults, no sources', { ...DEFAULT_NATS_NAMES, sinkStream: 'rivulet-sinks', sinkSubjects: ['sinks.>'], sourceStreams: [] }],
    ['other names, three sources, two sink subjects', { ...DEFAULT_NATS_NAMES, jobsBucket: 'j', outputsStream: 'o', checkpointBucket: 'c', lineageBucket: 'l', walBucket: 'w', sinkStream: 's', sinkSubjects: ['a.>', 'b.*'], sourceStreams: ['X', 'Y', 'Z'] }],
  ];
  for (const [what, names] of cases) {
    it(`expands to natsUsers: ${what}`, () => {
      const chart = chartNatsPermissions();
      const expanded = chart.users.map((u) => ({
        user: u.user,
        permissions: { publish: { allow: expandChartSubjects(u.publish, names) }, subscribe: { allow: expandChartSubjects(u.subscribe, names) } },
      }));
      expect(expanded).toEqual(natsUsers(names));
    });
  }

  it('keeps no placeholder of a name it does not know, and names the servers’ certificate as the route user', () => {
    const chart = chartNatsPermissions();
    const known = [...Object.values(chart.scalars), ...Object.values(chart.lists)];
    const text = JSON.stringify(chart.users);
    for (const m of text.match(/@[A-Za-z]+@/g) ?? []) expect(known).toContain(m);
    expect(text).toContain(DEFAULT_NATS_NAMES.tokenBucket);
    expect(chart.routeUser).toBe('CN=nats-server');
  });
});
