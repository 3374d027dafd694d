// card.illumination and card.power: readings of the world's light sensor and power monitor.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import { setConfig } from './card-config';
import type { HandlerTable } from './handler';

export const sensorRequests: HandlerTable = Object.freeze({
  // An OPT3001-class sensor on the I2C bus; without one the Notecard says it is not available.
  'card.illumination': (card) => {
    const light = card.world.light;
    if (!light) fail('illumination sensor is not available');
    return { value: light.lux() };
  },

  // A Mojo-class power monitor: mAh since its last reset; the supply voltage and temperature as
  // far as the card knows them. `minutes`/`hours` set how often the Notecard logs the readings.
  'card.power': (card, args): JsonObject => {
    const minutes = args.int('minutes', 0, 525600);
    const hours = args.int('hours', 0, 8760);
    if (minutes !== undefined || hours !== undefined) setConfig(card, 'card.power', { minutes: (minutes ?? 0) + 60 * (hours ?? 0) });
    const { power, climate } = card.world;
    if (args.bool('reset')) power?.resetMilliampHours?.();
    const reply: JsonObject = {};
    if (climate) reply.temperature = climate.read().temperature;
    if (power) reply.voltage = power.voltage();
    const mah = power?.milliampHours?.();
    if (mah !== undefined) reply.milliamp_hours = mah;
    return reply;
  },
});
