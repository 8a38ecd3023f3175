// A small HTTP fault-injection proxy for the object-store tests (node 20+):
//   node fault_proxy.mjs UPSTREAM_PORT PLAN_FILE LOG_FILE
// Prints "PORT=<n>" when listening on 127.0.0.1. Requests are forwarded to 127.0.0.1:UPSTREAM_PORT
// byte for byte (Host header unchanged, so SigV4 signatures made for the proxy still verify).
// PLAN_FILE holds one fault per line, consumed in order by requests whose "METHOD url" matches the
// line's regex:  "<fault> <regex>"   faults:
//   500    answer 500 InternalError (S3 error XML) without forwarding
//   503ra  answer 503 SlowDown with Retry-After: 1
//   drop   read part of the body, then destroy the connection (a dropped connection mid-part)
//   slow   wait 1.5 s, then forward
//   stall  wait 3 s, then forward (longer than the progress line's "waiting on the destination" mark)
//   always500  answer 500 to every matching request from now on (a dead endpoint)
// LOG_FILE gets one line per request: "<fault|ok> <status> METHOD url" (the tests count them).
import http from 'node:http';
import fs from 'node:fs';

const [upPort, planFile, logFile] = process.argv.slice(2);
const plan = fs.readFileSync(planFile, 'utf8').split('\n').filter((l) => l.trim())
  .map((l) => { const i = l.indexOf(' '); return { fault: l.slice(0, i), re: new RegExp(l.slice(i + 1)) }; });
let always = null;
let alwaysRe = null;

function log(line) { fs.appendFileSync(logFile, line + '\n'); }

function s3error(res, status, code, extra = {}) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by fault_proxy</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function forward(req, res, body, tag) {
  const up = http.request({ host: '127.0.0.1', port: Number(upPort), method: req.method, path: req.url, headers: req.headers },
    (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
      ur.on('end', () => log(`${tag} ${ur.statusCode} ${req.method} ${req.url}`));
    });
  up.on('error', () => { res.destroy(); });
  up.end(body);
}

const server = http.createServer((req, res) => {
  const what = `${req.method} ${req.url}`;
  let fault = null;
  if (always && always.test(what)) fault = 'always500';
  else {
    const i = plan.findIndex((p) => p.re.test(what));
    if (i >= 0) { fault = plan[i].fault; if (fault === 'always500') alwaysRe = plan[i].re; plan.splice(i, 1); }
  }
  if (fault === 'always500' && !always) always = alwaysRe;
  if (fault === 'drop') {
    let got = 0;
    req.on('data', (c) => { got += c.length; if (got > 65536 || got >= Number(req.headers['content-length'] || 0)) { log(`drop 0 ${what}`); req.socket.destroy(); } });
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (fault === '500' || fault === 'always500') { log(`${fault} 500 ${what}`); return s3error(res, 500, 'InternalError'); }
    if (fault === '503ra') { log(`503ra 503 ${what}`); return s3error(res, 503, 'SlowDown', { 'Retry-After': '1' }); }
    if (fault === 'slow') { setTimeout(() => forward(req, res, body, 'slow'), 1500); return; }
    if (fault === 'stall') { setTimeout(() => forward(req, res, body, 'stall'), 3000); return; }
    forward(req, res, body, 'ok');
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => { console.log(`PORT=${server.address().port}`); });
process.on('SIGTERM', () => process.exit(0));
