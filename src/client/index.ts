// The k8ts client library: see README.md.
export { HttpClient, ConnectionError, TimeoutError, AbortedError, type Transport, type HttpRequest, type HttpResponse, type HttpStream, type HttpClientOptions } from './http.ts';
export { tlsTransport, inProcessTransport, loadKubeconfig, kubeconfigFromYaml, type TlsOptions, type InProcessConnector, type InProcessUser, type KubeconfigCredentials } from './transport.ts';
export { Resources, lookupResource, resourceOf, resourcePath, apiVersionOf, type GVR } from './resources.ts';
export {
  KubeClient,
  Watch,
  statusErrorOf,
  statusErrorFromStatus,
  isNotFound,
  isAlreadyExists,
  isConflict,
  isGone,
  isInvalid,
  type KubeClientOptions,
  type ListOptions,
  type WatchOptions,
  type WriteOptions,
  type PatchType,
  type PatchOptions,
  type DeleteOptions,
  type ObjectList,
  type ListMeta,
  type WatchEvent,
  type WatchEventType,
} from './kube-client.ts';
export { StatusError, type Status } from '../api/status.ts';
