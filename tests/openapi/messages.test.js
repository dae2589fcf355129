'use strict';
// Message endpoints (spec/open-api.md §6.7): real messages sent with libons
// (tests/openapi/msg_tool.c), then getById/getByKey/trace report them.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { startCluster, stopCluster, call, until } = require('./cluster');

const BUILD = process.env.TERN_BUILD_DIR
  ? path.resolve(process.env.TERN_BUILD_DIR)
  : path.join(__dirname, '..', '..', 'build');
const TOOL = path.join(BUILD, 'msg_tool');
const TOPIC = 'T_msg';

let c;
let ns;
function ok(r) { assert.equal(r.success, true, JSON.stringify(r)); return r.data; }
function fail(r, code) {
  assert.equal(r.success, false, JSON.stringify(r));
  assert.equal(r.dynamicCode, code, JSON.stringify(r));
}
const send = (tag, key, n) =>
  execFileSync(TOOL, ['send', ns, TOPIC, tag, key, String(n)]).toString().trim().split('\n');
const consume = (group, expr, count, seconds) => new Promise((resolve, reject) => {
  const child = spawn(TOOL, ['consume', ns, group, TOPIC, expr, String(count), String(seconds)]);
  child.on('exit', code => (code === 0 ? resolve() : reject(new Error(`msg_tool exit ${code}`))));
});

test.before(async () => {
  c = await startCluster();
  ns = `127.0.0.1:${c.namesrvPort}`;
  ok(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'plain', independentNaming: 'false',
    maxSendTps: '1000', maxReceiveTps: '1000',
  }));
  ok(await call(c, '/json/topic/create', { topic: TOPIC, orderType: '0' }));
  for (const g of ['GID_a', 'GID_b', 'GID_idle']) ok(await call(c, '/json/group/create', { groupId: g }));
});
test.after(async () => { await stopCluster(c); });

test('getById, getByKey and trace', async () => {
  const t0 = Date.now();
  const ids = send('TagA', 'order-1', 3);
  send('TagA', 'other', 1);
  assert.equal(ids.length, 3);

  fail(await call(c, '/json/message/getById', { topic: TOPIC }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/getById', { msgId: ids[0] }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/getById', { topic: 'T_none', msgId: ids[0] }), 'BIZ_TOPIC_NOT_FOUND');
  fail(await call(c, '/json/message/getById', { topic: TOPIC, msgId: '0A0000010000000000000000000000FF' }), 'BIZ_NO_MESSAGE');
  const m = ok(await call(c, '/json/message/getById', { topic: TOPIC, msgId: ids[1] }));
  assert.equal(m.msgId, ids[1]);
  assert.equal(m.topic, TOPIC);
  assert.equal(m.body, 'body-1');
  assert.equal(m.reconsumeTimes, 0);
  assert.ok(m.storeTimestamp >= t0 && m.bornTimestamp >= t0 - 1000);
  assert.equal(m.storeHost, `127.0.0.1:${c.brokerPort}`);
  assert.match(m.bornHost, /^\d+\.\d+\.\d+\.\d+:\d+$/);
  assert.ok(m.storeSize > 0);
  assert.ok(m.bodyCRC >= 0);
  const props = Object.fromEntries(m.propertyList.map(p => [p.name, p.value]));
  assert.equal(props.TAGS, 'TagA');
  assert.equal(props.KEYS, 'order-1');

  fail(await call(c, '/json/message/getByKey', { topic: TOPIC }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/getByKey', { topic: TOPIC, key: 'nope' }), 'BIZ_NO_MESSAGE');
  const byKey = ok(await call(c, '/json/message/getByKey', { topic: TOPIC, key: 'order-1' }));
  assert.deepEqual(byKey.map(x => x.msgId).sort(), [...ids].sort());
  for (let i = 1; i < byKey.length; i++) assert.ok(byKey[i - 1].storeTimestamp <= byKey[i].storeTimestamp);

  fail(await call(c, '/json/message/trace', { topic: TOPIC, msgId: 'nope' }), 'BIZ_NO_MESSAGE');
  assert.deepEqual(ok(await call(c, '/json/message/trace', { topic: TOPIC, msgId: ids[0] })), []);
  await consume('GID_a', 'TagA', 4, 0);
  await consume('GID_b', 'TagB', 0, 4);
  let tr = ok(await call(c, '/json/message/trace', { topic: TOPIC, msgId: ids[0] }));
  assert.deepEqual(tr.map(t => [t.consumerGroup, t.trackType]), [['GID_a', 'NOT_ONLINE'], ['GID_b', 'NOT_ONLINE']]);
  // The consumers stay online 3 s: poll (not a fixed sleep) until their
  // pulls have moved the offsets, then check the trace.
  const traceOf = (msgId, want) => until(
    async () => ok(await call(c, '/json/message/trace', { topic: TOPIC, msgId })),
    got => JSON.stringify(got.map(t => [t.consumerGroup, t.trackType])) === JSON.stringify(want),
    24, 100);
  const a = consume('GID_a', 'TagA', 0, 3);
  const b = consume('GID_b', 'TagB', 0, 3);
  const want = [['GID_a', 'CONSUMED'], ['GID_b', 'CONSUMED_BUT_FILTERED']];
  tr = await traceOf(ids[0], want);
  assert.deepEqual(tr.map(t => [t.consumerGroup, t.trackType]), want);
  assert.equal(tr[0].exceptionDesc, '');
  await Promise.all([a, b]);
  const later = send('TagA', 'late', 1);
  const a2 = consume('GID_b', 'TagB', 0, 3);
  // The online TagB consumer's pulls skip the TagA message, so its offset
  // moves past it: filtered, not pending.
  const want2 = [['GID_a', 'NOT_ONLINE'], ['GID_b', 'CONSUMED_BUT_FILTERED']];
  tr = await traceOf(later[0], want2);
  assert.deepEqual(tr.map(t => [t.consumerGroup, t.trackType]), want2);
  await a2;
});
