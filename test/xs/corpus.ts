// The request corpus both engines must answer byte for byte the same.
import { crc32 } from '../../src/util/crc32';
import { md5Hex } from '../../src/util/md5';
import { cobsEncode } from '../../src/wire/cobs';

/** Append the crc member the way note-python does (upper: the way note-c does). */
export function withCrc(json: string, seq: number, upper = false): string {
  let crc = crc32(Buffer.from(json)).toString(16).padStart(8, '0');
  let s = seq.toString(16).padStart(4, '0');
  if (upper) {
    crc = crc.toUpperCase();
    s = s.toUpperCase();
  }
  const member = `"crc":"${s}:${crc}"`;
  return json === '{}' ? `{${member}}` : `${json.slice(0, -1)},${member}}`;
}

/** Templated notefiles: note.template, packed adds, reads, a template change, an update. */
const TEMPLATED = [
  '{"req":"note.template","file":"tpl.qo","body":{"temp":14.1,"humidity":12,"pressure":14.1,"battery":12.1,"motion":true,"status":"ok"},"port":3}',
  '{"req":"note.template","file":"tpl.qo","verify":true}',
  '{"req":"note.add","file":"tpl.qo","body":{"temp":23.45,"humidity":-52,"pressure":1013.25,"battery":3.71,"motion":true,"status":"ok"}}',
  '{"req":"note.add","file":"tpl.qo","body":{"temp":0,"humidity":0,"status":""},"full":true}',
  '{"req":"note.add","file":"tpl.qo","body":{"humidity":1.5}}',
  '{"req":"note.add","file":"tpl.qo","body":{"wind":3}}',
  '{"req":"note.template","file":"tpl.qo","body":{"wind":24,"gust":[12.1]},"port":3}',
  '{"req":"note.add","file":"tpl.qo","body":{"wind":4294967295,"gust":[65504,0.1,-2]}}',
  '{"req":"note.changes","file":"tpl.qo"}',
  '{"req":"note.template","file":"other.qo","body":{"a":11},"port":3}',
  '{"req":"note.template","file":"tpl.db","body":{"_time":14,"_lat":14.1,"_lon":18.1,"name":"10","n":{"i":13,"u":[21,22]}},"format":"compact","length":8}',
  '{"req":"note.add","file":"tpl.db","note":"a","body":{"_time":1763700000,"_lat":42.36,"_lon":-71.0589,"name":"a long name here","n":{"i":-8388608,"u":[255,65535]}},"payload":"AQIDBAUGBwg="}',
  '{"req":"note.get","file":"tpl.db","note":"a"}',
  '{"req":"note.add","file":"tpl.db","note":"b","body":{"n":{"u":[1,2,3]}}}',
  '{"req":"note.add","file":"tpl.db","note":"c","payload":"AQIDBAUGBwgJ"}',
  '{"req":"note.update","file":"tpl.db","note":"a","body":{"name":"é"}}',
  '{"req":"note.get","file":"tpl.db","note":"a"}',
  '{"req":"note.template","file":"tpl.db"}',
  '{"req":"note.get","file":"tpl.db","note":"a"}',
];

const VALID = [
  '{"req":"card.version"}',
  '{"req":"card.status"}',
  '{"req":"card.time"}',
  '{"req":"card.random"}',
  '{"req":"card.random","count":100}',
  '{"req":"card.random","mode":"payload","count":12}',
  '{"req":"hub.get"}',
  '{"req":"hub.set","product":"com.example.you:proj","mode":"periodic","outbound":60,"inbound":240}',
  '{"req":"hub.set","body":{"agent":"note-c","compiler":"gcc","req_interface":"serial"}}',
  '{"req":"hub.set","sn":"sensor-7","host":"localhost:8086"}',
  '{"req":"hub.set","mode":"continuous"}',
  '{"req":"hub.set","mode":"-","sn":"-"}',
  '{"req":"card.binary"}',
  '{"req":"card.binary","delete":true}',
  '{"req":"card.wifi"}',
  '{"req":"card.wifi","ssid":"home","password":"secret"}',
  '{"req":"card.wifi","text":"[\\"office\\",\\"pw\\"],[\\"home\\",\\"x\\"]"}',
  '{"req":"card.wifi","ssid":"-"}',
  '{"req":"note.add","file":"sensors.qo","body":{"temp":21.5,"humidity":40}}',
  '{"req":"note.add","body":{"n":1},"payload":"AQIDBA=="}',
  '{"req":"note.add","file":"config.db","note":"led","body":{"on":true}}',
  '{"req":"note.add","file":"config.db","note":"?","body":{"x":[1,2,{"y":null}]}}',
  '{"req":"note.update","file":"config.db","note":"led","body":{"on":false}}',
  '{"req":"note.get","file":"config.db","note":"led"}',
  '{"req":"note.changes","file":"config.db","tracker":"t1"}',
  '{"req":"note.changes","file":"config.db","tracker":"t1"}',
  '{"req":"note.changes","file":"config.db","tracker":"t1","start":true,"max":1}',
  '{"req":"note.delete","file":"config.db","note":"led"}',
  '{"req":"note.changes","file":"config.db","deleted":true}',
  '{"req":"file.changes"}',
  '{"req":"file.changes","tracker":"f1","files":["sensors.qo","config.db"]}',
  '{"req":"file.changes.pending"}',
  '{"req":"file.stats"}',
  '{"req":"var.set","name":"mode","value":"eco"}', '{"req":"var.set","name":"mode","text":"eco"}', '{"req":"var.set","name":"n","value":7}',
  '{"req":"var.get","name":"mode"}',
  '{"req":"var.delete","name":"mode"}',
  '{"req":"env.default","name":"rate","text":"60"}',
  '{"req":"env.set","name":"rate","text":"5"}',
  '{"req":"env.get","name":"rate"}',
  '{"req":"env.get"}',
  '{"req":"env.modified"}',
  '{"req":"file.delete","files":["sensors.qo"]}',
  '{"req":"echo","text":"KQHXZEMBRTWAOPLD"}',
  '{"req":"echo","body":{"hello":"world","n":[1,2.5,null]},"payload":"AQI="}',
  '{"req":"echo"}',
  '{"req":"env.template","body":{"limit":14.1,"label":"12","on":true,"n":42}}',
  '{"req":"hub.log","text":"low pressure","alert":true}',
  '{"req":"card.contact","name":"Ada","email":"ada@example.org"}',
  '{"req":"card.sleep","on":true,"seconds":60,"mode":"accel"}',
  '{"req":"card.triangulate","mode":"wifi,cell","on":true,"set":true,"text":"+CWLAP:(3,\\"x\\",-60,\\"02:00:00:00:00:01\\",6)\\n"}',
  '{"req":"card.aux.serial","mode":"notify,accel","rate":57600,"max":63}',
  '{"req":"card.aux","mode":"gpio","usage":["input"]}',
  '{"req":"card.aux","mode":"neo-monitor","count":2}',
  '{"req":"card.carrier","mode":"charging"}',
  '{"req":"card.usage.get","mode":"30day","offset":1}',
  '{"req":"card.usage.test","days":7}',
  '{"req":"card.illumination"}', '{"req":"card.power","minutes":60}', '{"req":"ntn.status"}', '{"req":"ntn.gps","on":true}',
  '{"req":"card.io","mode":"+busy"}', '{"req":"card.led","mode":"red","on":true}', '{"req":"card.trace","mode":"on"}',
  '{"req":"note.get","file":"commands.qi","delete":true}',
  '{"req":"note.get","file":"never.db","note":"k"}',
];

const INVALID = [
  '{"req":"no.such"}', '{"req":"note.bogus"}', '{"req":"web.get"}', '{"req":""}', '{"req":5}', '{"req":null}',
  '{"req":"card.version","cmd":"card.version"}', '{"foo":1}', '[1,2,3]', '"just a string"', '42', 'null',
  '{"req":"card.version"', '{bad json}', '{"req":"card.random","count":"ten"}', '{"req":"card.random","count":-1}',
  '{"req":"card.random","count":1.5}', '{"req":"card.random","mode":"x"}', '{"req":"hub.set","mode":"sometimes"}',
  '{"req":"hub.set","outbound":"60"}', '{"req":"hub.set","product":7}', '{"req":"hub.set","body":"ua"}',
  '{"req":"card.binary.put"}', '{"req":"card.binary.put","cobs":0}', '{"req":"card.binary.get"}',
  `{"req":"hub.get","x":${'['.repeat(40)}${']'.repeat(40)}}`, `{"req":"card.random","count":${'9'.repeat(60)}}`,
  '{"req":"card.random","count":1e400}', '{"req":"card.version","id":{"a":[1,2]}}', '\u0000\u0001\u00ff',
  '{"req":"note.add","file":"bad.txt","body":{}}', '{"req":"note.add","file":"a,b.qo"}', '{"req":"note.add","file":"_sys.qo"}',
  '{"req":"note.add","file":"x.qo","note":"id"}', '{"req":"note.add","file":"x.db","body":{"a":1}}', '{"req":"note.add","body":[1]}',
  '{"req":"note.add","payload":"not base64!"}', '{"req":"note.get","file":"nope.qi"}', '{"req":"note.get","file":"x.db"}',
  '{"req":"note.update","file":"data.qo","note":"a","body":{}}', '{"req":"note.delete","file":"config.db","note":"none"}',
  '{"req":"note.changes","file":"config.db","max":-1}', '{"req":"var.get"}', '{"req":"env.set","name":5}',
  '{"req":"card.wifi","start":true}', '{"req":"card.wifi","text":"nope"}', '{"req":"card.wifi","ssid":5}',
  '{"req":"card.version","crc":"zzzz:12345678"}', '{"req":"card.version","crc":17}', '{"req":"hub.get","crc":"0001:00000000"}',
];

/** Binary round trips: raw data with '\n' and 0x00 in it, puts that go wrong, gets. */
function binaryLines(): (string | Uint8Array)[] {
  const data = Uint8Array.from({ length: 700 }, (_, i) => (i % 5 === 0 ? 10 : i % 7 === 0 ? 0 : (i * 37) & 0xff));
  const enc = cobsEncode(data);
  const half = cobsEncode(data.subarray(0, 300));
  const rest = cobsEncode(data.subarray(300));
  return [
    '{"req":"card.binary","delete":true}',
    `{"req":"card.binary.put","cobs":${enc.length},"status":"${md5Hex(data)}"}`, enc,
    '{"req":"card.binary"}',
    '{"req":"card.binary.get","offset":0,"length":700}',
    '{"req":"card.binary.get","offset":650,"length":50}',
    '{"req":"card.binary.get","offset":650,"length":51}',
    '{"req":"card.binary","delete":true}',
    `{"req":"card.binary.put","cobs":${half.length}}`, half,
    `{"req":"card.binary.put","cobs":${rest.length},"offset":300}`, rest,
    '{"req":"card.binary"}',
    `{"req":"card.binary.put","cobs":${rest.length},"offset":5}`,
    `{"req":"card.binary.put","cobs":${half.length},"status":"00000000000000000000000000000000"}`, half,
    '{"req":"card.binary"}',
    `{"req":"card.binary.put","cobs":${half.length + 3}}`, half,
    '{"req":"card.binary"}',
    '{"req":"card.binary","reset":true}',
    `{"req":"card.binary.put","cobs":${half.length}}`, '',
    '{"req":"card.binary"}',
    `{"req":"card.binary.put","cobs":1000000}`,
  ];
}

/** The world requests (src/sensing) on the deterministic host's sensors. */
const WORLD = [
  '{"req":"card.location.mode","mode":"periodic","seconds":600,"vseconds":"usb:60;normal:600;low:3600"}',
  '{"req":"card.location"}',
  '{"req":"card.location.track","start":true,"heartbeat":true,"hours":-30,"sync":true}',
  '{"req":"card.location.mode","mode":"fixed","lat":42.5,"lon":-70.8}',
  '{"req":"card.motion.mode","start":true,"seconds":10,"motion":2}',
  '{"req":"card.motion","minutes":1}',
  '{"req":"card.motion.sync","start":true,"threshold":0}',
  '{"req":"card.motion.track","start":true,"file":"moves.qo"}',
  '{"req":"card.voltage","mode":"?"}',
  '{"req":"card.voltage","mode":"usb:4.6;high:3.9;normal:3.5;low:3.2;dead:0","on":true}',
  '{"req":"card.voltage","calibration":0.2,"set":true,"now":true}',
  '{"req":"card.temp","minutes":30}',
  '{"req":"card.attn","mode":"arm,files,env","files":["data.qi"],"seconds":60}',
  '{"req":"env.set","name":"x","text":"1"}',
  '{"req":"card.attn"}',
  '{"req":"card.attn","mode":"sleep","seconds":10,"payload":"AQID"}',
  '{"req":"card.attn","start":true}',
  '{"req":"card.attn","mode":"disarm,-all","verify":true}',
  '{"req":"card.attn","mode":"dance"}',
];

/** Every line of the corpus, each to be followed by a line ending. */
export function corpusLines(): (string | Uint8Array)[] {
  const lines: (string | Uint8Array)[] = [''];
  let seq = 0;
  for (const line of [...VALID, ...INVALID]) {
    lines.push(line);
    if (line.startsWith('{"req"')) {
      lines.push(line.replace('{"req"', '{"cmd"'));
      lines.push(`${line.slice(0, -1)},"id":${seq + 1}}`);
      lines.push(withCrc(line, seq++, seq % 2 === 0));
      lines.push(withCrc(line, seq++).replace(/"crc":"(....):(.)/, (_m, s, c) => `"crc":"${s}:${c === '0' ? '1' : '0'}`));
    }
  }
  lines.push(withCrc('{}', 9), '{ }', '   ', '\r');
  lines.push(...binaryLines());
  lines.push(...TEMPLATED);
  lines.push(...WORLD);
  return lines;
}

/** The corpus as one byte stream, mixing '\n', '\r\n' and bare '\r' endings (binary data and
 * the empty line that aborts a put end in '\n', the only end of a binary line). */
export function corpusStream(): Uint8Array {
  const parts: Uint8Array[] = [];
  corpusLines().forEach((line, i) => {
    parts.push(typeof line === 'string' ? Buffer.from(line, 'utf8') : line);
    const text = typeof line === 'string' && line !== '';
    parts.push(Buffer.from(text && i % 3 === 0 ? '\r\n' : text && i % 3 === 1 ? '\r' : '\n'));
  });
  return new Uint8Array(Buffer.concat(parts));
}
