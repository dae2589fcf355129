'use strict';
// Request processing before the handlers (spec/open-api.md §2.2-2.7, §3):
// routing, parameters, signatures and common parameters. Every refused
// request must leave the metadata and the brokers unchanged.
const test = require('node:test');
const assert = require('node:assert/strict');
const { MAIN, OTHER, SUB, OFF, startCluster, stopCluster, call, sign, brokerHolds } = require('./cluster');

let c;
test.before(async () => { c = await startCluster(); });
test.after(async () => { await stopCluster(c); });

const fail = (r, code, numeric) => {
  assert.equal(r.success, false, JSON.stringify(r));
  assert.equal(r.dynamicCode, code, JSON.stringify(r));
  assert.equal(r.code, numeric);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.data, null);
  assert.match(r.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
};

async function nothingCreated() {
  const names = await call(c, '/json/topic/listNames');
  assert.equal(names.success, true, JSON.stringify(names));
  assert.deepEqual(names.data, []);
  assert.equal(brokerHolds(c, 'topics').T_refused, undefined);
}

test('setup: a default instance for the main account', async () => {
  const r = await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'default-inst', independentNaming: 'false',
    maxSendTps: '100', maxReceiveTps: '100',
  });
  assert.equal(r.success, true, JSON.stringify(r));
});

test('success envelope has every field of §3.2', async () => {
  const res = await call(c, '/json/region/list', {}, MAIN, { raw: true });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json;charset=UTF-8');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const r = await res.json();
  assert.deepEqual(Object.keys(r), ['code', 'currentPage', 'data', 'dynamicCode', 'dynamicMessage',
    'helpUrl', 'message', 'pageSize', 'requestId', 'status', 'success', 'total']);
  assert.equal(r.code, 200);
  assert.equal(r.message, 'operation success');
  assert.equal(r.helpUrl, null);
  assert.equal(r.status, 'SUCCESS');
  assert.deepEqual(r.data.map(x => x.regionId), ['mq-private']);
});

test('unknown path is HTTP 404 with ONS_SERVICE_UNSUPPORTED, other methods 405', async () => {
  let res = await fetch(`http://127.0.0.1:${c.httpPort}/json/topic/nothing`);
  assert.equal(res.status, 404);
  fail(await res.json(), 'ONS_SERVICE_UNSUPPORTED', 404);
  res = await fetch(`http://127.0.0.1:${c.httpPort}/json/topic/create`, { method: 'PUT' });
  assert.equal(res.status, 405);
  res = await fetch(`http://127.0.0.1:${c.httpPort}/JSON/topic/create`);
  assert.equal(res.status, 404);
});

test('paths collapse repeated slashes and ignore one trailing slash', async () => {
  for (const p of ['//json//region/list', '/json/region/list/']) {
    const r = await call(c, p);
    assert.equal(r.success, true, p);
  }
});

test('bad signature, unknown key, disabled key, missing key or signature: ONS_AUTH_FAILED', async () => {
  const topic = { topic: 'T_refused', orderType: '0' };
  fail(await call(c, '/json/topic/create', topic, MAIN, { tamper: true }), 'ONS_AUTH_FAILED', 401);
  fail(await call(c, '/json/topic/create', topic, { ak: 'AK_NOBODY', sk: 'x' }), 'ONS_AUTH_FAILED', 401);
  fail(await call(c, '/json/topic/create', topic, OFF), 'ONS_AUTH_FAILED', 401);
  fail(await call(c, '/json/topic/create', topic, { ak: MAIN.ak, sk: OTHER.sk }), 'ONS_AUTH_FAILED', 401);
  fail(await call(c, '/json/topic/create', topic, MAIN, { noSign: true }), 'ONS_AUTH_FAILED', 401);
  fail(await call(c, '/json/topic/create', topic, { ak: undefined, sk: MAIN.sk }), 'ONS_AUTH_FAILED', 401);
  await nothingCreated();
});

test('a signature sent with a raw + fails; %2B works (§2.5)', async () => {
  // Find a call whose signature contains '+'.
  for (let i = 0; i < 200; i++) {
    const p = { _accesskey: MAIN.ak, __preventCache: String(1000 + i), _regionId: 'mq-private' };
    const s = sign(p, MAIN.sk);
    if (!s.includes('+')) continue;
    const q = new URLSearchParams(p).toString();
    const raw = await (await fetch(`http://127.0.0.1:${c.httpPort}/json/instance/list?${q}&_signature=${s}`)).json();
    fail(raw, 'ONS_AUTH_FAILED', 401);
    const enc = await (await fetch(`http://127.0.0.1:${c.httpPort}/json/instance/list?${q}&_signature=${encodeURIComponent(s)}`)).json();
    assert.equal(enc.success, true, JSON.stringify(enc));
    return;
  }
  assert.fail('no signature with + in 200 tries');
});

test('every parameter is signed, unknown extras included', async () => {
  const p = { _accesskey: MAIN.ak, __preventCache: '1', _regionId: 'mq-private', extra: 'x' };
  const s = sign(p, MAIN.sk);
  p.extra = 'y';
  const q = new URLSearchParams({ ...p, _signature: s }).toString();
  fail(await (await fetch(`http://127.0.0.1:${c.httpPort}/json/instance/list?${q}`)).json(), 'ONS_AUTH_FAILED', 401);
});

test('duplicated parameter names: BIZ_FIELD_CHECK_INVALID, before authentication', async () => {
  const q = `_accesskey=${MAIN.ak}&__preventCache=1&topic=a&topic=b&_signature=x`;
  fail(await (await fetch(`http://127.0.0.1:${c.httpPort}/json/topic/create?${q}`)).json(), 'BIZ_FIELD_CHECK_INVALID', 400);
  const bad = `_accesskey=${MAIN.ak}&__preventCache=1&topic=%zz&_signature=x`;
  fail(await (await fetch(`http://127.0.0.1:${c.httpPort}/json/topic/create?${bad}`)).json(), 'BIZ_FIELD_CHECK_INVALID', 400);
});

test('__preventCache must be a decimal Long; _preventCache is accepted', async () => {
  fail(await call(c, '/json/instance/list', { __preventCache: 'soon' }), 'BIZ_FIELD_CHECK_INVALID', 400);
  fail(await call(c, '/json/instance/list', { __preventCache: undefined }), 'BIZ_FIELD_CHECK_INVALID', 400);
  const r = await call(c, '/json/instance/list', { __preventCache: undefined, _preventCache: '5' });
  assert.equal(r.success, true, JSON.stringify(r));
});

test('_regionId: unknown is BIZ_REGION_NOT_FOUND, absent is the default region', async () => {
  fail(await call(c, '/json/cluster/list', {}, MAIN, { region: 'cn-nowhere' }), 'BIZ_REGION_NOT_FOUND', 404);
  const r = await call(c, '/json/cluster/list', {}, MAIN, { region: null });
  assert.equal(r.success, true);
  const regions = await call(c, '/json/region/list', {}, MAIN, { region: 'cn-nowhere' });
  assert.equal(regions.success, true, 'region/list needs no valid _regionId');
});

test('POST with a form body, and query + body merged', async () => {
  const p = { _accesskey: MAIN.ak, __preventCache: '7', _regionId: 'mq-private', topic: 'T_post', orderType: '0' };
  p._signature = sign(p, MAIN.sk);
  const { topic, orderType, ...rest } = p;
  const res = await fetch(`http://127.0.0.1:${c.httpPort}/json/topic/create?${new URLSearchParams({ topic, orderType })}`, {
    method: 'POST', body: new URLSearchParams(rest).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
  });
  const r = await res.json();
  assert.equal(r.success, true, JSON.stringify(r));
  assert.ok(brokerHolds(c, 'topics').T_post);
  const del = await call(c, '/json/topic/delete', { topic: 'T_post' }, MAIN, { method: 'POST' });
  assert.equal(del.success, true, JSON.stringify(del));
});

test('a body of another content type is refused', async () => {
  const res = await fetch(`http://127.0.0.1:${c.httpPort}/json/region/list`, {
    method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' },
  });
  fail(await res.json(), 'BIZ_FIELD_CHECK_INVALID', 400);
});

test('endpoints of later steps answer ONS_SERVICE_UNSUPPORTED after authentication', async () => {
  // tunnelSwitch is the last path without a handler (trend is served now).
  fail(await call(c, '/json/vpcTunnel/tunnelSwitch', { instanceId: 'x' }), 'ONS_SERVICE_UNSUPPORTED', 501);
  fail(await call(c, '/json/vpcTunnel/tunnelSwitch', {}, MAIN, { tamper: true }), 'ONS_AUTH_FAILED', 401);
});

test('a sub-account without the grant gets ONS_PERMISSION_DENIED and changes nothing', async () => {
  fail(await call(c, '/json/topic/create', { topic: 'T_refused' }, SUB), 'ONS_PERMISSION_DENIED', 403);
  fail(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'sub-inst', independentNaming: 'true',
    maxSendTps: '1', maxReceiveTps: '1',
  }, SUB), 'ONS_PERMISSION_DENIED', 403);
  await nothingCreated();
  const list = await call(c, '/json/instance/list');
  assert.equal(list.data.length, 1);
});

test('too many parameters or an oversized value: BIZ_FIELD_CHECK_INVALID', async () => {
  const many = {};
  for (let i = 0; i < 70; i++) many[`p${i}`] = 'v';
  fail(await call(c, '/json/region/list', many), 'BIZ_FIELD_CHECK_INVALID', 400);
  fail(await call(c, '/json/region/list', { remark: 'x'.repeat(5000) }), 'BIZ_FIELD_CHECK_INVALID', 400);
});

test('a body over 64 KiB is HTTP 400 with the envelope', async () => {
  const res = await fetch(`http://127.0.0.1:${c.httpPort}/json/region/list`, {
    method: 'POST', body: 'a=' + 'x'.repeat(70 * 1024),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(res.status, 400);
  fail(await res.json(), 'BIZ_FIELD_CHECK_INVALID', 400);
});
