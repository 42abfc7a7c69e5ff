// Package browsertest opens pages in a real browser for tests: one headless
// Chromium per test binary (started on first use with the flags root and a
// closed network need, stopped by Main), a tab per test that fails the test
// on a console error, an uncaught exception or any network request, and a
// screenshot comparison with a golden image within a tolerance. Where no
// Chromium is installed the tests that ask for it are skipped, saying so.
//
// It is test tooling, imported only by tests, so the tool's binary does
// not link chromedp.
package browsertest
