import { renderTextWaterfall } from './text-waterfall';
import { layoutTrace } from './trace-layout';
import { ITEM_CREATED_TRACE, span } from './test-spans';

describe('renderTextWaterfall', () => {
  const lines = renderTextWaterfall(layoutTrace(ITEM_CREATED_TRACE), { barWidth: 16 }).split('\n');

  it('prints a header and one line per span: tree, service, kind, bar, duration', () => {
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^span\s+service\s+kind\s+0\s+16\.0 ms\s+duration$/);
    expect(lines[1]).toMatch(/^POST \/api\/items\s+items-api\s+SERVER\s+█{10}\s+10\.0 ms$/);
    expect(lines[6]).toMatch(/^\s+└─ hset\s+redis-consumer\s+CLIENT\s+/);
  });

  it('draws each bar at its offset on the time axis, proportional to its duration', () => {
    const barColumn = lines[0].indexOf('  0') + 2;
    const bars = lines.slice(1).map((line) => line.slice(barColumn, barColumn + 16));
    // 16 columns for 16 ms: one column per millisecond.
    expect(bars[0]).toBe(`${'█'.repeat(10)}${' '.repeat(6)}`);
    expect(bars[4]).toBe(`${' '.repeat(12)}${'█'.repeat(4)}`);
    expect(bars[5]).toBe(`${' '.repeat(14)}█ `);
  });

  it('marks the hop between processes with the service the parent ran in', () => {
    expect(lines.filter((line) => line.includes('⇠'))).toEqual([expect.stringMatching(/process item\.created.*⇠ items-api$/)]);
  });

  it('flags failed spans, and colours only when asked', () => {
    const failed = layoutTrace([span('root', undefined, 'items-api', 'send item.get', 'PRODUCER', 0, 2, 'ERROR')]);
    expect(renderTextWaterfall(failed)).toMatch(/2\.00 ms ERROR/);
    expect(renderTextWaterfall(failed)).not.toContain('\x1b[');
    expect(renderTextWaterfall(failed, { color: true })).toContain('\x1b[31m');
  });

  it('keeps a bar visible for a span too short for one column', () => {
    const layout = layoutTrace([span('root', undefined, 'a', 'root', 'SERVER', 0, 100), span('tiny', 'root', 'a', 'tiny', 'CLIENT', 50, 0.01)]);
    expect(renderTextWaterfall(layout, { barWidth: 10 }).split('\n')[2]).toContain('     █    ');
  });
});
