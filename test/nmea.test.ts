// The GNSS receiver's NMEA parser (src/sensing/nmea.ts) on recorded-style sentences: checksums,
// RMC + GGA of the same second, void fixes, southern and western hemispheres, bytes split
// anywhere, noise, overlong lines.
import { MAX_SENTENCE, NmeaReader, sentenceFields } from '../src/sensing/nmea';
import type { GnssFix } from '../src/world';

const GGA = '$GNGGA,142310.00,4221.5123,N,07103.4567,W,1,09,0.9,12.3,M,-33.7,M,,*7A';
const RMC = '$GNRMC,142310.00,A,4221.5123,N,07103.4567,W,12.5,271.3,011226,,,A*65';
const RMC_VOID = '$GPRMC,142311.00,V,,,,,,,011226,,,N*7F';
const GGA_NOFIX = '$GPGGA,142311.00,,,,,0,00,99.99,,,,,,*62';
const RMC_SOUTH = '$GNRMC,142312.00,A,3351.1000,S,15112.6000,E,0.0,,011226,,,A*77';
const GSA = '$GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1*39';
const RMC_1999 = '$GNRMC,235959.00,A,0000.0000,N,00000.0000,E,,,311299,,,A*40';

const BOSTON: GnssFix = {
  lat: 42.3585383, lon: -71.0576117, time: 1796134990, speed: 6.43, heading: 271.3, dop: 0.9, altitude: 12.3, satellites: 9,
};

function read(text: string, pieces = 1): { reader: NmeaReader; fixes: GnssFix[] } {
  const fixes: GnssFix[] = [];
  const reader = new NmeaReader((f) => fixes.push(f));
  const bytes = Buffer.from(text, 'latin1');
  const step = Math.max(1, Math.ceil(bytes.length / pieces));
  for (let i = 0; i < bytes.length; i += step) reader.push(Uint8Array.from(bytes.subarray(i, i + step)));
  return { reader, fixes };
}

describe('NMEA sentences', () => {
  it('checks the checksum and splits the fields', () => {
    expect(sentenceFields(GSA)).toEqual(['GPGSA', 'A', '3', '04', '05', '', '09', '12', '', '', '24', '', '', '', '', '2.5', '1.3', '2.1']);
    expect(sentenceFields(GSA.replace('*39', '*38'))).toBeUndefined();
    expect(sentenceFields(GSA.replace('2.5', '2.6'))).toBeUndefined();
    expect(sentenceFields(GSA.slice(0, -3))).toBeUndefined();
    expect(sentenceFields(GSA.slice(1))).toBeUndefined();
  });

  it('a valid RMC is a fix, with the GGA of the same second', () => {
    const { reader, fixes } = read(`${GGA}\r\n${GSA}\r\n${RMC}\r\n`);
    expect(fixes).toEqual([BOSTON]);
    expect(reader.fix()).toEqual(BOSTON);
    expect(reader.rejected).toBe(0);
  });

  it('a GGA of another second adds nothing; a void RMC keeps the last fix', () => {
    const { reader, fixes } = read(`${RMC}\r\n${GGA_NOFIX}\r\n${RMC_VOID}\r\n`);
    const { dop, altitude, satellites, ...bare } = BOSTON;
    expect([dop, altitude, satellites]).toEqual([0.9, 12.3, 9]);
    expect(fixes).toEqual([bare]);
    expect(reader.fix()).toEqual(bare);
  });

  it('southern and eastern hemispheres, empty course, other centuries', () => {
    expect(read(`${RMC_SOUTH}\n${RMC_1999}\n`).fixes).toEqual([
      { lat: -33.8516667, lon: 151.21, time: 1796134992, speed: 0 },
      { lat: 0, lon: 0, time: 946684799 },
    ]);
  });

  it('the same fixes whatever the byte boundaries, through noise and bad sentences', () => {
    const text = `\x00\xff garbage${GGA}\r\n$GNRMC,142310.00,A,4221.5123,N,07103.4567,W,12.5,271.3,011226,,,A*00\r\n${RMC}\r\n`;
    for (const pieces of [1, 3, 17, text.length]) {
      const { reader, fixes } = read(text, pieces);
      expect(fixes).toEqual([BOSTON]);
      expect(reader.rejected).toBe(1);
    }
  });

  it('drops an overlong line whole and takes the next sentence', () => {
    const { reader, fixes } = read(`$GPTXT,${'x'.repeat(MAX_SENTENCE)}*00\r\n${GGA}\r\n${RMC}\r\n`);
    expect(fixes).toEqual([BOSTON]);
    expect(reader.rejected).toBe(0);
  });
});
