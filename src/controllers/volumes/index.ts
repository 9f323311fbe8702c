// The storage controllers the manager runs: the PersistentVolume binder and the two in-use
// protection controllers.
import type { ControllerFactory } from '../manager.ts';
import { persistentVolumeBinder } from './binder.ts';
import { pvcProtectionController, pvProtectionController } from './protection.ts';

export const controllers: ControllerFactory[] = [persistentVolumeBinder(), pvcProtectionController(), pvProtectionController()];
