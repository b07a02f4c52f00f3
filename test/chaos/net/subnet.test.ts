import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr, pickSubnet, prefixesInUse } from './subnet.js';

const routes = `default via 192.0.2.1 dev eth0
192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2
blackhole 10.213.7.9
local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1
broadcast 192.0.2.255 dev eth0 table local proto kernel scope link src 192.0.2.2`;
const addrs = `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
4: eth0    inet 10.213.8.5/22 brd 10.213.11.255 scope global eth0\\       valid_lft forever`;

test('routes and addresses in use are read from ip output, without the default route', () => {
  const inUse = prefixesInUse(routes, addrs);
  assert.deepEqual(inUse, [
    parseCidr('192.0.2.0/24'),
    parseCidr('10.213.7.9/32'),
    parseCidr('127.0.0.0/8'),
    parseCidr('192.0.2.255/32'),
    parseCidr('127.0.0.1/8'),
    parseCidr('10.213.8.5/22'),
  ]);
});

test('a subnet is derived from the tag and steps past every overlapping prefix', () => {
  const free = pickSubnet('abc', []);
  assert.match(free, /^10\.213\.\d{1,3}$/);
  assert.equal(pickSubnet('abc', []), free, 'the same tag gives the same subnet');
  const x = Number(free.split('.')[2]);
  // Block the chosen /24 and the next one (by a host route and a wider prefix).
  const next = (x % 254) + 1;
  const after = (next % 254) + 1;
  const blocked = [parseCidr(`10.213.${x}.17/32`)!, parseCidr(`10.213.${next}.0/25`)!];
  assert.equal(pickSubnet('abc', blocked), `10.213.${after}`);
  assert.throws(() => pickSubnet('abc', [parseCidr('10.213.0.0/16')!]), /no free \/24/);
  assert.equal(parseCidr('10.0.0.300/8'), null);
  assert.equal(parseCidr('10.0.0.1/33'), null);
});
