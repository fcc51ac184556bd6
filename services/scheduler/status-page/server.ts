/**
 * The scheduler's status page, modelled on Spark's Streaming tab: a small
 * read-only HTTP server (node:http, no framework) that serves a static page and
 * the scheduler's status as JSON, polled (`/api/status`) or pushed every
 * second as Server-Sent Events (`/api/events`).
 *
 * It only ever calls the `snapshot` function it is given — the same synchronous
 * read the gRPC GetStatus uses (its first, bounded page) — and never touches
 * scheduler state: GET and HEAD only, anything else is 405.
 *
 * DNS rebinding: a hostile web page can make its own host name resolve to
 * this machine and have a browser read the page as same-origin. Every
 * request's `Host` must therefore name this server: the bound host,
 * localhost, 127.0.0.1, [::1], any IP literal (an IP origin is not a
 * rebinding: the attacker's origin is a name) or a name in `allowedHosts`;
 * anything else is answered 421 Misdirected Request.
 *
 * With security on (`authorize` given) every request needs a user's token:
 * `Authorization: Bearer <token>`, or the cookie a browser gets by opening any
 * page once with `?token=<token>` (answered with a redirect to the same page
 * without it, so the token does not stay in the address bar or the history).
 * A missing or refused token is a 401 that says how to get in. Anything
 * that goes wrong while answering a request is logged and answered with a 500:
 * this window on the scheduler must never be what brings the scheduler down.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../lib/log.js';

/** Whatever the snapshot returns is sent as JSON as is (scheduler.status(): a ClusterStatus). */
export type StatusSnapshot = (recentBatches: number) => unknown;

export interface StatusPageOptions {
  /** Interface to bind. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  snapshot: StatusSnapshot;
  log: Logger;
  /** Period of the Server-Sent Events push. @default 1000 */
  pushIntervalMs?: number;
  /** Batches per job sent to the page (the charts' window). @default 100 */
  recentBatches?: number;
  /**
   * Host names (or host:port) the page also answers to, besides the bound
   * host, localhost, 127.0.0.1, [::1] and IP literals: e.g. the DNS name of
   * a Service or Ingress in front of it. `*` answers any Host (no DNS
   * rebinding defence). @default []
   */
  allowedHosts?: readonly string[];
  /**
   * Security on: decides whether a request's token (undefined when it sent
   * none) may see the page. @default none: every request is let in (--insecure)
   */
  authorize?: (token: string | undefined) => { ok: true } | { ok: false; reason: string };
}

const TOKEN_COOKIE = 'rivulet_status_token';

/** The bearer token of an Authorization header, or the status page's cookie. */
function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === TOKEN_COOKIE) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export interface StatusPage {
  /** Where a browser on this machine reaches the page, e.g. `http://127.0.0.1:4040/`. */
  url: string;
  close(): Promise<void>;
}

interface Asset {
  body: Buffer;
  type: string;
}

/** The page's files, next to this module in the source tree (also when running from dist/). */
function findAssetDir(): string {
  for (const rel of ['./assets/', '../../../../services/scheduler/status-page/assets/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('status page assets not found next to services/scheduler/status-page/');
}

function loadAssets(): Map<string, Asset> {
  const dir = findAssetDir();
  const file = (name: string, type: string): Asset => ({ body: readFileSync(dir + name), type });
  const index = file('index.html', 'text/html; charset=utf-8');
  return new Map([
    ['/', index],
    ['/index.html', index],
    ['/app.js', file('app.js', 'text/javascript; charset=utf-8')],
    ['/style.css', file('style.css', 'text/css; charset=utf-8')],
  ]);
}

// The page is served from this origin only and builds its DOM with textContent,
// so job-provided strings can't run; the policy is a second line of defence.
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const MAX_RECENT_BATCHES = 1000;

/** The host name of a Host header value (port and IPv6 brackets removed), lower-cased; undefined when malformed. */
export function hostNameOf(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0 || (end + 1 < h.length && !/^:\d{1,5}$/.test(h.slice(end + 1)))) return undefined;
    return h.slice(1, end);
  }
  const m = /^([a-z0-9_.-]+)(?::\d{1,5})?$/.exec(h);
  return m?.[1];
}

/**
 * Whether a request's Host header names this server (see the module
 * comment): `bound` is the interface it listens on, `allowed` the
 * configured extra names (host or host:port; `*` for any).
 */
export function hostAllowed(header: string | undefined, bound: string, allowed: readonly string[]): boolean {
  if (allowed.includes('*')) return true;
  if (!header) return false;
  const name = hostNameOf(header);
  if (name === undefined) return false;
  if (name === 'localhost' || isIP(name) !== 0) return true;
  const boundName = bound.toLowerCase().replace(/^\[|\]$/g, '');
  if (boundName !== '' && boundName !== '0.0.0.0' && boundName !== '::' && name === boundName) return true;
  const full = header.trim().toLowerCase();
  return allowed.some((a) => {
    const entry = a.trim().toLowerCase();
    return entry === name || entry === full;
  });
}

function urlFor(host: string, port: number): string {
  // A wildcard bind is reachable on loopback; that is the URL that works when printed locally.
  const shown = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/`;
}

export async function startStatusPage(opts: StatusPageOptions): Promise<StatusPage> {
  const { log } = opts;
  const assets = loadAssets();
  const pushIntervalMs = opts.pushIntervalMs ?? 1000;
  const defaultBatches = opts.recentBatches ?? 100;
  const allowedHosts = opts.allowedHosts ?? [];

  // One timer and one serialisation per tick for all event-stream clients.
  const subscribers = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  const push = () => {
    let frame: string;
    try {
      frame = `data: ${JSON.stringify(opts.snapshot(defaultBatches))}\n\n`;
    } catch (err) {
      log.error({ err }, 'status page: snapshot failed');
      return;
    }
    for (const res of subscribers) res.write(frame);
  };

  const send = (res: ServerResponse, code: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
    res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...SECURITY_HEADERS, ...extra });
    res.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req.headers.host, opts.host, allowedHosts)) {
      log.debug({ host: req.headers.host?.slice(0, 200) }, 'status page: request for another host refused');
      send(res, 421, 'text/plain; charset=utf-8', 'misdirected request: this status page does not answer to that Host (scheduler option statusAllowedHosts)\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', `method ${req.method} not allowed\n`, { Allow: 'GET, HEAD' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://status.invalid');
    if (opts.authorize) {
      const given = url.searchParams.get('token');
      const verdict = opts.authorize(given ?? presentedToken(req));
      if (!verdict.ok) {
        log.warn({ audit: true, path: url.pathname, allowed: false }, `status page: access denied: ${verdict.reason}`);
        send(
          res,
          401,
          'text/plain; charset=utf-8',
          `this status page needs a Rivulet token (security is on): open ${url.pathname}?token=<token> once ` +
            '(`rivulet token create --user <you> --role view`; `rivulet up` prints a link with one), or send Authorization: Bearer <token>.\n' +
            `refused: ${verdict.reason}\n`,
          { 'WWW-Authenticate': 'Bearer realm="rivulet"' },
        );
        return;
      }
      if (given !== null) {
        url.searchParams.delete('token');
        res.writeHead(303, {
          Location: url.pathname + url.search,
          'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/`,
          'Content-Length': 0,
          ...SECURITY_HEADERS,
        });
        res.end();
        return;
      }
    }
    const asset = assets.get(url.pathname);
    if (asset) {
      send(res, 200, asset.type, asset.body, { 'Cache-Control': 'no-cache' });
      return;
    }
    if (url.pathname === '/api/status') {
      const asked = Number(url.searchParams.get('batches') ?? defaultBatches);
      if (!Number.isInteger(asked) || asked < 0 || asked > MAX_RECENT_BATCHES) {
        send(res, 400, 'text/plain; charset=utf-8', `batches must be an integer from 0 to ${MAX_RECENT_BATCHES}\n`);
        return;
      }
      send(res, 200, 'application/json', JSON.stringify(opts.snapshot(asked)), { 'Cache-Control': 'no-store' });
      return;
    }
    if (url.pathname === '/api/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      res.write('retry: 2000\n\n');
      subscribers.add(res);
      res.on('close', () => {
        subscribers.delete(res);
        if (subscribers.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      });
      timer ??= setInterval(push, pushIntervalMs);
      push(); // the page draws at once instead of after the first tick
      return;
    }
    send(res, 404, 'text/plain; charset=utf-8', `not found: ${url.pathname}\n`);
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      log.error({ err, path: req.url }, 'status page: request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    }
  });
  // Malformed requests and broken sockets end that connection only.
  server.on('clientError', (err, socket) => {
    log.debug({ err: err.message }, 'status page: bad client request');
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'status page: server error'));
  const { port } = server.address() as AddressInfo;

  return {
    url: urlFor(opts.host, port),
    close: () =>
      new Promise<void>((resolve) => {
        if (timer) clearInterval(timer);
        timer = undefined;
        for (const res of subscribers) res.end();
        subscribers.clear();
        server.close(() => resolve());
        // Browsers keep idle keep-alive connections open; they must not hold up shutdown.
        server.closeAllConnections();
      }),
  };
}
