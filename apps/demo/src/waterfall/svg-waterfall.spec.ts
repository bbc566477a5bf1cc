import { renderSvgWaterfall } from './svg-waterfall';
import { layoutTrace } from './trace-layout';
import { ITEM_CREATED_TRACE, span } from './test-spans';

/** Every start tag with its attribute names: enough to catch what SVG viewers reject (repeated attributes). */
function tags(svg: string): { name: string; attributes: string[] }[] {
  return [...svg.matchAll(/<([a-z]+)((?:\s+[a-z:-]+='[^']*')*)\s*\/?>/g)].map(([, name, attributes]) => ({
    name,
    attributes: [...attributes.matchAll(/([a-z:-]+)=/g)].map(([, attribute]) => attribute),
  }));
}

describe('renderSvgWaterfall', () => {
  const svg = renderSvgWaterfall([{ title: 'POST /api/items → 202', layout: layoutTrace(ITEM_CREATED_TRACE) }], { width: 1000 });

  it('is one SVG document whose tags are all closed and whose attributes are not repeated', () => {
    expect(svg.startsWith("<svg xmlns='http://www.w3.org/2000/svg'")).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    const opened = (svg.match(/<(text|tspan)\b/g) ?? []).length;
    expect((svg.match(/<\/(text|tspan)>/g) ?? []).length).toBe(opened);
    for (const tag of tags(svg)) expect(new Set(tag.attributes).size).toBe(tag.attributes.length);
  });

  it('draws one bar per span, coloured by service, and a connector for the hop between services', () => {
    const bars = tags(svg).filter((tag) => tag.name === 'rect' && tag.attributes.includes('rx'));
    // Two legend swatches plus six spans.
    expect(bars).toHaveLength(8);
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(1);
    expect(svg).toContain('>items-api</text>');
    expect(svg).toContain('>redis-consumer</text>');
  });

  it('escapes text that would break the markup', () => {
    const layout = layoutTrace([span('root', undefined, 'a<b>', "GET /api/items?q=<x>&y='1'", 'SERVER', 0, 1)]);
    const escaped = renderSvgWaterfall([{ title: 'a & b', layout }]);
    expect(escaped).toContain('a &#38; b');
    expect(escaped).toContain('GET /api/items?q=&#60;x&#62;&#38;y=&#39;1&#39;');
    expect(escaped).not.toContain('<x>');
  });
});
