// ESP32 boards: the UART pins and the store's partition come from the manifest's config
// (override on the mcconfig command line: `mcconfig -d -m -p esp32/<board> uartPort=2`),
// Wi-Fi through ECMA-419 `embedded:network/interface/wifi`.
import WiFi from 'embedded:network/interface/wifi';
import config from 'mc/config';
import { configNumber, type Board } from '../main';
import { tcpNet } from '../net';
import { openFlash } from './flash';
import { openWorld } from './world';

export const board: Board = Object.freeze({
  platform: 'moddable-esp32',
  binaryMax: configNumber(config.binaryMax, 16 * 1024),
  uart: Object.freeze({
    port: configNumber(config.uartPort, 1),
    receive: configNumber(config.uartReceive, 16),
    transmit: configNumber(config.uartTransmit, 17),
    baud: configNumber(config.baud, 9600),
  }),
  openFlash: () => openFlash(String(config.flashPartition ?? 'storage')),
  net: tcpNet,
  openWorld,
  joinWifi(ssid: string, password: string, log: (message: string) => void) {
    const wifi = new WiFi({
      onChanged() {
        // connection: < 500 not yet (or no longer) usable; >= 500 an address is assigned.
        log(wifi.connection >= 500 ? `wifi up ${wifi.address}` : `wifi state ${wifi.connection}`);
      },
    });
    wifi.connect(password ? { SSID: ssid, password } : { SSID: ssid });
  },
});
