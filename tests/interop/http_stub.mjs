// A loopback HTTP front for the integration tests, standing in for the
// J-LIS publication points: GET /NAME serves DIR/NAME (a CRL), POST /ocsp
// hands the DER request to a command (e.g. `jpki ocsp`) and returns its
// answer.
//   node http_stub.mjs PORTFILE DIR CMD [ARGS...]
// Listens on 127.0.0.1 (an ephemeral port, written to PORTFILE); the
// command is run as CMD ARGS... --req REQ.der --out RESP.der.
import { createServer } from "node:http";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { tmpdir } from "node:os";

const [portFile, dir, cmd, ...args] = process.argv.slice(2);
if (!portFile || !dir || !cmd) {
  console.error("usage: node http_stub.mjs PORTFILE DIR CMD [ARGS...]");
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), "jpki-stub-"));
let n = 0;

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (req.method === "GET") {
      const file = join(dir, basename(decodeURIComponent(req.url)));
      if (!existsSync(file)) {
        res.writeHead(404, { "Content-Type": "text/plain" });
        res.end("not found\n");
        return;
      }
      res.writeHead(200, { "Content-Type": "application/pkix-crl" });
      res.end(readFileSync(file));
      return;
    }
    if (req.method === "POST" && req.url === "/ocsp") {
      const q = join(work, `req${n}.der`);
      const a = join(work, `resp${n}.der`);
      n++;
      writeFileSync(q, Buffer.concat(chunks));
      try {
        execFileSync(cmd, [...args, "--req", q, "--out", a], {
          stdio: ["ignore", "ignore", "inherit"],
        });
      } catch (e) {
        res.writeHead(500, { "Content-Type": "text/plain" });
        res.end("responder failed\n");
        return;
      }
      res.writeHead(200, { "Content-Type": "application/ocsp-response" });
      res.end(readFileSync(a));
      return;
    }
    res.writeHead(405, { "Content-Type": "text/plain" });
    res.end("no\n");
  });
});
// stopped by PID (SIGTERM): leave nothing behind
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    rmSync(work, { recursive: true, force: true });
    process.exit(0);
  });
}
server.listen(0, "127.0.0.1", () => {
  writeFileSync(portFile, String(server.address().port));
});
