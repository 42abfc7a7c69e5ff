package report

import (
	"testing"

	"github.com/tcpflow-check/tcpflow-check/internal/browsertest"
)

// TestMain stops the browser the HTML report's tests share.
func TestMain(m *testing.M) { browsertest.Main(m) }
