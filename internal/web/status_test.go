package web

import (
	"net/http"
	"testing"

	"gatehouse/internal/core"
)

func TestADamagedDatabaseIsServiceUnavailable(t *testing.T) {
	if got := statusOf(core.Damaged); got != http.StatusServiceUnavailable {
		t.Fatalf("damaged: HTTP %d, want 503", got)
	}
}
