/**
 * Event-loop delay of this process (perf_hooks.monitorEventLoopDelay: how
 * late timers fire, i.e. how long the loop was blocked), kept as windows of
 * `windowMs`: `current()` is the last complete window (or the one in
 * progress before the first completes). Every service exports it as the
 * gauge `rivulet.event_loop.delay` (ms; `rivulet.statistic` = p50, p99, max)
 * through lib/service-main.ts; a component that must know whether its own
 * loop is healthy (the scheduler's liveness judgement) can read the same
 * measure.
 *
 * It only measures: it never blocks, and its timer does not keep the process alive.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { observeGauge } from './metrics.js';

export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class EventLoopDelayMonitor {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private last: EventLoopDelay | undefined;

  constructor(
    readonly windowMs = 10_000,
    resolutionMs = 10,
  ) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.last = this.read();
      this.histogram.reset();
    }, windowMs);
    this.timer.unref();
  }

  /** The last complete window, or the one in progress before the first completes. */
  current(): EventLoopDelay {
    return this.last ?? this.read();
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private read(): EventLoopDelay {
    const h = this.histogram;
    // The histogram is in ns; an empty one reports NaN / huge sentinels.
    if (h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    return { p50Ms: h.percentile(50) / 1e6, p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6 };
  }
}

/** Start measuring and export `rivulet.event_loop.delay`; call once per process, after the telemetry SDK started. */
export function observeEventLoopDelay(windowMs?: number): EventLoopDelayMonitor {
  const monitor = new EventLoopDelayMonitor(windowMs);
  observeGauge('rivulet.event_loop.delay', 'Event-loop delay of this process over the last window (perf_hooks.monitorEventLoopDelay), by rivulet.statistic', 'ms', () => {
    const d = monitor.current();
    return [
      { value: d.p50Ms, attributes: { 'rivulet.statistic': 'p50' } },
      { value: d.p99Ms, attributes: { 'rivulet.statistic': 'p99' } },
      { value: d.maxMs, attributes: { 'rivulet.statistic': 'max' } },
    ];
  });
  return monitor;
}
