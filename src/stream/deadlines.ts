/**
 * Request timeouts on one shared timer: a request in flight is a node of the list of its duration
 * (deadlines in a list are in arrival order, so each list is sorted), and one setTimeout waits
 * for the earliest head. Arming and disarming a request link and unlink a node: no Timeout
 * object, timer-list insertion and clearTimeout per request. The timer holds the event loop
 * (ref'd) only while some request waits, as a timer per request did: when the last one settles it
 * is unref'd, not cleared (many answers of one receive batch often settle every request in flight,
 * and the next requests would otherwise set it again each time).
 */

/** What waits for a deadline: a request, timed out by expire() unless disarmed first. */
export abstract class Deadline {
  deadline = 0;
  /** The list it is linked into while armed, null otherwise. */
  list: DeadlineList | null = null;
  prevDeadline: Deadline | null = null;
  nextDeadline: Deadline | null = null;

  /** Called once, by the shared timer, when the deadline passed while armed (already unlinked). */
  abstract expire(): void;
}

class DeadlineList {
  head: Deadline | null = null;
  tail: Deadline | null = null;
}

const lists = new Map<number, DeadlineList>();
let armed = 0;
let timer: NodeJS.Timeout | undefined;
let timerHeld = false;
/** When the timer fires (performance.now() time), Infinity without a timer. */
let timerAt = Infinity;

/** Arms `d` to expire in `ms` milliseconds (a positive integer). */
export function arm(d: Deadline, ms: number): void {
  const now = performance.now();
  d.deadline = now + ms;
  let list = lists.get(ms);
  if (list === undefined) {
    list = new DeadlineList();
    lists.set(ms, list);
  }
  d.list = list;
  d.prevDeadline = list.tail;
  d.nextDeadline = null;
  if (list.tail !== null) list.tail.nextDeadline = d;
  else list.head = d;
  list.tail = d;
  if (armed++ === 0 && timer !== undefined && !timerHeld) {
    timer.ref();
    timerHeld = true;
  }
  if (d.deadline < timerAt) schedule(d.deadline, now);
}

/** Unlinks `d` if it is armed (safe to call more than once). */
export function disarm(d: Deadline): void {
  const list = d.list;
  if (list === null) return;
  unlink(d, list);
  if (--armed === 0 && timer !== undefined) {
    timer.unref();
    timerHeld = false;
  }
}

function unlink(d: Deadline, list: DeadlineList): void {
  const prev = d.prevDeadline, next = d.nextDeadline;
  if (prev !== null) prev.nextDeadline = next;
  else list.head = next;
  if (next !== null) next.prevDeadline = prev;
  else list.tail = prev;
  d.list = null;
  d.prevDeadline = null;
  d.nextDeadline = null;
}

function schedule(at: number, now: number): void {
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  // Node's timers count from the loop's millisecond clock, so one may fire a little before `at`
  // by performance.now(): sweep() then waits again for what is left.
  timer = setTimeout(sweep, Math.max(1, Math.ceil(at - now)));
  timerHeld = true;
}

function sweep(): void {
  timer = undefined;
  timerHeld = false;
  timerAt = Infinity;
  const now = performance.now();
  for (const [ms, list] of lists) {
    let d: Deadline | null;
    // The head is read again each time: expire() may settle (and unlink) other requests.
    while ((d = list.head) !== null && d.deadline <= now) {
      disarm(d);
      d.expire();
    }
    if (list.head === null && lists.get(ms) === list) lists.delete(ms);
  }
  let next = Infinity;
  for (const list of lists.values()) if (list.head !== null && list.head.deadline < next) next = list.head.deadline;
  if (next < timerAt) schedule(next, performance.now());
}
