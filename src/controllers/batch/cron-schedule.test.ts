import { describe, expect, it } from 'vitest';
import { missedActivations, parseSchedule, ScheduleError } from './cron-schedule.ts';

const at = (s: string) => new Date(s);
const iso = (d: Date | undefined) => d?.toISOString();

describe('CronJob schedules', () => {
  it.each([
    ['*/1 * * * *', '2026-01-01T10:00:30Z', '2026-01-01T10:01:00.000Z'],
    ['*/15 * * * *', '2026-01-01T10:07:00Z', '2026-01-01T10:15:00.000Z'],
    ['0 3 * * *', '2026-01-01T03:00:00Z', '2026-01-02T03:00:00.000Z'],
    ['30 8 * * MON-FRI', '2026-01-02T09:00:00Z', '2026-01-05T08:30:00.000Z'], // Friday after 8:30 → Monday
    ['0 0 1 JAN *', '2026-03-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['0 12 ? * SUN', '2026-01-01T00:00:00Z', '2026-01-04T12:00:00.000Z'],
    ['@hourly', '2026-01-01T10:59:59Z', '2026-01-01T11:00:00.000Z'],
    ['@daily', '2026-01-01T10:00:00Z', '2026-01-02T00:00:00.000Z'],
    ['@weekly', '2026-01-01T10:00:00Z', '2026-01-04T00:00:00.000Z'],
    ['@monthly', '2026-01-15T00:00:00Z', '2026-02-01T00:00:00.000Z'],
    ['@yearly', '2026-01-15T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['5-10/5 1 * * *', '2026-01-01T01:05:00Z', '2026-01-01T01:10:00.000Z'],
  ])('%s after %s → %s', (spec, after, next) => {
    expect(iso(parseSchedule(spec).next(at(after)))).toBe(next);
  });

  it('day-of-month and day-of-week both restricted match either (as Vixie cron and upstream)', () => {
    // The 13th, or any Friday: from Jan 1 2026 (a Thursday) the next is Friday Jan 2.
    const s = parseSchedule('0 0 13 * 5');
    expect(iso(s.next(at('2026-01-01T00:00:00Z')))).toBe('2026-01-02T00:00:00.000Z');
    expect(iso(s.next(at('2026-01-10T00:00:00Z')))).toBe('2026-01-13T00:00:00.000Z');
  });

  it('reads the schedule in spec.timeZone', () => {
    const s = parseSchedule('0 9 * * *', 'America/New_York');
    expect(iso(s.next(at('2026-01-01T00:00:00Z')))).toBe('2026-01-01T14:00:00.000Z'); // EST, UTC-5
    expect(iso(s.next(at('2026-07-01T00:00:00Z')))).toBe('2026-07-01T13:00:00.000Z'); // EDT, UTC-4
    expect(iso(parseSchedule('0 9 * * *', 'Asia/Tokyo').next(at('2026-01-01T00:00:00Z')))).toBe('2026-01-02T00:00:00.000Z');
  });

  it.each([
    ['* * * *', 'spec.schedule: Invalid value: "* * * *": expected exactly 5 fields, found 4: [* * * *]'],
    ['TZ=UTC 0 0 * * *', 'spec.schedule: Invalid value: "TZ=UTC 0 0 * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead'],
    ['@fortnightly', 'spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly'],
  ])('refuses %s', (spec, message) => {
    expect(() => parseSchedule(spec)).toThrow(message);
  });

  it('refuses out-of-range values and unknown time zones', () => {
    expect(() => parseSchedule('61 * * * *')).toThrow(ScheduleError);
    expect(() => parseSchedule('* * 32 * *')).toThrow(/spec\.schedule: Invalid value: "\* \* 32 \* \*"/);
    expect(() => parseSchedule('0 0 * * *', 'Mars/Olympus')).toThrow('spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus');
  });
});

describe('missed activations (fake clock)', () => {
  const every5 = parseSchedule('*/5 * * * *');

  it('none before the first activation; then the latest one due', () => {
    const created = at('2026-01-01T10:01:00Z');
    expect(missedActivations(every5, created, at('2026-01-01T10:04:59Z'))).toEqual({ missed: 0 });
    expect(missedActivations(every5, created, at('2026-01-01T10:05:00Z'))).toEqual({ mostRecent: at('2026-01-01T10:05:00Z'), missed: 1 });
    expect(missedActivations(every5, created, at('2026-01-01T10:17:00Z'))).toEqual({ mostRecent: at('2026-01-01T10:15:00Z'), missed: 3 });
  });

  it('startingDeadlineSeconds forgets activations older than the deadline', () => {
    const last = at('2026-01-01T10:00:00Z');
    expect(missedActivations(every5, last, at('2026-01-01T10:17:00Z'), 60)).toEqual({ missed: 0 });
    expect(missedActivations(every5, last, at('2026-01-01T10:17:00Z'), 180)).toEqual({ mostRecent: at('2026-01-01T10:15:00Z'), missed: 1 });
  });

  it('over 100 missed is capped, and the latest activation is still the one due', () => {
    const everyMinute = parseSchedule('* * * * *');
    const r = missedActivations(everyMinute, at('2025-01-01T00:00:00Z'), at('2026-01-01T10:17:30Z'));
    expect(r).toEqual({ mostRecent: at('2026-01-01T10:17:00Z'), missed: 101 });
  });
});
