// Verify a CMS SignedData with pkijs, an independent implementation
// (JavaScript, WebCrypto), as a browser-side relying party would:
//   node pkijs_verify.mjs DOC.p7s [CONTENT]
// DER or PEM; CONTENT for a detached signature.  Checks the signature
// with the signer certificate carried in the CMS (and the messageDigest
// against the content); the chain is openjpki's business, not this one's.
// Prints one JSON line; exit 0 only when the signature verifies.
import { readFileSync } from "node:fs";
import { webcrypto } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

function bytes(path) {
  const b = readFileSync(path);
  const text = b.toString("latin1");
  const m = text.match(/-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END/);
  const raw = m ? Buffer.from(m[1].replace(/\s+/g, ""), "base64") : b;
  return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
}

function done(ok, detail) {
  console.log(JSON.stringify({ verified: ok, ...detail }));
  process.exit(ok ? 0 : 1);
}

const [docPath, contentPath] = process.argv.slice(2);
if (!docPath) {
  console.error("usage: node pkijs_verify.mjs DOC.p7s [CONTENT]");
  process.exit(2);
}
pkijs.setEngine(
  "node",
  new pkijs.CryptoEngine({ name: "node", crypto: webcrypto }),
);
try {
  const der = bytes(docPath);
  const asn = asn1js.fromBER(der);
  if (asn.offset === -1 || asn.offset !== der.byteLength)
    done(false, { error: "not one DER object" });
  const ci = new pkijs.ContentInfo({ schema: asn.result });
  if (ci.contentType !== pkijs.ContentInfo.SIGNED_DATA)
    done(false, { error: "not SignedData" });
  const sd = new pkijs.SignedData({ schema: ci.content });
  const data = contentPath ? bytes(contentPath) : undefined;
  const res = await sd.verify({
    signer: 0,
    data,
    checkChain: false,
    extendedMode: true,
  });
  const cert = res.signerCertificate;
  done(res.signatureVerified === true, {
    signer_serial: cert
      ? Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString("hex")
      : null,
    digest: sd.signerInfos[0].digestAlgorithm.algorithmId,
    signed_attributes: sd.signerInfos[0].signedAttrs
      ? sd.signerInfos[0].signedAttrs.attributes.map((a) => a.type)
      : [],
  });
} catch (e) {
  done(false, { error: String(e && e.message ? e.message : e) });
}
