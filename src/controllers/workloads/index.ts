// The workloads controllers the manager runs (each in its own file in this folder).
import type { ControllerFactory } from '../manager.ts';
import { newDeploymentController } from './deployment.ts';
import { newReplicaSetController, newReplicationControllerController } from './replica-set.ts';

export const controllers: ControllerFactory[] = [newDeploymentController, newReplicaSetController, newReplicationControllerController];
