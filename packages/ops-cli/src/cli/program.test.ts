import type { Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './program.js';

/** Every command's help text, as `dmskit <command> --help` prints it. */
function helps(): { name: string; text: string; command: Command }[] {
  const program = buildProgram(() => undefined);
  return program.commands.map((command) => {
    let text = '';
    command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
    command.outputHelp();
    return { name: command.name(), text, command };
  });
}

describe('every command, as --help shows it', () => {
  it('ends with two or three examples of the command itself', () => {
    const all = helps();
    expect(all.map((h) => h.name)).toEqual(
      expect.arrayContaining(['init', 'rehearse', 'validate', 'cutover', 'status']),
    );
    for (const { name, text } of all) {
      const examples = text.split('\nExamples:\n')[1] ?? '';
      const runs = examples.match(new RegExp(`^  \\$ (\\S+=\\S+ )*dmskit ${name}\\b`, 'gm')) ?? [];
      expect(runs.length, `${name}: ${examples}`).toBeGreaterThanOrEqual(2);
      expect(runs.length, name).toBeLessThanOrEqual(3);
    }
  });

  it('states the unit of every quantity: durations take units, no flag takes bare minutes or ms', () => {
    for (const { name, command } of helps()) {
      const help: Help = command.createHelp();
      for (const option of help.visibleOptions(command)) {
        const flags = option.flags;
        expect(flags, `${name} ${flags}`).not.toMatch(/<(ms|minutes|seconds)>/);
        if (/<duration>/.test(flags)) expect(option.description).toContain('500ms, 30s, 10m, 1h');
        if (/-seconds\b/.test(flags)) expect(option.description, `${name} ${flags}`).toMatch(/seconds/);
      }
    }
  });

  it('spells the servers --source-url and --target-url everywhere, --source and --target kept hidden as aliases', () => {
    for (const { name, command, text } of helps()) {
      const longs = command.options.map((o) => o.long);
      if (longs.includes('--source')) expect(longs, name).toContain('--source-url');
      if (longs.includes('--target')) expect(longs, name).toContain('--target-url');
      expect(text, name).not.toMatch(/^\s+--source </m);
      expect(text, name).not.toMatch(/^\s+--target </m);
    }
  });
});
