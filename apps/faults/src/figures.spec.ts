import { figuresTable, ms, SECTION_END, SECTION_START, withSection } from './figures';

describe('fault suite figures', () => {
  it('prints a markdown table, marking missed goals', () => {
    const table = figuresTable([
      { scenario: 'Redis down 30 s', name: 'reconnect', value: ms(1234.4), goal: '≤ 5000 ms', pass: true },
      { scenario: 'steady', name: 'lost', value: '3', goal: '0', pass: false },
    ]);
    expect(table.split('\n')).toEqual([
      '| Scenario | Figure | Measured | Goal | |',
      '| --- | --- | --- | --- | --- |',
      '| Redis down 30 s | reconnect | 1234 ms | ≤ 5000 ms | PASS |',
      '| steady | lost | 3 | 0 | **MISS** |',
    ]);
  });

  it('replaces only its own section of the report, keeping the prose around it', () => {
    const document = `# Reliability\n\nintro\n\n${SECTION_START}\nold table\n${SECTION_END}\n\n## Notes\n`;
    const section = `${SECTION_START}\nnew table\n${SECTION_END}`;
    expect(withSection(document, section)).toBe(`# Reliability\n\nintro\n\n${section}\n\n## Notes\n`);
    expect(withSection('# Reliability\n', section)).toBe(`# Reliability\n\n${section}\n`);
  });
});
