// Every controller k8ts runs, by area.
import type { ControllerFactory } from './manager.ts';
import { controllers as batch } from './batch/index.ts';
import { controllers as core } from './core/index.ts';
import { controllers as nodes } from './nodes/index.ts';
import { controllers as sets } from './sets/index.ts';
import { controllers as volumes } from './volumes/index.ts';
import { controllers as workloads } from './workloads/index.ts';

export const allControllers: ControllerFactory[] = [...core, ...nodes, ...workloads, ...sets, ...batch, ...volumes];
