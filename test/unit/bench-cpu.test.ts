/** The bench's CPU arithmetic (bench/cpu.ts): what it reads from /proc and what it concludes. */
import { consumerBudgetUs, cpuCeilingPerS, cpuPerEvent, findBrokerPid, procCpuUs, sampleCpu } from '../../bench/cpu';

describe('bench CPU accounting', () => {
  test('reads utime + stime (fields 14 and 15) after the command name, which may hold spaces and parentheses', () => {
    const line = '2946 (beam (smp) x) S 1 2946 2946 0 -1 4194560 123 0 0 0 1500 250 0 0 20 0 90 0 1234 0 0';
    expect(procCpuUs(line)).toBe((1500 + 250) * 10_000);
  });

  test('this process reads as its own CPU; a missing broker as null, never as zero', () => {
    const before = sampleCpu(null);
    let x = 0;
    for (let i = 0; i < 2_000_000; i += 1) x += Math.sqrt(i);
    const after = sampleCpu(null);
    expect(x).toBeGreaterThan(0);
    expect(after.selfUs).toBeGreaterThan(before.selfUs);
    expect(before.brokerUs).toBeNull();
    expect(cpuPerEvent(before, after, 10).brokerUs).toBeNull();
    expect(sampleCpu(2 ** 30).brokerUs).toBeNull(); // no such pid
    const pid = findBrokerPid();
    if (pid !== null) expect(sampleCpu(pid).brokerUs).toBeGreaterThan(0);
  });

  test('per-event costs, the ceiling they allow and the budget a target leaves', () => {
    const cost = cpuPerEvent({ selfUs: 1_000, brokerUs: 5_000 }, { selfUs: 31_000, brokerUs: 15_000 }, 1_000);
    expect(cost).toEqual({ consumerUs: 30, brokerUs: 10 });
    // 40 µs of CPU per event on 2 cores: 50,000 events/s at most.
    expect(cpuCeilingPerS(cost, 2)).toBe(50_000);
    expect(cpuCeilingPerS({ consumerUs: 30, brokerUs: null }, 2)).toBeNull();
    // 40,000 events/s on 2 cores is 50 µs per event, 10 of them the broker's.
    expect(consumerBudgetUs(40_000, 10, 2)).toBe(40);
    expect(consumerBudgetUs(40_000, null, 2)).toBeNull();
  });
});
