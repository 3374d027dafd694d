// Our own declaration of the ECMA-419 Wi-Fi network interface as current Moddable esp32 builds
// provide it (not in @moddable/typings 5.6), written from the documented interface.
declare module 'embedded:network/interface/wifi' {
  export interface WiFiOptions {
    /** Called when connection, address or another property changed. */
    onChanged?(this: WiFi, property?: string): void;
  }
  export default class WiFi {
    constructor(options: WiFiOptions);
    connect(options: { SSID: string; password?: string; secure?: boolean }): void;
    disconnect(): void;
    close(): void;
    /** Below 500 not usable yet (or any more); 500 and up: connected with an address. */
    readonly connection: number;
    readonly address: string | undefined;
  }
}
