/** HTTP helpers for tests. */
import { request } from 'node:http';

/** The status code of a request with a chosen Host header (fetch does not let one set it); undefined sends none. */
export function getWithHost(url: string, host: string | undefined, method = 'GET', headers: Record<string, string> = {}): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method, setHost: false, headers: host === undefined ? headers : { ...headers, Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}
