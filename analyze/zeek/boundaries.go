package zeek

import (
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// Zeek's default timers (scripts/base/init-bare.zeek), used by Expired.
const (
	attemptDelay       = 5 * time.Second // tcp_attempt_delay
	connectionLinger   = 5 * time.Second // tcp_connection_linger
	closeDelay         = 5 * time.Second // tcp_close_delay
	resetDelay         = 5 * time.Second // tcp_reset_delay
	partialCloseDelay  = 3 * time.Second // tcp_partial_close_delay
	inactivityTimeout  = 5 * time.Minute // tcp_inactivity_timeout
	handshakeInactTime = 1 * time.Minute // udp_inactivity_timeout, used until the handshake is done
	sessionTimer       = 6 * time.Second // tcp_session_timer
)

// IsReuse is TCPSessionAdapter::IsReuse: whether seg, arriving on this
// connection's tuple, starts a new connection instead. Only SYNs do (and,
// while the originator has sent nothing, SYN-ACKs).
func (z *Tracker) IsReuse(fromClient bool, seg *capture.Segment) bool {
	if !z.started || seg.Flags&capture.SYN == 0 {
		return false
	}
	o := &z.ep[z.side(true)]
	co := o
	if seg.Flags&capture.ACK != 0 {
		if o.state != epInactive {
			return false
		}
		co = &z.ep[z.side(false)]
	}
	// IsClosed: either side has closed (ConnectionClosed ran for it).
	if !o.didClose && !z.ep[z.side(false)].didClose {
		if seg.Seq == co.startSeq {
			return false
		}
		r := &z.ep[z.side(false)]
		if seg.Flags&capture.ACK == 0 && co.state == epSynAckSent && r.state == epInactive && seg.Seq == r.startSeq {
			return false // SYN/SYN-ACK reversal, handled by update
		}
	}
	return true
}

// Expired reports whether Zeek would have removed this connection by time
// now (its timers, with the default settings of init-bare.zeek), so that a
// segment arriving then starts a new connection. It approximates Zeek's
// timer schedule to the timers' own periods.
func (z *Tracker) Expired(now time.Time) bool {
	if !z.started {
		return false
	}
	t := now.UnixNano()
	since := func(at int64) time.Duration { return time.Duration(t - at) }
	o, r := &z.ep[z.side(true)], &z.ep[z.side(false)]
	// Deletion after a completed close (ConnDeleteTimer).
	if z.closed && since(z.closeAt) >= closeDelay {
		return true
	}
	// AttemptTimer: an unanswered SYN.
	if z.attemptAt != 0 && since(z.attemptAt) >= attemptDelay &&
		(o.state == epSynSent || o.state == epSynAckSent) && r.state == epInactive {
		return true
	}
	// ResetTimer: RST after FIN.
	if z.resetAt != 0 && since(z.resetAt) >= resetDelay {
		return true
	}
	// PartialCloseTimer.
	if z.partialAt != 0 && since(z.partialAt) >= partialCloseDelay &&
		o.state != epInactive && r.state != epInactive && (!o.didClose || !r.didClose) &&
		o.state != epReset && r.state != epReset {
		return true
	}
	idle := since(z.last)
	// ExpireTimer: idle for the linger time with one side closed, or
	// nothing established on either side.
	if idle > connectionLinger+sessionTimer {
		if (o.didClose || r.didClose) &&
			((o.didClose && r.didClose) || o.state == epReset || r.state == epReset ||
				o.state == epInactive || r.state == epInactive) {
			return true
		}
		if o.state == epInactive && r.state == epInactive {
			return true
		}
	}
	// Inactivity timeout.
	limit := handshakeInactTime
	if z.handshakeEnd {
		limit = inactivityTimeout
	}
	return idle >= limit
}
