'use strict';
// Dead-letter endpoints (spec/open-api.md §6.10) on a namespaced instance:
// a libons consumer that always fails (tests/openapi/msg_tool.c "fail",
// MaxReconsumeTimes=0) sends real messages to %DLQ%<instanceId>%<group>;
// the endpoints list, look up and resend them.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { startCluster, stopCluster, call, sleep, OTHER } = require('./cluster');

const BUILD = process.env.TERN_BUILD_DIR
  ? path.resolve(process.env.TERN_BUILD_DIR)
  : path.join(__dirname, '..', '..', 'build');
const TOOL = path.join(BUILD, 'msg_tool');
const TOPIC = 'T_dlq';
const G = 'GID_dlq';
const G2 = 'GID_other';

let c;
let ns;
let inst;
function ok(r) { assert.equal(r.success, true, JSON.stringify(r)); return r.data; }
function fail(r, code) {
  assert.equal(r.success, false, JSON.stringify(r));
  assert.equal(r.dynamicCode, code, JSON.stringify(r));
}
const env = () => ({ ...process.env, INSTANCE_ID: inst });
const send = (tag, key, n) =>
  execFileSync(TOOL, ['send', ns, TOPIC, tag, key, String(n)], { env: env() })
    .toString().trim().split('\n');
// Resolves with the Message IDs the consumer saw.
const consume = (group, count, seconds, mode) => new Promise((resolve, reject) => {
  const args = ['consume', ns, group, TOPIC, '*', String(count), String(seconds)];
  if (mode) args.push(mode);
  const child = spawn(TOOL, args, { env: env() });
  let out = '';
  child.stdout.on('data', d => { out += d; });
  child.on('exit', code => {
    const seen = out.split('\n').filter(l => l.startsWith('consumed ')).map(l => l.slice(9));
    if (code === 0) resolve(seen); else reject(new Error(`msg_tool exit ${code}: ${out}`));
  });
});
const q = extra => ({ instanceId: inst, groupId: G, ...extra });
const page = async extra => ok(await call(c, '/json/message/getByPagedDLQ', q({
  beginTime: '0', endTime: String(Date.now()), currentPage: '1', pageSize: '50', ...extra,
}))).data;

test.before(async () => {
  c = await startCluster();
  ns = `127.0.0.1:${c.namesrvPort}`;
  inst = ok(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'ns-inst', independentNaming: 'true',
    maxSendTps: '1000', maxReceiveTps: '1000',
  })).instanceId;
  assert.ok(inst);
  ok(await call(c, '/json/topic/create', { instanceId: inst, topic: TOPIC, orderType: '0' }));
  for (const g of [G, G2, 'GID_clean']) ok(await call(c, '/json/group/create', { instanceId: inst, groupId: g }));
});
test.after(async () => { await stopCluster(c); });

test('dead letters: lookup, paging, resend', async () => {
  const t0 = Date.now() - 1;
  const ids = send('TagD', 'dead', 3);
  assert.deepEqual((await consume(G2, 3, 0)).sort(), [...ids].sort());
  const failed = await consume(G, 3, 2, 'fail');
  assert.deepEqual([...new Set(failed)].sort(), [...ids].sort());

  // getByPagedDLQ (§6.10.2): the three dead letters, business topic shown.
  fail(await call(c, '/json/message/getByPagedDLQ', q({ groupId: undefined, beginTime: '0', endTime: '1', currentPage: '1' })),
    'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/getByPagedDLQ', q({ beginTime: '0', endTime: '1' })), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/getByPagedDLQ', q({ beginTime: '0', endTime: '1', currentPage: '1', pageSize: '100' })),
    'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/getByPagedDLQ', q({ groupId: 'GID_none', beginTime: '0', endTime: '1', currentPage: '1' })),
    'BIZ_SUBSCRIPTION_NOT_FOUND');
  fail(await call(c, '/json/message/getByPagedDLQ', q({ groupId: 'GID_clean', beginTime: '0', endTime: String(Date.now()), currentPage: '1' })),
    'BIZ_NO_MESSAGE');
  fail(await call(c, '/json/message/getByPagedDLQ', q({ beginTime: '0', endTime: String(t0 - 1), currentPage: '1' })),
    'BIZ_NO_MESSAGE');
  let dead = await page();
  assert.deepEqual(dead.map(m => m.msgId).sort(), [...ids].sort());
  for (const m of dead) {
    assert.equal(m.topic, TOPIC);
    assert.ok(m.storeTimestamp >= t0);
    assert.ok(m.reconsumeTimes >= 1);
    assert.ok(m.propertyList.some(p => p.name === 'KEYS' && p.value === 'dead'));
  }
  // Paging over the DLQ: pageSize 5 with 3 entries is one page; page 2 is refused.
  const r = await call(c, '/json/message/getByPagedDLQ', q({ beginTime: '0', endTime: String(Date.now()), currentPage: '1', pageSize: '5' }));
  const p1 = ok(r);
  assert.equal(p1.maxPageCount, 1);
  assert.equal(r.total, 3);
  fail(await call(c, '/json/message/getByPagedDLQ', q({ taskId: p1.taskId, beginTime: '0', endTime: '1', currentPage: '2' })),
    'BIZ_FIELD_CHECK_INVALID');
  assert.equal(ok(await call(c, '/json/message/getByPagedDLQ', q({ taskId: p1.taskId, beginTime: '0', endTime: '1', currentPage: '1' }))).data.length, 3);
  fail(await call(c, '/json/message/getByPagedDLQ', q({ taskId: p1.taskId, beginTime: '0', endTime: '1', currentPage: '1' }), OTHER),
    'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/getByPagedTopic', { instanceId: inst, topic: TOPIC, taskId: p1.taskId, beginTime: '0', endTime: '1', currentPage: '1' }),
    'BIZ_FIELD_CHECK_INVALID');

  // getByIdInDLQ (§6.10.1), PascalCase aliases accepted.
  fail(await call(c, '/json/message/getByIdInDLQ', q({})), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/getByIdInDLQ', q({ groupId: undefined, msgId: ids[0] })), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/getByIdInDLQ', q({ groupId: 'GID_none', msgId: ids[0] })), 'BIZ_SUBSCRIPTION_NOT_FOUND');
  fail(await call(c, '/json/message/getByIdInDLQ', q({ groupId: G2, msgId: ids[0] })), 'BIZ_NO_MESSAGE');
  fail(await call(c, '/json/message/getByIdInDLQ', q({ msgId: 'nope' })), 'BIZ_NO_MESSAGE');
  fail(await call(c, '/json/message/getByIdInDLQ', q({ msgId: ids[0] }), OTHER), 'BIZ_FIELD_CHECK_INVALID');
  const one = ok(await call(c, '/json/message/getByIdInDLQ', { InstanceId: inst, GroupId: G, MsgId: ids[1] }));
  assert.equal(one.msgId, ids[1]);
  assert.equal(one.topic, TOPIC);
  assert.equal(one.body, 'body-1');
  assert.ok(one.propertyList.some(p => p.name === 'TAGS' && p.value === 'TagD'));

  // resendByIdInDLQ (§6.10.3).
  fail(await call(c, '/json/message/resendByIdInDLQ', q({})), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/message/resendByIdInDLQ', q({ groupId: 'GID_none', msgId: ids[0] })), 'BIZ_SUBSCRIPTION_NOT_FOUND');
  fail(await call(c, '/json/message/resendByIdInDLQ', q({ msgId: 'nope' })), 'BIZ_NO_MESSAGE');
  fail(await call(c, '/json/message/resendByIdInDLQ', q({ groupId: G2, msgId: ids[0] })), 'BIZ_NO_MESSAGE');
  // Resent while no consumer is online: it waits; one more failure adds a
  // new DLQ entry with the same Message ID; the old entry stays.
  const first = ok(await call(c, '/json/message/getByIdInDLQ', q({ msgId: ids[0] })));
  const res = await call(c, '/json/message/resendByIdInDLQ', q({ msgId: ids[0] }));
  assert.equal(res.success, true, JSON.stringify(res));
  assert.deepEqual(res.data, {});
  assert.deepEqual(await consume(G, 1, 2, 'fail'), [ids[0]]);
  dead = await page();
  assert.equal(dead.length, 4);
  assert.equal(dead.filter(m => m.msgId === ids[0]).length, 2);
  const newest = ok(await call(c, '/json/message/getByIdInDLQ', q({ msgId: ids[0] })));
  assert.ok(newest.storeTimestamp > first.storeTimestamp);
  assert.equal(newest.body, 'body-0');
  assert.equal(newest.topic, TOPIC);

  // A resend is delivered to this group only, and a success does not
  // remove the dead letter.
  ok(await call(c, '/json/message/resendByIdInDLQ', q({ msgId: ids[1] })));
  const other = consume(G2, 0, 3);
  assert.deepEqual(await consume(G, 1, 1), [ids[1]]);
  assert.deepEqual(await other, []);
  await sleep(500);
  assert.equal((await page()).length, 4);
});
