// The notehub-js and CLI tests of notehubjs.test.ts, once more with the hub on PostgreSQL
// (notehubjs.test.ts sees this file's name and starts its own server).
export {};
require('./notehubjs.test');
