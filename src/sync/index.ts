// The sync protocol (docs/SYNC.md): codec, framing, handshake, shared rules.
export { FrameError, ByteReader, ByteWriter } from './varint-io';
export { compress, decompress, CompressError } from './compress';
export { packJson, unpackJson, PackedJsonReader, PackedJsonWriter } from './pjson';
export { packBlock, unpackBlock, NOTES_DICTIONARY, MAX_BLOCK, type WireNote } from './notes-block';
export * from './messages';
export { FrameReader, FrameSealer, FrameOpener, encodeFrame, encodePlain, frameHeader, MAX_FRAME, TYPE_ENCRYPTED, type Frame } from './frame';
export { deriveSessionKeys, transcriptHash, handshakeProof, type SessionKeys } from './keys';
export {
  CardSession, HubSession, type CardSessionOptions, type HubSessionOptions, type DeviceLookup, type SessionEvent,
  type SessionOutput, type SessionState, type EstablishedInfo, type HubEstablishedInfo,
} from './session';
export { acceptNotes } from './receiver';
