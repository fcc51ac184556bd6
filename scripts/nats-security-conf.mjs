#!/usr/bin/env node
// Prints the nats-server `tls` + `authorization` blocks Rivulet needs, then (commented out) the `cluster`
// block of a JetStream cluster's servers (docs/nats-security.conf is this output with the default bucket
// names): `node scripts/nats-security-conf.mjs CERT KEY CA`.
import { natsSecurityConfigDoc } from '../dist/lib/security/nats-permissions.js';

const [certFile = '/etc/nats/tls/tls.crt', keyFile = '/etc/nats/tls/tls.key', caFile = '/etc/nats/tls/ca.crt'] = process.argv.slice(2);
process.stdout.write(natsSecurityConfigDoc({ certFile, keyFile, caFile }));
