// node issue_variant.mjs [--did DID] [--valid-from ISO] [--format di|vc11] [--count N]
// What `issue.mjs` cannot make, built with the interop harness's own library
// (../shared/interop/lib, imported, not copied) and its fixed reference key:
//   --valid-from ISO   a Data Integrity credential valid only from ISO (not yet valid)
//   --format vc11      a VC 1.1 VC-JWT: the credential in the `vc` claim, the key in `jwk`
//   --count N          N distinct Data Integrity credentials (ids ...000 to N-1), one JSON
//                      line each, from one process (bench/verify.py's foreign credentials)
// Prints the credential (JSON) or the JWT on stdout. The harness folder is
// $LATTICE_INTEROP_DIR, or ../shared/interop beside the checkout.
import path from 'node:path';
import {parseArgs} from 'node:util';
import {fileURLToPath, pathToFileURL} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const interop = process.env.LATTICE_INTEROP_DIR ??
  path.resolve(here, '..', '..', '..', 'shared', 'interop');
const lib = name => import(pathToFileURL(path.join(interop, 'lib', name)).href);

await lib('net-guard.mjs');  // offline, as every harness script is
const {issuerKey} = await lib('keys.mjs');
const {openBadgeCredential, sign} = await lib('ob3.mjs');
const {signJwt} = await lib('jwt.mjs');

const {values: opt} = parseArgs({options: {
  did: {type: 'string'},
  'valid-from': {type: 'string'},
  format: {type: 'string', default: 'di'},
  count: {type: 'string'}
}});

const key = await issuerKey({did: opt.did});
const dates = opt['valid-from'] ? {validFrom: opt['valid-from']} : {};
const numbered = n => openBadgeCredential({issuerId: key.controller, n, ...dates});
const credential = numbered(0);
if(opt.count) {
  for(let n = 0; n < Number(opt.count); n++) {
    process.stdout.write(JSON.stringify(await sign({credential: numbered(n), key})) + '\n');
  }
} else if(opt.format === 'vc11') {
  process.stdout.write(await signJwt({credential, key, shape: 'vc11'}) + '\n');
} else if(opt.format === 'di') {
  process.stdout.write(JSON.stringify(await sign({credential, key}), null, 2) + '\n');
} else {
  process.stderr.write(`unknown --format ${opt.format}\n`);
  process.exit(2);
}
