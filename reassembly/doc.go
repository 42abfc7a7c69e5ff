// Package reassembly is tcpflow-check's connection table: it maps each TCP
// segment to its connection, decides which peer is the client, and keeps the
// per-direction sequence-space bookkeeping (ISN, next expected sequence
// number, highest acknowledgment, window and scale, FIN and RST) with
// wrap-safe arithmetic. It classifies every segment relative to its stream
// (new data, retransmission, out-of-order, gap, keep-alive, ack of unseen
// data), tells a reused port (a SYN with a new ISN after the previous
// connection finished) from a retransmitted SYN, and orders connections by
// last activity so callers can evict idle ones on the capture clock and cap
// how many are tracked.
//
// It is not a payload reassembler: no payload bytes are kept, and it does not
// import gopacket's reassembly or tcpassembly. It assigns no meaning to the
// segments beyond bookkeeping; peer states and findings belong to package
// analyze, which stores its per-connection state in Conn.Data.
//
// The per-segment path (Lookup, Update, Touch) does not allocate; connections
// removed from the table are recycled by later inserts. A connection quiet
// for a while can be frozen (Table.Freeze, FreezeIdle): kept compact, some
// 150 bytes instead of its entry, until it is reached again; nothing else
// about it changes.
package reassembly
