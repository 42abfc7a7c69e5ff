package analyze

import (
	"math"
	"strconv"
	"strings"

	"github.com/tcpflow-check/tcpflow-check/capture"
	"github.com/tcpflow-check/tcpflow-check/reassembly"
)

// Hooks for running several Analyzers as shards of one stream (package
// shard): every shard is shown every segment, in capture order — its own
// through Add, the others' through Skip, so that all clocks, sweeps and
// entry counts agree — and tags what it emits with Position, the place the
// event has in the order a lone Analyzer emits in. Merging the shards'
// events by position gives that order exactly.

// Pos is the place of an emitted event in a lone Analyzer's order: the
// entry (Add, Skip, Advance or Finish call, counted from 1), the phase of
// its work within that entry, and the place within the phase — the
// connection's latest entry (activity order), Zeek's session's first
// entry, or for a record held through TIME_WAIT where it was held. Events
// of one connection within one phase share a Pos, and come from one shard.
type Pos struct {
	Entry uint64
	Phase uint8
	A, B  uint64
}

// The phases of an entry, in the order a lone Analyzer works through them.
const (
	phaseZeekSweep   uint8 = 1 + iota // Zeek's timers, in session order
	phaseZeekSegment                  // the segment in Zeek's table
	phaseHeld                         // records whose TIME_WAIT ended, in holding order
	phaseDue                          // deadlines due, in activity order
	phaseSegment                      // the segment's own connection
	phaseZeekAdvance                  // Advance: Zeek's timers after the analyzer's
	phaseFinal                        // Finish: every connection, in activity order
	phaseFinalHeld                    // Finish: the records still held
	phaseZeekFlush                    // Finish: Zeek's table
)

// Compare orders positions: -1, 0 or +1.
func (p Pos) Compare(q Pos) int {
	switch {
	case p.Entry != q.Entry:
		return cmp3(p.Entry < q.Entry)
	case p.Phase != q.Phase:
		return cmp3(p.Phase < q.Phase)
	case p.A != q.A:
		return cmp3(p.A < q.A)
	case p.B != q.B:
		return cmp3(p.B < q.B)
	}
	return 0
}

func cmp3(less bool) int {
	if less {
		return -1
	}
	return 1
}

// OfSegment reports whether the event came of the entry's segment itself
// (its connection, or one a limit ended to make room for it), not of a
// deadline or the end of the input.
func (p Pos) OfSegment() bool { return p.Phase == phaseSegment }

// heldAt is the position of releasing, in phase of entry, a record held at p.
func (p Pos) heldAt(entry uint64, phase uint8) Pos {
	return Pos{Entry: entry, Phase: phase, A: p.Entry, B: uint64(p.Phase)<<56 | p.A}
}

// at starts phase of the current entry.
func (a *Analyzer) at(phase uint8) { a.pos = Pos{Entry: a.entry, Phase: phase} }

// Position returns the place of the event being emitted (call it from the
// Sink). Between calls it is where the latest one left off.
func (a *Analyzer) Position() Pos { return a.pos }

// Skip is Add for a segment another shard follows: the capture clock and
// Zeek's move to it and the timeouts due are judged, as a lone Analyzer
// would at that segment, but the segment itself goes nowhere.
func (a *Analyzer) Skip(seg *capture.Segment) { a.tick(a.clockIn(seg), false) }

// tick starts the entry of seg: the clocks move, Zeek's table sees seg
// when own, and the deadlines due are judged. It returns seg's capture
// time (a stamp) and whether the segment is for the analyzer's peers (its
// checksum is not bad).
func (a *Analyzer) tick(seg *capture.Segment, own bool) (int64, bool) {
	a.entry++
	a.created = 0
	t := stamp(seg.Time)
	if t > a.now {
		a.now = t
	}
	if a.zeek != nil {
		a.at(phaseZeekSweep)
		a.zeek.Entry = a.entry
		a.zeek.Tick(timeOf(a.now), a.input)
		if own {
			a.at(phaseZeekSegment)
			a.zeek.Add(seg, timeOf(a.now), a.maxConns(), a.input)
		}
	}
	if seg.BadChecksum {
		return t, false
	}
	if own {
		a.stats.Segments++
	}
	if a.nextSweep != reassembly.NoTime && a.now >= a.nextSweep {
		a.sweep(false)
	}
	if a.nextSweep == reassembly.NoTime {
		a.nextSweep = later(a.now, sweepEvery)
	}
	a.at(phaseSegment)
	return t, true
}

// UseEntryIDs makes the ids of new connections the entry that created them
// (unique across shards, in creation order), for the caller to renumber
// (Conn.Renumber) once it knows how many connections the other shards
// created before.
func (a *Analyzer) UseEntryIDs() { a.entryIDs = true }

// Created returns the connections tracked right after the latest entry
// created one, and 0 when it created none.
func (a *Analyzer) Created() int { return a.created }

// maxConns is this analyzer's share of Config.MaxConns (share).
func (a *Analyzer) maxConns() int {
	return int(share(int64(a.cfg.MaxConns), a.cfg.Workers, 1))
}

// maxMemory is this analyzer's share of Config.MaxMemory (share).
func (a *Analyzer) maxMemory() int64 {
	if a.cfg.MaxMemory <= 0 {
		return a.cfg.MaxMemory
	}
	return share(a.cfg.MaxMemory, a.cfg.Workers, ConnCost)
}

// share is one of n shards' part of a limit of total, counted in units of
// unit bytes: its n-th, plus a margin of 4·√(n-th in units) + 16 units for
// the unevenness of the hash, so that a shard's part is full only when the
// total is close to the limit: of uniformly hashed tuples, a shard whose
// part is k gets k + 4·√k only four standard deviations off its mean.
func share(total int64, n int, unit int64) int64 {
	if n <= 1 {
		return total
	}
	part := (total + int64(n) - 1) / int64(n)
	units := float64(part) / float64(unit)
	return min(total, part+int64(4*math.Sqrt(units)+16)*unit)
}

// Share returns the part of a limit of total (connections) that each of
// workers shards holds (Config.Workers).
func Share(total, workers int) int { return int(share(int64(total), workers, 1)) }

// Renumber passes the connection ids in c — its own, and the one a reused
// port's evidence names — through id.
func (c *Conn) Renumber(id func(uint64) uint64) {
	c.ID = id(c.ID)
	for i := range c.Findings {
		c.Findings[i].Renumber(id)
	}
}

// Renumber passes the connection id f's evidence names (port_reused names
// the connection it replaced) through id.
func (f *Finding) Renumber(id func(uint64) uint64) {
	if f.Kind != PortReused {
		return
	}
	i := strings.Index(f.Evidence, reusedConn)
	if i < 0 {
		return
	}
	i += len(reusedConn)
	j := i
	for j < len(f.Evidence) && f.Evidence[j] >= '0' && f.Evidence[j] <= '9' {
		j++
	}
	n, err := strconv.ParseUint(f.Evidence[i:j], 10, 64)
	if err != nil {
		return
	}
	f.Evidence = f.Evidence[:i] + strconv.FormatUint(id(n), 10) + f.Evidence[j:]
}
