/** `spk validate`: config, templates and automation rules, every problem as `file:line:col message`. */
import { parseArgs } from 'node:util';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve, relative, sep } from 'node:path';
import { loadKit } from '../config/load.js';
import { loadKitForDeployment } from '../config/deployable.js';
import { KitError } from '../core/errors.js';
import { renderStep } from '../render/engine.js';
import { sampleSteps } from './samples.js';
import type { CliIo } from './io.js';
import { parseRuleFile } from './rules-test.js';

export async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', default: 'playbooks' }, rules: { type: 'string', default: 'rules' }, deploy: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
  });
  if (values.help) {
    io.stdout(
      [
        'usage: spk validate [--config DIR] [--rules DIR] [--deploy]',
        'Checks playbooks, receivers, exclusions, templates and automation rules.',
        '',
        '  --config DIR   playbooks folder (default: playbooks)',
        '  --rules DIR    automation rules folder (default: rules)',
        '  --deploy       also check what only matters in the Function App: every receiver has an endpoint or is',
        '                 marked dryRun: true (npm run package runs this and refuses a config that fails it)',
        'exit: 0 valid, 1 problems found (each printed as file:line:col message), 64 usage error',
      ].join('\n'),
    );
    return 0;
  }
  // --deploy: as the Function App will run it, where a receiver without an endpoint must be marked dryRun
  const kit = await (values.deploy ? loadKitForDeployment : loadKit)(resolve(io.cwd, values.config!), { cwd: io.cwd });
  const problems: KitError[] = [...kit.problems];

  // Render every template used by a playbook for every seed moment, so runtime template errors show up here.
  if (kit.templates && kit.problems.length === 0) {
    for (const step of sampleSteps(kit.config)) {
      try {
        renderStep(kit.templates, step, { receiverName: step.receiver, ticket: null, ...(kit.config.exclusions.reason ? { exclusionReason: kit.config.exclusions.reason } : {}) });
      } catch (e) {
        if (e instanceof KitError) problems.push(e);
        else throw e;
      }
    }
  }

  const rulesDir = resolve(io.cwd, values.rules!);
  const ruleFiles = (await readdir(rulesDir).catch(() => [] as string[])).filter((f) => /\.ya?ml$/i.test(f)).sort();
  for (const f of ruleFiles) {
    const path = relative(io.cwd, join(rulesDir, f)).split(sep).join('/');
    try {
      parseRuleFile(path, await readFile(join(rulesDir, f), 'utf8'));
    } catch (e) {
      if (e instanceof KitError) problems.push(e);
      else problems.push(new KitError((e as Error).message, { kind: 'config', where: { file: path } }));
    }
  }

  // one template fault shows up once per seed moment that renders it: report each distinct problem once
  const distinct = [...new Map(problems.map((p) => [p.format(), p])).values()];
  for (const p of distinct) io.stderr(p.format());
  if (distinct.length > 0) {
    io.stderr(`${distinct.length} problem(s)`);
    return 1;
  }
  io.stdout(`valid: ${kit.config.playbooks.length} playbooks, ${Object.keys(kit.config.receivers).length} receivers, ${ruleFiles.length} automation rules`);
  return 0;
}
