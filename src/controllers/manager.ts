// The controller manager: the controllers of src/controllers/*, run only by the holder of the
// `kube-controller-manager` Lease in kube-system, on shared informers and one client.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KubeClient } from '../client/kube-client.ts';
import { EventRecorder } from './framework/events.ts';
import { SharedInformerFactory, type InformerPoolLike } from './framework/informer.ts';
import { LeaderElector } from './framework/leader-election.ts';
import { stderrLogger, type Logger } from './framework/log.ts';

export interface ControllerContext {
  client: KubeClient;
  informers: SharedInformerFactory;
  /** An event recorder writing as `component` (e.g. deployment-controller). */
  recorder(component: string): EventRecorder;
  logger(name: string): Logger;
  /** The clock (tests replace it). */
  now(): Date;
}

/**
 * One controller. `start` registers its informers and handlers (before the shared informers
 * start) and returns; `run` starts its workers once every informer has synced and resolves
 * when they have stopped; `stop` shuts its queues down.
 */
export interface Controller {
  readonly name: string;
  start(ctx: ControllerContext): void;
  run(): Promise<void>;
  stop(): void;
}

export type ControllerFactory = () => Controller;

export interface ManagerOptions {
  client: KubeClient;
  controllers: ControllerFactory[];
  /** Run only while holding the Lease (default true). */
  leaderElection?: boolean;
  identity?: string;
  /** Lists and watches shared with other components on this thread (the scheduler). */
  informerPool?: InformerPoolLike;
  logger?: Logger;
}

export class ControllerManager {
  private readonly opts: ManagerOptions;
  private readonly log: Logger;
  private elector: LeaderElector | undefined;
  private running: { informers: SharedInformerFactory; controllers: Controller[]; recorders: EventRecorder[]; done: Promise<unknown> } | undefined;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.log = opts.logger ?? stderrLogger('controller-manager');
  }

  async start(): Promise<void> {
    if (this.opts.leaderElection === false) return this.lead();
    this.elector = new LeaderElector({
      client: this.opts.client,
      name: 'kube-controller-manager',
      namespace: 'kube-system',
      identity: this.opts.identity ?? `${hostname()}_${randomUUID()}`,
      logger: this.log,
      callbacks: {
        onStartedLeading: () => this.lead(),
        onStoppedLeading: () => void this.halt(),
      },
    });
    void this.elector.run();
  }

  private async lead(): Promise<void> {
    if (this.running) return;
    const client = this.opts.client;
    const informers = new SharedInformerFactory(client, { stripManagedFields: true }, this.opts.informerPool);
    const recorders: EventRecorder[] = [];
    const ctx: ControllerContext = {
      client,
      informers,
      recorder: (component) => {
        const r = new EventRecorder(client, { component });
        recorders.push(r);
        return r;
      },
      logger: (name) => stderrLogger(name),
      now: () => new Date(),
    };
    const controllers = this.opts.controllers.map((f) => f());
    for (const c of controllers) c.start(ctx);
    informers.start();
    const done = informers
      .waitForSync(120_000)
      .then(() => Promise.all(controllers.map((c) => c.run().catch((e: Error) => this.log.error(`${c.name} stopped: ${e.message}`)))));
    this.running = { informers, controllers, recorders, done };
  }

  private async halt(): Promise<void> {
    const r = this.running;
    if (!r) return;
    this.running = undefined;
    for (const c of r.controllers) c.stop();
    await r.informers.stop();
    await Promise.all(r.recorders.map((x) => x.close()));
  }

  async stop(): Promise<void> {
    await this.elector?.stop();
    await this.halt();
  }
}
