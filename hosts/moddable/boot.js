// The module Moddable starts ("main"): everything else keeps its path as its module specifier,
// so the relative imports between src/ and hosts/moddable/ resolve the same as under tsc.
import "hosts/moddable/main";
