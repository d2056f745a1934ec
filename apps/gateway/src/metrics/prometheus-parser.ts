/**
 * Test helper: parses an exposition with Python's `prometheus_client` parser (a real, independent parser; the
 * venv pins it) and returns its families and samples. A malformed exposition makes the parser raise: that
 * rejects with its message.
 */
import { execFileSync } from 'node:child_process';
import { testPython } from '@gp/testkit';

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)} for s in f.samples]})
print(json.dumps(out))
`;

export function parseExposition(text: string): ParsedFamily[] {
  const json = execFileSync(testPython(), ['-c', SCRIPT], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  const families = JSON.parse(json) as Array<Omit<ParsedFamily, 'samples'> & { samples: Array<Omit<ParsedSample, 'value'> & { value: number | string }> }>;
  return families.map((f) => ({
    ...f,
    samples: f.samples.map((s) => ({ ...s, value: typeof s.value === 'number' ? s.value : s.value === 'inf' ? Infinity : s.value === '-inf' ? -Infinity : NaN })),
  }));
}

/** The value of the sample `name` whose labels include `labels` (summed over the rest), 0 when there is none. */
export function sampleValue(families: readonly ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const f of families) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
  }
  return total;
}
