package capture

import (
	"encoding/json"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestSkipKindText checks every kind has its own text: summaries count
// frames under it, so two kinds sharing one would merge their counts.
func TestSkipKindText(t *testing.T) {
	seen := map[string]SkipKind{}
	for k := NotSkipped + 1; k < numSkipKinds; k++ {
		s := k.String()
		if s == "" {
			t.Errorf("kind %d has no text", k)
		}
		if o, dup := seen[s]; dup {
			t.Errorf("kinds %d and %d share the text %q", o, k, s)
		}
		seen[s] = k
	}
	if s := NotSkipped.String(); s != "" {
		t.Errorf("NotSkipped.String() = %q, want empty", s)
	}
	if s := numSkipKinds.String(); s != "skip kind 14" {
		t.Errorf("an unknown kind = %q", s)
	}
}

func TestReason(t *testing.T) {
	d := NewDecoder(nil)
	var seg Segment
	arp := make([]byte, 60)
	arp[12], arp[13] = 0x08, 0x06
	unnamed := make([]byte, 60)
	unnamed[12], unnamed[13] = 0x88, 0xb5
	for _, c := range []struct {
		name           string
		r              Reason
		kind           SkipKind
		text, detail   string
		skipped, equal bool
	}{
		{name: "not-skipped", r: Reason{}, kind: NotSkipped},
		{name: "fixed", r: Reason{Kind: SkipNonTCP}, kind: SkipNonTCP, text: "non-tcp", skipped: true},
		{name: "link-type", r: d.Decode([]byte{1}, layers.LinkTypeFDDI+200, &seg), kind: SkipLinkType, text: "unsupported link type 210", detail: "210", skipped: true},
		{name: "link-type-named", r: d.Decode([]byte{1}, layers.LinkTypeIEEE802_11, &seg), kind: SkipLinkType, text: "unsupported link type 802.11", detail: "802.11", skipped: true},
		{name: "ether-type-named", r: d.Decode(arp, layers.LinkTypeEthernet, &seg), kind: SkipEtherType, text: "ether type ARP", detail: "ARP", skipped: true},
		{name: "ether-type-number", r: d.Decode(unnamed, layers.LinkTypeEthernet, &seg), kind: SkipEtherType, text: "ether type 0x88b5", detail: "0x88b5", skipped: true},
		{name: "kind-without-its-detail", r: Reason{Kind: SkipEtherType}, kind: SkipEtherType, text: "ether type", skipped: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.r.Kind != c.kind || c.r.String() != c.text || c.r.Detail() != c.detail || c.r.Skipped() != c.skipped {
				t.Errorf("got kind %d %q detail %q skipped %v, want kind %d %q detail %q skipped %v",
					c.r.Kind, c.r, c.r.Detail(), c.r.Skipped(), c.kind, c.text, c.detail, c.skipped)
			}
		})
	}
}

// TestStatsSkip checks Skip counts a reason under its text and its kind, and
// Add carries both.
func TestStatsSkip(t *testing.T) {
	d := NewDecoder(nil)
	var seg Segment
	var a, b Stats
	a.Skip(Reason{Kind: SkipNonTCP})
	a.Skip(d.Decode([]byte{1}, layers.LinkTypeIEEE802_11, &seg))
	b.Skip(d.Decode([]byte{1}, 147, &seg))
	b.Skip(Reason{Kind: SkipNonTCP})
	a.Add(&b)
	if a.Skipped["non-tcp"] != 2 || a.Skipped["unsupported link type 802.11"] != 1 || a.Skipped["unsupported link type 147"] != 1 {
		t.Errorf("Skipped = %v", a.Skipped)
	}
	if n := a.SkippedKind(SkipLinkType); n != 2 {
		t.Errorf("SkippedKind(SkipLinkType) = %d, want 2", n)
	}
	if n := a.SkippedKind(SkipNonTCP); n != 2 {
		t.Errorf("SkippedKind(SkipNonTCP) = %d, want 2", n)
	}
	if n := a.SkippedKind(SkipTruncated); n != 0 {
		t.Errorf("SkippedKind(SkipTruncated) = %d, want 0", n)
	}
}

// TestReasonsJSON checks Stats.Reasons encodes like Stats.Skipped.
func TestReasonsJSON(t *testing.T) {
	var st Stats
	st.Skip(Reason{Kind: SkipNonTCP})
	st.Skip(NewDecoder(nil).Decode([]byte{1}, 147, &Segment{}))
	a, err := json.Marshal(st.Reasons)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st.Skipped)
	if string(a) != string(b) || string(a) != `{"non-tcp":1,"unsupported link type 147":1}` {
		t.Errorf("Reasons %s, Skipped %s", a, b)
	}
}
