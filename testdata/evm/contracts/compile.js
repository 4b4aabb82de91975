const solc = require('solc');
const fs = require('fs');
const src = fs.readFileSync(process.argv[2], 'utf8');
const input = {language: 'Solidity', sources: {'Test.sol': {content: src}},
  settings: {evmVersion: 'cancun', optimizer: {enabled: true, runs: 200}, outputSelection: {'*': {'*': ['abi', 'evm.bytecode.object']}}}};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
if (out.errors && out.errors.some(e => e.severity === 'error')) { console.error(JSON.stringify(out.errors, null, 1)); process.exit(1); }
const res = {compiler: 'solc-js ' + solc.version(), evmVersion: 'cancun', contracts: {}};
for (const [name, c] of Object.entries(out.contracts['Test.sol'])) res.contracts[name] = {abi: c.abi, bytecode: '0x' + c.evm.bytecode.object};
fs.writeFileSync(process.argv[3], JSON.stringify(res, null, 1) + '\n');
