// Every CLI command, one import a line. Keep the list sorted by command words.
import type { Command } from '../args.js';

export const commands: Command[] = [];
