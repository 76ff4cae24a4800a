/**
 * What a template must look like before it is compiled: parsed with file:line:col syntax errors, only part
 * blocks at the top, every part its kind needs, helpers and partials that exist. Pure checks on the AST;
 * engine.ts compiles and renders what passes them.
 */
import Handlebars from 'handlebars';
import type { ReceiverKind } from '../config/schema.js';
import { KitError } from '../core/errors.js';
import { BUILTIN_HELPERS, HELPERS } from './helpers.js';
import { partsFor as partTable } from './parts.js';

export const KNOWN_HELPERS = new Set<string>([...BUILTIN_HELPERS, ...Object.keys(HELPERS)]);

export function displayPath(path: string): string {
  return `templates/${path}`;
}

export function templateError(message: string, file: string, loc?: { line?: number; column?: number }, field?: string): KitError {
  const where: { file: string; line?: number; column?: number; field?: string } = { file: displayPath(file) };
  if (loc?.line !== undefined) where.line = loc.line;
  if (loc?.column !== undefined) where.column = loc.column;
  if (field !== undefined) where.field = field;
  return new KitError(message, { kind: 'template', where });
}

/** 1-based line and column of an AST node, as editors count */
export function locOf(node: { loc?: hbs.AST.SourceLocation | null }): { line?: number; column?: number } {
  return node.loc ? { line: node.loc.start.line, column: node.loc.start.column + 1 } : {};
}

const TOKEN_NAMES: Record<string, string> = {
  CLOSE: '"}}"',
  CLOSE_UNESCAPED: '"}}}"',
  CLOSE_RAW_BLOCK: '"}}}}"',
  OPEN: '"{{"',
  OPEN_BLOCK: '"{{#"',
  OPEN_ENDBLOCK: '"{{/"',
  OPEN_INVERSE: '"{{^"',
  OPEN_PARTIAL: '"{{>"',
  OPEN_SEXPR: '"("',
  CLOSE_SEXPR: '")"',
  INVERSE: '"{{else}}"',
  ID: 'a name',
  STRING: 'a string',
  NUMBER: 'a number',
  EOF: 'the end of the file',
  INVALID: 'invalid text',
  CONTENT: 'text',
};

function describeToken(t: unknown): string {
  const name = String(t ?? '').replace(/'/g, '');
  return TOKEN_NAMES[name] ?? name.toLowerCase();
}

interface JisonHash {
  text?: string;
  token?: string | null;
  line?: number;
  loc?: { first_line: number; last_line: number; first_column: number; last_column: number };
  expected?: string[];
}

export function syntaxError(file: string, e: unknown): KitError {
  const err = e as Error & { hash?: JisonHash; lineNumber?: number; column?: number };
  const hash = err.hash;
  if (hash) {
    const line = hash.loc ? hash.loc.last_line : (hash.line ?? 0) + 1;
    const column = hash.loc ? (hash.loc.first_line === hash.loc.last_line ? hash.loc.first_column : hash.loc.last_column) + 1 : undefined;
    const expected = (hash.expected ?? []).map(describeToken);
    const found = hash.token ? describeToken(hash.token) : 'unrecognised text';
    const hint = expected.length > 0 && expected.length <= 4 ? `, expected ${[...new Set(expected)].join(' or ')}` : '';
    return templateError(`syntax error: unexpected ${found}${hint}`, file, column === undefined ? { line } : { line, column });
  }
  if (typeof err?.lineNumber === 'number') {
    const message = String(err.message).replace(/ - \d+:\d+$/, '');
    return templateError(`syntax error: ${message}`, file, { line: err.lineNumber, column: (err.column ?? 0) + 1 });
  }
  return templateError(`syntax error: ${err instanceof Error ? err.message : String(err)}`, file);
}

interface JisonParser {
  parseError?: (str: string, hash: JisonHash) => never;
}

/** Parses with the position of a syntax error kept (Handlebars' parser drops it from the message). */
export function parseSource(file: string, source: string): hbs.AST.Program {
  const parser = (Handlebars as unknown as { Parser: JisonParser }).Parser;
  const hadOwn = Object.prototype.hasOwnProperty.call(parser, 'parseError');
  const original = parser.parseError;
  parser.parseError = (str, hash) => {
    throw Object.assign(new Error(str), { hash });
  };
  try {
    return Handlebars.parse(source);
  } catch (e) {
    throw syntaxError(file, e);
  } finally {
    if (hadOwn) parser.parseError = original;
    else delete parser.parseError;
  }
}

// ---------------------------------------------------------------------------------------------
// static checks: helpers, partials and decorators are known before anything renders

export function closest(name: string, known: Iterable<string>): string {
  const lower = name.toLowerCase();
  for (const k of known) if (k.toLowerCase() === lower) return ` (did you mean "${k}"?)`;
  return '';
}

export type Node = hbs.AST.Node & Record<string, unknown>;

export function inlineNames(program: hbs.AST.Program, out = new Set<string>()): Set<string> {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const n = node as Node;
    if (n.type === 'DecoratorBlock') {
      const p = (n.params as hbs.AST.Expression[])[0];
      if (p && p.type === 'StringLiteral') out.add((p as hbs.AST.StringLiteral).value);
    }
    for (const key of ['body', 'program', 'inverse']) if (n[key]) visit(key === 'body' ? n[key] : (n[key] as Node).body);
  };
  visit(program.body);
  return out;
}

export function checkProgram(file: string, program: hbs.AST.Program, partials: ReadonlySet<string>): void {
  const checkHelper = (path: hbs.AST.Expression, node: Node) => {
    if (path.type !== 'PathExpression') return;
    const p = path as hbs.AST.PathExpression;
    if (p.data || p.depth > 0 || p.parts.length !== 1 || !KNOWN_HELPERS.has(p.original)) {
      throw templateError(`unknown helper "${p.original}"${closest(p.original, KNOWN_HELPERS)}`, file, locOf(node));
    }
  };
  const visitExpr = (e: unknown): void => {
    if (!e || typeof e !== 'object') return;
    const n = e as Node;
    if (n.type === 'SubExpression') {
      checkHelper(n.path as hbs.AST.Expression, n);
      (n.params as unknown[]).forEach(visitExpr);
      visitHash(n.hash);
    }
  };
  const visitHash = (hash: unknown): void => {
    if (hash && typeof hash === 'object') for (const pair of (hash as hbs.AST.Hash).pairs) visitExpr(pair.value);
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const n = node as Node;
    switch (n.type) {
      case 'Program':
        visit(n.body);
        return;
      case 'MustacheStatement': {
        const params = n.params as unknown[];
        const path = n.path as hbs.AST.Expression;
        if (params.length > 0 || n.hash) checkHelper(path, n);
        else visitExpr(path);
        params.forEach(visitExpr);
        visitHash(n.hash);
        return;
      }
      case 'BlockStatement': {
        const params = n.params as unknown[];
        const path = n.path as hbs.AST.PathExpression;
        if (params.length > 0 || n.hash || KNOWN_HELPERS.has(path.original)) checkHelper(path, n);
        params.forEach(visitExpr);
        visitHash(n.hash);
        visit(n.program);
        visit(n.inverse);
        return;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement': {
        const name = n.name as hbs.AST.Expression;
        if (name.type === 'SubExpression') throw templateError('dynamic partials ({{> (…)}}) are not supported: name the partial', file, locOf(n));
        const partial =
          name.type === 'PathExpression' ? (name as hbs.AST.PathExpression).original : String((name as hbs.AST.StringLiteral).value);
        if (partial !== '@partial-block' && !partials.has(partial)) {
          throw templateError(`unknown partial "${partial}"${closest(partial, partials)}: add templates/partials/${partial}.hbs`, file, locOf(n));
        }
        (n.params as unknown[]).forEach(visitExpr);
        visitHash(n.hash);
        if (n.type === 'PartialBlockStatement') visit(n.program);
        return;
      }
      case 'DecoratorBlock': {
        const path = n.path as hbs.AST.PathExpression;
        const first = (n.params as hbs.AST.Expression[])[0];
        if (path.original !== 'inline' || !first || first.type !== 'StringLiteral') {
          throw templateError(`unknown decorator "${path.original}": only {{#*inline "name"}}…{{/inline}} is supported`, file, locOf(n));
        }
        visit(n.program);
        return;
      }
      case 'Decorator':
        throw templateError(`unknown decorator "${(n.path as hbs.AST.PathExpression).original}"`, file, locOf(n));
      default:
        return;
    }
  };
  visit(program);
}

/** Forces Handlebars' own compiler over the AST now, so its errors surface at load, not at 3 a.m. */
export function inlinePrograms(ast: hbs.AST.Program): Map<string, hbs.AST.Program> {
  const inline = new Map<string, hbs.AST.Program>();
  for (const stmt of ast.body) {
    const s = stmt as Node;
    if (s.type !== 'DecoratorBlock') continue;
    inline.set(((s.params as hbs.AST.Expression[])[0] as hbs.AST.StringLiteral).value, s.program as hbs.AST.Program);
  }
  return inline;
}

/** Only part blocks and comments at the top, each part once, every part the kind needs; helpers and partials known. */
export function checkTemplateShape(kind: ReceiverKind, file: string, ast: hbs.AST.Program, sharedNames: ReadonlySet<string>): void {
  const inline = new Map<string, hbs.AST.Program>();
  for (const stmt of ast.body) {
    const s = stmt as Node;
    if (s.type === 'DecoratorBlock') {
      const first = (s.params as hbs.AST.Expression[])[0];
      const path = s.path as hbs.AST.PathExpression;
      if (path.original !== 'inline' || !first || first.type !== 'StringLiteral') {
        throw templateError(`unknown decorator "${path.original}": only {{#*inline "part"}}…{{/inline}} is supported`, file, locOf(s));
      }
      const part = (first as hbs.AST.StringLiteral).value;
      if (inline.has(part)) throw templateError(`part "${part}" is defined twice`, file, locOf(s));
      inline.set(part, s.program as hbs.AST.Program);
      continue;
    }
    if (s.type === 'CommentStatement') continue;
    if (s.type === 'ContentStatement' && (s as unknown as hbs.AST.ContentStatement).value.trim() === '') continue;
    const loc = locOf(s);
    if (s.type === 'ContentStatement' && loc.line !== undefined) {
      // point at the stray text itself, not at the whitespace before it
      const lead = /^\s*/.exec(String((s as { original?: unknown }).original))?.[0] ?? '';
      const newlines = lead.split('\n').length - 1;
      loc.line += newlines;
      loc.column = newlines > 0 ? lead.length - lead.lastIndexOf('\n') : (loc.column ?? 1) + lead.length;
    }
    throw templateError(
      'only {{#*inline "part"}}…{{/inline}} blocks and comments belong at the top level of a template; anything else would never be rendered',
      file,
      loc,
    );
  }
  const known = new Set([...sharedNames, ...inline.keys(), ...inlineNames(ast)]);
  checkProgram(file, ast, known);
  for (const spec of partTable(kind)) {
    if (!inline.has(spec.name)) {
      const all = partTable(kind)
        .map((p) => p.name)
        .join(', ');
      throw templateError(`${kind} templates need the part "${spec.name}" (parts: ${all}): add {{#*inline "${spec.name}"}}…{{/inline}}`, file);
    }
  }
}
