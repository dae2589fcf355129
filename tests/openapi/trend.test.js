'use strict';
// Statistics end to end (spec/open-api.md §6.8, §6.4.7, §6.5.4): real
// messages sent and consumed with libons (tests/openapi/msg_tool.c) against a
// real broker; the console polls the broker's per-minute counters every
// 300 ms (openApiStatsPollMs) and the trend endpoints report them. Also the
// broker's own answers to VIEW_BROKER_STATS_DATA (315) and GET_STATS_MINUTES
// (10315) through tests/openapi/broker_probe.c, and subDetail for online and
// offline groups.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn, execFileSync, spawnSync } = require('node:child_process');
const { OTHER, startCluster, startConsole, stopCluster, stop, call, sleep } = require('./cluster');

const BUILD = process.env.TERN_BUILD_DIR
  ? path.resolve(process.env.TERN_BUILD_DIR)
  : path.join(__dirname, '..', '..', 'build');
const TOOL = path.join(BUILD, 'msg_tool');
const PROBE = path.join(BUILD, 'broker_probe');

const TOPIC = 'T_trend';
const GROUP = 'GID_trend';
const IDLE = 'GID_trend_idle';
const N = 24;
const MIN = 60000;
let c;
let ns;
let inst; // a namespaced instance holding the same logical names

test.before(async () => {
  c = await startCluster(['openApiStatsPollMs=300']);
  ns = `127.0.0.1:${c.namesrvPort}`;
  ok(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'plain', independentNaming: 'false',
    maxSendTps: '1000', maxReceiveTps: '1000',
  }));
  ok(await call(c, '/json/topic/create', { topic: TOPIC, orderType: '0' }));
  ok(await call(c, '/json/group/create', { groupId: GROUP }));
  ok(await call(c, '/json/group/create', { groupId: IDLE }));
  inst = ok(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'ns-trend', independentNaming: 'true',
    maxSendTps: '1000', maxReceiveTps: '1000',
  })).instanceId;
  ok(await call(c, '/json/topic/create', { instanceId: inst, topic: TOPIC, orderType: '0' }));
  ok(await call(c, '/json/group/create', { instanceId: inst, groupId: GROUP }));
});
test.after(async () => { await stopCluster(c); });

function ok(r) { assert.equal(r.success, true, JSON.stringify(r)); return r.data; }
function fail(r, code) {
  assert.equal(r.success, false, JSON.stringify(r));
  assert.equal(r.dynamicCode, code, JSON.stringify(r));
}

function consume(group, topic, expr, count, seconds, env = process.env) {
  const child = spawn(TOOL, ['consume', ns, group, topic, expr, String(count), String(seconds)], { env });
  let seen = 0;
  let buf = '';
  const done = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`consumed ${seen} of ${count}`)), 30000);
    child.stdout.on('data', d => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      seen += lines.filter(l => l.startsWith('consumed ')).length;
      if (seen >= count) { clearTimeout(t); resolve(seen); }
    });
  });
  const exited = new Promise(resolve => child.on('exit', code => resolve(code)));
  return { child, done, exited };
}

const sum = recs => recs.reduce((a, r) => a + r.y, 0);

// Polls a trend endpoint until its total reaches want (the poller runs every 300 ms).
async function waitTotal(apiPath, params, want) {
  const deadline = Date.now() + 15000;
  let d;
  while (Date.now() < deadline) {
    d = ok(await call(c, apiPath, { ...params, type: '0' }));
    if (sum(d.records) >= want) return d;
    await sleep(200);
  }
  assert.fail(`${apiPath} total stayed at ${d && sum(d.records)}, want ${want}`);
}

function probe(...args) {
  const r = spawnSync(PROBE, [`127.0.0.1:${c.brokerPort}`, ...args]);
  return { status: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
}

test('trend endpoints: parameter validation and unknown resources', async () => {
  const now = Date.now();
  const good = { topic: TOPIC, beginTime: String(now - 3600000), endTime: String(now), period: '1', type: '0' };
  const T = '/json/trend/topicInputTps';
  const G = '/json/trend/groupOutputTps';
  ok(await call(c, T, good));
  for (const drop of ['topic', 'beginTime', 'endTime', 'period', 'type']) {
    const p = { ...good };
    delete p[drop];
    fail(await call(c, T, p), 'BIZ_FIELD_CHECK_INVALID');
  }
  for (const period of ['0', '2', '3', '15', '60', 'x']) {
    fail(await call(c, T, { ...good, period }), 'BIZ_FIELD_CHECK_INVALID');
  }
  for (const type of ['2', '-1', 'tps']) {
    fail(await call(c, T, { ...good, type }), 'BIZ_FIELD_CHECK_INVALID');
  }
  fail(await call(c, T, { ...good, beginTime: String(now), endTime: String(now) }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, T, { ...good, beginTime: String(now), endTime: String(now - 1) }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, T, { ...good, beginTime: 'yesterday' }), 'BIZ_FIELD_CHECK_INVALID');
  // At most the retention (7 days by default) in one request.
  ok(await call(c, T, { ...good, beginTime: String(now - 7 * 86400000), period: '10' }));
  fail(await call(c, T, { ...good, beginTime: String(now - 7 * 86400000 - 1) }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, T, { ...good, topic: 'T_nope' }), 'BIZ_TOPIC_NOT_FOUND');
  // Another account does not see this account's instance.
  fail(await call(c, T, good, OTHER), 'BIZ_FIELD_CHECK_INVALID');

  ok(await call(c, G, { ...good, groupId: GROUP }));
  fail(await call(c, G, good), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, G, { ...good, groupId: GROUP, period: '4' }), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, G, { ...good, groupId: 'GID_nope' }), 'BIZ_SUBSCRIPTION_NOT_FOUND');
  fail(await call(c, G, { ...good, groupId: GROUP, topic: 'T_nope' }), 'BIZ_TOPIC_NOT_FOUND');

  fail(await call(c, '/json/topic/subDetail', {}), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/topic/subDetail', { topic: 'T_nope' }), 'BIZ_TOPIC_NOT_FOUND');
  fail(await call(c, '/json/group/subDetail', {}), 'BIZ_FIELD_CHECK_INVALID');
  fail(await call(c, '/json/group/subDetail', { groupId: 'GID_nope' }), 'BIZ_SUBSCRIPTION_NOT_FOUND');
});

test('an empty range has every bucket, zero, aligned to the period', async () => {
  const begin = Date.UTC(2026, 0, 1, 10, 3, 30);
  const end = begin + 31 * MIN;
  const d = ok(await call(c, '/json/trend/topicInputTps',
    { topic: TOPIC, beginTime: String(begin), endTime: String(end), period: '10', type: '1' }));
  assert.equal(d.title, `${TOPIC} input TPS`);
  assert.deepEqual(d.records.map(r => r.x),
    [0, 1, 2, 3].map(i => Date.UTC(2026, 0, 1, 10, 0) + i * 10 * MIN));
  assert.ok(d.records.every(r => r.y === 0));
});

test('sent and consumed messages show up in the trends; subDetail sees the online group', async () => {
  const begin = Date.now();
  const cons = consume(GROUP, TOPIC, '*', N, 10);
  await sleep(1500);
  execFileSync(TOOL, ['send', ns, TOPIC, 'TagA', 'k1', String(N)]);
  await cons.done;

  // subDetail while the consumer is online.
  const gd = ok(await call(c, '/json/group/subDetail', { groupId: GROUP }));
  assert.deepEqual(gd, {
    groupId: GROUP, online: true, messageModel: 'CLUSTERING',
    subscriptionDataList: [{ topic: TOPIC, subString: '*' }],
  });
  const td = ok(await call(c, '/json/topic/subDetail', { topic: TOPIC }));
  assert.deepEqual(td, {
    topic: TOPIC,
    subscriptionDataList: [{ groupId: GROUP, subString: '*', messageModel: 'CLUSTERING' }],
  });
  const idle = ok(await call(c, '/json/group/subDetail', { groupId: IDLE }));
  assert.deepEqual(idle, { groupId: IDLE, online: false, messageModel: '', subscriptionDataList: [] });

  const end = Date.now() + 1000;
  const range = { beginTime: String(begin), endTime: String(end) };
  const tin = await waitTotal('/json/trend/topicInputTps', { topic: TOPIC, ...range, period: '1' }, N);
  assert.equal(sum(tin.records), N);
  assert.equal(tin.title, `${TOPIC} input total`);
  assert.equal(tin.records[0].x, Math.floor(begin / MIN) * MIN);
  assert.equal(tin.records[tin.records.length - 1].x, Math.floor(end / MIN) * MIN);
  for (let i = 1; i < tin.records.length; i++) {
    assert.equal(tin.records[i].x - tin.records[i - 1].x, MIN);
  }
  const gout = await waitTotal('/json/trend/groupOutputTps',
    { topic: TOPIC, groupId: GROUP, ...range, period: '1' }, N);
  assert.equal(sum(gout.records), N);
  assert.equal(gout.title, `${GROUP}@${TOPIC} output total`);

  // TPS = the bucket's total / its length in seconds.
  const tps = ok(await call(c, '/json/trend/topicInputTps',
    { topic: TOPIC, ...range, period: '1', type: '1' }));
  assert.equal(tps.title, `${TOPIC} input TPS`);
  assert.deepEqual(tps.records.map(r => r.x), tin.records.map(r => r.x));
  tps.records.forEach((r, i) => assert.ok(Math.abs(r.y - tin.records[i].y / 60) < 1e-9, JSON.stringify(r)));
  const gtps = ok(await call(c, '/json/trend/groupOutputTps',
    { topic: TOPIC, groupId: GROUP, ...range, period: '1', type: '1' }));
  assert.equal(gtps.title, `${GROUP}@${TOPIC} output TPS`);
  assert.ok(Math.abs(sum(gtps.records) - N / 60) < 1e-9);

  // Five-minute buckets: aligned on the epoch, the same total, TPS over 300 s.
  const five = ok(await call(c, '/json/trend/topicInputTps',
    { topic: TOPIC, ...range, period: '5', type: '0' }));
  assert.ok(five.records.every(r => r.x % (5 * MIN) === 0));
  assert.equal(sum(five.records), N);
  const fiveTps = ok(await call(c, '/json/trend/topicInputTps',
    { topic: TOPIC, ...range, period: '5', type: '1' }));
  fiveTps.records.forEach((r, i) => assert.ok(Math.abs(r.y - five.records[i].y / 300) < 1e-9));
  const ten = ok(await call(c, '/json/trend/groupOutputTps',
    { topic: TOPIC, groupId: GROUP, ...range, period: '10', type: '0' }));
  assert.ok(ten.records.every(r => r.x % (10 * MIN) === 0));
  assert.equal(sum(ten.records), N);

  // The idle group consumed nothing.
  const none = ok(await call(c, '/json/trend/groupOutputTps',
    { topic: TOPIC, groupId: IDLE, ...range, period: '1', type: '0' }));
  assert.equal(sum(none.records), 0);

  // The broker's own views of the same counters.
  const day = JSON.parse(probe('minutes', String(Math.floor(begin / MIN))).out);
  const put = day.topicPut.find(t => t.topic === TOPIC);
  assert.equal(put.minutes.reduce((a, m) => a + m[1], 0), N);
  const got = day.groupGet.find(t => t.topic === TOPIC && t.group === GROUP);
  assert.equal(got.minutes.reduce((a, m) => a + m[1], 0), N);
  const view = probe('stats', 'TOPIC_PUT_NUMS', TOPIC);
  assert.equal(view.status, 0, view.err);
  const bsd = JSON.parse(view.out);
  assert.deepEqual(Object.keys(bsd).sort(), ['statsDay', 'statsHour', 'statsMinute']);
  for (const k of Object.keys(bsd)) assert.deepEqual(Object.keys(bsd[k]).sort(), ['avgpt', 'sum', 'tps']);
  assert.ok(bsd.statsHour.sum <= N);
  const missing = probe('stats', 'GROUP_GET_NUMS', `${TOPIC}@GID_nobody`);
  assert.equal(missing.status, 1);
  assert.match(missing.err, /code 1 The stats <GROUP_GET_NUMS> <T_trend@GID_nobody> not exist/);

  // Offline after the consumer stops: no subscribers any more.
  assert.equal(await cons.exited, 0);
  const after = ok(await call(c, '/json/group/subDetail', { groupId: GROUP }));
  assert.equal(after.online, false);
  assert.deepEqual(after.subscriptionDataList, []);
  const tdAfter = ok(await call(c, '/json/topic/subDetail', { topic: TOPIC }));
  assert.deepEqual(tdAfter.subscriptionDataList, []);
});

test('a namespaced instance counts its own resources under their logical names', async () => {
  const env = { ...process.env, INSTANCE_ID: inst };
  const begin = Date.now();
  const cons = consume(GROUP, TOPIC, 'TagN', 5, 4, env);
  await sleep(1500);
  execFileSync(TOOL, ['send', ns, TOPIC, 'TagN', 'kn', '5'], { env });
  await cons.done;
  const gd = ok(await call(c, '/json/group/subDetail', { instanceId: inst, groupId: GROUP }));
  assert.deepEqual(gd.subscriptionDataList, [{ topic: TOPIC, subString: 'TagN' }]);
  const td = ok(await call(c, '/json/topic/subDetail', { instanceId: inst, topic: TOPIC }));
  assert.deepEqual(td.subscriptionDataList, [{ groupId: GROUP, subString: 'TagN', messageModel: 'CLUSTERING' }]);
  const range = { instanceId: inst, topic: TOPIC, beginTime: String(begin), endTime: String(Date.now() + 1000), period: '1' };
  const tin = await waitTotal('/json/trend/topicInputTps', range, 5);
  assert.equal(sum(tin.records), 5);
  const gout = await waitTotal('/json/trend/groupOutputTps', { ...range, groupId: GROUP }, 5);
  assert.equal(sum(gout.records), 5);
  // The plain instance's topic of the same name is not mixed in.
  const plain = ok(await call(c, '/json/trend/topicInputTps',
    { ...range, instanceId: undefined, beginTime: String(begin - 5 * MIN), type: '0' }));
  assert.equal(sum(plain.records), N);
  assert.equal(await cons.exited, 0);
});

test('a grantee reads write statistics with any relation, delivery statistics with subscribe', async () => {
  const T = 'T_trend_granted';
  ok(await call(c, '/json/topic/create', { instanceId: inst, topic: T, orderType: '0' }));
  ok(await call(c, '/json/empower/create', { instanceId: inst, topic: T, empowerUser: OTHER.user, relation: '2' }));
  const now = Date.now();
  const q = { instanceId: inst, topic: T, beginTime: String(now - MIN), endTime: String(now), period: '1', type: '0' };
  const d = ok(await call(c, '/json/trend/topicInputTps', q, OTHER));
  assert.equal(sum(d.records), 0);
  fail(await call(c, '/json/topic/subDetail', { instanceId: inst, topic: T }, OTHER), 'ONS_PERMISSION_DENIED');
  // Topics of the instance without a grant stay invisible.
  fail(await call(c, '/json/trend/topicInputTps', { ...q, topic: TOPIC }, OTHER), 'BIZ_TOPIC_NOT_FOUND');
  // The owner's Group ID is not the grantee's to use.
  fail(await call(c, '/json/group/subDetail', { instanceId: inst, groupId: GROUP }, OTHER), 'ONS_PERMISSION_DENIED');
});

test('the stored statistics survive a console restart', async () => {
  const now = Date.now();
  const range = { beginTime: String(now - 10 * MIN), endTime: String(now + MIN) };
  const before = ok(await call(c, '/json/trend/topicInputTps', { topic: TOPIC, ...range, period: '1', type: '0' }));
  await stop(c.console);
  await startConsole(c);
  const again = ok(await call(c, '/json/trend/topicInputTps', { topic: TOPIC, ...range, period: '1', type: '0' }));
  assert.equal(sum(again.records), sum(before.records));
  assert.equal(sum(again.records), N);
});

test('deleting a Group ID or a topic deletes its statistics', async () => {
  const now = Date.now();
  const range = { beginTime: String(now - 10 * MIN), endTime: String(now + MIN), period: '1', type: '0' };
  ok(await call(c, '/json/group/delete', { groupId: GROUP }));
  ok(await call(c, '/json/group/create', { groupId: GROUP }));
  ok(await call(c, '/json/topic/delete', { topic: TOPIC }));
  ok(await call(c, '/json/topic/create', { topic: TOPIC, orderType: '0' }));
  await sleep(1000); // a few polls: the brokers' memory must not bring them back
  const g = ok(await call(c, '/json/trend/groupOutputTps', { topic: TOPIC, groupId: GROUP, ...range }));
  assert.equal(sum(g.records), 0);
  const t = ok(await call(c, '/json/trend/topicInputTps', { topic: TOPIC, ...range }));
  assert.equal(sum(t.records), 0);
  const day = JSON.parse(probe('minutes', String(Math.floor(now / MIN) - 10)).out);
  assert.equal(day.topicPut.find(x => x.topic === TOPIC), undefined);
  assert.equal(day.groupGet.find(x => x.group === GROUP), undefined);
  // The namespaced instance's resources of the same names keep theirs.
  const ns = ok(await call(c, '/json/trend/topicInputTps', { instanceId: inst, topic: TOPIC, ...range }));
  assert.equal(sum(ns.records), 5);
});
