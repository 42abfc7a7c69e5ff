package check_test

import (
	"fmt"
	"os"

	"github.com/tcpflow-check/tcpflow-check/analyze"
	"github.com/tcpflow-check/tcpflow-check/check"
	"github.com/tcpflow-check/tcpflow-check/internal/segtest"
	"github.com/tcpflow-check/tcpflow-check/report"
)

// A Checker is the analyzer's sink; once every input is read, Verdict holds
// the findings to the policy.
func ExampleChecker() {
	policy, err := check.ParsePolicy("ci.yaml", []byte("fail_on: [connection_refused]\n"))
	if err != nil {
		panic(err)
	}
	gate := check.New(policy, nil)
	an := analyze.New(nil, gate)
	an.SetInput("trace.pcap")
	segs := segtest.New().C("S", 0, 0, 0).S("RA", 0, 1, 0).Segments() // a SYN answered by RST
	for i := range segs {
		an.Add(&segs[i])
	}
	an.Flush()

	v := gate.Verdict([]report.Input{{Name: "trace.pcap"}})
	fmt.Println("failed:", v.Failed())
	if err := check.WriteText(os.Stdout, v, nil); err != nil {
		panic(err)
	}
	// Output:
	// failed: true
	// tcpflow-check check  policy ci.yaml · 1 input · 1 connection · 1 finding
	//
	// FAIL  fail_on: connection_refused  (policy line 1)
	//       in trace.pcap: 1 connection_refused finding(s)
	//       #1  192.0.2.1:40000 → 192.0.2.2:80  warning connection_refused  frames 1,2 · lasted 1ms · final client CLOSED / server CLOSED
	//           RST (frame 2, seq 5000, ack 1001 = ISN_c+1) answers the SYN at frame 1: nobody listening on 192.0.2.2:80
	//
	// verdict: FAIL — 1 of 1 checks failed: fail_on: connection_refused on trace.pcap
}
