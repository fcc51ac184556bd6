/**
 * Sessionisation: clicks grouped into per-user sessions, a session ending
 * after 5 seconds without a click from its user (Spark's mapWithState with
 * StateSpec.timeout, as in Spark's StatefulNetworkWordCount and
 * StructuredSessionization examples). Records of stream `clicks` are lines
 * `"<user> <page>"`, optionally `"<user> <page> <time-ms>"` with the click's
 * own time (epoch milliseconds); other lines are ignored.
 *
 * - output `sessions`: one record per ended session, in the first batch
 *   more than 5 s after the batch of its user's last click:
 *   `{ user, views, pages, startMs, endMs, durationMs }` (`pages`: the first
 *   50 pages viewed; `durationMs`: first to last click).
 * - output `open`: every batch, `[n]`, the number of sessions still open.
 *
 * The timeout counts batch time (the batch a click arrived in), not click
 * time: a session ends when its user has sent nothing for 5 s, whatever
 * times the clicks carry; with 1 s batches, 6 to 7 s after the last click.
 *
 *   rivulet submit examples/sessionization.ts
 *   rivulet push clicks --file examples/data/clicks.txt
 *   rivulet tail <job-id> --output sessions --non-empty
 *   rivulet tail <job-id> --output open
 */
import { defineJob, StateSpec, type State } from 'rivulet';

const IDLE = '5s';
const MAX_PAGES = 50;

interface Click {
  page: string;
  timeMs: number;
}

/** One open session: the state kept per user between batches. */
interface Session {
  startMs: number;
  lastMs: number;
  views: number;
  /** The first MAX_PAGES pages, so that a runaway client cannot grow the state without bound. */
  pages: string[];
}

export interface EndedSession {
  user: string;
  views: number;
  pages: string[];
  startMs: number;
  endMs: number;
  durationMs: number;
}

function parse(line: string): Array<[string, Click]> {
  const [user, page, time, ...rest] = line.trim().split(/\s+/);
  if (!user || !page || rest.length > 0) return [];
  // Without a time of its own a click is stamped when its batch is parsed (on
  // the executor). Unlike Spark's 4-argument StateSpec.function(time, key,
  // value, state), Rivulet's mapping function is not given the batch time.
  const timeMs = time === undefined ? Date.now() : Number(time);
  if (!Number.isFinite(timeMs)) return [];
  return [[user, { page, timeMs }]];
}

/**
 * Called for every click of a user, in order, with the user's session so
 * far; and once more, with no click and `state.isTimingOut()`, when the user
 * has been idle for IDLE: the session is then removed and the returned record
 * emitted. Returning undefined emits nothing (Spark would need an Option).
 */
function track(user: string, click: Click | undefined, state: State<Session>): EndedSession | undefined {
  if (state.isTimingOut()) {
    const s = state.get();
    return { user, views: s.views, pages: s.pages, startMs: s.startMs, endMs: s.lastMs, durationMs: s.lastMs - s.startMs };
  }
  const { page, timeMs } = click!;
  const s = state.getOption();
  state.update(
    s === undefined
      ? { startMs: timeMs, lastMs: timeMs, views: 1, pages: [page] }
      : {
          startMs: Math.min(s.startMs, timeMs),
          lastMs: Math.max(s.lastMs, timeMs),
          views: s.views + 1,
          pages: s.pages.length < MAX_PAGES ? [...s.pages, page] : s.pages,
        },
  );
  return undefined;
}

export default defineJob((ctx) => {
  const sessions = ctx
    .receiverStream<string>('clicks')
    .flatMap(parse)
    // Keyed by user: the state is partitioned by user as a shuffle would be,
    // kept on the executors (two copies) and checkpointed every
    // stateCheckpointInterval (default 10 batches), as Spark checkpoints a
    // MapWithStateDStream.
    .mapWithState(StateSpec.function(track).timeout(IDLE));
  sessions.output('sessions');
  // Every user's [user, session] after each batch; counted, the open sessions.
  sessions.stateSnapshots().count().output('open');
});
