import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer } from '../helpers/harness.js';
import { parsePeer, parsePeers } from '../../src/cluster/node/peers.js';

test('without peers: CLUSTER is disabled, WAIT has no replicas, CONSISTENCY is accepted', () => {
  const { client } = testServer();
  assert.equal(client.run('CLUSTER', 'INFO'), '-ERR This instance has cluster support disabled\r\n');
  assert.equal(client.run('CLUSTER', 'NODES'), '-ERR This instance has cluster support disabled\r\n');
  assert.equal(client.run('SET', 'k', 'v'), '+OK\r\n');
  assert.equal(client.run('WAIT', '1', '0'), ':0\r\n');
  assert.equal(client.run('WAIT', '1', '-5'), '-ERR timeout is negative\r\n');
  assert.equal(client.run('WAIT', '1', 'abc'), '-ERR timeout is not an integer or out of range\r\n');
  assert.equal(client.run('CONSISTENCY'), '$6\r\nstrong\r\n');
  assert.equal(client.run('CONSISTENCY', 'quorum'), '+OK\r\n');
  assert.equal(client.run('CONSISTENCY', 'linear'), "-ERR invalid consistency level 'linear' (expected strong, quorum or eventual)\r\n");
  assert.equal(client.run('WAIT', '1'), "-ERR wrong number of arguments for 'wait' command\r\n");
});

test('peers: id@host:port with the peer port defaulting to port + 10000', () => {
  assert.deepEqual(parsePeer('n1@127.0.0.1:9000'), { id: 'n1', host: '127.0.0.1', port: 9000, peerPort: 19000 });
  assert.deepEqual(parsePeer('n2@10.0.0.2:9001@7000'), { id: 'n2', host: '10.0.0.2', port: 9001, peerPort: 7000 });
  assert.equal(parsePeers('n1@h:1, n2@h:2,n3@h:3').length, 3);
  assert.throws(() => parsePeers('n1@h:1,n1@h:2'), /appears twice/);
  assert.throws(() => parsePeer('n1@h'), /host:port/);
  assert.throws(() => parsePeer('n1@h:99999'), /not a port/);
  assert.throws(() => parsePeer('n1@h:60000'), /out of range/);
  assert.throws(() => parsePeer('h:1'), /expected id@host:port/);
  assert.throws(() => parsePeers(' , '), /empty/);
});
