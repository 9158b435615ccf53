/**
 * The time the correlator judges deadlines by: the latest event time seen, advanced by wall
 * time while nothing newer arrives. Replaying a backlog therefore does not time out calls whose
 * closing events are still queued, and a quiet night still closes calls. It never runs backwards.
 */
export class EventClock {
  /** Null until the first event (or a restored call) sets it: a fresh service knows no event time yet. */
  private anchorEventUs: number | null;
  private anchorWallUs: number;

  /**
   * @param startUs the last event time known (e.g. from the store after a restart), or null
   *   when none is: then the first event observed sets the clock, however old — a fresh service
   *   started on an hour-old backlog must not time out every call it has not yet read to the end.
   * @param maxSkewUs events further than this ahead of the wall clock do not move the clock:
   *   one event from a broken clock must not time out every open call.
   */
  constructor(startUs: number | null, wallUs: number, private readonly maxSkewUs: number) {
    this.anchorEventUs = startUs;
    this.anchorWallUs = wallUs;
  }

  observe(eventUs: number, wallUs: number): void {
    if (eventUs > wallUs + this.maxSkewUs) return;
    if (this.anchorEventUs === null || eventUs > this.now(wallUs)) {
      this.anchorEventUs = eventUs;
      this.anchorWallUs = wallUs;
    }
  }

  /** Before any event time is known, the wall clock. */
  now(wallUs: number): number {
    if (this.anchorEventUs === null) return wallUs;
    return this.anchorEventUs + Math.max(0, wallUs - this.anchorWallUs);
  }
}

export function wallClockUs(): number {
  return Date.now() * 1000;
}
