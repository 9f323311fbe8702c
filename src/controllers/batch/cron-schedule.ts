// CronJob schedules as upstream reads them (robfig/cron's standard parser): five fields
// (minute hour day-of-month month day-of-week), names (JAN, MON), ranges, steps, `?` as `*`,
// day-of-month OR day-of-week when both are restricted, the @yearly/@monthly/@weekly/@daily/
// @midnight/@hourly descriptors, and spec.timeZone (IANA) — parsed with croner.
import { Cron } from 'croner';

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export interface Schedule {
  /** The first activation strictly after `after`, or undefined if there is none. */
  next(after: Date): Date | undefined;
}

/** A field error in upstream's wording: `spec.schedule: Invalid value: "…": …`. */
export class ScheduleError extends Error {
  readonly field: string;
  readonly detail: string;
  constructor(field: string, value: string, detail: string) {
    super(`${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`);
    this.field = field;
    this.detail = `Invalid value: ${JSON.stringify(value)}: ${detail}`;
  }
}

/** Whether `tz` names a time zone this runtime knows (IANA database). */
export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function parseSchedule(spec: string, timeZone?: string | null): Schedule {
  const raw = spec.trim();
  if (/^(CRON_)?TZ=/.test(raw)) throw new ScheduleError('spec.schedule', spec, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  if (timeZone !== undefined && timeZone !== null && (timeZone === '' || !validTimeZone(timeZone))) throw new ScheduleError('spec.timeZone', timeZone, `unknown time zone ${timeZone}`);
  let pattern: string;
  if (raw.startsWith('@')) {
    const d = DESCRIPTORS[raw.toLowerCase()];
    if (!d) throw new ScheduleError('spec.schedule', spec, `unrecognized descriptor: ${raw}`);
    pattern = d;
  } else {
    const fields = raw.split(/\s+/).filter(Boolean);
    if (fields.length !== 5) throw new ScheduleError('spec.schedule', spec, `expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
    pattern = fields.map((f, i) => (i >= 2 && f === '?' ? '*' : f)).join(' ');
  }
  let cron: Cron;
  try {
    cron = new Cron(pattern, { mode: '5-part', timezone: timeZone ?? 'UTC', domAndDow: false, paused: true });
  } catch (err) {
    throw new ScheduleError('spec.schedule', spec, (err as Error).message.replace(/^CronPattern: /, ''));
  }
  return { next: (after) => cron.nextRun(after) ?? undefined };
}

export interface Missed {
  /** The latest activation at or before `now` that has not run yet, if any. */
  mostRecent?: Date;
  /** How many activations were missed (capped: more than 100 is reported as 101). */
  missed: number;
}

/**
 * The activations between `earliest` (the last schedule time, or creation) and `now`, as the
 * CronJob controller counts them: the most recent one is the one to run; startingDeadlineSeconds
 * moves `earliest` up to now − deadline.
 */
export function missedActivations(schedule: Schedule, earliest: Date, now: Date, startingDeadlineSeconds?: number): Missed {
  let from = earliest;
  if (startingDeadlineSeconds !== undefined && startingDeadlineSeconds !== null) {
    const deadline = new Date(now.getTime() - startingDeadlineSeconds * 1000);
    if (deadline > from) from = deadline;
  }
  let t = schedule.next(from);
  if (!t || t > now) return { missed: 0 };
  let mostRecent = t;
  let missed = 1;
  for (;;) {
    t = schedule.next(t);
    if (!t || t > now) break;
    mostRecent = t;
    if (++missed > 100) return { mostRecent: lastActivation(schedule, mostRecent, now), missed: 101 };
  }
  return { mostRecent, missed };
}

/** The last activation at or before `now`, given one (`from`) that is: searched from near `now` first. */
function lastActivation(schedule: Schedule, from: Date, now: Date): Date {
  for (const window of [3_600_000, 86_400_000, 32 * 86_400_000, 367 * 86_400_000]) {
    const start = new Date(Math.max(from.getTime(), now.getTime() - window));
    let last: Date | undefined;
    for (let t = schedule.next(start), i = 0; t && t <= now && i < 600_000; t = schedule.next(t), i++) last = t;
    if (last) return last;
  }
  return from;
}
