'use strict';
// Grants (spec/open-api.md §4.7, §6.9) against a real broker: the four
// empower endpoints with each error code, and what a grantee sees and may do
// through the read endpoints (instance/list, baseInfo, topic get/listInPage/
// listNames, message queries and trace). Rules: docs/design/openapi.md#access.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { MAIN, OTHER, SUB, SUBP, startCluster, stopCluster, call, brokerHolds } = require('./cluster');

const BUILD = process.env.TERN_BUILD_DIR
  ? path.resolve(process.env.TERN_BUILD_DIR)
  : path.join(__dirname, '..', '..', 'build');
const TOOL = path.join(BUILD, 'msg_tool');

let c;
let ns; // MAIN's namespaced instance: T_pub, T_sub, T_hidden
let def; // MAIN's instance without a namespace: T_def
let quiet; // MAIN's instance without grants
let otherInst; // OTHER's own instance

const ok = r => { assert.equal(r.success, true, JSON.stringify(r)); assert.equal(r.code, 200); return r.data; };
const fail = (r, code) => {
  assert.equal(r.success, false, JSON.stringify(r));
  assert.equal(r.dynamicCode, code, JSON.stringify(r));
  assert.ok(r.dynamicMessage.length > 0);
  assert.equal(r.data, null);
};
const inst = name => ({
  cluster: 'DefaultCluster', instanceName: name, independentNaming: 'true',
  maxSendTps: '100', maxReceiveTps: '100',
});
const E = {
  create: '/json/empower/create', bySub: '/json/empower/createBySub',
  del: '/json/empower/delete', list: '/json/empower/list',
};
const grants = async (topic, instanceId = ns, extra = {}) =>
  ok(await call(c, E.list, { instanceId, topic, ...extra }));
const toolEnv = { ...process.env, INSTANCE_ID: '' };
const consume = (group, topic, seconds) => new Promise((resolve, reject) => {
  const child = spawn(TOOL, ['consume', `127.0.0.1:${c.namesrvPort}`, group, topic, '*', '1', String(seconds)],
    { env: toolEnv, stdio: 'ignore' });
  child.on('exit', code => (code === 0 ? resolve() : reject(new Error(`msg_tool exit ${code}`))));
});

test.before(async () => {
  c = await startCluster();
  ns = ok(await call(c, '/json/instance/create', inst('granting'))).instanceId;
  def = ok(await call(c, '/json/instance/create', { ...inst('plain'), independentNaming: 'false' })).instanceId;
  quiet = ok(await call(c, '/json/instance/create', inst('quiet'))).instanceId;
  otherInst = ok(await call(c, '/json/instance/create', inst('others'), OTHER)).instanceId;
  for (const topic of ['T_pub', 'T_sub', 'T_hidden']) {
    ok(await call(c, '/json/topic/create', { instanceId: ns, topic }));
  }
  ok(await call(c, '/json/topic/create', { topic: 'T_def' }));
  toolEnv.INSTANCE_ID = ns;
});
test.after(async () => { await stopCluster(c); });

test('create: parameters, grantee, topic and caller checks change nothing', async () => {
  const base = { instanceId: ns, topic: 'T_pub', empowerUser: OTHER.user, relation: '2' };
  for (const k of ['topic', 'empowerUser', 'relation']) {
    fail(await call(c, E.create, { ...base, [k]: undefined }), 'BIZ_FIELD_CHECK_INVALID');
  }
  for (const relation of ['0', '1', '3', '5', '7', '8', 'x', '2.0']) {
    fail(await call(c, E.create, { ...base, relation }), 'BIZ_FIELD_CHECK_INVALID');
  }
  for (const empowerUser of ['abc', '0', '-5']) {
    fail(await call(c, E.create, { ...base, empowerUser }), 'BIZ_FIELD_CHECK_INVALID');
  }
  // The grantee of create must be another main account.
  fail(await call(c, E.create, { ...base, empowerUser: SUB.user }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, E.create, { ...base, empowerUser: '3000000000000003' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, E.create, { ...base, empowerUser: MAIN.user }), 'BIZ_FIELD_CHECK_INVALID');
  // The grantee of createBySub must be one of the caller's sub-accounts.
  fail(await call(c, E.bySub, { ...base, empowerUser: OTHER.user }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, E.bySub, { ...base, empowerUser: MAIN.user }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, E.bySub, { ...base, empowerUser: SUBP.user }, SUBP), 'BIZ_FIELD_CHECK_INVALID');
  // The topic must exist in an instance of the caller.
  fail(await call(c, E.create, { ...base, topic: 'T_none' }), 'BIZ_TOPIC_NOT_FOUND');
  fail(await call(c, E.create, { ...base, instanceId: 'MQ_INST_1000000000000001_nope1234' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, E.create, { ...base, instanceId: otherInst }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, E.create, { ...base, empowerUser: MAIN.user }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, E.create, { ...base, instanceId: undefined }), 'BIZ_TOPIC_NOT_FOUND');
  // A sub-account without the privileged grant may not grant.
  fail(await call(c, E.create, base, SUB), 'ONS_PERMISSION_DENIED');
  fail(await call(c, E.bySub, { ...base, empowerUser: SUBP.user }, SUB), 'ONS_PERMISSION_DENIED');
  assert.deepEqual(await grants('T_pub'), []);
  assert.deepEqual(ok(await call(c, '/json/instance/list', {}, OTHER)).map(i => i.instanceId), [otherInst]);
});

test('create and createBySub; duplicates are EMPOWER_EXIST_ERROR; list filters', async () => {
  const t0 = Date.now();
  const r = await call(c, E.create, { instanceId: ns, topic: 'T_pub', empowerUser: OTHER.user, relation: '2' });
  assert.equal(ok(r), null, 'data is null');
  fail(await call(c, E.create, { instanceId: ns, topic: 'T_pub', empowerUser: OTHER.user, relation: '2' }), 'EMPOWER_EXIST_ERROR');
  fail(await call(c, E.create, { instanceId: ns, topic: 'T_pub', empowerUser: OTHER.user, relation: '6' }), 'EMPOWER_EXIST_ERROR');
  ok(await call(c, E.create, { instanceId: ns, topic: 'T_sub', empowerUser: OTHER.user, relation: '4' }));
  // A privileged sub-account grants for its main account, to a sibling.
  assert.equal(ok(await call(c, E.bySub, { instanceId: ns, topic: 'T_pub', empowerUser: SUB.user, relation: '6' }, SUBP)), null);
  fail(await call(c, E.bySub, { instanceId: ns, topic: 'T_pub', empowerUser: SUB.user, relation: '4' }), 'EMPOWER_EXIST_ERROR');
  // instanceId may be left out for the instance without a namespace.
  ok(await call(c, E.create, { topic: 'T_def', empowerUser: OTHER.user, relation: '6' }));

  const all = await grants('T_pub');
  assert.deepEqual(all.map(g => [g.empowerUser, g.relation]), [[Number(OTHER.user), 2], [Number(SUB.user), 6]]);
  for (const g of all) {
    assert.equal(g.instanceId, ns);
    assert.equal(g.topic, 'T_pub');
    assert.equal(g.owner, Number(MAIN.user));
    assert.ok(g.createTime >= t0 && g.createTime <= Date.now());
  }
  assert.deepEqual((await grants('T_pub', ns, { empowerUser: OTHER.user })).map(g => g.relation), [2]);
  assert.deepEqual(await grants('T_pub', ns, { empowerUser: SUBP.user }), []);
  assert.deepEqual(await grants('T_hidden'), []);
  assert.deepEqual(ok(await call(c, E.list, { topic: 'T_def' })).map(g => g.relation), [6]);
  // Reading grants needs no privileged grant; a bad filter or topic fails.
  assert.equal(ok(await call(c, E.list, { instanceId: ns, topic: 'T_pub' }, SUB)).length, 2);
  fail(await call(c, E.list, { instanceId: ns }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, E.list, { instanceId: ns, topic: 'T_pub', empowerUser: 'x' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, E.list, { instanceId: ns, topic: 'T_none' }), 'BIZ_TOPIC_NOT_FOUND');
});

test('a grantee is not the owner: EMPOWER_OWNER_CHECK_ERROR, and nothing changes', async () => {
  const q = { instanceId: ns, topic: 'T_pub' };
  fail(await call(c, E.list, q, OTHER), 'EMPOWER_OWNER_CHECK_ERROR');
  fail(await call(c, E.create, { ...q, empowerUser: MAIN.user, relation: '6' }, OTHER), 'EMPOWER_OWNER_CHECK_ERROR');
  fail(await call(c, E.bySub, { ...q, empowerUser: SUB.user, relation: '6' }, OTHER), 'EMPOWER_OWNER_CHECK_ERROR');
  fail(await call(c, E.del, { ...q, empowerUser: OTHER.user }, OTHER), 'EMPOWER_OWNER_CHECK_ERROR');
  // A topic of the instance that was not granted stays invisible.
  fail(await call(c, E.list, { instanceId: ns, topic: 'T_hidden' }, OTHER), 'BIZ_TOPIC_NOT_FOUND');
  fail(await call(c, E.list, { instanceId: quiet, topic: 'T_pub' }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  assert.equal((await grants('T_pub')).length, 2);
});

test("a grantee's view: instance/list, baseInfo and the topic endpoints", async () => {
  const mine = ok(await call(c, '/json/instance/list', {}, OTHER));
  assert.deepEqual(mine.map(i => i.instanceId), [ns, def, otherInst], 'granted instances, not the quiet one');
  assert.equal(mine[0].instanceName, 'granting');
  assert.equal(ok(await call(c, '/json/instance/baseInfo', { instanceId: ns }, OTHER)).instanceId, ns);
  fail(await call(c, '/json/instance/baseInfo', { instanceId: quiet }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  assert.equal(ok(await call(c, '/json/instance/list')).length, 3, 'the owner sees its own three');

  const t = ok(await call(c, '/json/topic/get', { instanceId: ns, topic: 'T_pub' }, OTHER));
  assert.equal(t.relation, 2);
  assert.equal(t.owner, MAIN.user);
  assert.equal(t.instanceId, ns);
  assert.equal(ok(await call(c, '/json/topic/get', { instanceId: ns, topic: 'T_sub' }, OTHER)).relation, 4);
  assert.equal(ok(await call(c, '/json/topic/get', { instanceId: def, topic: 'T_def' }, OTHER)).relation, 6);
  fail(await call(c, '/json/topic/get', { instanceId: ns, topic: 'T_hidden' }, OTHER), 'BIZ_TOPIC_NOT_FOUND');
  assert.equal(ok(await call(c, '/json/topic/get', { instanceId: ns, topic: 'T_pub' })).relation, 1);
  // The owner's sub-accounts act for the owner (§4.1): relation 1 with or without a grant.
  assert.equal(ok(await call(c, '/json/topic/get', { instanceId: ns, topic: 'T_pub' }, SUB)).relation, 1);

  assert.deepEqual(ok(await call(c, '/json/topic/listNames', { instanceId: ns }, OTHER)), ['T_pub', 'T_sub']);
  assert.deepEqual(ok(await call(c, '/json/topic/listNames', { instanceId: ns })), ['T_hidden', 'T_pub', 'T_sub']);
  let page = await call(c, '/json/topic/listInPage', { instanceId: ns }, OTHER);
  assert.equal(page.total, 2);
  assert.deepEqual(page.data.map(x => [x.topic, x.relation]), [['T_pub', 2], ['T_sub', 4]]);
  page = await call(c, '/json/topic/listInPage', { instanceId: ns, pageSize: '1', currentPage: '2' }, OTHER);
  assert.equal(page.total, 2);
  assert.deepEqual(page.data.map(x => x.topic), ['T_sub']);
  page = await call(c, '/json/topic/listInPage', { instanceId: ns, topic: 'sub' }, OTHER);
  assert.equal(page.total, 1);
  page = await call(c, '/json/topic/listInPage', { instanceId: ns });
  assert.equal(page.total, 3);
  assert.ok(page.data.every(x => x.relation === 1));
  fail(await call(c, '/json/topic/listNames', { instanceId: quiet }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
});

test('a grantee beyond its relation gets ONS_PERMISSION_DENIED and changes nothing', async () => {
  const q = { instanceId: ns, topic: 'T_pub' };
  const id = '0A0000010000000000000000000000FF';
  fail(await call(c, '/json/message/getById', { ...q, msgId: id }, OTHER), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/message/getByKey', { ...q, key: 'k' }, OTHER), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/message/trace', { ...q, msgId: id }, OTHER), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/message/getByPagedTopic', {
    ...q, beginTime: String(Date.now() - 60000), endTime: String(Date.now()), currentPage: '1',
  }, OTHER), 'ONS_PERMISSION_DENIED');
  // Owner-only changes.
  fail(await call(c, '/json/topic/update', { ...q, perm: '4' }, OTHER), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/topic/delete', q, OTHER), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/topic/create', { instanceId: ns, topic: 'T_intruder' }, OTHER), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/instance/update', { instanceId: ns, remark: 'mine now' }, OTHER), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/instance/delete', { instanceId: ns }, OTHER), 'ONS_PERMISSION_DENIED');
  const t = ok(await call(c, '/json/topic/get', q));
  assert.equal(t.perm, 6);
  assert.equal(brokerHolds(c, 'topics')[`${ns}%T_pub`].perm, 6);
  assert.deepEqual(ok(await call(c, '/json/topic/listNames', { instanceId: ns })), ['T_hidden', 'T_pub', 'T_sub']);
  assert.equal(ok(await call(c, '/json/instance/baseInfo', { instanceId: ns })).remark, '');

  // The grantee creates its own Group ID in the owner's instance (§4.7).
  const g = ok(await call(c, '/json/group/create', { instanceId: ns, groupId: 'GID_other' }, OTHER));
  assert.equal(g.instanceId, ns);
  assert.ok(brokerHolds(c, 'groups')[`${ns}%GID_other`]);
  ok(await call(c, '/json/group/create', { instanceId: ns, groupId: 'GID_main' }));
  assert.deepEqual(ok(await call(c, '/json/group/list', { instanceId: ns }, OTHER)).map(x => [x.groupId, x.owner]),
    [['GID_other', OTHER.user]]);
  assert.deepEqual(ok(await call(c, '/json/group/list', { instanceId: ns })).map(x => x.groupId), ['GID_main']);
  // The owner may not use the grantee's group; its unprivileged sub-account may not delete it.
  fail(await call(c, '/json/group/consumerUpdate', { instanceId: ns, groupId: 'GID_other', readEnable: 'false' }), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/consumer/accumulate', { instanceId: ns, groupId: 'GID_other' }), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/group/delete', { instanceId: ns, groupId: 'GID_other' }, SUB), 'ONS_PERMISSION_DENIED');
  assert.equal(ok(await call(c, '/json/consumer/accumulate', { instanceId: ns, groupId: 'GID_other' }, OTHER)).online, false);
  fail(await call(c, '/json/group/delete', { instanceId: ns, groupId: 'GID_main' }, OTHER), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/group/create', { instanceId: quiet, groupId: 'GID_x' }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  // Subscribe-side calls on the publish-only topic are refused, allowed on T_sub.
  const gq = { instanceId: ns, groupId: 'GID_other' };
  fail(await call(c, '/json/consumer/timespan', { ...gq, topic: 'T_pub' }, OTHER), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/consumer/resetOffset', { ...gq, topic: 'T_pub', type: '0' }, OTHER), 'ONS_PERMISSION_DENIED');
  assert.equal(ok(await call(c, '/json/consumer/timespan', { ...gq, topic: 'T_sub' }, OTHER)).topic, 'T_sub');
  fail(await call(c, '/json/consumer/timespan', { ...gq, topic: 'T_hidden' }, OTHER), 'BIZ_TOPIC_NOT_FOUND');
});

test('message queries and trace of a subscribe grantee: only its own groups', async () => {
  const ids = execFileSync(TOOL, ['send', `127.0.0.1:${c.namesrvPort}`, 'T_sub', 'TagA', 'k1', '1'], { env: toolEnv })
    .toString().trim().split('\n');
  assert.equal(ids.length, 1);
  await Promise.all([consume('GID_main', 'T_sub', 0), consume('GID_other', 'T_sub', 0)]);
  const q = { instanceId: ns, topic: 'T_sub', msgId: ids[0] };
  assert.equal(ok(await call(c, '/json/message/getById', q, OTHER)).msgId, ids[0]);
  assert.equal(ok(await call(c, '/json/message/getByKey', { instanceId: ns, topic: 'T_sub', key: 'k1' }, OTHER)).length, 1);
  const owner = ok(await call(c, '/json/message/trace', q));
  assert.deepEqual(owner.map(t => t.consumerGroup), ['GID_main', 'GID_other']);
  const grantee = ok(await call(c, '/json/message/trace', q, OTHER));
  assert.deepEqual(grantee.map(t => t.consumerGroup), ['GID_other']);
  assert.equal(grantee[0].instanceId, ns);
});

test('delete: owner side only, a second delete is BIZ_FIELD_CHECK_INVALID, the grantee loses its view', async () => {
  const q = { instanceId: ns, topic: 'T_pub', empowerUser: OTHER.user };
  fail(await call(c, E.del, q, SUB), 'ONS_PERMISSION_DENIED');
  fail(await call(c, E.del, { ...q, empowerUser: undefined }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, E.del, { ...q, topic: 'T_none' }), 'BIZ_TOPIC_NOT_FOUND');
  fail(await call(c, E.del, { ...q, empowerUser: SUBP.user }), 'BIZ_FIELD_CHECK_INVALID');
  assert.equal(ok(await call(c, E.del, q)), null);
  fail(await call(c, E.del, q), 'BIZ_FIELD_CHECK_INVALID');
  assert.deepEqual((await grants('T_pub')).map(g => g.empowerUser), [Number(SUB.user)]);
  fail(await call(c, '/json/topic/get', { instanceId: ns, topic: 'T_pub' }, OTHER), 'BIZ_TOPIC_NOT_FOUND');
  assert.deepEqual(ok(await call(c, '/json/topic/listNames', { instanceId: ns }, OTHER)), ['T_sub']);
  // Re-granting with another relation is delete + create.
  ok(await call(c, E.create, { ...q, relation: '6' }));
  assert.equal(ok(await call(c, '/json/topic/get', { instanceId: ns, topic: 'T_pub' }, OTHER)).relation, 6);

  // Without any grant left in the instance, it disappears from the grantee's view.
  ok(await call(c, E.del, q));
  ok(await call(c, E.del, { ...q, topic: 'T_sub' }, SUBP));
  assert.deepEqual(ok(await call(c, '/json/instance/list', {}, OTHER)).map(i => i.instanceId), [def, otherInst]);
  fail(await call(c, '/json/instance/baseInfo', { instanceId: ns }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/group/list', { instanceId: ns }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  // The grantee's group stays; the owner (privileged) may delete it, so the instance can be emptied.
  ok(await call(c, '/json/group/delete', { instanceId: ns, groupId: 'GID_other' }));
  assert.equal(brokerHolds(c, 'groups')[`${ns}%GID_other`], undefined);

  // Deleting a topic deletes its grants.
  ok(await call(c, '/json/topic/delete', { topic: 'T_def' }));
  ok(await call(c, '/json/topic/create', { topic: 'T_def' }));
  assert.deepEqual(ok(await call(c, E.list, { topic: 'T_def' })), []);
  fail(await call(c, '/json/topic/get', { instanceId: def, topic: 'T_def' }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
});
