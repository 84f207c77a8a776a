//go:build !race

package transfer

// raceEnabled sizes the heavier tests down under the race detector.
const raceEnabled = false
