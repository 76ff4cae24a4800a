/** The `spk` command: validate, routes test, render, simulate, rules test. */
import { readFile } from 'node:fs/promises';
import { KitError } from '../core/errors.js';
import { processIo, terminalSafe, UsageError, type CliIo } from './io.js';
import { validateCommand } from './validate.js';
import { routesCommand } from './routes.js';
import { renderCommand } from './render.js';
import { simulateCommand } from './simulate.js';
import { rulesTestCommand } from './rules-test.js';

const HELP = `spk — Sentinel Playbook Kit

  spk validate [--config DIR] [--rules DIR]
                                         check playbooks, receivers, exclusions, templates, rules
  spk routes test --change KIND=VALUE … | --event FILE [--line N]
                                         which playbooks and receivers an event reaches
  spk render --receiver NAME [--event FILE [--line N]] [--change K=V] [--payload] [--context]
                                         one template against one event
  spk simulate --events FILE.jsonl [--json] [--out DIR] [--fresh] [--memory]
                                         the whole pipeline over a file of events, into the outbox
  spk rules test --event FILE            which Sentinel automation rules fire, which playbooks they run
  spk help COMMAND                       a command's options (same as spk COMMAND --help)
  spk --version                          the kit's version

exit: 0 ok, 1 problems found or bad input, 64 usage error; each command's --help lists its own`;

/** `spk help X` and `spk X --help` are the same thing: the argv that shows X's help */
const HELP_ARGV: Record<string, string[]> = {
  validate: ['validate', '--help'],
  routes: ['routes', 'test', '--help'],
  render: ['render', '--help'],
  simulate: ['simulate', '--help'],
  rules: ['rules', 'test', '--help'],
};

const PACKAGE_NAME = 'sentinel-playbook-kit';

/**
 * The version from the package.json two folders up: that is the repository root both from the source
 * (functions/cli/spk.ts) and from the bundle (dist/cli/spk.js), and the package root once installed.
 */
export async function kitVersion(): Promise<string> {
  const url = new URL('../../package.json', import.meta.url);
  let pkg: { name?: unknown; version?: unknown };
  try {
    pkg = JSON.parse(await readFile(url, 'utf8')) as typeof pkg;
  } catch (e) {
    throw new KitError(`cannot read the version from ${url.pathname}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { kind: 'config' });
  }
  if (pkg.name !== PACKAGE_NAME || typeof pkg.version !== 'string') {
    throw new KitError(`${url.pathname} is not the ${PACKAGE_NAME} package.json; cannot tell the version`, { kind: 'config' });
  }
  return pkg.version;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return await validateCommand(rest, io);
      case 'routes':
        // `spk routes --help` means the only subcommand's help
        return await routesCommand(isHelp(rest) ? HELP_ARGV.routes!.slice(1) : rest, io);
      case 'render':
        return await renderCommand(rest, io);
      case 'simulate':
        return await simulateCommand(rest, io);
      case 'rules':
        if (isHelp(rest)) return await rulesTestCommand(['--help'], io);
        if (rest[0] !== 'test') throw new UsageError(`usage: spk rules test --event FILE [--json] (spk help rules for every option)`);
        return await rulesTestCommand(rest.slice(1), io);
      case '--version':
      case '-V':
      case 'version':
        if (rest.length) throw new UsageError(`spk ${command} takes no arguments`);
        io.stdout(`spk ${await kitVersion()}`);
        return 0;
      case 'help':
      case '--help':
      case '-h': {
        const [topic, ...more] = rest;
        if (topic === undefined) {
          io.stdout(HELP);
          return 0;
        }
        const target = more.length === 0 && Object.hasOwn(HELP_ARGV, topic) ? HELP_ARGV[topic] : undefined;
        if (!target) throw new UsageError(`spk help: no help for "${[topic, ...more].join(' ')}" (commands: ${Object.keys(HELP_ARGV).join(', ')})`);
        return await main(target, io);
      }
      case undefined:
        // no command is a usage error like any other: the help goes to stderr and the exit code says so
        throw new UsageError(HELP);
      default:
        throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(e.message);
      return 64;
    }
    if (e instanceof KitError) {
      io.stderr(`spk ${command}: ${e.format()}`);
      return 1;
    }
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`spk ${command}: ${e.message}\n(spk help ${command} lists its options)`);
      return 64;
    }
    throw e;
  }
}

function isHelp(rest: string[]): boolean {
  return rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h');
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].split(/[\\/]/).pop()!);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    // exitCode, not exit(): a piped --json report must be flushed whole before the process ends
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(terminalSafe(`spk: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`));
      process.exit(70);
    },
  );
}
