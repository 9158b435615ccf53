import { EventClock } from '../../src/pipeline/event-clock';

const S = 1_000_000;
const WALL = 1_800_000_000 * S;
const SKEW = 300 * S;

describe('EventClock', () => {
  test('a fresh clock reads the wall clock until the first event, then that event time, however old', () => {
    const clock = new EventClock(null, WALL, SKEW);
    expect(clock.now(WALL)).toBe(WALL);
    const hourAgo = WALL - 3600 * S;
    clock.observe(hourAgo, WALL);
    // A backlog an hour old: its calls are judged on their own time, not timed out at once.
    expect(clock.now(WALL)).toBe(hourAgo);
    expect(clock.now(WALL + 2 * S)).toBe(hourAgo + 2 * S);
  });

  test('follows the latest event and never runs backwards', () => {
    const clock = new EventClock(null, WALL, SKEW);
    clock.observe(WALL - 100 * S, WALL);
    clock.observe(WALL - 50 * S, WALL);
    clock.observe(WALL - 80 * S, WALL);
    expect(clock.now(WALL)).toBe(WALL - 50 * S);
  });

  test('advances with wall time while no newer event arrives (a quiet night still closes calls)', () => {
    const clock = new EventClock(WALL - 10 * S, WALL, SKEW);
    expect(clock.now(WALL + 60 * S)).toBe(WALL + 50 * S);
    clock.observe(WALL + 20 * S, WALL + 60 * S); // older than the clock's reading: ignored
    expect(clock.now(WALL + 60 * S)).toBe(WALL + 50 * S);
  });

  test('an event further ahead of the wall clock than the allowed skew does not move it, even as the first', () => {
    const clock = new EventClock(null, WALL, SKEW);
    clock.observe(WALL + SKEW + 1, WALL);
    expect(clock.now(WALL)).toBe(WALL);
    clock.observe(WALL + SKEW, WALL);
    expect(clock.now(WALL)).toBe(WALL + SKEW);
  });
});
