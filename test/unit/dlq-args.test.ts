import { parseDlqArgs } from '../../src/cli/commands/dlq';
import { UsageError } from '../../src/flags';

describe('parseDlqArgs', () => {
  it('parses each action with its defaults', () => {
    expect(parseDlqArgs(['stats'])).toEqual({ action: 'stats', format: 'table' });
    expect(parseDlqArgs(['peek', '--limit', '3', '--reason', 'decode.*', '--format', 'ndjson']))
      .toEqual({ action: 'peek', limit: 3, reason: 'decode.*', format: 'ndjson', bodyChars: 200 });
    expect(parseDlqArgs(['replay'])).toMatchObject({ action: 'replay', dryRun: false, maxReplays: 5, target: undefined });
    expect(parseDlqArgs(['replay', '--dry-run', '--to-exchange', 'x', '--routing-key', 'k', '--max-replays', '0']))
      .toMatchObject({ dryRun: true, target: { exchange: 'x', routingKey: 'k' }, maxReplays: 0 });
    expect(parseDlqArgs(['purge', '--reason', 'store.rejected'])).toEqual({ action: 'purge', reason: 'store.rejected', yes: false });
  });

  it('rejects bad or missing flags with a usage error', () => {
    expect(() => parseDlqArgs([])).toThrow(UsageError);
    expect(() => parseDlqArgs(['drain'])).toThrow(/unknown action/);
    expect(() => parseDlqArgs(['purge', '--yes'])).toThrow(/--reason: required/);
    expect(() => parseDlqArgs(['replay', '--to-exchange', 'x'])).toThrow(/both or neither/);
    expect(() => parseDlqArgs(['peek', '--limit', '0'])).toThrow(/--limit/);
    expect(() => parseDlqArgs(['peek', '--reason', 'a b'])).toThrow(/--reason/);
    expect(() => parseDlqArgs(['stats', '--format', 'csv'])).toThrow(/--format/);
  });
});
