import { writeFileSync } from 'node:fs';
import { createDatabase, startServer } from './helpers/servers.js';

const [a, b] = await Promise.all([startServer('source'), startServer('target')]);
const urls = [await createDatabase(a, 'dev'), await createDatabase(b, 'dev')];
writeFileSync('/tmp/devpg.urls', urls.join('\n'));
console.log(urls.join('\n'));
setInterval(() => {}, 1e9);
