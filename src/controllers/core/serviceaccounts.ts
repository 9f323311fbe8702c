// Two per-namespace controllers: the ServiceAccounts controller (a `default` ServiceAccount in
// every active namespace, recreated when deleted) and the root CA publisher (the
// `kube-root-ca.crt` ConfigMap with the cluster CA in every namespace, kept as published).
import type { KubeObject } from '../../api/object.ts';
import { isAlreadyExists, isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import { runWorkers, WorkQueue } from '../framework/workqueue.ts';
import type { Logger } from '../framework/log.ts';
import { deepEqual } from '../../api/patch/json-patch.ts';
import { isNamespaceTerminating } from './util.ts';
import { cloneJson } from '../../api/object.ts';

const phaseOf = (ns: KubeObject) => (ns.status as { phase?: string } | undefined)?.phase;

/** A controller keyed by namespace name: `sync(ns)` for every namespace added or updated. */
abstract class PerNamespaceController implements Controller {
  abstract readonly name: string;
  protected readonly queue: WorkQueue<string>;
  protected client!: KubeClient;
  protected namespaces!: Informer;
  protected log!: Logger;

  constructor(queueName: string) {
    this.queue = new WorkQueue<string>({ name: queueName });
  }

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.log = ctx.logger(this.name);
    this.namespaces = ctx.informers.informerFor(Resources.namespaces);
    this.namespaces.addEventHandler({
      onAdd: (ns) => this.queue.add(ns.metadata?.name ?? ''),
      onUpdate: (_o, ns) => {
        if (phaseOf(ns) === 'Active') this.queue.add(ns.metadata?.name ?? '');
      },
    });
  }

  run(): Promise<void> {
    return runWorkers(this.queue, 1, (ns) => this.sync(ns), { logger: this.log });
  }

  stop(): void {
    this.queue.shutDown();
  }

  protected abstract sync(namespace: string): Promise<void>;

  /** Creates; a namespace that is gone or terminating is not an error (nothing to retry). */
  protected async createQuietly(gvr: typeof Resources.configmaps, namespace: string, obj: KubeObject): Promise<void> {
    try {
      await this.client.create(gvr, namespace, obj);
    } catch (err) {
      if (isAlreadyExists(err) || isNotFound(err) || isNamespaceTerminating(err)) return;
      throw err;
    }
  }
}

class ServiceAccountsController extends PerNamespaceController {
  readonly name = 'serviceaccount-controller';
  private accounts!: Informer;

  constructor() {
    super('serviceaccount');
  }

  override start(ctx: ControllerContext): void {
    super.start(ctx);
    this.accounts = ctx.informers.informerFor(Resources.serviceaccounts);
    this.accounts.addEventHandler({
      onDelete: (x) => {
        const sa = deletedObject(x);
        if (sa.metadata?.name === 'default') this.queue.add(sa.metadata?.namespace ?? '');
      },
    });
  }

  protected async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.store.get('', namespace);
    if (!ns || phaseOf(ns) !== 'Active' || ns.metadata?.deletionTimestamp) return;
    if (this.accounts.store.get(namespace, 'default')) return;
    await this.createQuietly(Resources.serviceaccounts, namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } });
  }
}

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. ' +
  'No other usage is guaranteed across distributions of Kubernetes clusters.';

class RootCACertPublisher extends PerNamespaceController {
  readonly name = 'root-ca-cert-publisher';
  private readonly caPem: string;
  private configmaps!: Informer;

  constructor(caPem: string) {
    super('root_ca_cert_publisher');
    this.caPem = caPem;
  }

  override start(ctx: ControllerContext): void {
    super.start(ctx);
    this.configmaps = ctx.informers.informerFor(Resources.configmaps);
    const enqueue = (cm: KubeObject) => {
      if (cm.metadata?.name === ROOT_CA_CONFIGMAP) this.queue.add(cm.metadata?.namespace ?? '');
    };
    this.configmaps.addEventHandler({ onUpdate: (_o, cm) => enqueue(cm), onDelete: (x) => enqueue(deletedObject(x)) });
  }

  protected async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.store.get('', namespace);
    if (!ns || ns.metadata?.deletionTimestamp) return;
    const data = { 'ca.crt': this.caPem };
    const cm = this.configmaps.store.get(namespace, ROOT_CA_CONFIGMAP);
    if (!cm) {
      await this.createQuietly(Resources.configmaps, namespace, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION } },
        data,
      });
      return;
    }
    if (deepEqual(cm.data, data) && cm.metadata?.annotations?.[DESCRIPTION_ANNOTATION]) return;
    const next = cloneJson(cm);
    next.data = data;
    next.metadata = { ...next.metadata, annotations: { ...(next.metadata?.annotations ?? {}), [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION } };
    try {
      await this.client.update(Resources.configmaps, namespace, next);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export function serviceAccountsController(): ControllerFactory {
  return () => new ServiceAccountsController();
}

/** The root CA publisher, publishing `caPem` (the cluster CA, PEM). */
export function rootCACertPublisher(caPem: string): ControllerFactory {
  return () => new RootCACertPublisher(caPem);
}
