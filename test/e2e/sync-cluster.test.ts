// The end-to-end sync tests of sync.test.ts, once more against two hub processes sharing one
// PostgreSQL behind a round-robin balancer (sync.test.ts sees this file's name and starts them):
// the card moves between the hubs from connection to connection.
export {};
require('./sync.test');
