// The `exaproxy` command as a script file, for tests: node:cluster starts the workers by
// running the primary's script again, which `node -e` does not have.
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('../../src/cli.ts').main(process.argv.slice(2));
