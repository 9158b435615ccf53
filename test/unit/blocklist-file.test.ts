/** The block-list CSV: quoting, defaults, and one problem per bad line. */
import { csvFields, parseImport } from '../../src/lookup/blocklist-file';
import { DEFAULT_DIAL_PLAN } from '../../src/numbers/dial-plan';

const expiry = (text: string): number => {
  if (text === '7d') return 7;
  throw new Error(`bad expiry ${text}`);
};

test('csvFields reads RFC 4180 quoting on one line', () => {
  expect(csvFields('a,b,c')).toEqual(['a', 'b', 'c']);
  expect(csvFields(' "+88216*" , "a, ""quoted"" reason" ,')).toEqual(['+88216*', 'a, "quoted" reason', '']);
  expect(csvFields('"open')).toBeNull();
});

test('parseImport: header and comments skipped, defaults fill empty fields, every bad line reported', () => {
  const text = '# comment\nentry,reason,expires\n+37129123456,,7d\n\n+3712*,own reason,\nbob,x,\n+3712*,x,tomorrow\n+1,too,many,fields\n';
  const { rows, problems } = parseImport(text, DEFAULT_DIAL_PLAN, expiry, { reason: 'default reason', expiresAtUs: null });
  expect(rows).toEqual([
    { line: 3, entry: '+37129123456', reason: 'default reason', expiresAtUs: 7 },
    { line: 5, entry: '+3712*', reason: 'own reason', expiresAtUs: null },
  ]);
  expect(problems.map((p) => p.line)).toEqual([6, 7, 8]);
  expect(problems[0]!.message).toMatch(/^"bob": not a number under the dial plan/);
  expect(problems[1]!.message).toBe('bad expiry tomorrow');
});

test('a line without a reason and no default is a problem', () => {
  expect(parseImport('+37129123456\n', DEFAULT_DIAL_PLAN, expiry).problems).toEqual([{ line: 1, message: '"": a reason is one line of 1 to 200 printable characters' }]);
});
