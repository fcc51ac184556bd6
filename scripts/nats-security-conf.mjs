#!/usr/bin/env node
// Prints the nats-server `tls` + `authorization` blocks Rivulet needs, then (commented out) the `cluster`
// block of a JetStream cluster's servers (docs/nats-security.conf is this output with the default bucket
// names): `node scripts/nats-security-conf.mjs CERT KEY CA [--source-streams A,B]` — `--source-streams` lists the
// JetStream streams jobs may read with ctx.jetStream (executors read them, the scheduler reads their state).
import { natsSecurityConfigDoc } from '../dist/lib/security/nats-permissions.js';

const args = process.argv.slice(2);
const at = args.indexOf('--source-streams');
const sourceStreams = at >= 0 ? (args.splice(at, 2)[1] ?? '').split(',').filter((s) => s.length > 0) : [];
const [certFile = '/etc/nats/tls/tls.crt', keyFile = '/etc/nats/tls/tls.key', caFile = '/etc/nats/tls/ca.crt'] = args;
process.stdout.write(natsSecurityConfigDoc({ certFile, keyFile, caFile }, sourceStreams));
