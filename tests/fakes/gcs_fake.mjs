// A fake Google Cloud Storage JSON API + OAuth2 token endpoint for tests (node 20+), following the
// public documentation:
//  - OAuth2 "Using OAuth 2.0 for Server to Server Applications": POST /token with
//    grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT; the JWT (RS256) is
//    verified with the test key's public half, aud must be this token URL, exp within an hour;
//    answers {"access_token","expires_in","token_type":"Bearer"}; errors {"error","error_description"}.
//  - Every storage request needs "Authorization: Bearer <a token we issued>" (else 401).
//  - "Resumable uploads": POST /upload/storage/v1/b/B/o?uploadType=resumable&name=N[&ifGenerationMatch=0]
//    -> 200 + Location (session URI). PUT session with Content-Range "bytes a-b/*" (a chunk, a multiple of
//    256 KiB) -> 308 + Range "bytes=0-N" (omitted when nothing persisted); "bytes a-b/T" (last chunk,
//    states the total) -> 200 + object JSON; "bytes */*" or "bytes */T" asks the status (308 + Range,
//    or 200 when complete). A chunk that is not a multiple of 256 KiB, a gap, or a total that does not
//    match -> 400. ifGenerationMatch=0 on an existing object -> 412 at start and at finalisation.
//    x-goog-hash crc32c is checked on the last chunk (400 on mismatch). DELETE session -> 499.
//  - Error bodies: {"error":{"code":N,"message":"...","errors":[{"reason":"...","message":"..."}]}}.
//  - "Objects: list": GET /storage/v1/b/B/o?prefix=P[&pageToken=T] -> {"items":[{name,size,generation,
//    updated}], "nextPageToken"} (two items per page, so paging is exercised).
//  - "Objects: get" with alt=media: GET /storage/v1/b/B/o/NAME?alt=media[&ifGenerationMatch=G], Range
//    "bytes=a-b" -> 206 with the bytes; a generation that does not match -> 412.
// Usage: node gcs_fake.mjs PUBLIC_KEY.pem DATA_DIR PLAN_FILE LOG_FILE BUCKET...
// Prints "PORT=<n>". Objects are stored as DATA_DIR/BUCKET/NAME. PLAN_FILE: fault lines
// "<fault> <regex on 'METHOD url'>" consumed in order: 500 | 503 | drop (persist the 256 KiB-aligned
// prefix of what arrived, then cut the connection) | badtoken (answer 401 once).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const [pubFile, dataDir, planFile, logFile, ...buckets] = process.argv.slice(2);
const pub = crypto.createPublicKey(fs.readFileSync(pubFile));
const plan = fs.existsSync(planFile) ? fs.readFileSync(planFile, 'utf8').split('\n').filter((l) => l.trim())
  .map((l) => { const i = l.indexOf(' '); return { fault: l.slice(0, i), re: new RegExp(l.slice(i + 1)) }; }) : [];
const tokens = new Set();
const meta = new Map();   // "bucket/name" -> {generation, updated}
const sessions = new Map();
const UNIT = 256 * 1024;
let port = 0;

const CRC = new Uint32Array(256).map((_, i) => { let c = i; for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82F63B78 : c >>> 1; return c >>> 0; });
function crc32c(buf) { let c = 0xFFFFFFFF; for (const b of buf) c = CRC[(c ^ b) & 0xFF] ^ (c >>> 8); return (c ^ 0xFFFFFFFF) >>> 0; }

function log(l) { fs.appendFileSync(logFile, l + '\n'); }
function json(res, status, obj, extra = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}
function gerr(res, code, reason, message) { json(res, code, { error: { code, message, errors: [{ domain: 'global', reason, message }] } }); }
const b64url = (s) => Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
const objPath = (b, n) => path.join(dataDir, b, n);

function token(req, res, body) {
  const form = new URLSearchParams(body.toString());
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return json(res, 400, { error: 'unsupported_grant_type', error_description: 'grant_type' });
  const parts = (form.get('assertion') || '').split('.');
  if (parts.length !== 3) return json(res, 400, { error: 'invalid_grant', error_description: 'malformed JWT' });
  const ok = crypto.verify('sha256', Buffer.from(parts[0] + '.' + parts[1]), pub, b64url(parts[2]));
  if (!ok) return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
  const hdr = JSON.parse(b64url(parts[0]).toString()), claims = JSON.parse(b64url(parts[1]).toString());
  const now = Math.floor(Date.now() / 1000);
  if (hdr.alg !== 'RS256' || claims.aud !== `http://127.0.0.1:${port}/token` || !claims.iss || !claims.scope ||
      !(claims.exp > now) || claims.exp - claims.iat > 3600 || claims.iat > now + 60)
    return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT: claims' });
  const t = 'ya29.fake-' + crypto.randomBytes(12).toString('hex');
  tokens.add(t);
  log(`token 200 POST /token`);
  json(res, 200, { access_token: t, expires_in: 3599, token_type: 'Bearer' });
}

function finishObject(res, s) {
  const data = Buffer.concat(s.chunks);
  if (s.ifGen0 && fs.existsSync(objPath(s.bucket, s.name))) return gerr(res, 412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
  fs.mkdirSync(path.dirname(objPath(s.bucket, s.name)), { recursive: true });
  fs.writeFileSync(objPath(s.bucket, s.name), data);
  s.done = true;
  meta.set(`${s.bucket}/${s.name}`, { generation: String(Date.now() * 1000 + meta.size), updated: new Date().toISOString() });
  const c = Buffer.alloc(4); c.writeUInt32BE(crc32c(data));
  json(res, 200, { kind: 'storage#object', bucket: s.bucket, name: s.name, size: String(data.length), crc32c: c.toString('base64'), generation: String(Date.now()) });
}

function putSession(req, res, body, s) {
  const cr = req.headers['content-range'] || '';
  let m;
  const range = () => (s.size > 0 ? { Range: `bytes=0-${s.size - 1}` } : {});
  if ((m = /^bytes \*\/(\*|\d+)$/.exec(cr))) {
    if (s.done) return json(res, 200, { name: s.name, bucket: s.bucket, size: String(s.size) });
    if (m[1] !== '*' && Number(m[1]) === s.size && body.length === 0) return finishFinal(req, res, s);
    res.writeHead(308, range()); return res.end();
  }
  if (!(m = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(cr))) return gerr(res, 400, 'invalid', `bad Content-Range '${cr}'`);
  const a = Number(m[1]), b = Number(m[2]), total = m[3] === '*' ? null : Number(m[3]);
  if (b - a + 1 !== body.length) return gerr(res, 400, 'invalid', 'Content-Range does not match the body length');
  if (a > s.size) return gerr(res, 400, 'invalid', `gap: offset ${a} but ${s.size} bytes persisted`);
  if (total === null && body.length % UNIT !== 0) return gerr(res, 400, 'invalid', 'a non-final chunk must be a multiple of 256 KiB');
  const fresh = body.subarray(s.size - a);
  s.chunks.push(fresh); s.size += fresh.length;
  if (total === null) { res.writeHead(308, range()); return res.end(); }
  if (total !== s.size) return gerr(res, 400, 'invalid', `final size ${total} but ${s.size} bytes received`);
  return finishFinal(req, res, s);
}

function finishFinal(req, res, s) {
  const h = req.headers['x-goog-hash'];
  if (h) {
    const want = /crc32c=([^,]+)/.exec(h);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc32c(Buffer.concat(s.chunks)));
    if (want && want[1] !== c.toString('base64')) return gerr(res, 400, 'invalid', `Provided CRC32C "${want[1]}" doesn't match calculated CRC32C "${c.toString('base64')}".`);
  }
  return finishObject(res, s);
}

const server = http.createServer((req, res) => {
  const u = new URL(req.url, `http://127.0.0.1:${port}`);
  const what = `${req.method} ${req.url}`;
  let fault = null;
  const i = plan.findIndex((p) => p.re.test(what));
  if (i >= 0) { fault = plan[i].fault; plan.splice(i, 1); }
  const chunks = [];
  let got = 0;
  req.on('data', (c) => {
    chunks.push(c); got += c.length;
    if (fault === 'drop' && got >= Number(req.headers['content-length'] || 0) / 2) {
      // Persist the 256 KiB-aligned prefix of what arrived, as GCS may, then cut the connection.
      const s = sessions.get(u.searchParams.get('upload_id'));
      const cr = /^bytes (\d+)-/.exec(req.headers['content-range'] || '');
      if (s && cr && Number(cr[1]) === s.size) {
        const keep = Math.floor(got / UNIT) * UNIT;
        const buf = Buffer.concat(chunks).subarray(0, keep);
        s.chunks.push(buf); s.size += buf.length;
      }
      log(`drop 0 ${what}`);
      fault = 'dropped';
      req.socket.destroy();
    }
  });
  req.on('end', () => {
    if (fault === 'dropped') return;
    const body = Buffer.concat(chunks);
    if (req.method === 'POST' && u.pathname === '/token') return token(req, res, body);
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization || '');
    if (!auth || !tokens.has(auth[1]) || fault === 'badtoken') { log(`401 401 ${what}`); return gerr(res, 401, 'authError', 'Invalid Credentials'); }
    if (fault === '500') { log(`500 500 ${what}`); return gerr(res, 500, 'backendError', 'We encountered an internal error. Please try again.'); }
    if (fault === '503') { log(`503 503 ${what}`); return gerr(res, 503, 'backendError', 'Service Unavailable'); }
    log(`ok - ${what}`);
    let m;
    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(u.pathname))) {
      const bucket = decodeURIComponent(m[1]);
      if (!buckets.includes(bucket)) return gerr(res, 404, 'notFound', 'The specified bucket does not exist.');
      const uploadId = u.searchParams.get('upload_id');
      if (req.method === 'POST' && u.searchParams.get('uploadType') === 'resumable') {
        const name = u.searchParams.get('name');
        if (!name) return gerr(res, 400, 'required', 'Required parameter: name');
        const ifGen0 = u.searchParams.get('ifGenerationMatch') === '0';
        if (ifGen0 && fs.existsSync(objPath(bucket, name))) return gerr(res, 412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
        const id = crypto.randomBytes(16).toString('hex');
        sessions.set(id, { bucket, name, ifGen0, chunks: [], size: 0, done: false });
        const loc = `http://127.0.0.1:${port}/upload/storage/v1/b/${m[1]}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
        res.writeHead(200, { Location: loc, 'Content-Length': 0 }); return res.end();
      }
      const s = uploadId && sessions.get(uploadId);
      if (!s) return gerr(res, 404, 'notFound', 'No such upload session.');
      if (req.method === 'PUT') return putSession(req, res, body, s);
      if (req.method === 'DELETE') { sessions.delete(uploadId); res.writeHead(499); return res.end(); }
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(u.pathname)) && req.method === 'GET') {
      const bucket = decodeURIComponent(m[1]);
      if (!buckets.includes(bucket)) return gerr(res, 404, 'notFound', 'The specified bucket does not exist.');
      const prefix = u.searchParams.get('prefix') || '';
      const names = [...meta.keys()].filter((k) => k.startsWith(bucket + '/')).map((k) => k.slice(bucket.length + 1))
        .filter((n) => n.startsWith(prefix)).sort();
      const start = Number(u.searchParams.get('pageToken') || 0);
      const page = names.slice(start, start + 2).map((n) => {
        const md = meta.get(`${bucket}/${n}`);
        return { kind: 'storage#object', name: n, bucket, size: String(fs.statSync(objPath(bucket, n)).size), generation: md.generation, updated: md.updated };
      });
      const out = { kind: 'storage#objects', items: page };
      if (start + 2 < names.length) out.nextPageToken = String(start + 2);
      return json(res, 200, out);
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(u.pathname)) && req.method === 'GET' && u.searchParams.get('alt') === 'media') {
      const bucket = decodeURIComponent(m[1]), name = decodeURIComponent(m[2]);
      const md = meta.get(`${bucket}/${name}`);
      if (!md) return gerr(res, 404, 'notFound', `No such object: ${bucket}/${name}`);
      const g = u.searchParams.get('ifGenerationMatch');
      if (g && g !== md.generation) return gerr(res, 412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
      const data = fs.readFileSync(objPath(bucket, name));
      const r = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range || '');
      if (!r) { res.writeHead(200, { 'Content-Length': data.length }); return res.end(data); }
      const a = Number(r[1]), b = Math.min(Number(r[2]), data.length - 1);
      if (a >= data.length) return gerr(res, 416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.');
      res.writeHead(206, { 'Content-Length': b - a + 1, 'Content-Range': `bytes ${a}-${b}/${data.length}` });
      return res.end(data.subarray(a, b + 1));
    }
    gerr(res, 404, 'notFound', 'Not Found');
  });
});
server.listen(0, '127.0.0.1', () => { port = server.address().port; console.log(`PORT=${port}`); });
process.on('SIGTERM', () => process.exit(0));
