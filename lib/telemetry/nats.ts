/**
 * W3C trace context in NATS message headers (nats.js `headers()`), with the
 * messaging semantic conventions: a PRODUCER span `publish <subject template>`
 * around a publish made inside a trace (its context goes in the headers), and
 * a CONSUMER span `process <subject template>` around the handling of a
 * message that carries one. Messages published outside any trace (heartbeats,
 * the periodic streams announcement) carry no headers and make no spans.
 */
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { context, propagation, SpanKind, trace, type Span, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { Attr, hasSpan, tracer } from './tracing.js';

const setter: TextMapSetter<MsgHdrs> = { set: (h, k, v) => h.set(k, v) };
const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (h) => (h ? h.keys() : []),
  get: (h, k) => (h && h.has(k) ? h.get(k) : undefined),
};

/**
 * Subject → the low-cardinality name used in span names: the last token of a
 * per-executor / per-stream / per-job subject becomes `*`
 * (`rivulet.batch.ready.words` → `rivulet.batch.ready.*`). `templates` are the
 * wildcard subjects of lib/nats/subjects.ts.
 */
export function subjectTemplate(subject: string, templates: readonly string[]): string {
  for (const t of templates) {
    if (t.endsWith('.*') && subject.startsWith(t.slice(0, -1)) && !subject.slice(t.length - 1).includes('.')) return t;
  }
  return subject;
}

function attributes(subject: string, template: string, operation: 'publish' | 'process', bytes: number) {
  return {
    [Attr.MESSAGING_SYSTEM]: 'nats',
    [Attr.MESSAGING_DESTINATION_NAME]: subject,
    ...(template !== subject ? { [Attr.MESSAGING_DESTINATION_TEMPLATE]: template } : {}),
    [Attr.MESSAGING_OPERATION]: operation,
    [Attr.MESSAGING_OPERATION_TYPE]: operation === 'publish' ? 'send' : 'process',
    [Attr.MESSAGING_OPERATION_NAME]: operation,
    [Attr.MESSAGING_BODY_SIZE]: bytes,
  };
}

/**
 * Run `publish(headers)` inside a PRODUCER span when a trace is active, with
 * that span's context in `headers`; otherwise run it with no headers.
 */
export function tracedPublish(subject: string, template: string, bytes: number, publish: (headers: MsgHdrs | undefined) => void): void {
  const parent = context.active();
  if (!hasSpan(parent)) return publish(undefined);
  const span = tracer().startSpan(`publish ${template}`, { kind: SpanKind.PRODUCER, attributes: attributes(subject, template, 'publish', bytes) }, parent);
  const h = natsHeaders();
  propagation.inject(trace.setSpan(parent, span), h, setter);
  try {
    publish(h);
  } finally {
    span.end();
  }
}

/**
 * Run `handle` for a received message: inside a CONSUMER span (child of the
 * producer's) when its headers carry a trace context, plainly otherwise.
 */
export function tracedProcess<T>(subject: string, template: string, bytes: number, h: MsgHdrs | undefined, handle: () => T): T {
  if (!h) return handle();
  const parent = propagation.extract(context.active(), h, getter);
  if (!hasSpan(parent)) return handle();
  const span: Span = tracer().startSpan(`process ${template}`, { kind: SpanKind.CONSUMER, attributes: attributes(subject, template, 'process', bytes) }, parent);
  try {
    return context.with(trace.setSpan(parent, span), handle);
  } finally {
    span.end();
  }
}
