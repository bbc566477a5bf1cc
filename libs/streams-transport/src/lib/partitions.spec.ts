import { checkPartitions, partitionStreams, partitionTag, slotOf } from './partitions';

describe('partitions', () => {
  it('keeps the one stream its old name, and names partitions with a hash tag', () => {
    expect(partitionStreams('stream:', 'item.created', 1)).toEqual(['stream:item.created']);
    const streams = partitionStreams('stream:', 'item.created', 3);
    expect(streams).toHaveLength(3);
    streams.forEach((stream, index) => expect(stream).toBe(`stream:item.created:${partitionTag(index, 3)}`));
  });

  it.each([2, 3, 6, 9, 16])('puts partition i of %i in the i-th even share of the slots, the same slot for every pattern', (count) => {
    for (let index = 0; index < count; index++) {
      const slot = slotOf(partitionStreams('stream:', 'item.created', count)[index]);
      expect(slot).toBeGreaterThanOrEqual(Math.floor((index * 16384) / count));
      expect(slot).toBeLessThan(Math.floor(((index + 1) * 16384) / count));
      expect(slotOf(partitionStreams('stream:', 'item.get', count)[index])).toBe(slot);
    }
  });

  it('refuses a count out of 1–256', () => {
    for (const count of [0, -1, 1.5, 257]) expect(() => checkPartitions(count)).toThrow(`partitions=${count} is invalid`);
    expect(checkPartitions(256)).toBe(256);
  });
});
