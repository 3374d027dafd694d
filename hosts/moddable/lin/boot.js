// The module Moddable starts ("main") in the Linux simulator (mcsim): see lin/board.ts.
import { start } from "hosts/moddable/main";
import { board } from "hosts/moddable/lin/board";

start(board);
