// x509 client-certificate authentication: the user is the subject's CN, the groups its O values
// (the Kubernetes convention, e.g. CN=kubernetes-admin, O=system:masters).

import type { Duplex } from 'node:stream';
import { TLSSocket, type PeerCertificate } from 'node:tls';

export interface ClientIdentity {
  user: string;
  groups: string[];
}

const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * The identity named by a peer certificate. This does NOT check that the certificate was verified:
 * with `requestCert: true, rejectUnauthorized: false` an unverified certificate also shows up here.
 * Authenticators should use identityFromTlsSocket(), which does.
 */
export function identityFromPeerCertificate(cert: PeerCertificate | undefined): ClientIdentity | undefined {
  // getPeerCertificate() returns {} (not null) when the client sent no certificate.
  const subject = cert?.subject;
  if (!subject) return undefined;
  const cn = values(subject.CN);
  // Several CNs would be ambiguous (Go takes the last one, others the first): refuse rather than guess.
  if (cn.length !== 1 || cn[0] === '') return undefined;
  return { user: cn[0]!, groups: values(subject.O).filter((g) => g !== '') };
}

/**
 * The identity of a TLS client whose certificate chain verified against the server's `ca`
 * (`socket.authorized`) and that may be used for client authentication; undefined otherwise.
 */
export function identityFromTlsSocket(socket: TLSSocket): ClientIdentity | undefined {
  // The certificate is fixed for the connection: decode it once, not on every request.
  if (bySocket.has(socket)) return bySocket.get(socket);
  let id: ClientIdentity | undefined;
  if (socket.authorized) {
    const cert = socket.getPeerCertificate();
    if (!cert.ext_key_usage || cert.ext_key_usage.includes(OID_CLIENT_AUTH)) id = identityFromPeerCertificate(cert);
  }
  bySocket.set(socket, id);
  return id;
}

const bySocket = new WeakMap<TLSSocket, ClientIdentity | undefined>();

/** Identities of in-process connections (ApiServer.connectInProcess), set by the server itself. */
const inProcess = new WeakMap<Duplex, ClientIdentity>();

/** Marks an in-process (in-memory) connection as authenticated as `id`. */
export function setInProcessIdentity(socket: Duplex, id: ClientIdentity): void {
  inProcess.set(socket, id);
}

/** The identity of a connection: an in-process one as registered, a TLS one by its verified certificate. */
export function identityFromSocket(socket: Duplex): ClientIdentity | undefined {
  const id = inProcess.get(socket);
  if (id) return id;
  return socket instanceof TLSSocket ? identityFromTlsSocket(socket) : undefined;
}

function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
