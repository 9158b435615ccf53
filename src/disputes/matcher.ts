/**
 * One-to-one matching of carrier rows to our CDRs, streamed (pure). Both sides arrive in time
 * order; items of one group (same numbers, see numbers.ts) less than a window apart form a
 * component, which is resolved as soon as nothing later can reach it, so memory holds only the
 * calls of the last window.
 *
 * Within a component every (row, CDR) pair with the same numbers and starts at most the window
 * apart is a candidate; pairs are taken nearest start first (ties: lower row, then lower
 * cdr_id), each row and each CDR at most once. That is deterministic whatever the input order.
 * A row left over whose candidates were all taken is a `duplicate` of the nearest of them; one
 * with no candidate is `unknown`. A CDR left over is `unmatched`.
 */

export interface MatchableRow {
  readonly row: number;
  /** UTC start after the time-zone fix. */
  readonly timeUs: number;
  readonly group: string;
}

export interface MatchableCdr {
  readonly cdrId: string;
  /** The time compared with the carrier's start (answer or invite, see `--start-is`). */
  readonly timeUs: number;
  readonly group: string;
}

export type Resolution<R, C> =
  | { readonly kind: 'pair'; readonly row: R; readonly cdr: C }
  | { readonly kind: 'duplicate'; readonly row: R; readonly of: C }
  | { readonly kind: 'unknown'; readonly row: R }
  | { readonly kind: 'unmatched'; readonly cdr: C };

interface Component<R, C> {
  rows: R[];
  cdrs: C[];
  lastUs: number;
}

/** Min-heap of (deadline, group); stale entries (the group moved on) are skipped when popped. */
class DeadlineHeap {
  private readonly deadlines: number[] = [];
  private readonly groups: string[] = [];

  get size(): number {
    return this.deadlines.length;
  }

  peek(): number {
    return this.deadlines[0]!;
  }

  push(deadline: number, group: string): void {
    const d = this.deadlines;
    const g = this.groups;
    d.push(deadline);
    g.push(group);
    let i = d.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (d[parent]! <= d[i]!) break;
      [d[parent], d[i]] = [d[i]!, d[parent]!];
      [g[parent], g[i]] = [g[i]!, g[parent]!];
      i = parent;
    }
  }

  pop(): { deadline: number; group: string } {
    const d = this.deadlines;
    const g = this.groups;
    const top = { deadline: d[0]!, group: g[0]! };
    const lastD = d.pop()!;
    const lastG = g.pop()!;
    if (d.length > 0) {
      d[0] = lastD;
      g[0] = lastG;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < d.length && d[left]! < d[smallest]!) smallest = left;
        if (right < d.length && d[right]! < d[smallest]!) smallest = right;
        if (smallest === i) break;
        [d[smallest], d[i]] = [d[i]!, d[smallest]!];
        [g[smallest], g[i]] = [g[i]!, g[smallest]!];
        i = smallest;
      }
    }
    return top;
  }
}

export class StreamMatcher<R extends MatchableRow, C extends MatchableCdr> {
  private readonly open = new Map<string, Component<R, C>>();
  private readonly deadlines = new DeadlineHeap();
  private positionUs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly windowUs: number,
    private readonly sameCall: (row: R, cdr: C) => boolean,
    private readonly emit: (resolution: Resolution<R, C>) => void,
  ) {}

  /** Items held (rows and CDRs of open components): the matcher's memory. */
  get heldGroups(): number {
    return this.open.size;
  }

  /** Rows arrive in order of `timeUs`. */
  addRow(row: R): void {
    this.advance(row.timeUs);
    this.component(row.group, row.timeUs).rows.push(row);
  }

  /** CDRs arrive in order of `positionUs` (their stored start), which is never after `timeUs`. */
  addCdr(cdr: C, positionUs: number): void {
    this.advance(positionUs);
    this.component(cdr.group, cdr.timeUs).cdrs.push(cdr);
  }

  /** Nothing arrives before `positionUs` any more: resolve what it can no longer reach. */
  advance(positionUs: number): void {
    if (positionUs > this.positionUs) this.positionUs = positionUs;
    while (this.deadlines.size > 0 && this.deadlines.peek() < this.positionUs) {
      const { deadline, group } = this.deadlines.pop();
      const component = this.open.get(group);
      if (component === undefined || component.lastUs + this.windowUs !== deadline) continue;
      this.open.delete(group);
      this.resolve(component);
    }
  }

  finish(): void {
    this.advance(Number.POSITIVE_INFINITY);
  }

  private component(group: string, timeUs: number): Component<R, C> {
    let component = this.open.get(group);
    if (component === undefined) {
      component = { rows: [], cdrs: [], lastUs: timeUs };
      this.open.set(group, component);
      this.deadlines.push(timeUs + this.windowUs, group);
    } else if (timeUs > component.lastUs) {
      component.lastUs = timeUs;
      this.deadlines.push(timeUs + this.windowUs, group);
    }
    return component;
  }

  private resolve({ rows, cdrs }: Component<R, C>): void {
    if (cdrs.length === 0) {
      for (const row of rows) this.emit({ kind: 'unknown', row });
      return;
    }
    if (rows.length === 0) {
      for (const cdr of cdrs) this.emit({ kind: 'unmatched', cdr });
      return;
    }
    const pairs: Array<{ distance: number; row: number; cdr: number }> = [];
    for (let r = 0; r < rows.length; r += 1) {
      for (let c = 0; c < cdrs.length; c += 1) {
        const distance = Math.abs(rows[r]!.timeUs - cdrs[c]!.timeUs);
        if (distance <= this.windowUs && this.sameCall(rows[r]!, cdrs[c]!)) pairs.push({ distance, row: r, cdr: c });
      }
    }
    pairs.sort((a, b) => a.distance - b.distance
      || rows[a.row]!.row - rows[b.row]!.row
      || compareText(cdrs[a.cdr]!.cdrId, cdrs[b.cdr]!.cdrId));
    const rowTaken = new Array<boolean>(rows.length).fill(false);
    const cdrTaken = new Array<boolean>(cdrs.length).fill(false);
    /** The nearest candidate of each row, for a duplicate: the call it bills again. */
    const nearest = new Array<number>(rows.length).fill(-1);
    for (const pair of pairs) {
      if (nearest[pair.row] === -1) nearest[pair.row] = pair.cdr;
      if (rowTaken[pair.row] || cdrTaken[pair.cdr]) continue;
      rowTaken[pair.row] = true;
      cdrTaken[pair.cdr] = true;
      this.emit({ kind: 'pair', row: rows[pair.row]!, cdr: cdrs[pair.cdr]! });
    }
    rows.forEach((row, r) => {
      if (rowTaken[r]) return;
      this.emit(nearest[r] === -1 ? { kind: 'unknown', row } : { kind: 'duplicate', row, of: cdrs[nearest[r]!]! });
    });
    cdrs.forEach((cdr, c) => {
      if (!cdrTaken[c]) this.emit({ kind: 'unmatched', cdr });
    });
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
