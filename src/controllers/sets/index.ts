// The sets controllers the manager runs (each in its own file in this folder).
import type { ControllerFactory } from '../manager.ts';
import { newDaemonSetController } from './daemonset.ts';
import { newStatefulSetController } from './statefulset.ts';

export const controllers: ControllerFactory[] = [newStatefulSetController, newDaemonSetController];
