/**
 * JetStream direct sources, the pure parts: options, range decisions,
 * slicing, the slice frame and decoding (with dead letters, through the task
 * runtime that executors' workers run).
 */
import { describe, expect, it } from 'vitest';
import { unpackRecords } from '../../../lib/codec/records.js';
import { JobGraph } from '../../../lib/dstream/graph.js';
import { StreamingContext } from '../../../lib/dstream/api.js';
import { JobDefinitionError } from '../../../lib/dstream/errors.js';
import { runTask, sourceKey } from '../../../lib/dstream/runtime.js';
import { packRecords } from '../../../lib/codec/records.js';
import {
  compileJetStreamOptions,
  decideRange,
  decodeMessage,
  forEachFramed,
  frameSize,
  sliceBlockId,
  sliceRange,
  startPosition,
  subjectsOverlap,
  writeFrame,
} from '../../../lib/sources/jetstream-ranges.js';

function frame(messages: Array<[number, Uint8Array | string]>): Buffer {
  const datas = messages.map(([s, d]) => [s, typeof d === 'string' ? Buffer.from(d) : d] as const);
  const out = Buffer.alloc(frameSize(datas.reduce((n, [, d]) => n + d.byteLength, 0), datas.length));
  let o = 0;
  for (const [s, d] of datas) o = writeFrame(out, o, s, d);
  expect(o).toBe(out.byteLength);
  return out;
}

describe('JetStream source options', () => {
  it('defaults and checks every option, naming it', () => {
    expect(compileJetStreamOptions('lines', { stream: 'LINES' })).toEqual({
      stream: 'LINES',
      subjects: [''],
      startAt: 'first',
      decode: 'lines',
      maxMessagesPerBatch: 100_000,
      messagesPerSlice: 10_000,
      onPurged: 'fail',
    });
    const bad: Array<[object, RegExp]> = [
      [{ stream: 'a.b' }, /stream must be a JetStream stream name/],
      [{ stream: 'S', subjects: [] }, /subjects must be a list/],
      [{ stream: 'S', subjects: ['a.>', 'a.b'] }, /overlap/],
      [{ stream: 'S', subjects: ['a..b'] }, /not a subject filter/],
      [{ stream: 'S', subjects: ['a.>.b'] }, /not a subject filter/],
      [{ stream: 'S', decode: 'xml' }, /decode must be/],
      [{ stream: 'S', startAt: 'latest' }, /startAt must be/],
      [{ stream: 'S', startAt: { seq: 0 } }, /startAt must be/],
      [{ stream: 'S', maxMessagesPerBatch: 0 }, /maxMessagesPerBatch must be an integer/],
      [{ stream: 'S', messagesPerSlice: 1.5 }, /messagesPerSlice must be an integer/],
      [{ stream: 'S', onPurged: 'ignore' }, /onPurged must be/],
    ];
    for (const [o, msg] of bad) expect(() => compileJetStreamOptions('src', o as never), JSON.stringify(o)).toThrow(msg);
  });

  it('is a source node of the graph with its dead-letter output, not a receiver stream', () => {
    const graph = new JobGraph();
    const ctx = new StreamingContext(graph);
    ctx.jetStream('events', { stream: 'EVENTS', subjects: ['ev.a', 'ev.b.>'], decode: 'json' }).output('out');
    ctx.receiverStream('lines').output('l');
    expect(graph.streams).toEqual(['lines']);
    expect(graph.jetStreamSources.map((s) => [s.stream, s.jetStream.stream, s.jetStream.subjects])).toEqual([['events', 'EVENTS', ['ev.a', 'ev.b.>']]]);
    expect(graph.inputKeys).toEqual(['lines', 'events']);
    expect(graph.outputNames).toEqual(['out', 'l', 'events.dead-letter']);
    expect(() => ctx.jetStream('events', { stream: 'EVENTS' })).toThrow(JobDefinitionError);
    expect(() => ctx.jetStream('x'.repeat(120), { stream: 'EVENTS' })).toThrow(/dead-letter output/);
    expect(() => ctx.jetStream('y', { stream: 'bad stream' })).toThrow(JobDefinitionError);
  });

  it('refuses an output named like a source\'s dead-letter output, in either order', () => {
    const first = new StreamingContext(new JobGraph());
    const events = first.jetStream('events', { stream: 'EVENTS' });
    expect(() => events.output('events.dead-letter')).toThrow(/dead-letter output of a JetStream source/);
    const second = new StreamingContext(new JobGraph());
    second.queueStream('q').output('events.dead-letter');
    expect(() => second.jetStream('events', { stream: 'EVENTS' })).toThrow(/is already an output of the job/);
  });

  it('tells overlapping subject filters', () => {
    expect(subjectsOverlap('a.b', 'a.b')).toBe(true);
    expect(subjectsOverlap('a.*', 'a.b')).toBe(true);
    expect(subjectsOverlap('a.>', 'a.b.c')).toBe(true);
    expect(subjectsOverlap('a.>', 'a')).toBe(false);
    expect(subjectsOverlap('a.*', 'a.b.c')).toBe(false);
    expect(subjectsOverlap('a.b', 'a.c')).toBe(false);
    expect(subjectsOverlap('>', 'x.y')).toBe(true);
  });
});

describe('JetStream range planning', () => {
  it('starts where startAt says', () => {
    const head = { firstSeq: 5, lastSeq: 40 };
    expect(startPosition('first', head)).toBe(5);
    expect(startPosition('new', head)).toBe(41);
    expect(startPosition({ seq: 12 }, head)).toBe(12);
    expect(startPosition('first', { firstSeq: 0, lastSeq: 0 })).toBe(1);
  });

  it('reads from the position to the stream end, at most maxMessagesPerBatch, contiguously', () => {
    const head = { firstSeq: 1, lastSeq: 250 };
    const a = decideRange(1, head, 100, 'fail');
    expect(a).toEqual({ kind: 'range', range: { first: 1, last: 100 } });
    const b = decideRange(101, head, 100, 'fail');
    expect(b).toEqual({ kind: 'range', range: { first: 101, last: 200 } });
    expect(decideRange(201, head, 100, 'fail')).toEqual({ kind: 'range', range: { first: 201, last: 250 } });
    // Caught up: an empty range (last < first), position unchanged.
    expect(decideRange(251, head, 100, 'fail')).toEqual({ kind: 'range', range: { first: 251, last: 250 } });
  });

  it('says when messages were purged before they were read: fail by default, skip on request', () => {
    const head = { firstSeq: 60, lastSeq: 90 };
    expect(decideRange(50, head, 100, 'fail')).toEqual({ kind: 'purged', missing: { first: 50, last: 59 } });
    expect(decideRange(50, head, 100, 'skip')).toEqual({ kind: 'range', range: { first: 60, last: 90 }, skipped: { first: 50, last: 59 } });
    // An emptied stream (first = last + 1) past the position is not a purge of anything unread.
    expect(decideRange(91, { firstSeq: 91, lastSeq: 90 }, 100, 'fail')).toEqual({ kind: 'range', range: { first: 91, last: 90 } });
  });

  it('cuts a range into slices of messagesPerSlice, named by their provenance', () => {
    expect(sliceRange({ first: 1, last: 25 }, 10)).toEqual([
      { first: 1, last: 10 },
      { first: 11, last: 20 },
      { first: 21, last: 25 },
    ]);
    expect(sliceRange({ first: 7, last: 6 }, 10)).toEqual([]);
    expect(sliceRange({ first: 7, last: 7 }, 10)).toEqual([{ first: 7, last: 7 }]);
    expect(sliceBlockId('lines', 2, { first: 11, last: 20 })).toBe('js/lines/2/11-20');
  });
});

describe('JetStream slice frames and decoding', () => {
  it('frames messages back to back and reads them in order', () => {
    const f = frame([
      [3, 'abc'],
      [9, ''],
      [2 ** 40, 'x'],
    ]);
    const got: Array<[number, string]> = [];
    forEachFramed(f, (s, d) => got.push([s, Buffer.from(d).toString()]));
    expect(got).toEqual([
      [3, 'abc'],
      [9, ''],
      [2 ** 40, 'x'],
    ]);
    expect(() => forEachFramed(f.subarray(0, f.byteLength - 1), () => {})).toThrow(/cut short/);
  });

  it('decodes json, msgpack, UTF-8 lines and bytes, and refuses what is not', () => {
    expect(decodeMessage('json', Buffer.from('{"a":[1,2]}'))).toEqual({ a: [1, 2] });
    expect(decodeMessage('msgpack', packRecords([{ k: 'v' }]))).toEqual({ k: 'v' });
    expect(decodeMessage('lines', Buffer.from('héllo'))).toBe('héllo');
    expect(decodeMessage('bytes', new Uint8Array([1, 2]))).toEqual(new Uint8Array([1, 2]));
    expect(() => decodeMessage('json', Buffer.from('{nope'))).toThrow();
    expect(() => decodeMessage('lines', new Uint8Array([0xff, 0xfe]))).toThrow();
    expect(() => decodeMessage('msgpack', new Uint8Array([0xc1]))).toThrow(/0xc1/);
    expect(() => decodeMessage('msgpack', new Uint8Array([0x92, 0x01]))).toThrow();
    expect(() => decodeMessage('msgpack', new Uint8Array([0x01, 0x02]))).toThrow(/2 MessagePack values/);
    expect(() => decodeMessage('msgpack', new Uint8Array([]))).toThrow();
  });

  it('runs a slice through the task runtime: records decoded, a bad message a dead letter, the task goes on', () => {
    const graph = new JobGraph();
    new StreamingContext(graph).jetStream<{ n: number }>('ev', { stream: 'EV', decode: 'json' }).map((r) => r.n * 10).output('out');
    const src = graph.jetStreamSources[0]!;
    const out = graph.outputs[0]!;
    const f = frame([
      [1, '{"n":1}'],
      [2, 'not json'],
      [3, '{"n":3}'],
    ]);
    const result = runTask(graph, out.id, 0, { blocks: new Map([[sourceKey(src.id, 0), f]]), shuffles: new Map() }, { kind: 'result' });
    expect(unpackRecords(result.result!)).toEqual([10, 30]);
    expect(result.recordsIn).toBe(3);
    expect(result.deadLetters!.count).toBe(1);
    expect(unpackRecords(result.deadLetters!.payload)).toEqual([
      { source: 'ev', stream: 'EV', seq: 2, error: expect.stringMatching(/^cannot decode as json: /), data: Buffer.from('not json').toString('base64') },
    ]);
  });
});
