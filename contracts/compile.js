// compile.js compiles ShareAnchor.sol with the pinned solc-js (package-lock.json), offline, into
// artifacts/ShareAnchor.abi and artifacts/ShareAnchor.bin. `make contracts-gen` runs it, then abigen.
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const source = fs.readFileSync(path.join(__dirname, 'ShareAnchor.sol'), 'utf8');
const input = {
  language: 'Solidity',
  sources: { 'ShareAnchor.sol': { content: source } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    metadata: { bytecodeHash: 'none' }, // reproducible bytecode: no IPFS hash of the metadata
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of out.errors || []) {
  console.error(e.formattedMessage);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);
const c = out.contracts['ShareAnchor.sol'].ShareAnchor;
const dir = path.join(__dirname, 'artifacts');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'ShareAnchor.abi'), JSON.stringify(c.abi, null, 2) + '\n');
fs.writeFileSync(path.join(dir, 'ShareAnchor.bin'), c.evm.bytecode.object + '\n');
console.log(`compiled ShareAnchor with solc ${solc.version()}: ${c.evm.bytecode.object.length / 2} bytes`);
