/**
 * Mints the signer's leaf certificates (ECDSA P-256, signed by the local CA), and the local CA's own
 * self-signed certificate at first start, with a few lines of DER instead of a general X.509 library:
 * both have one fixed shape, and the library with its ASN.1 schema and reflection runtime was the
 * largest part of the agent's idle memory (about 20 MB RSS; still ~5 MB, 220 modules, when it was
 * loaded only to make the CA). The CA certificate is read with node:crypto; a leaf copies only its
 * subject and key identifier.
 */
import crypto from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const oid = (hex: string): Buffer => tlv(0x06, Buffer.from(hex, 'hex'));

const OID_ECDSA_SHA256 = oid('2a8648ce3d040302');
const OID_CN = oid('550403');
const OID_BASIC_CONSTRAINTS = oid('551d13');
const OID_KEY_USAGE = oid('551d0f');
const OID_EXT_KEY_USAGE = oid('551d25');
const OID_SERVER_AUTH = oid('2b06010505070301');
const OID_SAN = oid('551d11');
const OID_AKI = oid('551d23');
const SKI_OID_BYTES = Buffer.from('551d0e', 'hex');
const OID_SKI = oid('551d0e');

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

function extension(id: Buffer, critical: boolean, value: Buffer): Buffer {
  return seq(id, ...(critical ? [Buffer.from([0x01, 0x01, 0xff])] : []), tlv(0x04, value));
}

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the content. */
  content: number;
  end: number;
}

function readTlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at]!;
  let n = buf[at + 1]!;
  let content = at + 2;
  if (n & 0x80) {
    const k = n & 0x7f;
    n = 0;
    for (let i = 0; i < k; i++) n = n * 256 + buf[content + i]!;
    content += k;
  }
  if (content + n > buf.length) throw new Error('truncated DER');
  return { tag, start: at, content, end: content + n };
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.content; at < parent.end; at = out[out.length - 1]!.end) out.push(readTlv(buf, at));
  return out;
}

/** What a leaf copies from its issuer: the subject Name (DER) and the subject key identifier, if any. */
export interface IssuerInfo {
  subject: Buffer;
  keyId: Buffer | undefined;
}

export function issuerInfo(ca: crypto.X509Certificate): IssuerInfo {
  const der = ca.raw;
  const tbs = children(der, readTlv(der, 0))[0]!;
  const fields = children(der, tbs);
  const i = fields[0]!.tag === 0xa0 ? 1 : 0; // version is optional
  const subjectTlv = fields[i + 4]!;
  let keyId: Buffer | undefined;
  const exts = fields.find((f) => f.tag === 0xa3);
  if (exts) {
    for (const ext of children(der, children(der, exts)[0]!)) {
      const [id, ...rest] = children(der, ext);
      if (!id || !der.subarray(id.content, id.end).equals(SKI_OID_BYTES)) continue;
      const value = rest[rest.length - 1]!; // OCTET STRING wrapping OCTET STRING keyIdentifier
      const inner = readTlv(der, value.content);
      keyId = Buffer.from(der.subarray(inner.content, inner.end));
    }
  }
  return { subject: Buffer.from(der.subarray(subjectTlv.start, subjectTlv.end)), keyId };
}

export interface LeafRequest {
  hostname: string;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo (DER) of the leaf key. */
  spki: Buffer;
  issuer: IssuerInfo;
  caKey: crypto.KeyObject;
}

function pem(cert: Buffer): string {
  const b64 = cert.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** A positive, minimal 16-byte serial number. */
function serialNumber(): Buffer {
  const serial = crypto.randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // positive INTEGER
  if (serial[0] === 0) serial[0] = 1; // and minimal: no leading zero byte
  return serial;
}

export interface CaRequest {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo (DER) of the CA key (ECDSA P-256). */
  spki: Buffer;
  key: crypto.KeyObject;
}

/**
 * The local CA: self-signed, CA:TRUE with pathLen 0 and keyUsage keyCertSign | cRLSign (both
 * critical), and a subject key identifier (SHA-1 of the public key, RFC 5280 4.2.1.2) that leaves
 * name as their authority key identifier. As PEM.
 */
export function mintCa(req: CaRequest): string {
  const spki = readTlv(req.spki, 0);
  const publicKey = children(req.spki, spki)[1]!; // BIT STRING: unused-bits byte, then the key
  const keyId = crypto.createHash('sha1').update(req.spki.subarray(publicKey.content + 1, publicKey.end)).digest();
  const name = seq(tlv(0x31, seq(OID_CN, tlv(0x0c, Buffer.from(req.commonName, 'utf8')))));
  const algorithm = seq(OID_ECDSA_SHA256);
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    tlv(0x02, serialNumber()),
    algorithm,
    name,
    seq(time(req.notBefore), time(req.notAfter)),
    name,
    req.spki,
    tlv(0xa3, seq(
      extension(OID_BASIC_CONSTRAINTS, true, seq(Buffer.from([0x01, 0x01, 0xff]), tlv(0x02, Buffer.from([0])))),
      extension(OID_KEY_USAGE, true, Buffer.from([0x03, 0x02, 0x01, 0x06])), // keyCertSign, cRLSign
      extension(OID_SKI, false, tlv(0x04, keyId)),
    )),
  );
  const signature = crypto.sign('sha256', tbs, { key: req.key, dsaEncoding: 'der' });
  return pem(seq(tbs, algorithm, tlv(0x03, Buffer.from([0]), signature)));
}

/** A serverAuth leaf for one DNS name, as PEM. */
export function mintLeaf(req: LeafRequest): string {
  const serial = serialNumber();
  const host = Buffer.from(req.hostname, 'ascii');
  const extensions = [
    extension(OID_BASIC_CONSTRAINTS, true, seq()),
    extension(OID_KEY_USAGE, true, Buffer.from([0x03, 0x02, 0x07, 0x80])), // digitalSignature
    extension(OID_EXT_KEY_USAGE, false, seq(OID_SERVER_AUTH)),
    extension(OID_SAN, false, seq(tlv(0x82, host))),
    ...(req.issuer.keyId ? [extension(OID_AKI, false, seq(tlv(0x80, req.issuer.keyId)))] : []),
  ];
  const algorithm = seq(OID_ECDSA_SHA256);
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    tlv(0x02, serial),
    algorithm,
    req.issuer.subject,
    seq(time(req.notBefore), time(req.notAfter)),
    seq(tlv(0x31, seq(OID_CN, tlv(0x0c, Buffer.from(req.hostname, 'utf8'))))),
    req.spki,
    tlv(0xa3, seq(...extensions)),
  );
  const signature = crypto.sign('sha256', tbs, { key: req.caKey, dsaEncoding: 'der' });
  return pem(seq(tbs, algorithm, tlv(0x03, Buffer.from([0]), signature)));
}
