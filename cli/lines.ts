/**
 * Lines of a byte stream, read with backpressure: the next chunk is read only
 * when the consumer asks for more lines, so `rivulet push` of a huge file holds
 * one chunk plus the batches in flight, never the whole file. "\n" and "\r\n"
 * both end a line; a final line without a newline still counts; the newline
 * that ends the input does not start an extra empty line.
 */
import { StringDecoder } from 'node:string_decoder';

export async function* readLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of input) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = pending.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield pending.slice(start, end);
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.end();
  if (pending.length > 0) yield pending.endsWith('\r') ? pending.slice(0, -1) : pending;
}
