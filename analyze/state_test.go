package analyze

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// rfc9293 is the reference the transitions are held to: the state diagram
// of RFC 9293 (§3.3.2, Figure 5) with what §3.10 adds (simultaneous open,
// RST, the SYN-RECEIVED and FIN rules), each row as the RFC writes it, seen
// by an observer: an event is a segment the peer sent ("snd"), one of the
// other peer's segments it received ("rcv"), or its 2·MSL timer. A state
// and event with no row leave the state as it is (RFC 9293 drops or
// acknowledges such segments without a change of state).
//
// Rows marked "observer" are where the view from outside has to decide
// what the RFC leaves to the local side: a listen is never seen, so CLOSED
// stands for LISTEN; a RST ends this connection whatever the listening
// socket behind it does.
var rfc9293 = []struct {
	from  State
	event string
	to    State
	why   string
}{
	{Closed, "snd SYN", SynSent, "active OPEN / snd SYN"},
	{Listen, "snd SYN", SynSent, "SEND / snd SYN"},
	{Listen, "snd SYN,ACK", SynRcvd, "rcv SYN / snd SYN,ACK"},
	{Closed, "snd SYN,ACK", SynRcvd, "observer: the listen was not seen"},
	{SynSent, "snd SYN,ACK", SynRcvd, "§3.10.7.3: simultaneous open, rcv SYN / snd SYN,ACK"},
	{SynRcvd, "snd FIN", FinWait1, "CLOSE / snd FIN"},
	{Established, "snd FIN", FinWait1, "CLOSE / snd FIN"},
	{CloseWait, "snd FIN", LastAck, "CLOSE / snd FIN"},

	{Listen, "rcv SYN", SynRcvd, "rcv SYN / snd SYN,ACK"},
	{Closed, "rcv SYN", SynRcvd, "observer: the listen was not seen (a closed port answers RST, and the SYN is then never applied)"},
	{SynSent, "rcv SYN", SynRcvd, "§3.10.7.3: simultaneous open"},
	{SynSent, "rcv SYN,ACK", Established, "rcv SYN,ACK / snd ACK"},
	{SynRcvd, "rcv SYN,ACK", Established, "§3.10.7.4: an acceptable ACK of our SYN in SYN-RECEIVED"},
	{SynRcvd, "rcv ACK of SYN", Established, "rcv ACK of SYN"},
	{FinWait1, "rcv ACK of FIN", FinWait2, "rcv ACK of FIN"},
	{Closing, "rcv ACK of FIN", TimeWait, "rcv ACK of FIN"},
	{LastAck, "rcv ACK of FIN", Closed, "rcv ACK of FIN"},
	{SynRcvd, "rcv FIN", CloseWait, "§3.10.7.4: FIN in SYN-RECEIVED"},
	{Established, "rcv FIN", CloseWait, "rcv FIN / snd ACK"},
	{FinWait1, "rcv FIN", Closing, "rcv FIN / snd ACK"},
	{FinWait2, "rcv FIN", TimeWait, "rcv FIN / snd ACK"},

	{TimeWait, "2MSL timeout", Closed, "Timeout=2MSL / delete TCB"},
}

// rfc9293Aborts: §3.10.5 ABORT sends a RST and enters CLOSED from every
// state; §3.10.7 makes an acceptable RST delete the connection in every
// state that has one (observer: where it returns a passive open to LISTEN,
// or LISTEN ignores it, that is the listening socket; this connection is
// over).
var rfc9293Aborts = []string{"snd RST", "rcv RST"}

// events maps the reference's events to the transitions under test.
var events = map[string]func(State) State{
	"snd SYN":        func(s State) State { return afterSend(s, sendSYN) },
	"snd SYN,ACK":    func(s State) State { return afterSend(s, sendSYNACK) },
	"snd FIN":        func(s State) State { return afterSend(s, sendFIN) },
	"snd RST":        func(s State) State { return afterSend(s, sendRST) },
	"snd data/ACK":   func(s State) State { return afterSend(s, sendOther) },
	"rcv SYN":        func(s State) State { return afterReceive(s, pendSYN) },
	"rcv SYN,ACK":    func(s State) State { return afterReceive(s, pendSYNACK) },
	"rcv ACK of SYN": func(s State) State { return afterReceive(s, pendAckSYN) },
	"rcv ACK of FIN": func(s State) State { return afterReceive(s, pendAckFIN) },
	"rcv FIN":        func(s State) State { return afterReceive(s, pendFIN) },
	"rcv RST":        func(s State) State { return afterReceive(s, pendRST) },
	"2MSL timeout":   afterTimeWait,
}

// reference is the slow, obviously correct transition: a scan of the table.
func reference(s State, event string) State {
	for _, a := range rfc9293Aborts {
		if a == event {
			return Closed
		}
	}
	for _, r := range rfc9293 {
		if r.from == s && r.event == event {
			return r.to
		}
	}
	return s
}

// TestTransitionsRFC9293 holds every state × event against the reference.
func TestTransitionsRFC9293(t *testing.T) {
	for _, r := range rfc9293 {
		if events[r.event] == nil {
			t.Fatalf("reference row %v %q: no such event", r.from, r.event)
		}
	}
	n := 0
	for s := Closed; s <= TimeWait; s++ {
		for event, next := range events {
			n++
			if got, want := next(s), reference(s, event); got != want {
				t.Errorf("%s, %s: got %s, RFC 9293 says %s", s, event, got, want)
			}
		}
	}
	if want := 11 * len(events); n != want {
		t.Errorf("checked %d pairs, want %d (every state, every event)", n, want)
	}
}

// TestReferenceCanFail: the reference is not the code under test in
// disguise — a wrong transition is caught.
func TestReferenceCanFail(t *testing.T) {
	if reference(Established, "rcv FIN") != CloseWait || reference(Established, "rcv ACK of FIN") != Established ||
		reference(FinWait2, "snd RST") != Closed || reference(TimeWait, "snd data/ACK") != TimeWait {
		t.Fatal("reference table misread")
	}
	broken := func(s State) State {
		if s == FinWait1 {
			return TimeWait // skips FIN_WAIT_2
		}
		return afterReceive(s, pendAckFIN)
	}
	if broken(FinWait1) == reference(FinWait1, "rcv ACK of FIN") {
		t.Error("a transition skipping FIN_WAIT_2 agrees with the reference")
	}
}

// TestOneStateWriter is a vet-style check: in analyze and analyze/zeek, a
// peer's state is assigned (or its address taken) only in setState.
func TestOneStateWriter(t *testing.T) {
	for _, dir := range []string{".", "zeek"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		fset := token.NewFileSet()
		writers := 0
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				for _, pos := range stateWrites(fn.Body) {
					if fn.Name.Name == "setState" {
						writers++
						continue
					}
					t.Errorf("%s: %s writes a state field outside setState", fset.Position(pos), fn.Name.Name)
				}
			}
		}
		if writers == 0 {
			t.Errorf("%s: setState writes no state field: the check looks at the wrong thing", dir)
		}
	}
}

// stateWrites returns where body assigns a field named state, increments
// one, takes its address, or sets it in a composite literal.
func stateWrites(body *ast.BlockStmt) []token.Pos {
	var out []token.Pos
	isState := func(e ast.Expr) bool {
		sel, ok := e.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "state"
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, lhs := range n.Lhs {
				if isState(lhs) {
					out = append(out, lhs.Pos())
				}
			}
		case *ast.IncDecStmt:
			if isState(n.X) {
				out = append(out, n.Pos())
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND && isState(n.X) {
				out = append(out, n.Pos())
			}
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok && id.Name == "state" {
				out = append(out, n.Pos())
			}
		}
		return true
	})
	return out
}
