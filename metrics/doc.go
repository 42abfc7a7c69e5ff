// Package metrics exports live analysis as Prometheus metrics: findings by
// kind, connections by Zeek conn_state, handshake RTTs, packets and kernel
// drops, and open connections per peer state (the `ss -s` of the capture).
//
// It is fed from the goroutine that owns the analyzer (a Sink wrapper and
// Update); the HTTP handler reads the collectors, which are safe for
// concurrent use. It is not for offline reports: those are package report.
package metrics
