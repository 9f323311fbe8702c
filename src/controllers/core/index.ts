// The core controllers the manager runs (each in its own file in this folder).
import type { ControllerFactory } from '../manager.ts';

export const controllers: ControllerFactory[] = [];
