#!/usr/bin/env node
/**
 * The `swl` executable. Checks the Node version before anything loads MikroORM (which fails on
 * older Node without naming the cause), stops long commands at a safe point on the first Ctrl-C,
 * and exits with the code `main` returns. Source: issue 14.
 *
 * @module
 * @internal
 */
import { MIN_NODE_VERSION } from '../internal/node-version.ts';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const [needMajor = 0, needMinor = 0] = MIN_NODE_VERSION.split('.').map(Number);
if (major < needMajor || (major === needMajor && minor < needMinor)) {
  process.stderr.write(
    `swl: CONFIGURATION: swl needs Node ${MIN_NODE_VERSION} or newer; this is Node ${process.versions.node} (fix: run it with Node ${MIN_NODE_VERSION} or newer, Node 24 LTS recommended)\n`,
  );
  process.exit(1);
}

const controller = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nswl: stopping at the next safe point (Ctrl-C again to kill)…\n');
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});

const { main } = await import('./main.ts');
process.exitCode = await main(process.argv, process, controller.signal);
