// `kafka-heal postmortem <incident-id> [--out FILE]`: the Markdown post-mortem draft of one
// incident (tools/postmortem.ts, the same renderer the drills use), from the incident
// and its timeline in the incident table. The parts only people know (root cause, action items)
// are left for them to fill in.
import { writeFileSync } from 'node:fs';
import { postmortemFromIncident } from '#tools/postmortem.js';
import { parseFlags, UsageError, type Command } from '../args.js';
import { STORE_FLAGS, STORE_HELP, STORE_USAGE, withStore } from '../store.js';
import { incidentIdArg } from './incidents.js';

export const postmortemCommand: Command = {
  path: ['postmortem'],
  summary: 'write the Markdown post-mortem draft of an incident from its timeline',
  usage: `kafka-heal postmortem <incident-id> [--out FILE] ${STORE_USAGE}\nwithout --out the draft goes to stdout\n${STORE_HELP}\nexit 0; 1 when there is no such incident or the table cannot be read; 2 bad input`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { ...STORE_FLAGS, out: { type: 'string' } }, true);
    const id = incidentIdArg(positionals);
    if (values.out === '') throw new UsageError('--out must name a file');
    return withStore(io, 'postmortem', values, async ({ store }) => {
      const incident = await store.get(id);
      const markdown = postmortemFromIncident(incident);
      if (values.out === undefined) {
        io.stdout(markdown);
        return 0;
      }
      try {
        writeFileSync(values.out, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
      } catch (err) {
        throw new UsageError(
          `cannot write --out ${values.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      io.stdout(`wrote the post-mortem draft of ${id} to ${values.out}`);
      return 0;
    });
  },
};
