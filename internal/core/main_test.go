package core

import (
	"os"
	"testing"

	"gatehouse/internal/store/storetest"
)

// TestMain runs the core's tests on the engine GATEHOUSE_TEST_ENGINE names
// (bbolt by default; etcd: a three-member cluster in this process), and
// stops that cluster afterwards.
func TestMain(m *testing.M) {
	code := m.Run()
	storetest.StopShared()
	os.Exit(code)
}
