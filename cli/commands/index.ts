// Every CLI command, one import a line. Keep the list sorted by command words.
import type { Command } from '../args.js';
import { approveCommand, rejectCommand } from './approve.js';
import { capacityCommand } from './capacity.js';
import { classifyCommand } from './classify.js';
import { configValidate } from './config-validate.js';
import { drillCommand } from './drill.js';
import {
  incidentsAck,
  incidentsList,
  incidentsNote,
  incidentsReopen,
  incidentsResolve,
  incidentsShow,
} from './incidents.js';
import { localDown, localFault, localStatus, localUp } from './local.js';
import { postmortemCommand } from './postmortem.js';
import { preflightCommand } from './preflight.js';
import { probeCommand } from './probe.js';

export const commands: Command[] = [
  approveCommand,
  capacityCommand,
  classifyCommand,
  configValidate,
  drillCommand,
  incidentsAck,
  incidentsList,
  incidentsNote,
  incidentsReopen,
  incidentsResolve,
  incidentsShow,
  localDown,
  localFault,
  localStatus,
  localUp,
  postmortemCommand,
  preflightCommand,
  probeCommand,
  rejectCommand,
];
