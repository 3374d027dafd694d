// The module Moddable starts ("main") on ESP32 boards. Every other module keeps its path as its
// specifier, so relative imports between src/ and hosts/moddable/ resolve as they do under tsc.
import { start } from "hosts/moddable/main";
import { board } from "hosts/moddable/esp32/board";

start(board);
