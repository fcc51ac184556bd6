#!/usr/bin/env node
// Prints the nats-server `tls` + `authorization` blocks Rivulet needs (docs/nats-security.conf is this
// output with the default bucket names): `node scripts/nats-security-conf.mjs CERT KEY CA`.
import { natsSecurityConfig } from '../dist/lib/security/nats-permissions.js';

const [certFile = '/etc/nats/tls/tls.crt', keyFile = '/etc/nats/tls/tls.key', caFile = '/etc/nats/tls/ca.crt'] = process.argv.slice(2);
process.stdout.write(natsSecurityConfig({ certFile, keyFile, caFile }));
