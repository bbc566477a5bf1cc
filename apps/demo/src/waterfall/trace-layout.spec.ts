import { formatDuration, layoutTrace } from './trace-layout';
import { ITEM_CREATED_TRACE, span } from './test-spans';

describe('layoutTrace', () => {
  it('orders the spans depth-first from the root, whatever order they arrived in', () => {
    const layout = layoutTrace(ITEM_CREATED_TRACE);
    expect(layout.rows.map((row) => `${row.treePrefix}${row.span.name}`)).toEqual([
      'POST /api/items',
      '└─ request handler',
      '   └─ send item.created',
      '      ├─ publish',
      '      └─ process item.created',
      '         └─ hset',
    ]);
    expect(layout.rows.map((row) => row.depth)).toEqual([0, 1, 2, 3, 3, 4]);
  });

  it('marks the span whose parent ran in another service, and names that service', () => {
    const rows = layoutTrace(ITEM_CREATED_TRACE).rows;
    expect(rows.filter((row) => row.crossesProcess).map((row) => [row.span.name, row.parentService])).toEqual([
      ['process item.created', 'items-api'],
    ]);
  });

  it("places each span on the trace's time axis, the total running to the last end (after the response)", () => {
    const layout = layoutTrace(ITEM_CREATED_TRACE);
    expect(layout.totalMs).toBe(16);
    const hset = layout.rows.find((row) => row.span.name === 'hset');
    expect(hset).toMatchObject({ offsetMs: 14, durationMs: 1 });
  });

  it('sorts siblings by start time', () => {
    const layout = layoutTrace([
      span('root', undefined, 'a', 'root', 'SERVER', 0, 10),
      span('late', 'root', 'a', 'late', 'CLIENT', 5, 1),
      span('early', 'root', 'a', 'early', 'CLIENT', 1, 1),
    ]);
    expect(layout.rows.map((row) => row.span.name)).toEqual(['root', 'early', 'late']);
  });

  it('shows a span whose parent is missing as a root instead of dropping it', () => {
    const layout = layoutTrace([span('orphan', 'gone', 'b', 'process x', 'CONSUMER', 3, 1), span('root', undefined, 'a', 'root', 'SERVER', 0, 2)]);
    expect(layout.rows.map((row) => [row.span.name, row.depth, row.crossesProcess])).toEqual([
      ['root', 0, false],
      ['process x', 0, false],
    ]);
  });

  it('refuses spans of several traces, and no spans', () => {
    expect(() => layoutTrace([])).toThrow('no spans');
    expect(() => layoutTrace([span('a', undefined, 'a', 'a', 'SERVER', 0, 1), { ...span('b', undefined, 'a', 'b', 'SERVER', 0, 1), traceId: 'other' }])).toThrow(
      'spans of 2 traces',
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0.25, '250 µs'],
    [1.234, '1.23 ms'],
    [12.34, '12.3 ms'],
    [123.4, '123 ms'],
    [1234, '1.23 s'],
  ])('%s ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
