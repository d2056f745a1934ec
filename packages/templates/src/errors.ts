/**
 * Typed errors of @gp/templates. Every message names the template (and line, where known), the bad value and
 * what would be valid.
 */
import { ConfigError, GpError, type GpErrorOptions, type ValueSource } from '@gp/core';

/** Where a template variable came from: `kernel_cpus` comes from the request's `KERNEL_CPUS`. */
export function variableSource(name: string | undefined): ValueSource {
  if (name && /^kernel_[a-z0-9_]+$/.test(name)) return { kind: 'request', name: name.toUpperCase() };
  return { kind: 'request', name: name ?? 'a template expression' };
}

/** Values in messages: long text is cut (the full value stays out of logs and HTTP answers). */
export function shortenValue(value: unknown): unknown {
  if (typeof value === 'string' && value.length > 200) return `${value.slice(0, 200)}... (${value.length} characters)`;
  return value;
}

/** A template variable whose value is not usable (bad type, unparsable list, reserved characters...). */
export class TemplateVariableError extends ConfigError {
  constructor(variable: string, value: unknown, expected: string, options: GpErrorOptions = {}) {
    super(variable, variableSource(variable), shortenValue(value), expected, options);
  }
}

/**
 * A value that would change the YAML structure of the rendered template (add or remove fields, items or
 * documents, or not stay the scalar the template puts it in). The render is refused; nothing is created.
 */
export class TemplateInjectionError extends ConfigError {
  constructor(variable: string, value: unknown, template: string, where: string, options: GpErrorOptions = {}) {
    super(
      variable,
      variableSource(variable),
      shortenValue(value),
      `a value that stays a single YAML scalar where ${template} places it (${where}); quote the placeholder in the template ("{{ ${variable} }}") or use {{ ${variable} | yaml_safe }}`,
      { ...options, details: { template, where, ...options.details } },
    );
  }
}

/** The template source itself is not valid Jinja/nunjucks syntax (or uses something gp does not support). */
export class TemplateSyntaxError extends GpError {
  constructor(message: string, options: GpErrorOptions = {}) {
    super('GP_TEMPLATE_SYNTAX', message, { httpStatus: 500, ...options });
  }
}

/** Rendering failed at run time (a filter refused a value, an undefined object was indexed...). */
export class TemplateRenderError extends GpError {
  constructor(message: string, options: GpErrorOptions = {}) {
    super('GP_TEMPLATE_RENDER', message, { httpStatus: 500, ...options });
  }
}

/** The rendered text is not acceptable YAML for Kubernetes objects (syntax, duplicate keys, aliases, non-objects). */
export class RenderedYamlError extends GpError {
  constructor(message: string, options: GpErrorOptions = {}) {
    super('GP_INVALID_MANIFEST', message, { httpStatus: 500, ...options });
  }
}

/** An unknown or unsafe template name was asked of `templateFilePath`. */
export class TemplateNameError extends ConfigError {
  constructor(name: string, expected: string) {
    super('template', { kind: 'default' }, name, expected);
  }
}
