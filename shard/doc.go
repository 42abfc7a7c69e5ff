// Package shard runs the analysis on every core: one reader feeds N
// analyze.Analyzers, each following the connections whose unordered tuple
// hashes to it, and their output is merged into exactly what one Analyzer
// emits — the same records, findings and Zeek records, in the same order,
// with the same connection ids and the same summary counts.
//
// The reader's goroutine copies segments into batches (a pool of them: no
// allocation and no channel send per packet) and hands each full batch to
// every shard. A shard reads the whole batch: it analyzes its own segments
// (Analyzer.Add) and only moves its clocks at the others' (Analyzer.Skip),
// so that every deadline falls due at the frame it would for a lone
// Analyzer. Each event a shard emits carries its place in a lone
// Analyzer's order (analyze.Pos); once every shard is through a batch the
// reader's goroutine merges their events by it and hands them to the Sink,
// which so is only ever called from the caller's goroutine. Finish is a
// batch of its own whose events stream: every connection still open ends
// there, and each shard hands its records on in chunks, a few ahead of the
// merge, so that N shards hold no more of them than one. Connection ids
// are assigned as the merge meets their creation (the shards use entry
// numbers until then), and the peak of open connections is the sum of the
// shards' tables at the moment each connection was created.
//
// The limits are split: each shard holds 1/N of Config.MaxConns and of
// Config.MaxMemory and ends its own idlest connection when its share is
// full, so output differs from one Analyzer's only once a limit is hit,
// which the tracking_limit evidence then says.
package shard
