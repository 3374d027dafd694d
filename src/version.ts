// What this firmware is (card.version).
export const PRODUCT = 'opencard';
export const VERSION = '0.1.0';
/** The Notecard API level we answer as (card.version "api"). */
export const API_LEVEL = 8;
