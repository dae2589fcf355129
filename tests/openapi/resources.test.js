'use strict';
// Endpoints of step one (spec/open-api.md §6.1-6.5) against a real broker:
// success, each error code, paging, namespace rules, ownership, and what the
// broker really holds after each change.
const test = require('node:test');
const assert = require('node:assert/strict');
const { MAIN, OTHER, SUB, SUBP, startCluster, stopCluster, call, brokerHolds } = require('./cluster');

let c;
let nsInst; // a namespaced instance of MAIN
let defInst; // MAIN's instance without a namespace
test.before(async () => { c = await startCluster(); });
test.after(async () => { await stopCluster(c); });

const ok = r => { assert.equal(r.success, true, JSON.stringify(r)); assert.equal(r.code, 200); return r.data; };
const fail = (r, code) => {
  assert.equal(r.success, false, JSON.stringify(r));
  assert.equal(r.dynamicCode, code, JSON.stringify(r));
  assert.ok(r.dynamicMessage.length > 0);
};
const inst = (o = {}) => ({
  cluster: 'DefaultCluster', instanceName: 'inst-a', independentNaming: 'true',
  maxSendTps: '500', maxReceiveTps: '600', ...o,
});

test('region/list and cluster/list', async () => {
  const regions = ok(await call(c, '/json/region/list', {}, SUB));
  assert.equal(regions.length, 1);
  assert.equal(regions[0].regionId, 'mq-private');
  assert.equal(typeof regions[0].id, 'number');
  assert.equal(regions[0].regionName, 'mq-private');
  const clusters = ok(await call(c, '/json/cluster/list', {}, OTHER));
  assert.deepEqual(clusters.map(x => x.cluster), ['DefaultCluster']);
  assert.equal(clusters[0].regionId, 'mq-private');
  assert.match(clusters[0].createTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.match(clusters[0].modifyTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
});

test('instance/create: validation, rules and the returned InstanceBaseInfo', async () => {
  fail(await call(c, '/json/instance/create', inst({ cluster: undefined })), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/create', inst({ instanceName: 'ab' })), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/create', inst({ instanceName: 'x'.repeat(65) })), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/create', inst({ independentNaming: 'maybe' })), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/create', inst({ maxSendTps: '0' })), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/create', inst({ maxReceiveTps: undefined })), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/create', inst({ topicCapacity: '0' })), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/create', inst({ cluster: 'NoSuchCluster' })), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/create', inst(), SUB), 'ONS_PERMISSION_DENIED');

  nsInst = ok(await call(c, '/json/instance/create', inst({ remark: 'first', independentNaming: 'True', topicCapacity: '3' })));
  assert.match(nsInst.instanceId, /^MQ_INST_1000000000000001_[A-Za-z0-9]{8}$/);
  assert.equal(nsInst.instanceName, 'inst-a');
  assert.equal(nsInst.independentNaming, true);
  assert.equal(nsInst.maxSendTps, 500);
  assert.equal(nsInst.maxReceiveTps, 600);
  assert.equal(nsInst.topicCapacity, 3);
  assert.equal(nsInst.remark, 'first');
  assert.equal(nsInst.cluster, 'DefaultCluster');
  assert.equal(nsInst.endpoints.tcpEndpoint, `${nsInst.instanceId}.127.0.0.1:${c.namesrvPort}`);
  // Names are unique in the region, for every owner; Chinese names count characters.
  fail(await call(c, '/json/instance/create', inst(), OTHER), 'BIZ_FIELD_CHECK_INVALID');
  const zh = ok(await call(c, '/json/instance/create', inst({ instanceName: '中文名' }), SUBP));
  assert.equal(zh.instanceName, '中文名');
  assert.match(zh.instanceId, /^MQ_INST_1000000000000001_/, 'a granted sub-account creates for its main account');

  defInst = ok(await call(c, '/json/instance/create', inst({ instanceName: 'default', independentNaming: 'false' })));
  assert.equal(defInst.topicCapacity, 1000, 'default topicCapacity');
  assert.equal(defInst.endpoints.tcpEndpoint, `127.0.0.1:${c.namesrvPort}`);
  fail(await call(c, '/json/instance/create', inst({ instanceName: 'default2', independentNaming: 'false' })),
    'BIZ_FIELD_CHECK_INVALID');
});

test('instance/list, baseInfo, update and visibility', async () => {
  const list = ok(await call(c, '/json/instance/list', {}, SUB));
  assert.deepEqual(list.map(i => i.instanceName), ['inst-a', '中文名', 'default']);
  const a = list[0];
  assert.equal(a.independentNaming, true);
  assert.equal(a.namespaceRulesType, true);
  assert.equal(a.remark, 'first');
  assert.equal(a.cluster, 'DefaultCluster');
  assert.deepEqual(ok(await call(c, '/json/instance/list', {}, OTHER)), []);

  const info = ok(await call(c, '/json/instance/baseInfo', { instanceId: nsInst.instanceId }, SUB));
  assert.deepEqual(info, nsInst);
  fail(await call(c, '/json/instance/baseInfo', {}), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/baseInfo', { instanceId: nsInst.instanceId }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/baseInfo', { instanceId: 'MQ_INST_9_nothing' }), 'BIZ_FIELD_CHECK_INVALID');

  fail(await call(c, '/json/instance/update', { instanceId: nsInst.instanceId, remark: 'x' }, SUB), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/instance/update', { instanceId: nsInst.instanceId, instanceName: 'default' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/update', { instanceId: nsInst.instanceId, instanceName: 'no' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/instance/update', { instanceId: nsInst.instanceId, remark: 'x' }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  ok(await call(c, '/json/instance/update', { instanceId: nsInst.instanceId, remark: 'second' }));
  ok(await call(c, '/json/instance/update', { instanceId: nsInst.instanceId, instanceName: 'inst-b', remark: '' }));
  const after = ok(await call(c, '/json/instance/baseInfo', { instanceId: nsInst.instanceId }));
  assert.equal(after.instanceName, 'inst-b');
  assert.equal(after.remark, 'second', 'an empty remark leaves it unchanged');
});

test('topic/create: rules, errors, and the broker really has it', async () => {
  const I = nsInst.instanceId;
  fail(await call(c, '/json/topic/create', { instanceId: I }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'GID_topic' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'CIDx' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'bad name' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_x', orderType: '3' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_x', orderType: '6' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_x', orderType: 'one' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_' + 'x'.repeat(254) }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_x' }, SUB), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_x' }, OTHER), 'BIZ_FIELD_CHECK_INVALID');

  ok(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_order', orderType: '1', remark: 'order events' }));
  ok(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_global', orderType: '2' }, SUBP));
  ok(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_delay', orderType: '5' }));
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_more' }), 'BIZ_FIELD_CHECK_INVALID'); // capacity 3
  fail(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_order' }), 'BIZ_TOPIC_EXISTED');

  const topics = brokerHolds(c, 'topics');
  const order = topics[`${I}%T_order`];
  assert.ok(order, 'namespaced topic travels as instanceId%name');
  assert.equal(order.attributes['message.type'], 'FIFO');
  assert.equal(order.readQueueNums, 8);
  assert.equal(order.perm, 6);
  assert.equal(topics[`${I}%T_global`].readQueueNums, 1, 'globally ordered: one queue');
  assert.equal(topics[`${I}%T_delay`].attributes['message.type'], 'DELAY');
  assert.equal(topics.T_order, undefined);

  // Without instanceId: the caller's non-namespaced instance; names there are global.
  ok(await call(c, '/json/topic/create', { topic: 'T_plain', orderType: '4' }));
  assert.equal(brokerHolds(c, 'topics').T_plain.attributes['message.type'], 'TRANSACTION');
  // The same name in a namespaced instance is fine.
  const zh = ok(await call(c, '/json/instance/list')).find(i => i.instanceName === '中文名');
  ok(await call(c, '/json/topic/create', { instanceId: zh.instanceId, topic: 'T_order' }));
  // Another account cannot take a global name, nor create without an instance.
  fail(await call(c, '/json/topic/create', { topic: 'T_plain' }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  const other = ok(await call(c, '/json/instance/create', inst({ instanceName: 'other-default', independentNaming: 'false' }), OTHER));
  fail(await call(c, '/json/topic/create', { topic: 'T_plain' }, OTHER), 'BIZ_TOPIC_EXISTED');
  ok(await call(c, '/json/instance/delete', { instanceId: other.instanceId }, OTHER));
});

test('topic/get, listNames and listInPage with paging and filter', async () => {
  const I = nsInst.instanceId;
  const t = ok(await call(c, '/json/topic/get', { instanceId: I, topic: 'T_order' }, SUB));
  assert.deepEqual(Object.keys(t), ['topic', 'instanceId', 'owner', 'relation', 'orderType', 'perm',
    'status', 'independentNaming', 'remark', 'createTime']);
  assert.equal(t.topic, 'T_order');
  assert.equal(t.owner, MAIN.user);
  assert.equal(t.relation, 1);
  assert.equal(t.orderType, 1);
  assert.equal(t.perm, 6);
  assert.equal(t.status, 0);
  assert.equal(t.independentNaming, true);
  assert.equal(t.remark, 'order events');
  assert.ok(t.createTime > 0);
  const g = ok(await call(c, '/json/topic/get', { instanceId: I, topic: 'T_global' }));
  assert.equal(g.owner, MAIN.user, 'a granted sub-account creates for its main account');
  fail(await call(c, '/json/topic/get', { instanceId: I, topic: 'T_none' }), 'BIZ_TOPIC_NOT_FOUND');
  fail(await call(c, '/json/topic/get', { instanceId: I, topic: 'T_order' }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/get', { topic: 'T_order' }), 'BIZ_TOPIC_NOT_FOUND');

  assert.deepEqual(ok(await call(c, '/json/topic/listNames', { instanceId: I })), ['T_delay', 'T_global', 'T_order']);
  assert.deepEqual(ok(await call(c, '/json/topic/listNames')), ['T_plain']);

  let r = await call(c, '/json/topic/listInPage', { instanceId: I, pageSize: '2' });
  assert.deepEqual(r.data.map(x => x.topic), ['T_order', 'T_global']);
  assert.equal(r.currentPage, 1);
  assert.equal(r.pageSize, 2);
  assert.equal(r.total, 3);
  r = await call(c, '/json/topic/listInPage', { instanceId: I, pageSize: '2', currentPage: '2' });
  assert.deepEqual(r.data.map(x => x.topic), ['T_delay']);
  r = await call(c, '/json/topic/listInPage', { instanceId: I, currentPage: '9' });
  assert.deepEqual(r.data, []);
  assert.equal(r.total, 3);
  assert.equal(r.pageSize, 20);
  r = await call(c, '/json/topic/listInPage', { InstanceId: I, topic: 'l' });
  assert.deepEqual(r.data.map(x => x.topic), ['T_global', 'T_delay'], 'filter is a substring; PascalCase alias');
  fail(await call(c, '/json/topic/listInPage', { instanceId: I, currentPage: '0' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/listInPage', { instanceId: I, pageSize: '0' }), 'BIZ_FIELD_CHECK_INVALID');
});

test('topic/update sets perm on the broker; topic/delete removes it', async () => {
  const I = nsInst.instanceId;
  fail(await call(c, '/json/topic/update', { instanceId: I, topic: 'T_order', perm: '5' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/update', { instanceId: I, topic: 'T_order' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/update', { instanceId: I, topic: 'T_order', perm: '4' }, SUB), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/topic/update', { instanceId: I, topic: 'T_none', perm: '4' }), 'BIZ_TOPIC_NOT_FOUND');
  ok(await call(c, '/json/topic/update', { instanceId: I, topic: 'T_order', perm: '4' }));
  assert.equal(ok(await call(c, '/json/topic/get', { instanceId: I, topic: 'T_order' })).perm, 4);
  const held = brokerHolds(c, 'topics')[`${I}%T_order`];
  assert.equal(held.perm, 4);
  assert.equal(held.attributes['message.type'], 'FIFO', 'the type survives a perm change');

  fail(await call(c, '/json/topic/delete', { instanceId: I, topic: 'T_delay' }, SUB), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/topic/delete', { instanceId: I, topic: 'T_none' }), 'BIZ_TOPIC_NOT_FOUND');
  ok(await call(c, '/json/topic/delete', { instanceId: I, topic: 'T_delay' }));
  assert.equal(brokerHolds(c, 'topics')[`${I}%T_delay`], undefined);
  fail(await call(c, '/json/topic/get', { instanceId: I, topic: 'T_delay' }), 'BIZ_TOPIC_NOT_FOUND');
  ok(await call(c, '/json/topic/create', { instanceId: I, topic: 'T_delay', orderType: '5' }), 'the name is free again');
});

test('group/create, list, consumerUpdate, delete with use rights', async () => {
  const I = nsInst.instanceId;
  fail(await call(c, '/json/group/create', { instanceId: I, groupId: 'CID_old' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/group/create', { instanceId: I, groupId: 'GID_' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/group/create', { instanceId: I, groupId: 'GID_' + 'x'.repeat(61) }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/group/create', { instanceId: I, groupId: 'GID_a.b' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/group/create', { instanceId: I, groupId: 'GID_x' }, OTHER), 'BIZ_FIELD_CHECK_INVALID');

  const g = ok(await call(c, '/json/group/create', { instanceId: I, groupId: 'GID_main', remark: 'mine' }));
  assert.deepEqual(g, { groupId: 'GID_main', instanceId: I, remark: 'mine' });
  ok(await call(c, '/json/group/create', { instanceId: I, groupId: 'GID-sub' }, SUB));
  fail(await call(c, '/json/group/create', { instanceId: I, groupId: 'GID_main' }), 'BIZ_SUBSCRIPTION_EXISTED');
  fail(await call(c, '/json/group/create', { instanceId: I, groupId: 'GID_main' }, SUB), 'BIZ_CONSUMER_ID_BELONG_TO_OTHER_USER');
  const groups = brokerHolds(c, 'groups');
  assert.equal(groups[`${I}%GID_main`].consumeEnable, true);
  assert.ok(groups[`${I}%GID-sub`]);

  // Global names in non-namespaced instances.
  ok(await call(c, '/json/group/create', { groupId: 'GID_plain' }));
  assert.ok(brokerHolds(c, 'groups').GID_plain);
  const other = ok(await call(c, '/json/instance/create', inst({ instanceName: 'other-default', independentNaming: 'false' }), OTHER));
  fail(await call(c, '/json/group/create', { groupId: 'GID_plain' }, OTHER), 'BIZ_CONSUMER_ID_BELONG_TO_OTHER_USER');
  ok(await call(c, '/json/instance/delete', { instanceId: other.instanceId }, OTHER));

  let list = ok(await call(c, '/json/group/list', { instanceId: I }));
  assert.deepEqual(list.map(x => x.groupId), ['GID-sub', 'GID_main']);
  assert.deepEqual(list[1], { owner: MAIN.user, instanceId: I, groupId: 'GID_main', independentNaming: true, remark: 'mine' });
  assert.equal(list[0].owner, SUB.user);
  list = ok(await call(c, '/json/group/list', { instanceId: I }, SUB));
  assert.deepEqual(list.map(x => x.groupId), ['GID-sub'], 'a sub-account sees only its own groups');
  list = ok(await call(c, '/json/group/list', { instanceId: I, groupId: 'GID_main' }));
  assert.deepEqual(list.map(x => x.groupId), ['GID_main']);

  fail(await call(c, '/json/group/consumerUpdate', { instanceId: I, groupId: 'GID_main' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/group/consumerUpdate', { instanceId: I, groupId: 'GID_none', readEnable: 'false' }), 'BIZ_SUBSCRIPTION_NOT_FOUND');
  fail(await call(c, '/json/group/consumerUpdate', { instanceId: I, groupId: 'GID_main', readEnable: 'false' }, SUB), 'ONS_PERMISSION_DENIED');
  ok(await call(c, '/json/group/consumerUpdate', { instanceId: I, groupId: 'GID-sub', readEnable: 'FALSE' }));
  assert.equal(brokerHolds(c, 'groups')[`${I}%GID-sub`].consumeEnable, false, 'the main account may use its sub-account\'s group');

  fail(await call(c, '/json/group/delete', { instanceId: I, groupId: 'GID_none' }), 'BIZ_SUBSCRIPTION_NOT_FOUND');
  fail(await call(c, '/json/group/delete', { instanceId: I, groupId: 'GID_main' }, SUB), 'ONS_PERMISSION_DENIED');
  ok(await call(c, '/json/group/delete', { instanceId: I, groupId: 'GID-sub' }, SUB));
  assert.equal(brokerHolds(c, 'groups')[`${I}%GID-sub`], undefined);
  assert.deepEqual(ok(await call(c, '/json/group/list', { instanceId: I })).map(x => x.groupId), ['GID_main']);
});

test('instance/delete only when empty', async () => {
  const I = nsInst.instanceId;
  fail(await call(c, '/json/instance/delete', { instanceId: I }, SUB), 'ONS_PERMISSION_DENIED');
  fail(await call(c, '/json/instance/delete', { instanceId: I }), 'BIZ_FIELD_CHECK_INVALID');
  for (const t of ['T_order', 'T_global', 'T_delay']) ok(await call(c, '/json/topic/delete', { instanceId: I, topic: t }));
  fail(await call(c, '/json/instance/delete', { instanceId: I }), 'BIZ_FIELD_CHECK_INVALID');
  ok(await call(c, '/json/group/delete', { instanceId: I, groupId: 'GID_main' }));
  ok(await call(c, '/json/instance/delete', { instanceId: I }, SUBP));
  fail(await call(c, '/json/instance/baseInfo', { instanceId: I }), 'BIZ_FIELD_CHECK_INVALID');
});

test('metadata survives a console restart; broker failures roll back', async () => {
  const { stop, startConsole } = require('./cluster');
  await stop(c.console);
  await startConsole(c);
  assert.deepEqual(ok(await call(c, '/json/topic/listNames')), ['T_plain']);
  // With the broker gone, a create fails with ONS_INVOKE_ERROR and leaves nothing behind.
  await stop(c.broker);
  fail(await call(c, '/json/topic/create', { topic: 'T_lost' }), 'ONS_INVOKE_ERROR');
  fail(await call(c, '/json/group/create', { groupId: 'GID_lost' }), 'ONS_INVOKE_ERROR');
  assert.deepEqual(ok(await call(c, '/json/topic/listNames')), ['T_plain']);
  assert.deepEqual(ok(await call(c, '/json/group/list')).map(x => x.groupId), ['GID_plain']);
});
