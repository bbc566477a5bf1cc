/** One measured figure of the fault suite, with its goal and whether it met it. */
export interface Figure {
  scenario: string;
  name: string;
  value: string;
  goal: string;
  pass: boolean;
}

/** The figures as a markdown table. */
export function figuresTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => `| ${f.scenario} | ${f.name} | ${f.value} | ${f.goal} | ${f.pass ? 'PASS' : '**MISS**'} |`);
  return ['| Scenario | Figure | Measured | Goal | |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

export function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

export const SECTION_START = '<!-- fault-suite:start -->';
export const SECTION_END = '<!-- fault-suite:end -->';

/** `document` with its fault-suite section (between the markers) replaced by `section`, or `section` appended. */
export function withSection(document: string, section: string): string {
  const start = document.indexOf(SECTION_START);
  const end = document.indexOf(SECTION_END);
  if (start === -1 || end < start) return `${document.trimEnd()}\n\n${section}\n`;
  return `${document.slice(0, start)}${section}${document.slice(end + SECTION_END.length)}`;
}
