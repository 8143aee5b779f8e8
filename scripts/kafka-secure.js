// The secured listeners of the project's broker (KAFKA_SECURE=1, or startKafka({ secure: true })):
// SASL_SSL on port + 2 and SSL with client certificates (mTLS) on port + 3, beside the plain
// listener, as production clusters run Kafka.
//
//   <KAFKA_DIR>/secure/ca.pem            the CA (clients verify the broker with it: kafka.ssl.ca_file)
//   <KAFKA_DIR>/secure/broker.pem        the broker's key and certificate (SAN: its host, 127.0.0.1, localhost)
//   <KAFKA_DIR>/secure/client.pem, client.key  a client certificate for the mTLS listener (principal
//                                        User:CN=flowgate-mtls)
//   <KAFKA_DIR>/secure/credentials.json  {"username": "flowgate", "password": ...}: a user for SASL PLAIN,
//                                        SCRAM-SHA-256 and SCRAM-SHA-512 (SCRAM users are written when the
//                                        storage is formatted, so turning secure mode on formats afresh)
// ACLs are on (StandardAuthorizer): the plain listener's ANONYMOUS is a super user (the rest of the
// tests and tools use it), the flowgate user has only what the ACLs given to it allow.
// Certificates come from the openssl command; nothing but Node's standard library is used here.

import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const SECURE_USER = 'flowgate';
/** The mTLS client's principal (Kafka's default mapping of a certificate: User:<its subject>). */
export const MTLS_PRINCIPAL = 'User:CN=flowgate-mtls';
const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** Where the secured listener's files are, and its port. */
export function secureSettings(dir, port, mtlsPort) {
  const secureDir = path.join(dir, 'secure');
  return {
    dir: secureDir,
    port,
    mtlsPort,
    clientCertFile: path.join(secureDir, 'client.pem'),
    clientKeyFile: path.join(secureDir, 'client.key'),
    caFile: path.join(secureDir, 'ca.pem'),
    caKeyFile: path.join(secureDir, 'ca.key'),
    keystoreFile: path.join(secureDir, 'broker.pem'),
    credentialsFile: path.join(secureDir, 'credentials.json'),
  };
}

function openssl(args, cwd) {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl: ${r.error.message} (apt-get install openssl)`);
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.trim().slice(-1000)}`);
}

/** The CA, the broker's key and certificate, and the user's credentials: made once, kept. */
export function ensureSecureFiles(sec, host) {
  fs.mkdirSync(sec.dir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(sec.caFile)) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=FlowGate test CA',
      '-keyout', sec.caKeyFile, '-out', sec.caFile]);
    fs.rmSync(sec.keystoreFile, { force: true });
  }
  if (!fs.existsSync(sec.keystoreFile)) {
    const key = path.join(sec.dir, 'broker.key');
    const csr = path.join(sec.dir, 'broker.csr');
    const cert = path.join(sec.dir, 'broker.crt');
    const ext = path.join(sec.dir, 'broker.ext');
    const names = [...new Set([host, '127.0.0.1'])].map((h) => (/^[0-9.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`));
    fs.writeFileSync(ext, `subjectAltName=${[...names, 'DNS:localhost'].join(',')}\n`);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${host}`, '-keyout', key, '-out', csr]);
    openssl(['x509', '-req', '-in', csr, '-CA', sec.caFile, '-CAkey', sec.caKeyFile, '-CAcreateserial', '-days', '3650',
      '-extfile', ext, '-out', cert]);
    // Kafka's PEM keystore: the unencrypted PKCS#8 key, then the certificate.
    fs.writeFileSync(sec.keystoreFile, fs.readFileSync(key, 'utf8') + fs.readFileSync(cert, 'utf8'), { mode: 0o600 });
    for (const f of [key, csr, cert, ext]) fs.rmSync(f, { force: true });
  }
  if (!fs.existsSync(sec.clientCertFile)) {
    const csr = path.join(sec.dir, 'client.csr');
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=flowgate-mtls', '-keyout', sec.clientKeyFile, '-out', csr]);
    openssl(['x509', '-req', '-in', csr, '-CA', sec.caFile, '-CAkey', sec.caKeyFile, '-CAcreateserial', '-days', '3650', '-out', sec.clientCertFile]);
    fs.rmSync(csr, { force: true });
  }
  if (!fs.existsSync(sec.credentialsFile)) {
    fs.writeFileSync(sec.credentialsFile, `${JSON.stringify({ username: SECURE_USER, password: crypto.randomBytes(12).toString('hex') })}\n`, { mode: 0o600 });
  }
  return JSON.parse(fs.readFileSync(sec.credentialsFile, 'utf8'));
}

/** server.properties with the SASL_SSL listener beside the plain one, and ACLs on. */
export function secureProperties(text, sec, host, credentials) {
  const replace = (key, value) => {
    const re = new RegExp(`^${key.replaceAll('.', '\\.')}=.*$`, 'm');
    if (!re.test(text)) throw new Error(`server.properties has no ${key}`);
    text = text.replace(re, `${key}=${value}`);
  };
  const listeners = `SASL_SSL://${host}:${sec.port},SSL://${host}:${sec.mtlsPort}`;
  replace('listeners', `${text.match(/^listeners=(.*)$/m)[1]},${listeners}`);
  replace('advertised.listeners', `${text.match(/^advertised\.listeners=(.*)$/m)[1]},${listeners}`);
  replace('listener.security.protocol.map', `${text.match(/^listener\.security\.protocol\.map=(.*)$/m)[1]},SASL_SSL:SASL_SSL,SSL:SSL`);
  const jaas = (module, users) => `${module} required${users};`;
  return `${text}
# Secured listener (scripts/kafka-secure.js)
sasl.enabled.mechanisms=PLAIN,${SCRAM_MECHANISMS.join(',')}
listener.name.sasl_ssl.plain.sasl.jaas.config=${jaas('org.apache.kafka.common.security.plain.PlainLoginModule', ` user_${credentials.username}="${credentials.password}"`)}
${SCRAM_MECHANISMS.map((m) => `listener.name.sasl_ssl.${m.toLowerCase()}.sasl.jaas.config=${jaas('org.apache.kafka.common.security.scram.ScramLoginModule', '')}`).join('\n')}
ssl.keystore.type=PEM
ssl.keystore.location=${sec.keystoreFile}
ssl.truststore.type=PEM
ssl.truststore.location=${sec.caFile}
listener.name.ssl.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=false
`;
}

/** kafka-storage format arguments that create the SCRAM user. */
export function scramFormatArgs(credentials) {
  return SCRAM_MECHANISMS.flatMap((m) => ['--add-scram', `${m}=[name=${credentials.username},password=${credentials.password}]`]);
}
