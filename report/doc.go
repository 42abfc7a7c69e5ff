// Package report writes what tcpflow-check found, for people and for
// programs: the text summary (the default), JSON, JSON Lines, YAML, a Zeek
// conn.log, a self-contained HTML report, and the ladder diagram of one
// connection.
//
// A Writer is the analyzer's analyze.Sink. Connection records are written as
// connections end (End), so memory stays O(concurrent connections) however
// long the capture; Close writes the summary once every input has been read.
// The formats:
//
//   - json: one document {"schema":"tcpflow-check/v1","connections":[...],
//     "inputs":[...],"summary":{...}}, one record per line. Because records
//     stream out before the inputs are known, "connections" comes before
//     "inputs"; key order means nothing to JSON parsers.
//   - jsonl: one {"type":"connection",...} object per line as connections
//     end, then one {"type":"summary",...} line with the schema and inputs.
//   - yaml: the json document, streamed record by record; it decodes to the
//     same structure.
//   - zeek: a conn.log (TSV with Zeek's # header) that zeek-cut reads.
//   - text: a one-screen summary and the findings grouped by kind, worst
//     first, with a few examples each; written at Close.
//   - html: one file with inline CSS, script and SVG that fetches nothing:
//     the summary, SVG charts of conn_state counts and handshake RTTs, the
//     findings by kind, the connections with findings, a sortable and
//     filterable table of every connection, and SVG ladder diagrams drawn
//     on demand from data embedded once (html_data.go). The summary and the
//     findings are HTML and read without the script. Written at Close; it
//     needs the analyzer's timelines (analyze.Config.Timeline). The page is
//     bounded (rows, segments a ladder, bytes of timelines) and says which
//     bound it hit.
//
// With Options.Live, text and jsonl also write each finding the moment the
// analyzer reports it (Sink's Finding), for live capture; otherwise findings
// travel with their connection's record and Finding is ignored.
//
// The field names of the records (Record, SummaryRecord) are the contract of
// docs/design.md §5: fields are added, never renamed. Output depends only on the
// capture (capture time, never the wall clock), except the summary's elapsed
// time, which Options.NoElapsed leaves out.
//
// Ladder draws one connection's timeline as the ladder diagrams of RFC 9293.
//
// This package does not decide what is wrong (package analyze does), nor
// whether a run passes (package check holds the findings to a policy), nor
// whether to colour (the command looks at the terminal and sets
// Options.Color).
package report
