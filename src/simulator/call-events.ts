/** A simulated call's events on the timeline: its SIP steps at a start time, plus the acc module's own events. */
import { accEvents } from './acc';
import type { CallModel, SimEvent } from './call-model';

/** The call's events at an absolute start time, plus the acc module's events when `acc` is on. */
export function callEvents(model: CallModel, startUs: number, acc: boolean): SimEvent[] {
  const events: SimEvent[] = model.steps.map((step) => ({
    kind: step.kind,
    timeUs: startUs + step.offsetUs,
    replyCode: step.code,
    direction: step.direction,
    caller: model.caller,
    callee: model.callee,
    accParams: null,
  }));
  if (acc) events.push(...accEvents(model, events));
  return events.sort((a, b) => a.timeUs - b.timeUs);
}
