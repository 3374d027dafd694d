// The ECMA-419 files module (not in @moddable/typings 5.6); lin/flash.ts names the one
// interface it uses itself.
declare module 'embedded:storage/files';
