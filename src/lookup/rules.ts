/** The verdict a lookup's reasons give (docs/lookup.md); the reasons and thresholds are in options.ts. */
import { REASONS, type Action, type Reason } from './options';

export { REASONS, DEFAULT_ACTIONS, DEFAULT_INVALID_CODES, DEFAULT_RULES } from './options';
export type { Reason, Action, LookupRules } from './options';

export type Verdict = 'allow' | 'warn' | 'block';

/** The verdict the reasons give, and the reasons that count (those not ignored), in REASONS order. */
export function decide(found: ReadonlySet<Reason>, actions: Readonly<Record<Reason, Action>>): { verdict: Verdict; reasons: Reason[] } {
  let verdict: Verdict = 'allow';
  const reasons: Reason[] = [];
  for (const reason of REASONS) {
    if (!found.has(reason)) continue;
    const action = actions[reason];
    if (action === 'ignore') continue;
    reasons.push(reason);
    if (action === 'block') verdict = 'block';
    else if (verdict === 'allow') verdict = 'warn';
  }
  return { verdict, reasons };
}
