import { describe, expect, it } from 'vitest';
import { parseExposition, sampleValue } from './prometheus-parser.js';
import { escapeLabelValue, Registry } from './registry.js';

describe('the Prometheus registry', () => {
  it('escapes label values and HELP text as the format says, and a real parser reads them back unchanged', () => {
    const r = new Registry();
    const c = r.counter({ name: 'x_total', type: 'counter', labels: ['v'], help: 'a \\ back\nslash' });
    const nasty = 'quote " backslash \\ newline \n end';
    c.inc({ v: nasty }, 2);
    c.inc({ v: 'plain' });
    const text = r.expose();
    expect(text).toContain('x_total{v="quote \\" backslash \\\\ newline \\n end"} 2\n');
    expect(text).toContain('# HELP x_total a \\\\ back\\nslash\n# TYPE x_total counter\n');
    const families = parseExposition(text);
    expect(families[0]!.help).toBe('a \\ back\nslash');
    expect(sampleValue(families, 'x_total', { v: nasty })).toBe(2);
    expect(sampleValue(families, 'x_total', { v: 'plain' })).toBe(1);
    expect(escapeLabelValue('a"b')).toBe('a\\"b');
  });

  it('writes histograms with cumulative buckets, +Inf, _sum and _count', () => {
    const r = new Registry();
    const h = r.histogram({ name: 'd_seconds', type: 'histogram', labels: ['k'], help: 'durations', buckets: [0.1, 1, 10] });
    for (const v of [0.05, 0.1, 0.5, 5, 50]) h.observe({ k: 'a' }, v);
    const text = r.expose();
    expect(text).toContain('d_seconds_bucket{k="a",le="0.1"} 2\nd_seconds_bucket{k="a",le="1"} 3\nd_seconds_bucket{k="a",le="10"} 4\nd_seconds_bucket{k="a",le="+Inf"} 5\n');
    const families = parseExposition(text);
    expect(families).toHaveLength(1);
    expect(families[0]!.type).toBe('histogram');
    expect(sampleValue(families, 'd_seconds_bucket', { k: 'a', le: '+Inf' })).toBe(5);
    expect(sampleValue(families, 'd_seconds_sum', { k: 'a' })).toBeCloseTo(55.65);
    expect(sampleValue(families, 'd_seconds_count', { k: 'a' })).toBe(5);
  });

  it('reads collected gauges at scrape time and rejects bad definitions and uses', () => {
    const r = new Registry();
    let n = 1;
    r.gauge({ name: 'g', type: 'gauge', labels: [], help: 'g' }).collect(() => [{ labels: {}, value: n }]);
    expect(sampleValue(parseExposition(r.expose()), 'g')).toBe(1);
    n = 7;
    expect(sampleValue(parseExposition(r.expose()), 'g')).toBe(7);
    expect(() => r.gauge({ name: 'g', type: 'gauge', labels: [], help: 'again' })).toThrow(/twice/);
    expect(() => r.counter({ name: 'bad-name', type: 'counter', labels: [], help: '' })).toThrow(/Invalid metric name/);
    expect(() => r.counter({ name: 'c', type: 'counter', labels: ['le'], help: '' })).toThrow(/Invalid label name/);
    expect(() => r.histogram({ name: 'h', type: 'histogram', labels: [], help: '', buckets: [1, 1] })).toThrow(/ascending/);
    const c = r.counter({ name: 'c2_total', type: 'counter', labels: ['a'], help: '' });
    expect(() => c.inc({ a: 'x' }, -1)).toThrow(/only go up/);
    expect(() => c.inc({})).toThrow(/needs the label a/);
  });
});
