/**
 * The time the correlator judges deadlines by: the latest event time seen, advanced by wall
 * time while nothing newer arrives. Replaying a backlog therefore does not time out calls whose
 * closing events are still queued, and a quiet night still closes calls. It never runs backwards.
 */
export class EventClock {
  private anchorEventUs: number;
  private anchorWallUs: number;

  /**
   * @param maxSkewUs events further than this ahead of the wall clock do not move the clock:
   *   one event from a broken clock must not time out every open call.
   */
  constructor(startUs: number, wallUs: number, private readonly maxSkewUs: number) {
    this.anchorEventUs = startUs;
    this.anchorWallUs = wallUs;
  }

  observe(eventUs: number, wallUs: number): void {
    if (eventUs > wallUs + this.maxSkewUs) return;
    if (eventUs > this.now(wallUs)) {
      this.anchorEventUs = eventUs;
      this.anchorWallUs = wallUs;
    }
  }

  now(wallUs: number): number {
    return this.anchorEventUs + Math.max(0, wallUs - this.anchorWallUs);
  }
}

export function wallClockUs(): number {
  return Date.now() * 1000;
}
