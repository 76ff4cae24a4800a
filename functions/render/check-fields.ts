/**
 * Every path a template reads, checked against the documented context (context-fields.ts) with the
 * context each block gives it: `{{incident.titel}}` renders as nothing at all, which nobody notices
 * until the message that needed it went out empty.
 */
import { CONTEXT_ROOT, type ContextField } from './context-fields.js';

type Node = hbs.AST.Node & Record<string, unknown>;

export interface FieldProblem {
  file: string;
  message: string;
  loc: { line?: number; column?: number };
}

/** `null` is a context the checker cannot know (a helper's result, an object's values): anything goes. */
interface Frame {
  field: ContextField | null;
  /** the path shown in messages: `incident.devices[]` */
  path: string;
}

interface Scope {
  /** context-changing blocks only, innermost last: what `../` walks up */
  frames: Frame[];
  /** `as |x i|` names, innermost last */
  params: Array<Map<string, Frame>>;
  /** inside {{#each}}: @index, @key, @first, @last are set */
  inEach: boolean;
}

export interface PartialSource {
  file: string;
  ast: hbs.AST.Program;
}

const EACH_DATA = new Set(['index', 'key', 'first', 'last']);

function locOf(node: { loc?: hbs.AST.SourceLocation | null }): { line?: number; column?: number } {
  return node.loc ? { line: node.loc.start.line, column: node.loc.start.column + 1 } : {};
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = next;
    }
  }
  return d[b.length]!;
}

/** The nearest known name, if it is near enough to be a typo. */
export function nearest(name: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  let bestScore = Infinity;
  for (const k of known) {
    const score = k.toLowerCase() === name.toLowerCase() ? 0 : distance(name.toLowerCase(), k.toLowerCase());
    if (score < bestScore) {
      best = k;
      bestScore = score;
    }
  }
  return best !== null && bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

const join = (prefix: string, part: string) => (prefix ? `${prefix}.${part}` : part);

function describe(field: ContextField): string {
  if (field.kind === 'array') return 'a list';
  if (field.kind === 'object') return 'an object';
  return field.type === 'text' ? 'a text' : `a ${field.type}`;
}

export function checkTemplateFields(
  templates: Array<{ file: string; ast: hbs.AST.Program }>,
  partials: ReadonlyMap<string, PartialSource>,
  helpers: ReadonlySet<string>,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  const report = (file: string, node: { loc?: hbs.AST.SourceLocation | null }, message: string) => {
    const loc = locOf(node);
    const key = `${file}:${loc.line}:${loc.column}:${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push({ file, message, loc });
  };
  const root: Frame = { field: CONTEXT_ROOT, path: '' };
  /** (partial, context) pairs already walked, so recursion and repeats end */
  const walked = new Set<string>();
  const calledPartials = new Set<string>();

  /** Follows `parts` from a frame; reports the first one that is not there. */
  const follow = (file: string, node: Node, start: Frame, parts: string[]): Frame => {
    let field = start.field;
    let path = start.path;
    for (const part of parts) {
      if (field === null) return { field: null, path: join(path, part) };
      if (field.kind === 'object') {
        const child = Object.prototype.hasOwnProperty.call(field.fields, part) ? field.fields[part] : undefined;
        if (!child) {
          const near = nearest(part, Object.keys(field.fields));
          const whole = join(path, part);
          report(file, node, `unknown field ${whole}${near ? ` — did you mean ${join(path, near)}?` : ''}`);
          return { field: null, path: whole };
        }
        field = child;
        path = join(path, part);
        continue;
      }
      if (field.kind === 'array') {
        if (part === 'length') {
          field = { kind: 'scalar', type: 'number', doc: '' };
          path = `${path}.length`;
          continue;
        }
        if (/^\d+$/.test(part)) {
          field = field.of;
          path = `${path}[]`;
          continue;
        }
        report(file, node, `unknown field ${join(path, part)} — ${path} is a list: use {{#each ${path}}}, ${path}.length or ${path}.[0]`);
        return { field: null, path: join(path, part) };
      }
      report(file, node, `unknown field ${join(path, part)} — ${path} is ${describe(field)}`);
      return { field: null, path: join(path, part) };
    }
    return { field, path };
  };

  const resolve = (file: string, expr: hbs.AST.PathExpression, scope: Scope): Frame => {
    const node = expr as unknown as Node;
    const parts = [...expr.parts];
    if (expr.data) {
      const head = parts.shift() ?? '';
      if (head === 'root') return follow(file, node, root, parts);
      if (EACH_DATA.has(head)) {
        if (!scope.inEach) report(file, node, `@${head} is only set inside {{#each}}`);
        return { field: head === 'first' || head === 'last' ? { kind: 'scalar', type: 'boolean', doc: '' } : null, path: `@${head}` };
      }
      const near = nearest(head, ['root', ...EACH_DATA]);
      report(file, node, `unknown data variable @${head}${near ? ` — did you mean @${near}?` : ''} (known: @root, @index, @key, @first, @last)`);
      return { field: null, path: `@${head}` };
    }
    const scoped = /^(this\b|\.\/|\.\.\/)/.test(expr.original) || expr.depth > 0;
    if (!scoped && parts.length > 0) {
      for (let i = scope.params.length - 1; i >= 0; i--) {
        const hit = scope.params[i]!.get(parts[0]!);
        if (hit) return follow(file, node, hit, parts.slice(1));
      }
    }
    const index = scope.frames.length - 1 - expr.depth;
    if (index < 0) {
      report(file, node, `${expr.original} goes above the top of the context`);
      return { field: null, path: expr.original };
    }
    return follow(file, node, scope.frames[index]!, parts);
  };

  const isHelperCall = (expr: hbs.AST.Expression): boolean =>
    expr.type === 'PathExpression' && !(expr as hbs.AST.PathExpression).data && (expr as hbs.AST.PathExpression).depth === 0 && helpers.has((expr as hbs.AST.PathExpression).original);

  /** params and hash values of a call: each path is read */
  const visitArgs = (file: string, n: Node, scope: Scope) => {
    for (const p of (n.params as hbs.AST.Expression[] | undefined) ?? []) visitExpr(file, p, scope);
    const hash = n.hash as hbs.AST.Hash | undefined;
    for (const pair of hash?.pairs ?? []) visitExpr(file, pair.value, scope);
  };

  const visitExpr = (file: string, e: hbs.AST.Expression, scope: Scope): Frame => {
    if (e.type === 'PathExpression') return resolve(file, e as hbs.AST.PathExpression, scope);
    if (e.type === 'SubExpression') {
      visitArgs(file, e as unknown as Node, scope);
      return { field: null, path: '' };
    }
    return { field: null, path: '' };
  };

  const withFrame = (scope: Scope, frame: Frame, each: boolean, params: Map<string, Frame> | null): Scope => ({
    frames: [...scope.frames, frame],
    params: params ? [...scope.params, params] : scope.params,
    inEach: scope.inEach || each,
  });

  const visitProgram = (file: string, program: hbs.AST.Program | null | undefined, scope: Scope, inline: ReadonlyMap<string, hbs.AST.Program>) => {
    if (!program) return;
    for (const stmt of program.body) visitStatement(file, stmt as unknown as Node, scope, inline);
  };

  const visitBlock = (file: string, n: Node, scope: Scope, inline: ReadonlyMap<string, hbs.AST.Program>) => {
    const path = n.path as hbs.AST.PathExpression;
    const params = (n.params as hbs.AST.Expression[]) ?? [];
    const program = n.program as hbs.AST.Program | undefined;
    const inverse = n.inverse as hbs.AST.Program | undefined;
    const names = program?.blockParams ?? [];
    const name = path.type === 'PathExpression' ? path.original : '';
    if (name === 'each' || name === 'with') {
      const target = params[0] ? visitExpr(file, params[0], scope) : { field: null, path: '' };
      visitArgs(file, { ...n, params: params.slice(1) } as Node, scope);
      let inner: Frame;
      if (name === 'each') {
        inner =
          target.field?.kind === 'array'
            ? { field: target.field.of, path: `${target.path}[]` }
            : { field: null, path: `${target.path}[]` };
        if (target.field && target.field.kind === 'scalar') report(file, n, `{{#each ${target.path}}}: ${target.path} is ${describe(target.field)}, not a list`);
      } else {
        inner = target;
      }
      const bp = new Map<string, Frame>();
      if (names[0]) bp.set(names[0], inner);
      if (names[1]) bp.set(names[1], { field: null, path: names[1] });
      visitProgram(file, program, withFrame(scope, inner, name === 'each', names.length ? bp : null), inline);
      visitProgram(file, inverse, scope, inline);
      return;
    }
    if (name === 'if' || name === 'unless' || isHelperCall(path)) {
      visitArgs(file, n, scope);
      visitProgram(file, program, scope, inline);
      visitProgram(file, inverse, scope, inline);
      return;
    }
    // {{#incident.owner}}…{{/incident.owner}}: a list iterates, an object becomes the context
    const target = visitExpr(file, path, scope);
    const inner: Frame =
      target.field?.kind === 'array' ? { field: target.field.of, path: `${target.path}[]` } : target.field?.kind === 'object' ? target : scope.frames[scope.frames.length - 1]!;
    visitProgram(file, program, inner === scope.frames[scope.frames.length - 1] ? scope : withFrame(scope, inner, target.field?.kind === 'array', null), inline);
    visitProgram(file, inverse, scope, inline);
  };

  const visitPartial = (file: string, n: Node, scope: Scope, inline: ReadonlyMap<string, hbs.AST.Program>) => {
    const nameNode = n.name as hbs.AST.Expression;
    const name = nameNode.type === 'PathExpression' ? (nameNode as hbs.AST.PathExpression).original : String((nameNode as hbs.AST.StringLiteral).value);
    const params = (n.params as hbs.AST.Expression[]) ?? [];
    let inner = scope;
    if (params[0]) {
      const target = visitExpr(file, params[0], scope);
      inner = withFrame(scope, target, false, null);
    }
    const hash = n.hash as hbs.AST.Hash | undefined;
    for (const pair of hash?.pairs ?? []) visitExpr(file, pair.value, scope);
    if (hash && hash.pairs.length > 0) {
      // hash values join the context: the partial may read them, and the checker cannot type them
      const top = inner.frames[inner.frames.length - 1]!;
      const fields: Record<string, ContextField> = top.field?.kind === 'object' ? { ...top.field.fields } : {};
      for (const pair of hash.pairs) fields[pair.key] = { kind: 'scalar', type: 'text', doc: '' };
      inner = { ...inner, frames: [...inner.frames.slice(0, -1), { field: top.field === null ? null : { kind: 'object', doc: '', fields }, path: top.path }] };
    }
    if (n.type === 'PartialBlockStatement') visitProgram(file, n.program as hbs.AST.Program, scope, inline);
    const own = inline.get(name);
    const shared = partials.get(name);
    const key = `${name}|${own ? file : shared?.file}|${inner.frames.map((f) => f.path).join('>')}|${inner.inEach}`;
    if (walked.has(key)) return;
    walked.add(key);
    if (own) visitProgram(file, own, inner, inline);
    else if (shared) {
      calledPartials.add(name);
      visitProgram(shared.file, shared.ast, inner, inlineOf(shared.ast));
    }
  };

  const visitStatement = (file: string, n: Node, scope: Scope, inline: ReadonlyMap<string, hbs.AST.Program>) => {
    switch (n.type) {
      case 'MustacheStatement': {
        const path = n.path as hbs.AST.Expression;
        const params = (n.params as unknown[]) ?? [];
        if (params.length > 0 || (n.hash as hbs.AST.Hash | undefined)?.pairs.length || isHelperCall(path)) visitArgs(file, n, scope);
        else visitExpr(file, path, scope);
        return;
      }
      case 'BlockStatement':
        visitBlock(file, n, scope, inline);
        return;
      case 'PartialStatement':
      case 'PartialBlockStatement':
        visitPartial(file, n, scope, inline);
        return;
      default:
        return; // content, comments; inline blocks are walked where they are used
    }
  };

  const start: Scope = { frames: [root], params: [], inEach: false };
  for (const t of templates) {
    const inline = inlineOf(t.ast);
    // each part renders with the whole context
    for (const program of inline.values()) visitProgram(t.file, program, start, inline);
  }
  // a shared partial no template uses is still checked, against the whole context
  for (const [name, p] of partials) {
    if (!calledPartials.has(name)) visitProgram(p.file, p.ast, start, inlineOf(p.ast));
  }
  return problems;
}

function inlineOf(program: hbs.AST.Program): Map<string, hbs.AST.Program> {
  const out = new Map<string, hbs.AST.Program>();
  for (const stmt of program.body) {
    const s = stmt as unknown as Node;
    if (s.type !== 'DecoratorBlock') continue;
    const first = (s.params as hbs.AST.Expression[])[0];
    if (first?.type === 'StringLiteral') out.set((first as hbs.AST.StringLiteral).value, s.program as hbs.AST.Program);
  }
  return out;
}
