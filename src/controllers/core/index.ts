// The core controllers the manager runs (each in its own file in this folder). The root CA
// publisher needs the cluster CA, so it is not in the list: the server adds
// `rootCACertPublisher(pki.caCertPem)` itself.
import type { ControllerFactory } from '../manager.ts';
import { garbageCollector } from './garbage-collector.ts';
import { namespaceController } from './namespace.ts';
import { podGarbageCollector } from './podgc.ts';
import { resourceQuotaController } from './resourcequota.ts';
import { serviceAccountsController } from './serviceaccounts.ts';

export { rootCACertPublisher } from './serviceaccounts.ts';

export const controllers: ControllerFactory[] = [namespaceController(), garbageCollector(), serviceAccountsController(), podGarbageCollector(), resourceQuotaController()];
