// The batch controllers the manager runs (each in its own file in this folder).
import type { ControllerFactory } from '../manager.ts';
import { CronJobController } from './cronjob-controller.ts';
import { JobController } from './job-controller.ts';
import { TtlAfterFinishedController } from './ttl-after-finished.ts';

export const controllers: ControllerFactory[] = [() => new JobController(), () => new CronJobController(), () => new TtlAfterFinishedController()];
