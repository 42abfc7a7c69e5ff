package capture

import "strconv"

// SkipKind says why a frame gave no TCP segment to analyze. Callers switch
// on it; Reason.String is the text summaries count frames under.
type SkipKind uint8

// The kinds of skip reasons. NotSkipped is the zero value: the frame held a
// TCP segment.
const (
	NotSkipped      SkipKind = iota
	SkipNonTCP               // IP, but not TCP (UDP, ICMP, ESP, no next header, ...)
	SkipNonIP                // a link layer or tunnel payload that is not IP (LLC, PPP control, ...)
	SkipTruncated            // the frame ends before the fixed 20 bytes of the TCP header do
	SkipFragment             // a non-first IP fragment: no TCP header in it
	SkipBadChecksum          // VerifyChecksums is on and an IPv4 header checksum is wrong (a bad TCP checksum is delivered, flagged)
	SkipBadIP                // an IP header that cannot be right (version, header or total length)
	SkipBadTCP               // data offset below 5 words or beyond the IP payload
	SkipTooDeep              // more nested encapsulations than the decoder follows
	SkipGRERouting           // GRE with source routing (RFC 1701), not decoded
	SkipNetlink              // a Linux cooked capture of netlink messages, not packets
	SkipLinkType             // a link type the decoder does not handle; Detail names it
	SkipEtherType            // an ether type that carries no IP; Detail names it
	SkipFiltered             // the Reader's Config.Filter did not match the frame
	numSkipKinds
)

// skipText is each kind's text; for SkipLinkType and SkipEtherType it is the
// prefix of a text that goes on to name the type.
var skipText = [numSkipKinds]string{
	NotSkipped:      "",
	SkipNonTCP:      "non-tcp",
	SkipNonIP:       "non-ip",
	SkipTruncated:   "truncated",
	SkipFragment:    "fragment",
	SkipBadChecksum: "bad checksum",
	SkipBadIP:       "bad ip header",
	SkipBadTCP:      "bad tcp header",
	SkipTooDeep:     "too many encapsulations",
	SkipGRERouting:  "gre routing",
	SkipNetlink:     "netlink",
	SkipLinkType:    "unsupported link type",
	SkipEtherType:   "ether type",
	SkipFiltered:    "filtered",
}

// String returns the kind's text ("non-tcp", "unsupported link type", ...).
func (k SkipKind) String() string {
	if k < numSkipKinds {
		return skipText[k]
	}
	return "skip kind " + strconv.Itoa(int(k))
}

// Reason is why the decoder skipped one frame: its kind, and for the kinds
// that name what was found (SkipLinkType, SkipEtherType) a detail. The zero
// Reason means the frame was not skipped. Reasons are comparable; a Reason
// made by the decoder holds no reference to the frame.
type Reason struct {
	Kind SkipKind
	// text is the whole text when the kind has a detail ("ether type ARP").
	text string
}

// Skipped reports whether the frame was skipped.
func (r Reason) Skipped() bool { return r.Kind != NotSkipped }

// String returns the text summaries count the frame under: the kind's text
// ("non-tcp", "truncated", ...), or with a detail "unsupported link type
// FDDI", "ether type ARP", "ether type 0x88b5". "" when not skipped.
func (r Reason) String() string {
	if r.text != "" {
		return r.text
	}
	return r.Kind.String()
}

// MarshalText returns String, so that a map keyed by Reason (Stats.Reasons)
// encodes as JSON or YAML the way Stats.Skipped does.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Detail names the link type or ether type of a SkipLinkType or
// SkipEtherType reason ("FDDI", "147", "ARP", "0x88b5"); it is "" for the
// other kinds.
func (r Reason) Detail() string {
	p := r.Kind.String()
	if len(r.text) > len(p)+1 {
		return r.text[len(p)+1:]
	}
	return ""
}
