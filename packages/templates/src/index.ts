export { TEMPLATE_NAMES, templateFilePath, templatesDir, type TemplateName } from './paths.js';
export { renderTemplate, renderTemplateFile, type RenderOptions, type TemplateVars } from './render.js';
export { kernelTemplateVars, LIST_VARIABLES } from './vars.js';
export { parseRenderedDocuments, type KubernetesObject, type ParseDocumentsOptions } from './documents.js';
export { addTemplateFilter, FlowValue } from './environment.js';
export { doubleQuotedBody, jsonFlow, type JsonFlowOptions } from './escape.js';
export {
  RenderedYamlError,
  TemplateInjectionError,
  TemplateNameError,
  TemplateRenderError,
  TemplateSyntaxError,
  TemplateVariableError,
} from './errors.js';
