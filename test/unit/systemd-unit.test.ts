/**
 * deploy/systemd/opensips-qbl.service: parsed here in any case (sections, the hardening, the
 * start command and secrets as files); where systemd is installed (Debian's `systemd` package),
 * also checked by `systemd-analyze verify` (the unit loads without a warning) and rated by
 * `systemd-analyze security --offline` (exposure at most 2.0).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const UNIT = join(ROOT, 'deploy', 'systemd', 'opensips-qbl.service');
const run = promisify(execFile);

/** section → key → values (a key may repeat), as systemd reads an INI-style unit file. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      return;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!pair || !current) throw new Error(`line ${i + 1} is neither a section nor Key=value: ${raw}`);
    current.set(pair[1]!, [...(current.get(pair[1]!) ?? []), pair[2]!]);
  });
  return sections;
}

const unit = parseUnit(readFileSync(UNIT, 'utf8'));
const service = unit.get('Service')!;
const value = (key: string) => service.get(key)?.at(-1);

function systemdAnalyze(): string | null {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return 'systemd-analyze';
  } catch {
    return null;
  }
}
const analyze = systemdAnalyze();
if (!analyze) console.warn('systemd-analyze is not installed: verify and security checks SKIPPED (the parser checks ran)');
const withSystemd = analyze ? test : test.skip;

describe('the systemd unit', () => {
  test('has the three sections and starts the built CLI with the service\'s Node flags', () => {
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install']);
    expect(value('ExecStart')).toBe('/usr/bin/node --max-semi-space-size=64 /opt/opensips-qbl/dist/src/cli/main.js start');
    expect(readFileSync(join(ROOT, 'package.json'), 'utf8')).toContain('"start": "node --max-semi-space-size=64 dist/src/cli/main.js start"');
    expect(unit.get('Install')!.get('WantedBy')).toEqual(['multi-user.target']);
  });

  test('stops gracefully, restarts on failure but not on a configuration error (exit 78)', () => {
    expect(value('KillSignal')).toBe('SIGTERM');
    expect(Number(value('TimeoutStopSec'))).toBeGreaterThanOrEqual(30);
    expect(value('Restart')).toBe('on-failure');
    expect(value('RestartPreventExitStatus')).toBe('78');
  });

  test('keeps its SQLite file in its state directory, and its secrets in files', () => {
    expect(value('StateDirectory')).toBe('opensips-qbl');
    expect(service.get('Environment')).toContain('SQLITE_PATH=/var/lib/opensips-qbl/qbl.db');
    const [name, path] = value('LoadCredential')!.split(':');
    expect(path!.startsWith('/etc/opensips-qbl/')).toBe(true);
    expect(service.get('Environment')).toContain(`AMQP_URL_FILE=%d/${name}`);
    expect(service.get('Environment')!.some((e) => /^(AMQP_URL|\w*PASSWORD|\w*API_KEY)=/.test(e))).toBe(false);
  });

  test('is hardened', () => {
    expect(value('DynamicUser')).toBe('yes');
    expect(value('NoNewPrivileges')).toBe('yes');
    expect(value('CapabilityBoundingSet')).toBe('');
    expect(value('ProtectSystem')).toBe('strict');
    for (const key of ['ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules',
      'ProtectControlGroups', 'RestrictNamespaces', 'RestrictSUIDSGID', 'LockPersonality']) {
      expect({ key, value: value(key) }).toEqual({ key, value: 'yes' });
    }
    expect(value('RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    expect(service.get('SystemCallFilter')).toEqual(['@system-service', '~@privileged']);
    // V8 compiles to executable memory: this one would stop Node.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
  });

  withSystemd('systemd-analyze verify loads it without a warning', async () => {
    // verify checks that ExecStart's program exists: where Node is elsewhere, point it there.
    const dir = mkdtempSync(join(tmpdir(), 'qbl-systemd-'));
    try {
      const copy = join(dir, 'opensips-qbl.service');
      const text = readFileSync(UNIT, 'utf8');
      writeFileSync(copy, existsSync('/usr/bin/node') ? text : text.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
      const { stdout, stderr } = await run(analyze!, ['verify', copy]);
      expect(`${stdout}${stderr}`).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  withSystemd('systemd-analyze security rates its exposure at most 2.0', async () => {
    const { stdout } = await run(analyze!, ['security', '--offline=true', '--no-pager', UNIT]);
    const exposure = Number(/Overall exposure level for opensips-qbl\.service: (\d+\.\d+)/.exec(stdout)?.[1]);
    expect(exposure).toBeLessThanOrEqual(2);
  });
});
