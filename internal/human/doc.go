// Package human writes values for the text outputs of report and check:
// counts with their noun, durations rounded for people, addresses without
// the capturing host's zone, frame lists, and ANSI colours that can be
// switched off. Both packages print findings the same way because they use
// these.
//
// It is not for the machine-read formats' layout (package report's records
// decide that), and keeps no state between calls.
package human
