// The world a card senses and acts on: sensors and pins, each optional. A host hands in the
// parts its board has (Host.world); a part left out is hardware the card does not have, and
// the requests that need it answer as a Notecard without it does. Readings are synchronous
// (the host keeps the latest sample); events are pushed through listeners. Units are SI-ish
// as the Notecard reports them: volts, degrees Celsius, %RH, pascals, lux, degrees, metres.

/** Supply voltage (the Notecard's VMODEM / battery input), and USB power when the host knows it. */
export interface PowerSense {
  /** Volts at the supply input, now. */
  voltage(): number;
  /** True when the card runs from USB power; undefined when the host cannot tell. */
  usb?(): boolean | undefined;
  /** An external power monitor (Mojo-like): cumulative mAh since `reset`, or undefined without one. */
  milliampHours?(): number | undefined;
  /** Restart the mAh counter of the power monitor. */
  resetMilliampHours?(): void;
}

export interface ClimateReading {
  /** Degrees Celsius (the card's own sensor, before calibration). */
  temperature: number;
  /** Relative humidity, percent, when an external sensor gives it. */
  humidity?: number;
  /** Pascals, when an external sensor gives it. */
  pressure?: number;
}

export interface Climate {
  read(): ClimateReading;
}

/** The six faces the accelerometer reports, and "angled" between them. */
export type Orientation =
  | 'face-up'
  | 'face-down'
  | 'portrait-up'
  | 'portrait-down'
  | 'landscape-left'
  | 'landscape-right'
  | 'angled';

export interface MotionEvent {
  /** Motion events in this burst (>= 1); 0 when only the orientation changed. */
  count: number;
  /** The orientation after the event. */
  orientation?: Orientation;
  /** A free fall was detected. */
  freefall?: boolean;
}

/** An LIS3DH-class accelerometer: movement events (counts) and orientation. */
export interface Accelerometer {
  /** Current orientation. */
  orientation(): Orientation;
  /** Called on every motion (or orientation) event; one listener, set by the card. */
  onMotion(listener: (event: MotionEvent) => void): void;
  /** Turn sensing on or off (card.motion.mode start/stop); optional. */
  enable?(on: boolean): void;
}

export interface GnssFix {
  /** Degrees, WGS84. */
  lat: number;
  lon: number;
  /** Unix seconds of the fix (GNSS time). */
  time: number;
  /** Dilution of precision (HDOP). */
  dop?: number;
  /** Metres above sea level. */
  altitude?: number;
  /** Metres per second over ground. */
  speed?: number;
  /** Degrees from true north. */
  heading?: number;
  /** Satellites used. */
  satellites?: number;
}

/** A GNSS receiver: the latest fix, if any. */
export interface Gnss {
  /** Power the receiver (card.location.mode off turns it off); optional. */
  power?(on: boolean): void;
  /** The latest fix, or undefined while there is none (no signal, receiver off). */
  fix(): GnssFix | undefined;
  /** Called when a new fix arrives; optional (the card then polls fix()). */
  onFix?(listener: (fix: GnssFix) => void): void;
}

/** An ambient light sensor (OPT3001-class). */
export interface LightSense {
  /** Lux, now. */
  lux(): number;
}

/** The ATTN output pin to the host MCU. */
export interface AttnPin {
  /** Drive the pin: true = high (attention). */
  set(high: boolean): void;
}

export type AuxPinMode = 'off' | 'input' | 'input-pullup' | 'input-pulldown' | 'output';

/** The AUX GPIO pins (AUX1..AUX4 on a Notecard), numbered from 1. */
export interface AuxPins {
  /** How many pins there are. */
  readonly count: number;
  configure(pin: number, mode: AuxPinMode): void;
  /** Current level of the pin (input or output): 0 or 1. */
  read(pin: number): 0 | 1;
  /** Drive an output pin. */
  write(pin: number, level: 0 | 1): void;
  /** Called when an input pin changes level; one listener, set by the card. */
  onChange(listener: (pin: number, level: 0 | 1) => void): void;
}

/** Everything optional: a host hands in what its board has. */
export interface World {
  power?: PowerSense;
  climate?: Climate;
  accelerometer?: Accelerometer;
  gnss?: Gnss;
  light?: LightSense;
  attn?: AttnPin;
  aux?: AuxPins;
}
