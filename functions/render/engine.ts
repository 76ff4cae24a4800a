/**
 * The template engine: handlebars with the kit's helpers, compiled once per process from the files
 * functions/config reads, and rendered per delivery step with every incident field escaped for the
 * part it lands in (see values.ts). Mistakes in templates surface at compile time with file:line:col.
 */
import Handlebars from 'handlebars';
import { RECEIVER_KINDS, type ReceiverKind } from '../config/schema.js';
import type { DeliveryStep } from '../core/delivery.js';
import { KitError } from '../core/errors.js';
import { templateContext as buildContext, type RenderOptions, type TemplateContext } from './context.js';
import { UNTRUSTED_CLOSE, UNTRUSTED_OPEN } from './escape.js';
import { HELPERS, RENDER_STATE_KEY, type RenderState } from './helpers.js';
import { UnsafePlacement, resolveJsonPart } from './json-parts.js';
import { partsFor as partTable, type PartFormat, type PartSpec } from './parts.js';
import { checkTemplateFields } from './check-fields.js';
import { findJsonFault, type JsonFault } from './json-locate.js';
import { probeSteps } from './probes.js';
import { sanitiseHtml } from './sanitise-html.js';
import { KNOWN_HELPERS, checkProgram, checkTemplateShape, displayPath, inlineNames, inlinePrograms, parseSource, syntaxError, templateError, type Node } from './template-shape.js';
import { normaliseSms } from './sms.js';
import type { RenderedMessage, TemplateFile } from './types.js';
import { escapingFor, wrapContext } from './values.js';

export type { RenderOptions, TemplateContext } from './context.js';
export type { PartFormat } from './parts.js';

declare const templateSetBrand: unique symbol;
/** Compiled templates and partials. Opaque: use the functions of this module. */
export interface TemplateSet {
  readonly [templateSetBrand]: true;
}

/** HTML parts let Handlebars escape too (belt and braces); other parts escape only through the values. */
type Mode = 'escape' | 'raw';
const MODES: Mode[] = ['escape', 'raw'];
const modeOf = (format: PartFormat): Mode => (format === 'html' ? 'escape' : 'raw');

interface CompiledTemplate {
  kind: ReceiverKind;
  name: string;
  file: string;
  parts: Map<string, Record<Mode, HandlebarsTemplateDelegate>>;
  /** each part's AST, to find where in the template a JSON error comes from */
  programs: Map<string, hbs.AST.Program>;
  /** shared partials plus this file's own inline blocks, per mode */
  partials: Record<Mode, Record<string, HandlebarsTemplateDelegate>>;
}

interface Internals {
  templates: Map<string, CompiledTemplate>;
}

const INTERNALS = new WeakMap<TemplateSet, Internals>();

const env = Handlebars.create();
env.unregisterHelper('log');
for (const [name, fn] of Object.entries(HELPERS)) env.registerHelper(name, fn);

function compileOptions(mode: Mode): CompileOptions {
  return {
    noEscape: mode === 'raw',
    strict: false,
    preventIndent: true,
    knownHelpers: Object.fromEntries([...KNOWN_HELPERS].map((h) => [h, true])),
  };
}

const RUNTIME_OPTIONS = { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false } as const;

export function partsFor(kind: ReceiverKind): ReadonlyArray<{ name: string; format: PartFormat }> {
  return partTable(kind);
}

export function templateContext(step: DeliveryStep, options: RenderOptions): TemplateContext {
  return buildContext(step, options);
}

// ---------------------------------------------------------------------------------------------
// errors

function precheck(file: string, program: hbs.AST.Program): void {
  try {
    env.precompile(program, compileOptions('raw'));
  } catch (e) {
    throw syntaxError(file, e);
  }
}

function compileBoth(program: hbs.AST.Program): Record<Mode, HandlebarsTemplateDelegate> {
  return {
    escape: env.compile(program, compileOptions('escape')),
    raw: env.compile(program, compileOptions('raw')),
  };
}

/**
 * A partial is used two ways: inside a line (a JSON string, a sentence), where its file's final
 * newline must not appear, and alone on a line, where Handlebars eats the line's newline and expects
 * the partial to bring one. Standalone uses are renamed to the `#line` variant at compile time; the
 * plain name yields the output without a final newline, the `#line` variant with exactly one (and
 * nothing at all when the partial rendered nothing, so an empty block leaves no blank line).
 */
const LINE_VARIANT = '#line';

function markStandalonePartials(program: hbs.AST.Program): void {
  const visitBody = (body: hbs.AST.Statement[]): void => {
    body.forEach((stmt, i) => {
      const n = stmt as Node;
      if (n.type === 'PartialStatement') {
        const next = body[i + 1] as { type: string; original?: unknown; rightStripped?: boolean } | undefined;
        const strip = n.strip as hbs.AST.StripFlags | undefined;
        const standalone = !strip?.close && next?.type === 'ContentStatement' && next.rightStripped === true && /^[ \t]*\r?\n/.test(String(next.original));
        const name = n.name as hbs.AST.PathExpression;
        if (standalone && name.type === 'PathExpression' && name.original !== '@partial-block') {
          name.original += LINE_VARIANT;
          name.parts = [name.original];
        }
      }
      for (const key of ['program', 'inverse'] as const) {
        const child = n[key] as hbs.AST.Program | undefined;
        if (child) visitBody(child.body);
      }
    });
  };
  visitBody(program.body);
}

function partialVariants(name: string, fn: HandlebarsTemplateDelegate): Record<string, HandlebarsTemplateDelegate> {
  return {
    [name]: (ctx, opts) => fn(ctx, opts).replace(/\r?\n$/, ''),
    [name + LINE_VARIANT]: (ctx, opts) => {
      const out = fn(ctx, opts);
      return out === '' || out.endsWith('\n') ? out : `${out}\n`;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// compile

const TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]*$/;
const PARTIAL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\/[A-Za-z0-9][A-Za-z0-9_-]*)*$/;

export interface TemplateCompileOptions {
  /**
   * Check every path a template reads against the documented context (default on). Off only for
   * tests of what the renderer does with a path that is not there.
   */
  checkFields?: boolean;
}

export interface CompileReport {
  /** null when any problem was found */
  set: TemplateSet | null;
  /** every problem, each once, in file order */
  problems: KitError[];
}

const asKitError = (e: unknown): KitError => {
  if (e instanceof KitError) return e;
  throw e;
};

/** Compiles every template and reports every problem found, not only the first. */
export function compileTemplatesReport(files: TemplateFile[], options: TemplateCompileOptions = {}): CompileReport {
  const problems: KitError[] = [];
  const partialSources = new Map<string, { file: string; ast: hbs.AST.Program }>();
  const templateSources: Array<{ kind: ReceiverKind; name: string; file: string; ast: hbs.AST.Program }> = [];

  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const path = f.path.replace(/\\/g, '/').replace(/^\.\//, '');
    if (!path.endsWith('.hbs')) continue;
    try {
      const segments = path.slice(0, -'.hbs'.length).split('/');
      if (segments[0] === 'partials' && segments.length > 1) {
        const name = segments.slice(1).join('/');
        if (!PARTIAL_NAME.test(name)) throw templateError(`partial name "${name}" may only use letters, digits, "-" and "_"`, path);
        partialSources.set(name, { file: path, ast: parseSource(path, f.source) });
        continue;
      }
      const [kind, name] = segments;
      if (segments.length !== 2 || !kind || !name || !(RECEIVER_KINDS as readonly string[]).includes(kind)) {
        throw templateError(
          `templates are read from <receiver kind>/<name>.hbs (kinds: ${RECEIVER_KINDS.join(', ')}) or partials/<name>.hbs`,
          path,
        );
      }
      if (!TEMPLATE_NAME.test(name)) throw templateError(`template name "${name}" may only use lower-case letters, digits and "-"`, path);
      templateSources.push({ kind: kind as ReceiverKind, name, file: path, ast: parseSource(path, f.source) });
    } catch (e) {
      problems.push(asKitError(e));
    }
  }

  const sharedNames = new Set(partialSources.keys());
  for (const [name, { file, ast }] of partialSources) {
    try {
      checkProgram(file, ast, new Set([...sharedNames, ...inlineNames(ast)]));
    } catch (e) {
      problems.push(asKitError(e));
      partialSources.delete(name);
    }
  }

  const sound: typeof templateSources = [];
  for (const t of templateSources) {
    try {
      checkTemplateShape(t.kind, t.file, t.ast, sharedNames);
      sound.push(t);
    } catch (e) {
      problems.push(asKitError(e));
    }
  }

  // fields before anything is compiled: the AST still has the partial names as written
  const fieldProblems = new Set<string>();
  if (options.checkFields !== false) {
    for (const p of checkTemplateFields(sound, partialSources, KNOWN_HELPERS)) {
      fieldProblems.add(p.file);
      problems.push(templateError(p.message, p.file, p.loc));
    }
  }

  const shared: Record<Mode, Record<string, HandlebarsTemplateDelegate>> = { escape: {}, raw: {} };
  for (const [name, { file, ast }] of partialSources) {
    try {
      markStandalonePartials(ast);
      precheck(file, ast);
      const both = compileBoth(ast);
      for (const mode of MODES) Object.assign(shared[mode], partialVariants(name, both[mode]));
    } catch (e) {
      problems.push(asKitError(e));
    }
  }

  const templates = new Map<string, CompiledTemplate>();
  for (const { kind, name, file, ast } of sound) {
    try {
      markStandalonePartials(ast);
      const parts = new Map<string, Record<Mode, HandlebarsTemplateDelegate>>();
      const programs = new Map<string, hbs.AST.Program>();
      const own: Record<Mode, Record<string, HandlebarsTemplateDelegate>> = { escape: {}, raw: {} };
      for (const [part, program] of inlinePrograms(ast)) {
        precheck(file, program);
        const both = compileBoth(program);
        parts.set(part, both);
        programs.set(part, program);
        for (const mode of MODES) Object.assign(own[mode], partialVariants(part, both[mode]));
      }
      templates.set(`${kind}/${name}`, {
        kind,
        name,
        file,
        parts,
        programs,
        partials: { escape: { ...shared.escape, ...own.escape }, raw: { ...shared.raw, ...own.raw } },
      });
    } catch (e) {
      problems.push(asKitError(e));
    }
  }

  // A JSON part is tried with made-up steps now, so a template that can write invalid JSON is
  // named once, at its own line, rather than once per delivery at an offset in the output.
  // (a template whose partial is broken fails to render here and is skipped: the partial is reported)
  for (const tpl of templates.values()) {
    if (fieldProblems.has(tpl.file)) continue;
    for (const spec of partTable(tpl.kind)) {
      if (spec.format !== 'json') continue;
      for (const { step, options: renderOptions } of probeSteps(tpl.kind, tpl.name)) {
        const context = buildContext(step, renderOptions);
        let out: string;
        try {
          out = renderRaw(tpl, spec, context, allowedLinksOf(context));
        } catch {
          break; // a render error, not a JSON one: reported where it happens
        }
        const fault = findJsonFault(out);
        if (fault) {
          problems.push(jsonProblem(tpl, spec, context, allowedLinksOf(context), fault));
          break;
        }
      }
    }
  }

  if (problems.length > 0) return { set: null, problems };
  const set = Object.freeze({}) as TemplateSet;
  INTERNALS.set(set, { templates });
  return { set, problems };
}

/** Compiles every template; throws the first problem (see compileTemplatesReport for all of them). */
export function compileTemplates(files: TemplateFile[], options: TemplateCompileOptions = {}): TemplateSet {
  const report = compileTemplatesReport(files, options);
  if (!report.set) throw report.problems[0]!;
  return report.set;
}

// ---------------------------------------------------------------------------------------------
// where in the template a JSON part goes wrong

const MARK_OPEN = '\uE010';
const MARK_CLOSE = '\uE011';
const MARKS = new RegExp(`${MARK_OPEN}([0-9a-z]+)${MARK_CLOSE}`, 'g');

interface Mark {
  loc: hbs.AST.SourceLocation | null | undefined;
  /** for text of the template itself: where in it an offset falls */
  content?: { original: string; value: string };
}

/**
 * A copy of the part whose output says, before each piece, which statement of the template wrote
 * it; the rendered text minus the marks is exactly the real output.
 */
function instrument(program: hbs.AST.Program): { program: hbs.AST.Program; marks: Mark[] } {
  const copy = structuredClone(program);
  const marks: Mark[] = [];
  const mark = (m: Mark) => `${MARK_OPEN}${(marks.push(m) - 1).toString(36)}${MARK_CLOSE}`;
  const visitBody = (body: hbs.AST.Statement[]): void => {
    const out: hbs.AST.Statement[] = [];
    for (const stmt of body) {
      const n = stmt as Node;
      if (n.type === 'ContentStatement') {
        const c = n as unknown as hbs.AST.ContentStatement;
        c.value = mark({ loc: c.loc, content: { original: String((c as { original?: unknown }).original ?? c.value), value: c.value } }) + c.value;
      } else if (['MustacheStatement', 'BlockStatement', 'PartialStatement', 'PartialBlockStatement'].includes(String(n.type))) {
        const m = mark({ loc: n.loc });
        out.push({ type: 'ContentStatement', value: m, original: m, loc: n.loc } as unknown as hbs.AST.Statement);
        for (const key of ['program', 'inverse'] as const) {
          const child = n[key] as hbs.AST.Program | undefined;
          if (child) visitBody(child.body);
        }
      }
      out.push(stmt);
    }
    body.splice(0, body.length, ...out);
  };
  visitBody(copy.body);
  return { program: copy, marks };
}

function positionIn(mark: Mark, offset: number): { line?: number; column?: number } {
  if (!mark.loc) return {};
  if (!mark.content) return { line: mark.loc.start.line, column: mark.loc.start.column + 1 };
  const { original, value } = mark.content;
  const upto = Math.max(0, original.indexOf(value)) + offset;
  let line = mark.loc.start.line;
  let column = mark.loc.start.column;
  for (const ch of original.slice(0, upto)) {
    if (ch === '\n') {
      line++;
      column = 0;
    } else column++;
  }
  return { line, column: column + 1 };
}

function jsonProblem(tpl: CompiledTemplate, spec: PartSpec, context: TemplateContext, allowedLinks: ReadonlySet<string>, fault: JsonFault): KitError {
  let loc: { line?: number; column?: number } | undefined;
  let near = '';
  const program = tpl.programs.get(spec.name);
  if (program) {
    try {
      const { program: marked, marks } = instrument(program);
      const fn = env.compile(marked, compileOptions('raw'));
      const out = fn(wrapContext(context, escapingFor(spec).untrusted), {
        data: { [RENDER_STATE_KEY]: { escaping: escapingFor(spec), allowedLinks, now: new Date(context.now) } satisfies RenderState },
        partials: tpl.partials.raw,
        ...RUNTIME_OPTIONS,
      });
      // clean offset → (mark, offset since it)
      let clean = 0;
      let last = { mark: -1, at: 0 };
      let found: { mark: number; offset: number } | null = null;
      let pos = 0;
      for (const m of out.matchAll(MARKS)) {
        const i = m.index ?? 0;
        const length = i - pos;
        if (!found && last.mark >= 0 && fault.at < clean + length) found = { mark: last.mark, offset: fault.at - clean + last.at };
        clean += length;
        last = { mark: Number.parseInt(m[1]!, 36), at: 0 };
        pos = i + m[0].length;
      }
      if (!found && last.mark >= 0) found = { mark: last.mark, offset: fault.at - clean };
      if (found) loc = positionIn(marks[found.mark]!, Math.max(0, found.offset));
    } catch {
      loc = undefined;
    }
  }
  const text = renderRawSafe(tpl, spec, context, allowedLinks);
  if (text !== null) {
    near = text
      .slice(Math.max(0, fault.at - 30), fault.at + 30)
      .replace(new RegExp(`[${UNTRUSTED_OPEN}${UNTRUSTED_CLOSE}]`, 'g'), '')
      .replace(/\s+/g, ' ');
  }
  return templateError(`part "${spec.name}" is not valid JSON: ${fault.message}${near ? ` near "${near}"` : ''}`, tpl.file, loc, spec.name);
}

function internalsOf(set: TemplateSet): Internals {
  const i = INTERNALS.get(set);
  if (!i) throw new KitError('not a template set made by compileTemplates()', { kind: 'template' });
  return i;
}

export function listTemplates(set: TemplateSet): Array<{ kind: ReceiverKind; name: string; file: string }> {
  return [...internalsOf(set).templates.values()].map((t) => ({ kind: t.kind, name: t.name, file: displayPath(t.file) }));
}

export function hasTemplate(set: TemplateSet, kind: ReceiverKind, name: string): boolean {
  return internalsOf(set).templates.has(`${kind}/${name}`);
}

// ---------------------------------------------------------------------------------------------
// render

function finishText(spec: PartSpec, out: string): string {
  switch (spec.format) {
    case 'html':
      return sanitiseHtml(out).trim();
    case 'line':
      return out.replace(/\s+/g, ' ').trim();
    case 'text': {
      const text = out
        .replace(/\r\n?/g, '\n')
        .split('\n')
        .map((l) => l.trimEnd())
        .join('\n')
        .replace(/\n{3,}/g, '\n\n')
        .trim();
      return spec.dialect === 'sms' ? normaliseSms(text) : text;
    }
    default:
      return out.trim();
  }
}

function renderRaw(tpl: CompiledTemplate, spec: PartSpec, context: TemplateContext, allowedLinks: ReadonlySet<string>): string {
  const escaping = escapingFor(spec);
  const mode = modeOf(spec.format);
  const fn = tpl.parts.get(spec.name)?.[mode];
  if (!fn) throw templateError(`${tpl.kind} templates need the part "${spec.name}"`, tpl.file, undefined, spec.name);
  const state: RenderState = { escaping, allowedLinks, now: new Date(context.now) };
  try {
    return fn(wrapContext(context, escaping.untrusted), {
      data: { [RENDER_STATE_KEY]: state },
      partials: tpl.partials[mode],
      ...RUNTIME_OPTIONS,
    });
  } catch (e) {
    const err = e as Error & { lineNumber?: number; column?: number };
    const loc = typeof err.lineNumber === 'number' ? { line: err.lineNumber, column: (err.column ?? 0) + 1 } : undefined;
    const message = String(err?.message ?? e).replace(/ - \d+:\d+$/, '');
    throw Object.assign(templateError(`part "${spec.name}" failed to render: ${message}`, tpl.file, loc, spec.name), { cause: e });
  }
}

function renderRawSafe(tpl: CompiledTemplate, spec: PartSpec, context: TemplateContext, allowedLinks: ReadonlySet<string>): string | null {
  try {
    return renderRaw(tpl, spec, context, allowedLinks);
  } catch {
    return null;
  }
}

function renderPart(tpl: CompiledTemplate, spec: PartSpec, context: TemplateContext, allowedLinks: ReadonlySet<string>): unknown {
  const out = renderRaw(tpl, spec, context, allowedLinks);
  if (spec.format !== 'json') return finishText(spec, out);
  const fault = findJsonFault(out);
  if (fault) throw jsonProblem(tpl, spec, context, allowedLinks, fault);
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch (e) {
    throw templateError(`part "${spec.name}" is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, tpl.file, undefined, spec.name);
  }
  try {
    return resolveJsonPart(spec, parsed, allowedLinks);
  } catch (e) {
    if (e instanceof UnsafePlacement) throw templateError(`part "${spec.name}": ${e.message}`, tpl.file, undefined, spec.name);
    throw e;
  }
}

function allowedLinksOf(context: TemplateContext): Set<string> {
  return new Set(
    [context.incident.links.defender, context.incident.links.sentinel, context.shortUrl, context.ticket?.url].filter((u): u is string => typeof u === 'string'),
  );
}

export function renderStep(set: TemplateSet, step: DeliveryStep, options: RenderOptions): RenderedMessage {
  const tpl = internalsOf(set).templates.get(`${step.kind}/${step.template}`);
  if (!tpl) {
    throw templateError(
      `no template "${step.template}" for ${step.kind} receivers: add templates/${step.kind}/${step.template}.hbs`,
      `${step.kind}/${step.template}.hbs`,
    );
  }
  const context = buildContext(step, options);
  const allowedLinks = allowedLinksOf(context);
  const parts: Record<string, unknown> = {};
  for (const spec of partTable(step.kind)) parts[spec.name] = renderPart(tpl, spec, context, allowedLinks);
  return { kind: step.kind, template: step.template, parts };
}
