// Table columns per kind, as kubectl shows them from a real cluster (priority 1 = -o wide).
import { age } from './table.ts';
import { isDefaultClass, storageClassOf } from '../api/storage-class.ts';
import type { KubeObject } from '../api/object.ts';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Printer {
  columns: Array<[name: string, type: string, priority?: number]>;
  cells(obj: KubeObject): unknown[];
  /** Where the Age column goes among `columns` (default: after the priority-0 ones). */
  ageAt?: number;
  /** Only `columns`: no Name column first, no Age column (Events). */
  bare?: boolean;
  /** The Name cell, where it is more than metadata.name. */
  name?(obj: KubeObject): string;
}

const list = (v: unknown): Any[] => (Array.isArray(v) ? v : []);
const MODE_ABBREV: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };
/** Access modes as kubectl prints them: RWO,ROX,RWX,RWOP, each once, in that order. */
const accessModes = (v: unknown): string => ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'].filter((m) => Array.isArray(v) && v.includes(m)).map((m) => MODE_ABBREV[m]).join(',');
const selector = (sel: Any | undefined): string =>
  sel ? [...Object.entries(sel.matchLabels ?? sel).filter(([k]) => k !== 'matchExpressions').map(([k, v]) => `${k}=${v}`)].join(',') || '<none>' : '<none>';

function servicePorts(spec: Any): string {
  const ports = list(spec.ports);
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

/** READY, STATUS and RESTARTS of a pod, by upstream's printPod rules. */
function podReady(o: Any): [string, string, number] {
  const statuses = list(o.status?.containerStatuses);
  const total = list(o.spec?.containers).length;
  let reason: string = o.status?.reason || o.status?.phase || '';
  let restarts = 0;
  let ready = 0;
  let initializing = false;
  const inits = list(o.status?.initContainerStatuses);
  const initCount = list(o.spec?.initContainers).length;
  inits.forEach((s, i) => {
    restarts += s.restartCount ?? 0;
    if (initializing) return;
    const t = s.state?.terminated;
    if (t && t.exitCode === 0) return;
    if (s.started && list(o.spec?.initContainers)[i]?.restartPolicy === 'Always') return; // a running sidecar
    initializing = true;
    if (t) reason = t.reason ? `Init:${t.reason}` : `Init:ExitCode:${t.exitCode}`;
    else if (s.state?.waiting?.reason && s.state.waiting.reason !== 'PodInitializing') reason = `Init:${s.state.waiting.reason}`;
    else reason = `Init:${i}/${initCount}`;
  });
  if (!initializing) {
    restarts = 0;
    let hasRunning = false;
    for (let i = statuses.length - 1; i >= 0; i--) {
      const s = statuses[i];
      restarts += s.restartCount ?? 0;
      if (s.state?.waiting?.reason) reason = s.state.waiting.reason;
      else if (s.state?.terminated?.reason) reason = s.state.terminated.reason;
      else if (s.state?.terminated) reason = s.state.terminated.signal ? `Signal:${s.state.terminated.signal}` : `ExitCode:${s.state.terminated.exitCode}`;
      else if (s.ready && s.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = list(o.status?.conditions).some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
  }
  if (o.metadata?.deletionTimestamp) reason = o.status?.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return [`${ready}/${total}`, reason, restarts];
}

function containerImages(spec: Any | undefined): [string, string] {
  const cs = list(spec?.template?.spec?.containers ?? spec?.containers);
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image).join(',')];
}

export const printers: Record<string, Printer> = {
  Namespace: { columns: [['Status', 'string']], cells: (o: Any) => [o.status?.phase ?? ''] },
  ConfigMap: { columns: [['Data', 'integer']], cells: (o: Any) => [Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length] },
  Secret: { columns: [['Type', 'string'], ['Data', 'integer']], cells: (o: Any) => [o.type ?? '', Object.keys(o.data ?? {}).length] },
  ServiceAccount: { columns: [['Secrets', 'integer']], cells: (o: Any) => [list(o.secrets).length] },
  Pod: {
    columns: [['Ready', 'string'], ['Status', 'string'], ['Restarts', 'string'], ['IP', 'string', 1], ['Node', 'string', 1], ['Nominated Node', 'string', 1], ['Readiness Gates', 'string', 1]],
    cells: (o: Any) => {
      const [ready, status, restarts] = podReady(o);
      return [ready, status, String(restarts), o.status?.podIP ?? '<none>', o.spec?.nodeName ?? '<none>', o.status?.nominatedNodeName ?? '<none>', '<none>'];
    },
  },
  Service: {
    columns: [['Type', 'string'], ['Cluster-IP', 'string'], ['External-IP', 'string'], ['Port(s)', 'string'], ['Selector', 'string', 1]],
    cells: (o: Any) => {
      const ingress = list(o.status?.loadBalancer?.ingress).map((i) => i.ip ?? i.hostname);
      const external = o.spec?.type === 'ExternalName' ? o.spec.externalName : ingress.length ? ingress.join(',') : list(o.spec?.externalIPs).length ? o.spec.externalIPs.join(',') : o.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>';
      return [o.spec?.type ?? '', o.spec?.clusterIP ?? '<none>', external, servicePorts(o.spec ?? {}), selector(o.spec?.selector)];
    },
  },
  Deployment: {
    columns: [['Ready', 'string'], ['Up-to-date', 'string'], ['Available', 'string'], ['Containers', 'string', 1], ['Images', 'string', 1], ['Selector', 'string', 1]],
    cells: (o: Any) => [`${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0, ...containerImages(o.spec), selector(o.spec?.selector)],
  },
  ReplicaSet: {
    columns: [['Desired', 'integer'], ['Current', 'integer'], ['Ready', 'integer'], ['Containers', 'string', 1], ['Images', 'string', 1], ['Selector', 'string', 1]],
    cells: (o: Any) => [o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, ...containerImages(o.spec), selector(o.spec?.selector)],
  },
  StatefulSet: {
    columns: [['Ready', 'string'], ['Containers', 'string', 1], ['Images', 'string', 1]],
    cells: (o: Any) => [`${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, ...containerImages(o.spec)],
  },
  DaemonSet: {
    columns: [['Desired', 'integer'], ['Current', 'integer'], ['Ready', 'integer'], ['Up-to-date', 'integer'], ['Available', 'integer'], ['Node Selector', 'string'], ['Containers', 'string', 1], ['Images', 'string', 1], ['Selector', 'string', 1]],
    cells: (o: Any) => {
      const s = o.status ?? {};
      const ns = Object.entries(o.spec?.template?.spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';
      return [s.desiredNumberScheduled ?? 0, s.currentNumberScheduled ?? 0, s.numberReady ?? 0, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0, ns, ...containerImages(o.spec), selector(o.spec?.selector)];
    },
  },
  Job: {
    columns: [['Status', 'string'], ['Completions', 'string'], ['Duration', 'string'], ['Containers', 'string', 1], ['Images', 'string', 1], ['Selector', 'string', 1]],
    cells: (o: Any) => {
      const conds = list(o.status?.conditions);
      const is = (t: string) => conds.some((c) => c.type === t && c.status === 'True');
      const status = is('Complete') ? 'Complete' : is('Failed') ? 'Failed' : o.metadata?.deletionTimestamp ? 'Terminating' : is('FailureTarget') ? 'FailureTarget' : is('SuccessCriteriaMet') ? 'SuccessCriteriaMet' : is('Suspended') ? 'Suspended' : 'Running';
      const succeeded = o.status?.succeeded ?? 0;
      const parallelism = o.spec?.parallelism ?? 0;
      const completions = o.spec?.completions !== undefined && o.spec?.completions !== null ? `${succeeded}/${o.spec.completions}` : parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
      const start = o.status?.startTime ? Date.parse(o.status.startTime) : NaN;
      const end = o.status?.completionTime ? Date.parse(o.status.completionTime) : Date.now();
      const duration = Number.isFinite(start) ? age(new Date(start).toISOString(), end) : '';
      return [status, completions, duration, ...containerImages(o.spec), selector(o.spec?.selector)];
    },
  },
  CronJob: {
    columns: [['Schedule', 'string'], ['Timezone', 'string'], ['Suspend', 'boolean'], ['Active', 'integer'], ['Last Schedule', 'string'], ['Containers', 'string', 1], ['Images', 'string', 1]],
    cells: (o: Any) => [o.spec?.schedule ?? '', o.spec?.timeZone ?? '<none>', o.spec?.suspend ?? false, list(o.status?.active).length, o.status?.lastScheduleTime ? age(o.status.lastScheduleTime) : '<none>', ...containerImages(o.spec?.jobTemplate?.spec)],
  },
  Node: {
    columns: [['Status', 'string'], ['Roles', 'string'], ['Version', 'string'], ['Internal-IP', 'string', 1], ['OS-Image', 'string', 1], ['Kernel-Version', 'string', 1], ['Container-Runtime', 'string', 1]],
    cells: (o: Any) => {
      const ready = list(o.status?.conditions).find((c) => c.type === 'Ready');
      const roles = Object.keys(o.metadata?.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice(24)).join(',') || '<none>';
      const info = o.status?.nodeInfo ?? {};
      const ip = list(o.status?.addresses).find((a) => a.type === 'InternalIP')?.address ?? '<none>';
      return [`${ready?.status === 'True' ? 'Ready' : 'NotReady'}${o.spec?.unschedulable ? ',SchedulingDisabled' : ''}`, roles, info.kubeletVersion ?? '', ip, info.osImage ?? '', info.kernelVersion ?? '', info.containerRuntimeVersion ?? ''];
    },
  },
  Endpoints: { columns: [['Endpoints', 'string']], cells: (o: Any) => [list(o.subsets).flatMap((s) => list(s.addresses).flatMap((a) => list(s.ports).map((p) => `${a.ip}:${p.port}`))).join(',') || '<none>'] },
  PersistentVolumeClaim: {
    columns: [['Status', 'string'], ['Volume', 'string'], ['Capacity', 'string'], ['Access Modes', 'string'], ['StorageClass', 'string'], ['VolumeAttributesClass', 'string'], ['VolumeMode', 'string', 1]],
    cells: (o: Any) => {
      const bound = o.spec?.volumeName ? [o.status?.capacity?.storage ?? '', accessModes(o.status?.accessModes)] : ['', ''];
      return [o.metadata?.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? ''), o.spec?.volumeName ?? '', ...bound, storageClassOf(o), o.spec?.volumeAttributesClassName ?? '<unset>', o.spec?.volumeMode ?? '<unset>'];
    },
  },
  PersistentVolume: {
    columns: [['Capacity', 'string'], ['Access Modes', 'string'], ['Reclaim Policy', 'string'], ['Status', 'string'], ['Claim', 'string'], ['StorageClass', 'string'], ['VolumeAttributesClass', 'string'], ['Reason', 'string'], ['VolumeMode', 'string', 1]],
    cells: (o: Any) => {
      const ref = o.spec?.claimRef;
      return [o.spec?.capacity?.storage ?? '', accessModes(o.spec?.accessModes), o.spec?.persistentVolumeReclaimPolicy ?? '', o.metadata?.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? ''), ref ? `${ref.namespace ?? ''}/${ref.name ?? ''}` : '', storageClassOf(o), o.spec?.volumeAttributesClassName ?? '<unset>', o.status?.reason ?? '', o.spec?.volumeMode ?? '<unset>'];
    },
  },
  StorageClass: {
    columns: [['Provisioner', 'string'], ['ReclaimPolicy', 'string'], ['VolumeBindingMode', 'string'], ['AllowVolumeExpansion', 'string']],
    name: (o: Any) => `${o.metadata?.name ?? ''}${isDefaultClass(o) ? ' (default)' : ''}`,
    cells: (o: Any) => [o.provisioner ?? '', o.reclaimPolicy ?? 'Delete', o.volumeBindingMode ?? 'Immediate', String(o.allowVolumeExpansion ?? false)],
  },
  PriorityClass: {
    columns: [['Value', 'integer'], ['Global-Default', 'boolean'], ['PreemptionPolicy', 'string', 0]],
    ageAt: 2,
    cells: (o: Any) => [o.value ?? 0, o.globalDefault ?? false, o.preemptionPolicy ?? 'PreemptLowerPriority'],
  },
  Event: {
    // As upstream: no Name or Age columns of their own; the -o wide ones sit among the others.
    columns: [['Last Seen', 'string'], ['Type', 'string'], ['Reason', 'string'], ['Object', 'string'], ['Subobject', 'string', 1], ['Source', 'string', 1], ['Message', 'string'], ['First Seen', 'string', 1], ['Count', 'string', 1], ['Name', 'string', 1]],
    bare: true,
    cells: (o: Any) => {
      const first = age(o.firstTimestamp || o.eventTime);
      const last = o.series?.lastObservedTime ? age(o.series.lastObservedTime) : o.lastTimestamp ? age(o.lastTimestamp) : first;
      const count = o.series?.count ?? (o.count || 1);
      const io = o.involvedObject ?? {};
      const target = io.name ? `${String(io.kind ?? '').toLowerCase()}/${io.name}` : String(io.kind ?? '').toLowerCase();
      const component = o.source?.component || o.reportingComponent || '';
      const host = o.source?.host || o.reportingInstance || '';
      return [last, o.type ?? '', o.reason ?? '', target, io.fieldPath ?? '', host ? `${component}, ${host}` : component, String(o.message ?? '').trim(), first, count, o.metadata?.name ?? ''];
    },
  },
  Lease: { columns: [['Holder', 'string']], cells: (o: Any) => [o.spec?.holderIdentity ?? ''] },
};
