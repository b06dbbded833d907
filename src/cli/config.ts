/**
 * `cait config`: print a validated protocol, defaults filled in, as JSON.
 */
import type { Command } from 'commander';
import { addProtocolOptions, loadProtocol, type CliContext } from './common.js';

export function registerConfig(program: Command, ctx: CliContext): void {
  addProtocolOptions(
    program
      .command('config')
      .summary('print a protocol (preset or file), validated')
      .description(
        'Validate a protocol and print it as JSON (2-space indent) with every default filled in.\n' +
          'Use it as the starting point of your own protocol file: units are SI and appear in the\n' +
          'field names (_m, _m2, _m3, _m2s, _eV, _K, _V, _C, _s) except grid lengths (_nm).\n' +
          'A parameter is named by its dotted path, e.g. stages.1.D.Cs.D_m2s (stages count from 0).',
      ),
  )
    .addHelpText('after', '\nExamples:\n  cait config --preset paper > my.json\n  cait config --config my.json')
    .action((opts: { preset?: string; config?: string }) => {
      const protocol = loadProtocol(opts);
      ctx.stdout(JSON.stringify(protocol, null, 2) + '\n');
    });
}
