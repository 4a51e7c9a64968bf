// The npm `proxy-chain` package (installed in bench/.peers/) as a plain forward proxy.
// Plain JavaScript so that the measured process carries no TypeScript loader.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [port, peersDir] = [Number(process.argv[2]), process.argv[3]];
const entry = createRequire(`${peersDir}/package.json`).resolve('proxy-chain');
const { Server } = await import(pathToFileURL(entry).href);
await new Server({ port, host: '127.0.0.1', verbose: false }).listen();
