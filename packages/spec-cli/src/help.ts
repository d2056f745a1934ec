/**
 * Renders `--help` and `--help-all` from an option table, in the layout of the reference's listing
 * (option, indented description, env var, Default, "Equivalent to"), so nothing is described twice.
 */
import type { AnyOptionDef, FlagAlias, OptionTable } from '@gp/core';

const WIDTH = 80;

/** Wraps text to `WIDTH` columns with the given indent; keeps explicit newlines. */
export function wrap(text: string, indent = '    '): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && indent.length + line.length + 1 + word.length > WIDTH) {
        out.push(indent + line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(indent + line);
  }
  return out;
}

function envMention(def: AnyOptionDef): string | undefined {
  if (def.env.length === 0) return undefined;
  return `(${def.env.join(' or ')} env var${def.envNote ? ` - ${def.envNote}` : ''})`;
}

function defaultText(def: AnyOptionDef): string {
  if (def.defaultText !== undefined) return def.defaultText;
  if (def.default === undefined) return 'None';
  return def.format(def.default);
}

function describeOption(def: AnyOptionDef, head: string, equivalent: string | undefined): string[] {
  const lines = [head];
  const env = envMention(def);
  lines.push(...wrap(env ? `${def.help} ${env}` : def.help));
  if (def.choices && def.kind !== 'enum') lines.push(`    Choices: any of [${def.choices.join(', ')}]`);
  if (def.kind !== 'bool') lines.push(...wrap(`Default: ${defaultText(def)}`));
  if (equivalent) lines.push(`    Equivalent to: [${equivalent}]`);
  return lines;
}

function describeAlias(alias: FlagAlias, table: OptionTable): string[] {
  const target = table.byName(alias.sets.option);
  return [`--${alias.flag}`, ...wrap(alias.help), `    Equivalent to: [--${target?.section ?? ''}.${alias.sets.option}=${alias.sets.value}]`];
}

export interface HelpDoc {
  description: string;
  /** Flag order for the Options listing (flags not listed follow in table order). */
  order?: readonly string[];
  /** Section order for `--help-all`. */
  sectionOrder?: readonly string[];
  /** Section inheritance, shown as `Section(Parent)` in `--help-all`. */
  parents?: Readonly<Record<string, readonly string[]>>;
  examples?: readonly string[];
  /** Paragraphs after the examples (e.g. precedence and the default config file). */
  epilog?: readonly string[];
}

/** The `--help` text: every flag with its description, env var, default and "Equivalent to" line. */
export function renderHelp(table: OptionTable, doc: HelpDoc, all = false): string {
  const lines: string[] = [doc.description, '', 'Options', '======='];
  lines.push(
    'The options below are convenience aliases to configurable class-options,',
    'as listed in the "Equivalent to" description-line of the aliases.',
    'To see all configurable class-options for some <cmd>, use:',
    '    <cmd> --help-all',
    '',
  );
  const flagged = new Map<string, string[]>();
  for (const def of table.list) {
    if (!def.flag) continue;
    const head = def.kind === 'bool' ? `--${def.flag}` : `--${def.flag}=${def.metavar}`;
    const eq = def.kind === 'bool' ? `--${def.section}.${def.name}=True` : `--${def.section}.${def.name}`;
    flagged.set(def.flag, describeOption(def, head, eq));
  }
  for (const alias of table.aliases) flagged.set(alias.flag, describeAlias(alias, table));
  const order = [...(doc.order ?? []).filter((f) => flagged.has(f)), ...[...flagged.keys()].filter((f) => !(doc.order ?? []).includes(f))];
  for (const f of order) lines.push(...flagged.get(f)!);

  if (all) {
    lines.push(
      '',
      'Class options',
      '=============',
      'The command-line option below sets the respective configurable class-parameter:',
      '    --Class.parameter=value',
      'Config files take the same names: {"Class": {"parameter": value}} or {"parameter": value}.',
    );
    const sections = [...(doc.sectionOrder ?? []), ...table.sections.filter((s) => !(doc.sectionOrder ?? []).includes(s))];
    for (const section of sections) {
      const defs = table.list.filter((d) => d.section === section).sort((a, b) => a.name.localeCompare(b.name));
      if (defs.length === 0) continue;
      const parents = doc.parents?.[section];
      const title = parents?.length ? `${section}(${parents.join(', ')}) options` : `${section} options`;
      lines.push('', title, '-'.repeat(title.length));
      for (const def of defs) lines.push(...describeOption(def, `--${section}.${def.name}=${def.metavar}`, undefined));
    }
  }
  if (doc.examples?.length) {
    lines.push('', 'Examples', '--------', '');
    for (const ex of doc.examples) lines.push(`    ${ex}`, '');
    lines.pop();
  }
  for (const para of doc.epilog ?? []) lines.push('', ...wrap(para, ''));
  if (!all) lines.push('', 'To see all available configurables, use `--help-all`.');
  return lines.join('\n') + '\n';
}
