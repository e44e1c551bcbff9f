// Package hedge decides when the executor launches hedged requests: extra
// concurrent attempts sent while an attempt is still running, so that one
// slow replica does not make the whole call slow.
package hedge
