'use strict';
// /json/message/getByPagedTopic (spec/open-api.md §6.7.4): real messages sent
// with libons (tests/openapi/msg_tool.c), paged through a query task.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startCluster, stopCluster, call, OTHER } = require('./cluster');

const BUILD = process.env.TERN_BUILD_DIR
  ? path.resolve(process.env.TERN_BUILD_DIR)
  : path.join(__dirname, '..', '..', 'build');
const TOOL = path.join(BUILD, 'msg_tool');
const TOPIC = 'T_paged';
const EP = '/json/message/getByPagedTopic';

let c;
let ns;
function ok(r) { assert.equal(r.success, true, JSON.stringify(r)); return r.data; }
function fail(r, code) {
  assert.equal(r.success, false, JSON.stringify(r));
  assert.equal(r.dynamicCode, code, JSON.stringify(r));
}
const send = (tag, key, n) =>
  execFileSync(TOOL, ['send', ns, TOPIC, tag, key, String(n)]).toString().trim().split('\n');

test.before(async () => {
  c = await startCluster();
  ns = `127.0.0.1:${c.namesrvPort}`;
  ok(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'plain', independentNaming: 'false',
    maxSendTps: '1000', maxReceiveTps: '1000',
  }));
  ok(await call(c, '/json/topic/create', { topic: TOPIC, orderType: '0' }));
  ok(await call(c, '/json/topic/create', { topic: 'T_empty', orderType: '0' }));
});
test.after(async () => { await stopCluster(c); });

test('getByPagedTopic: task, pages, limits and errors', async () => {
  const t0 = Date.now() - 1;
  const ids = send('TagP', 'page', 12);
  const t1 = Date.now() + 1;
  const q = { topic: TOPIC, beginTime: String(t0), endTime: String(t1) };

  // Parameter checks (§6.7.4).
  fail(await call(c, EP, { ...q, topic: undefined, currentPage: '1' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, EP, { ...q, beginTime: undefined, currentPage: '1' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, EP, { ...q, endTime: undefined, currentPage: '1' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, EP, { ...q }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, EP, { ...q, currentPage: '0' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, EP, { ...q, currentPage: '51' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, EP, { ...q, currentPage: '1', pageSize: '4' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, EP, { ...q, currentPage: '1', pageSize: '51' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, EP, { ...q, currentPage: 'x' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, EP, { ...q, beginTime: String(t1), endTime: String(t0), currentPage: '1' }),
    'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, EP, { ...q, topic: 'T_none', currentPage: '1' }), 'BIZ_TOPIC_NOT_FOUND');
  fail(await call(c, EP, { ...q, topic: 'T_empty', currentPage: '1' }), 'BIZ_NO_MESSAGE');
  fail(await call(c, EP, { ...q, beginTime: '1000', endTime: '2000', currentPage: '1' }), 'BIZ_NO_MESSAGE');
  fail(await call(c, EP, { ...q, currentPage: '1', taskId: 'no-such-task' }), 'BIZ_FIELD_CHECK_INVALID');

  // First call: page 1, the task and the envelope's paging fields.
  const r1 = await call(c, EP, { ...q, currentPage: '1', pageSize: '5' });
  const p1 = ok(r1);
  assert.match(p1.taskId, /^[0-9a-f-]{36}$/);
  assert.equal(p1.maxPageCount, 3);
  assert.equal(p1.currentPage, 1);
  assert.equal(p1.data.length, 5);
  assert.equal(r1.currentPage, 1);
  assert.equal(r1.pageSize, 5);
  assert.equal(r1.total, 12);
  const m = p1.data[0];
  assert.equal(m.topic, TOPIC);
  assert.equal(m.body, 'body-0');
  assert.equal(m.storeHost, `127.0.0.1:${c.brokerPort}`);
  assert.ok(m.propertyList.some(p => p.name === 'TAGS' && p.value === 'TagP'));

  // Messages sent after the task was created are not in it (frozen).
  send('TagP', 'late', 2);
  const later = { taskId: p1.taskId, topic: 'ignored', beginTime: '0', endTime: '1', pageSize: '50' };
  const p2 = ok(await call(c, EP, { ...later, currentPage: '2' }));
  const p3 = ok(await call(c, EP, { ...later, currentPage: '3' }));
  assert.equal(p2.taskId, p1.taskId);
  assert.equal(p2.currentPage, 2);
  assert.equal(p2.data.length, 5);
  assert.equal(p3.data.length, 2);
  const all = [...p1.data, ...p2.data, ...p3.data];
  assert.deepEqual(all.map(x => x.msgId), ids);
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].storeTimestamp <= all[i].storeTimestamp);
  fail(await call(c, EP, { ...later, currentPage: '4' }), 'BIZ_FIELD_CHECK_INVALID');
  // Pages can be read again, in any order.
  assert.deepEqual(ok(await call(c, EP, { ...later, currentPage: '1' })).data.map(x => x.msgId),
    ids.slice(0, 5));
  // Another main account cannot use the task; the DLQ endpoint neither.
  fail(await call(c, EP, { ...later, currentPage: '1' }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/getByPagedDLQ', { ...later, groupId: 'GID_x', currentPage: '1' }),
    'BIZ_FIELD_CHECK_INVALID');

  // Default page size 20; the window is inclusive at both ends.
  const d = await call(c, EP, { ...q, endTime: String(Date.now()), currentPage: '1' });
  assert.equal(ok(d).data.length, 14);
  assert.equal(d.pageSize, 20);
  assert.equal(d.data.maxPageCount, 1);
  const ts = all.map(x => x.storeTimestamp);
  const w = ok(await call(c, EP, {
    topic: TOPIC, beginTime: String(ts[3]), endTime: String(ts[7]), currentPage: '1', pageSize: '50',
  }));
  const inWindow = all.filter(x => x.storeTimestamp >= ts[3] && x.storeTimestamp <= ts[7]);
  assert.deepEqual(w.data.map(x => x.msgId), inWindow.map(x => x.msgId));
});
