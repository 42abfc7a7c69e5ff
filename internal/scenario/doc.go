// Package scenario holds the traffic programs that provoke each TCP behaviour
// recorded in testdata/pcaps/real: one Scenario per case, with a client and a
// server half that run in separate network namespaces (scripts/record-pcaps.sh)
// or in one process over loopback (live-capture tests).
//
// A scenario only drives sockets. What the network does to the packets
// (dropped SYNs, delay, loss) and the kernel's retry counts are set around it
// by the caller; each Scenario's Doc says what it expects.
//
// It is not a load generator and keeps no state between runs.
package scenario
