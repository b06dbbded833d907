/**
 * `cait presets`: the built-in protocols and what they are.
 */
import type { Command } from 'commander';
import { presetNames, presets } from '../config/presets.js';
import type { CliContext } from './common.js';

export function registerPresets(program: Command, ctx: CliContext): void {
  program
    .command('presets')
    .summary('list the built-in protocols')
    .description('List the built-in protocols (use one with --preset NAME; print it with `cait config --preset NAME`).')
    .action(() => {
      const names = presetNames();
      const w = Math.max(...names.map((n) => n.length));
      for (const name of names) ctx.stdout(`${name.padEnd(w)}  ${presets[name].summary}\n`);
    });
}
