// `node --import` this (after tsx) to run the compliance suite over real sockets: see redirect-hooks.mjs.
import { register } from 'node:module';

register('./redirect-hooks.mjs', import.meta.url);
