// Strangers that pin memory: N connections from one loopback address each
// POST a large body to an anonymous route: the headers, then (after 300 ms,
// when a refusal made at the headers is already back) PART bytes at once,
// then one byte every second, for at most SECONDS.  Prints one JSON line:
// how many connections got an answer (and which status), and how many the
// server closed without one.  Node's standard library only; loopback only.
// usage: node trickle.mjs PORT LOCAL_ADDR N PART SECONDS
import net from 'node:net';

const [port, local, n, part, seconds] = process.argv.slice(2);
const N = Number(n), PART = Number(part), SECS = Number(seconds);
const res = { connections: N, status: {}, closed_without_answer: 0, errors: 0 };
let open = 0;
const deadline = Date.now() + SECS * 1000;

await new Promise((done) => {
  for (let i = 0; i < N; i++) {
    open++;
    const s = net.connect({ host: '127.0.0.1', port: Number(port), localAddress: local });
    let got = '', timer = null, finished = false;
    const end = () => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      const m = /^HTTP\/1\.1 (\d+)/.exec(got);
      if (m) res.status[m[1]] = (res.status[m[1]] || 0) + 1;
      else res.closed_without_answer++;
      s.destroy();
      if (--open === 0) done();
    };
    s.on('connect', () => {
      s.write('POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        'Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n');
      setTimeout(() => { if (!finished) s.write(Buffer.alloc(PART, 0x20)); }, 300);
      timer = setInterval(() => {
        if (Date.now() > deadline) return end();
        if (!s.destroyed) s.write(' ');
      }, 1000);
    });
    s.on('data', (d) => { got += d.toString('latin1'); if (/\r\n\r\n/.test(got)) end(); });
    s.on('error', () => { res.errors++; end(); });
    s.on('close', end);
  }
});
console.log(JSON.stringify(res));
