package check

// StarterPolicy is what `tcpflow-check policy init` prints: a commented
// policy that loads as it is and fails a build on the findings that mean a
// service misbehaved, with every other key shown, commented out.
const StarterPolicy = `# tcpflow-check policy: what makes "tcpflow-check check" fail a CI build.
# Exit codes: 0 pass, 1 policy violated, 2 bad policy or unreadable trace.
# Every key is documented in docs/check.md. Unknown keys and unknown finding
# kinds are errors: a typo never silently passes a build.

# Fail on any finding of these kinds, in any trace.
fail_on:
  - syn_unanswered       # a SYN nobody answered: the service was not reachable
  - missing_third_ack    # the server's SYN-ACK was never acknowledged
  - half_close_stuck     # a peer sat in CLOSE_WAIT: a socket the application never closed
  - synack_bad_ack
  - handshake_bad_ack
  - rst_invalid
  - data_after_fin

# Or: fail on any finding at or above a severity (info, warning, error).
# fail_on_severity: error

# Report these as warnings (GitHub ::warning annotations) without failing.
warn_on: [reset, fin_unacked, zero_window_stuck]
# warn_on_severity: warning

# How many findings of a kind are allowed over all traces together ...
max:
  connection_refused: 0
# ... and in each trace.
# max_per_file:
#   reset: 2

# Findings no rule counts. Every field given must match; reason is required.
# Fields: kind (one or a list), server_port, port (either side), host (IP of
# either side), cidr (either side), client, server (IP or CIDR), input (a
# pattern on the trace's file name).
# ignore:
#   - kind: connection_refused
#     server_port: 9999
#     reason: the readiness probe knocks on a closed port before the service starts

# Override the severity of a kind (info, warning, error), for fail_on_severity.
# severity:
#   reset: error

# Expectations about the traffic, over all traces (expect) or in each trace
# (expect_per_file): a trace that recorded nothing is not a pass.
expect:
  min_connections: 1
#   connections_to:
#     - {port: 443, min: 1}
#   handshake_rtt_p99: 50ms
#   handshake_rtt_max: 200ms
#   max_conn_state: {S0: 0}         # Zeek conn_state: S0 = SYN, no reply
#   max_final_state: {CLOSE_WAIT: 0} # no peer left in CLOSE_WAIT at the end of a trace

# A trace is the record of a finished test: a condition still pending at its
# end (a SYN unanswered, a SYN-ACK without its ACK, a peer in CLOSE_WAIT, a FIN
# never acknowledged, a window still 0) never finished, and is a finding of its
# kind however short. For traces cut out of longer captures, where it may have
# finished after the cut, let the timeouts below decide instead:
# trace_end: cut

# Analysis timeouts (the command's --*-timeout flags win over these).
timeouts:
  handshake: 3s     # a SYN or SYN-ACK waiting for its answer
  half_close: 1s    # CLOSE_WAIT before half_close_stuck
#   zero_window: 5s
#   msl: 30s          # TIME_WAIT lasts 2·MSL
`
