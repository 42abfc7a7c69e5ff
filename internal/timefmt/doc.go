// Package timefmt writes capture times and durations the one way every
// output of tcpflow-check prints them: times as RFC 3339 in UTC, or, for a
// time RFC 3339 cannot write (a year before 0000 or after 9999: a pcapng
// timestamp near 2⁶³ µs is in the year 294247), as seconds since the Unix
// epoch; durations with three significant digits in the unit that fits
// ("850µs", "12.3ms", "1.5s"), and in minutes, hours, days and years past a
// minute ("2m30s", "1h5m", "3d4h", "136y35d").
//
// It keeps no state and imports nothing of the project, so that analyze
// (evidence sentences), report and check can all use it.
package timefmt
