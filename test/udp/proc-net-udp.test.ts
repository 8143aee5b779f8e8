// /proc/net/udp parsing (src/udp/proc-net-udp.ts) on rows as Linux writes them, and on a live
// socket of this process where the file exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { parseUdpSocketRow, readUdpSockets, udpSocketStats } from '../../src/udp/proc-net-udp.js';

const header = '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops';
const v4Row = ' 1021: 0100007F:1283 00000000:0000 07 00000000:00000A80 00:00000000 00000000  1000        0 4242424 2 0000000000000000 17';
const v6Row = '  314: 00000000000000000000000001000000:1283 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 777 2 0000000000000000 0';

test('a row gives the local address and port, the receive queue, the inode and the drops; the header is not a row', () => {
  assert.equal(parseUdpSocketRow(header), null);
  assert.equal(parseUdpSocketRow(''), null);
  assert.deepEqual(parseUdpSocketRow(v4Row), { localAddressHex: '0100007F', localPort: 4739, rxQueue: 0xa80, inode: 4242424, drops: 17 });
  assert.deepEqual(parseUdpSocketRow(v6Row), { localAddressHex: '00000000000000000000000001000000', localPort: 4739, rxQueue: 0, inode: 777, drops: 0 });
});

test('a bound socket of this process is found by port, labelled by family', { skip: !existsSync('/proc/net/udp') && 'no /proc/net/udp here' }, async (t) => {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => socket.close());
  const port = socket.address().port;
  assert.ok(readUdpSockets('udp').some((r) => r.localPort === port && r.localAddressHex === '0100007F'));
  assert.deepEqual(udpSocketStats([{ family: 'udp', port }]), [{ socket: `udp:${port}`, rxQueue: 0, drops: 0 }]);
});
