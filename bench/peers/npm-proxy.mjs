// The npm `proxy` package (installed in bench/.peers/) with its defaults: every request allowed.
// Plain JavaScript so that the measured process carries no TypeScript loader.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [port, peersDir] = [Number(process.argv[2]), process.argv[3]];
const entry = createRequire(`${peersDir}/package.json`).resolve('proxy');
const { createProxy } = await import(pathToFileURL(entry).href);
createProxy(createServer()).listen(port, '127.0.0.1');
