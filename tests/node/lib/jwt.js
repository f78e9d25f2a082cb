// Tokens as a backend mints them, with the npm jose package (a real, widely
// used JWT library), plus raw forgeries for the attack cases.
//
//   const k = await keyFor('ES256');     // {alg, privateKey, publicPem, publicJwk, config}
//   const t = await mint({ sub: '42' }, k, { expiresIn: 60 });
import { SignJWT, UnsecuredJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import crypto from 'node:crypto';

const b64 = (s) => Buffer.from(s).toString('base64url');

// A key for `alg` and the client.token section that makes Gyre accept it.
export async function keyFor(alg, kid) {
  if (alg.startsWith('HS')) {
    const secret = crypto.randomBytes(32).toString('hex');
    return { alg, kid, secret, privateKey: new TextEncoder().encode(secret), config: { hmac_secret_key: secret } };
  }
  const { publicKey, privateKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined, extractable: true });
  const publicPem = await exportSPKI(publicKey);
  const publicJwk = { ...(await exportJWK(publicKey)), ...(kid ? { kid } : {}), alg };
  const slot = alg.startsWith('RS') || alg.startsWith('PS') ? 'rsa_public_key' : 'ecdsa_public_key';
  return { alg, kid, privateKey, publicPem, publicJwk, config: { [slot]: publicPem } };
}

// A signed token. opts: {expiresIn (s, from now), notBefore (s), header}.
export async function mint(claims, key, opts = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { ...claims };
  if (opts.expiresIn !== undefined) payload.exp = now + opts.expiresIn;
  if (opts.notBefore !== undefined) payload.nbf = now + opts.notBefore;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, ...(key.kid ? { kid: key.kid } : {}), ...(opts.header || {}) })
    .sign(key.privateKey);
}

// alg "none": what an attacker sends to a verifier that trusts the header.
export function unsecured(claims) {
  return new UnsecuredJWT(claims).encode();
}

// HMAC-SHA256 over arbitrary header and claims text (duplicate claims,
// malformed JSON), or with any secret (an RSA public key's PEM).
export function hs256Raw(headerText, claimsText, secret) {
  const input = `${b64(headerText)}.${b64(claimsText)}`;
  const sig = crypto.createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${sig}`;
}
